"""Live code: the "Run the example live" button, tools/live.py, and attacks on both.

Most tests share one live server for the module, started the way `make live` starts it
(tools/live.py on the test build) and on a fresh account: XDG_DATA_HOME, IPYTHONDIR and
JUPYTER_CONFIG_DIR point into an empty temporary folder. The reader opens the address it
prints, as a person would.

The attack tests are black-box: they learn what they can the way an attacker would, so
they also run against the code before issue 10 (there they fail, which is what they were
checked against). Whatever the design, they check the outcome: no key in anything another
origin can read, no kernel started, no WebSocket opened, no code run.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from conftest import CHROMIUM, ROOT, screenshot
from pageweight import CHROMIUM_ARGS

import live  # tools/live.py (conftest puts tools/ on sys.path)
from test_site_quality import BLOCKING, describe, run_axe

SEED = "/source/mappings/clip_grad_value_.html"
OTHER = "/source/mappings/clip_grad_norm_.html"
CONFIG = "live-server.json"
# Every state the status line ends in ("ready" is the pre-issue-10 script's, so the attacks run there too).
SETTLED = ", ".join(f".live-launch[data-state={state}]"
                    for state in ("done", "error", "failed", "unavailable", "closed", "ready"))
KERNEL_TIMEOUT = 120_000   # ms: a kernel on a busy 2-core machine
KEY_PROTOCOL = "mapsite-live-key."
FRESH_VARIABLES = ("XDG_DATA_HOME", "IPYTHONDIR", "JUPYTER_CONFIG_DIR")

# Everything a page logs to its console, arguments walked into their strings: thebe logs whole
# configuration objects, and a key inside one is as visible to whoever opens the console.
CONSOLE_HOOK = """
(() => {
  const seen = [];
  window.__consoleSeen = seen;
  const walk = (value, depth, out, visited) => {
    if (out.budget-- <= 0 || value === null || value === undefined) return;
    const type = typeof value;
    if (type === "string") { out.push(value); return; }
    if (type !== "object" && type !== "function") { out.push(String(value)); return; }
    if (depth > 6 || visited.has(value)) return;
    visited.add(value);
    if (type === "function") { out.push(String(value.name || "")); return; }
    let names = [];
    try { names = Object.getOwnPropertyNames(value); } catch (e) { return; }
    for (const name of names.slice(0, 300)) {
      let item;
      try { item = value[name]; } catch (e) { continue; }
      walk(item, depth + 1, out, visited);
    }
  };
  for (const level of ["log", "debug", "info", "warn", "error", "trace", "dir", "table"]) {
    const original = console[level];
    console[level] = function (...args) {
      try {
        const out = [];
        out.budget = 20000;
        const visited = new WeakSet();
        args.forEach((arg) => walk(arg, 0, out, visited));
        seen.push(level + ": " + out.join(" | "));
      } catch (e) { /* never break the page */ }
      return original.apply(this, args);
    };
  }
})();
"""

# What a hostile page tries, from wherever it was loaded. It knows the live server's address
# (`sites`) and, generously, the id of the reader's kernel; it learns anything else as it goes.
ATTACK = """
async ({sites, kernelId, marker, keyProtocol}) => {
  const report = {texts: [], started: [], opened: []};
  const note = (what, text) => report.texts.push(what + ": " + String(text).slice(0, 4000));
  try { note("sessionStorage", JSON.stringify(Object.assign({}, sessionStorage))); } catch (e) {}
  try { note("localStorage", JSON.stringify(Object.assign({}, localStorage))); } catch (e) {}
  if (typeof BroadcastChannel === "function") {   // ask this origin's other tabs for a key
    const channel = new BroadcastChannel("mapsite-live");
    channel.onmessage = (event) => note("broadcast", JSON.stringify(event.data));
    channel.postMessage({ask: true});
    await new Promise((resolve) => setTimeout(resolve, 800));
    channel.close();
  }
  let token = null;
  const apis = [];
  for (const site of sites) {
    apis.push(site + "jupyter/");
    for (const path of ["live-server.json", "", "index.html", "jupyter/api/status", "jupyter/api/kernels"]) {
      try {
        const response = await fetch(site + path, {credentials: "include", cache: "no-store"});
        const text = await response.text();
        note("GET " + site + path + " " + response.status, text);
        if (path === "live-server.json" && response.ok) {
          try {
            const config = JSON.parse(text);
            if (config.token) token = config.token;
            if (config.url && /^https?:/.test(config.url)) apis.push(config.url.replace(/\\/*$/, "/"));
          } catch (e) {}
        }
      } catch (e) { note("GET " + site + path + " failed", e); }
    }
  }
  for (const api of apis) {       // start a kernel
    for (const withToken of token ? [false, true] : [false]) {
      try {
        const headers = {"Content-Type": "application/json"};
        if (withToken) headers.Authorization = "token " + token;
        const response = await fetch(api + "api/kernels", {method: "POST", credentials: "include", headers,
                                                           body: JSON.stringify({name: "python3"})});
        note("POST " + api + "api/kernels " + response.status, await response.text());
        if (response.ok) report.started.push(api);
      } catch (e) { note("POST " + api + "api/kernels failed", e); }
    }
    try {                           // a form post: no preflight
      await fetch(api + "api/kernels", {method: "POST", mode: "no-cors", credentials: "include",
        headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "name=python3"});
    } catch (e) {}
  }
  const code = "open(" + JSON.stringify(marker) + ", 'w').write('ran')";
  for (const api of apis) {       // the reader's kernel, over a WebSocket
    const url = api.replace(/^http/, "ws") + "api/kernels/" + kernelId + "/channels?session_id=attacker";
    const tries = [[url, []]];
    if (token) tries.push([url + "&token=" + encodeURIComponent(token), []], [url, [keyProtocol + token]]);
    for (const [address, protocols] of tries) {
      const opened = await new Promise((resolve) => {
        let socket;
        try { socket = new WebSocket(address, protocols); } catch (e) { resolve(false); return; }
        const timer = setTimeout(() => { try { socket.close(); } catch (e) {} resolve(false); }, 5000);
        socket.onopen = () => {
          socket.send(JSON.stringify({
            header: {msg_id: String(Math.random()).slice(2), username: "attacker", session: "attacker",
                     msg_type: "execute_request", version: "5.3", date: new Date().toISOString()},
            parent_header: {}, metadata: {}, channel: "shell", buffers: [],
            content: {code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false,
                      stop_on_error: true}}));
          setTimeout(() => { clearTimeout(timer); socket.close(); resolve(true); }, 2000);
        };
        socket.onerror = () => { clearTimeout(timer); resolve(false); };
      });
      if (opened) report.opened.push(address.replace(/token=[^&]*/, "token=..."));
    }
  }
  return report;
}
"""


# -- Helpers ---------------------------------------------------------------------------------


class Output:
    """Collects a process's output on a thread, so waiting for a line never blocks on the pipe."""

    def __init__(self, process: subprocess.Popen):
        self.text = ""
        self.process = process
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.process.stdout:
            self.text += line

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            if self.process.poll() is not None and not self.thread.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the output within {timeout} s:\n{self.text}")

    def rest(self, timeout: float) -> str:
        self.process.wait(timeout=timeout)
        self.thread.join(timeout=5)
        return self.text


def fresh_account(folder: Path) -> dict[str, str]:
    """The environment of an account that has never run Jupyter or IPython: the folders do not exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER") and k not in FRESH_VARIABLES}
    env.update({"XDG_DATA_HOME": str(folder / "data"), "IPYTHONDIR": str(folder / "ipython"),
                "JUPYTER_CONFIG_DIR": str(folder / "config")})
    return env


def start_live(html: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, Output]:
    # A session of its own, like a terminal's foreground job: Ctrl-C goes to its whole group.
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(html), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, start_new_session=True, env=env,
    )
    return process, Output(process)


def kill_tree(process: subprocess.Popen) -> None:
    if process.poll() is None:
        for proc in reversed(live.process_tree(process.pid)):
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        process.wait(timeout=10)


def http_get(url: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    """(status, headers, body text) without raising on 4xx/5xx."""
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


@dataclass
class LiveServer:
    process: subprocess.Popen
    output: Output
    origin: str            # http://127.0.0.1:<port>
    address: str           # what the reader opens: the printed address
    key: str               # whatever grants the API (the printed key; before issue 10, the served token)
    api: str               # the API's base URL
    home: Path             # the fresh account's folder
    tabs: list = field(default_factory=list)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        status, _, text = http_get(self.api + path, {"Authorization": f"token {self.key}"}, method,
                                   None if body is None else json.dumps(body).encode())
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def kernel_ids(self) -> set[str]:
        status, kernels = self.call("GET", "api/kernels")
        assert status == 200, kernels
        return {k["id"] for k in kernels}

    def wait_for_kernels(self, wanted, timeout: float = 30) -> set[str]:
        deadline = time.monotonic() + timeout
        while True:
            ids = self.kernel_ids()
            if wanted(ids) or time.monotonic() > deadline:
                return ids
            time.sleep(0.3)


@pytest.fixture(scope="module")
def live_server(site, tmp_path_factory):
    """tools/live.py on the test build, on a fresh account, logging every request (--verbose)."""
    home = tmp_path_factory.mktemp("fresh-account")
    process, output = start_live(site.html, "--verbose", env=fresh_account(home))
    try:
        output.wait_for(r"Press Ctrl-C", timeout=240)
        found = re.search(r"Open the site:\s+(http://127\.0\.0\.1:\d+)/(\S*)", output.text)
        origin, rest = found.group(1), found.group(2)
        printed_key = re.search(r"live-key=([\w-]+)", rest)
        if printed_key:
            key, api = printed_key.group(1), origin + "/jupyter/"
        else:  # before issue 10: the site hands the token to whoever asks
            config = json.loads(http_get(origin + "/" + CONFIG)[2])
            key, api = config["token"], config["url"]
        server = LiveServer(process, output, origin, origin + "/" + rest, key, api, home)
        yield server
        os.killpg(process.pid, signal.SIGINT)
        output.rest(timeout=60)
    finally:
        kill_tree(process)


def new_reader(browser, server: LiveServer):
    """A browser context whose pages record their console (walked) and every URL they ask for."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CONSOLE_HOOK)
    context.console_texts, context.urls, context.errors, context.failed = [], [], [], []

    def watch(tab):
        # With the page's address: attack tests open hostile pages in a reader's context too.
        tab.on("console", lambda msg: context.console_texts.append((tab.url, f"{msg.type}: {msg.text}")))
        tab.on("console", lambda msg: msg.type == "error" and context.errors.append(msg.text))
        tab.on("pageerror", lambda exc: context.errors.append(str(exc)))
        tab.on("request", lambda req: context.urls.append((tab.url, req.url)))
        tab.on("websocket", lambda ws: context.urls.append((tab.url, ws.url)))
        tab.on("response", lambda r: r.status >= 400 and context.failed.append(f"{r.status} {r.request.method} {r.url}"))

    context.on("page", watch)
    server.tabs.append(context)
    return context


def console_seen(context, origin: str) -> list[str]:
    """What the reader's pages (those of the site's origin) logged."""
    seen = [text for url, text in context.console_texts if url.startswith(origin)]
    for tab in context.pages:
        try:
            if tab.url.startswith(origin):
                seen += tab.evaluate("window.__consoleSeen || []")
        except Exception:  # noqa: BLE001 - a page that is closing
            pass
    return seen


def open_with_key(context, server: LiveServer, page: str):
    """A tab that opened the printed address, then went to `page` (as a reader would)."""
    tab = context.new_page()
    tab.goto(server.address)
    tab.wait_for_url(re.compile(r"/source/index\.html$"))   # / and /index.html forward there
    tab.goto(server.origin + page)
    return tab


def run_example(tab) -> float:
    """Press the button; return seconds from the click to the first live output."""
    tab.evaluate("""() => {
        window.__live = {states: []};
        const box = document.querySelector('.live-launch');
        new MutationObserver(() => {
            const state = box.getAttribute('data-state');
            if (state && window.__live.states[window.__live.states.length - 1] !== state) window.__live.states.push(state);
            if (!window.__live.first && document.querySelector('.live-output .jp-OutputArea-output')) {
                window.__live.first = performance.now();
            }
        }).observe(document.body, {subtree: true, childList: true, attributes: true});
        box.querySelector('.live-button').addEventListener('click', () => { window.__live.click = performance.now(); },
                                                          {capture: true});
    }""")
    tab.get_by_role("button", name="Run the example live").click()
    tab.wait_for_selector(SETTLED, timeout=KERNEL_TIMEOUT)
    if tab.get_attribute(".live-launch", "data-state") == "ready":
        # The script before issue 10 stops here, cells editable but not run: press "run all" for the
        # reader, so the attack tests get to their point on that code too.
        tab.evaluate("window.thebe.notebook.executeAll()")
    tab.locator(".live-output .jp-OutputArea-output").first.wait_for(timeout=KERNEL_TIMEOUT)
    timing = tab.evaluate("window.__live")
    return (timing["first"] - timing["click"]) / 1000


def run_code(tab, code: str) -> str:
    """Run code in the page's kernel (through thebe, as a cell would) and return what it showed."""
    return tab.evaluate("""async (code) => {
        const cell = window.thebe.notebook.cells[0];
        await cell.execute(code);
        return document.querySelectorAll('.mapping-example .live-output')[0].textContent;
    }""", code)


def execute(url: str, code: str, headers: dict | None = None, subprotocols: list | None = None,
            timeout: float = 120) -> str:
    """Run code in a kernel over its WebSocket (Jupyter's JSON protocol); return what it printed."""
    import asyncio
    import uuid

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run() -> str:
        request = HTTPRequest(url + "?session_id=test", headers=headers or {}, request_timeout=timeout)
        socket = await websocket_connect(request, subprotocols=subprotocols)
        msg_id = uuid.uuid4().hex
        socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": "test", "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        printed = ""
        while True:
            message = json.loads(await socket.read_message())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                printed += message["content"]["text"]
            elif message["msg_type"] == "error":
                printed += message["content"]["ename"] + ": " + message["content"]["evalue"]
            elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                socket.close()     # idle comes after every output of the request
                return printed

    # On a thread of its own: Playwright's sync API keeps an event loop running on this one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(asyncio.wait_for(run(), timeout))).result()


def static_text(locator) -> str:
    return locator.evaluate("el => el.textContent").strip()


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def leaks(key: str, texts) -> list[str]:
    return [t[:300] for t in texts if key in t]


# -- The built pages -------------------------------------------------------------------------


def test_example_pages_get_a_hidden_button_and_thebe_files(site):
    mapping_pages = sorted((site.html / "source" / "mappings").glob("*.html"))
    assert mapping_pages
    for path in mapping_pages:
        soup = site.soup(str(path.relative_to(site.html)))
        box = soup.select_one("div.mapping-example div.live-launch")
        assert box is not None, f"{path.name}: no live-code button"
        assert box.has_attr("hidden"), "the button stays hidden without JavaScript"
        assert box.select_one("button.live-button").get_text(strip=True) == "Run the example live"
        status = box.select_one(".live-status")
        assert status["role"] == "status" and status["aria-live"] == "polite"
        scripts = [s.get("src", "") for s in soup.find_all("script")]
        assert any("_static/live.js" in s for s in scripts)
        assert not any("thebe" in s for s in scripts), "thebe must load on click only"
        assert "binder" not in str(soup).lower()
        assert (path.parent / box["data-config"]).resolve() == (site.html / CONFIG).resolve()
        assert (path.parent / box["data-thebe"]).resolve() == (site.html / "_static/thebe/index.js").resolve()
    # Pages without an example stay as they were.
    for page in ("source/index.html", "source/mapping-index.html"):
        html = (site.html / page).read_text(encoding="utf-8")
        assert "live.js" not in html and "live-launch" not in html
    assert json.loads((site.html / CONFIG).read_text()) == {"url": None}, "a plain build names no server and no key"
    thebe = site.html / "_static" / "thebe"
    assert (thebe / "index.js").is_file() and (thebe / "thebe.css").is_file()
    assert len(list(thebe.glob("*.index.js"))) > 50, "thebe's lazily loaded chunks are missing"
    assert not list(thebe.glob("*.map")), "source maps are not shipped"


# -- No server -------------------------------------------------------------------------------


@pytest.fixture
def live_config(site):
    """Set what the plain site's live-server.json says; the build's own file comes back afterwards."""
    path = site.html / CONFIG
    original = path.read_text(encoding="utf-8")
    yield lambda config: path.write_text(json.dumps(config), encoding="utf-8")
    path.write_text(original, encoding="utf-8")


def test_without_a_server_the_button_says_how_to_start_one(page, served_site, live_config):
    page.goto(served_site + SEED)
    button = page.get_by_role("button", name="Run the example live")
    assert button.is_visible()
    page.wait_for_timeout(300)
    assert not [u for u in page.outside_requests], "nothing leaves the site before the click"
    requested = []
    page.on("request", lambda req: requested.append(req.url))

    # A plain build (make html + make serve): live-server.json names no server.
    button.click()
    page.wait_for_selector('.live-launch[data-state="unavailable"]', timeout=10_000)
    status = page.locator(".live-status")
    assert "make live" in status.inner_text()
    assert status.locator("code", has_text="make live").is_visible()
    assert button.is_enabled() and page.get_attribute(".live-button", "aria-disabled") is None, \
        "the reader can try again once the server runs"
    assert not [u for u in requested if "thebe" in u], "thebe is loaded only for a live server"

    # A server is named, but this tab has no key: it says so, and how to get one.
    live_config({"url": "jupyter/"})
    button.click()
    page.wait_for_selector('.live-launch[data-state="unavailable"] .live-status:has-text("no key")', timeout=10_000)
    assert "#live-key=" in status.inner_text()
    assert not [u for u in requested if "jupyter/" in u], "no request without a key"

    # A key, but nothing answers the API there: a quick answer, not a hang.
    page.evaluate("sessionStorage.setItem('mapsite-live-key', 'k' + 'x'.repeat(40))")
    started = time.monotonic()
    button.click()
    page.wait_for_selector('.live-launch[data-state="unavailable"] .live-status:has-text("No live server answered")',
                           timeout=10_000)
    assert time.monotonic() - started < 8
    assert "make live" in status.inner_text()
    assert page.locator(".thebe-cell").count() == 0, "the static page is left as it was"
    assert "binder" not in page.locator("body").inner_text().lower()
    screenshot(page, "live-no-server")
    # A server named on another origin is never sent the key.
    live_config({"url": "http://127.0.0.1:9/jupyter/"})
    requested.clear()
    button.click()
    page.wait_for_selector('.live-launch[data-state="unavailable"]', timeout=10_000)
    assert not [u for u in requested if ":9/" in u]
    assert not page.outside_requests


# -- The reader's view -----------------------------------------------------------------------


def test_one_click_runs_every_cell_in_place_with_focus_and_status(browser, live_server):
    context = new_reader(browser, live_server)
    tab = open_with_key(context, live_server, SEED)
    assert "live-key" not in tab.url, "the key leaves the address bar"
    expected = tab.evaluate("""() => Array.from(document.querySelectorAll('.mapping-example div.example-code'))
        .map((code) => {
            let text = '';
            for (let next = code.nextElementSibling; next && next.classList.contains('example-output');
                 next = next.nextElementSibling) text += next.textContent;
            return text;
        })""")
    before = live_server.kernel_ids()

    first_output = run_example(tab)
    box = tab.locator(".live-launch")
    status = tab.locator(".live-status")
    assert box.get_attribute("data-state") == "done", status.inner_text()
    states = tab.evaluate("window.__live.states")
    assert states[-3:] == ["starting", "running", "done"], states
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    assert f"all {len(expected)} cells ran" in status.inner_text()

    # One click ran every cell, in page order, each output in place under its cell.
    outputs = tab.locator(".mapping-example .live-output")
    assert tab.locator(".mapping-example .thebe-cell").count() == outputs.count() == len(expected)
    for i, built in enumerate(expected):
        assert normalise(static_text(outputs.nth(i))) == normalise(built), f"cell {i + 1}"
    assert any("tensor(" in text for text in expected)

    # The button is gone and keyboard focus is in the first cell, not on <body>.
    assert tab.get_by_role("button", name="Run the example live").count() == 0
    assert tab.evaluate("document.activeElement.closest('.thebe-cell') === document.querySelector('.thebe-cell')")
    label = tab.evaluate("document.activeElement.getAttribute('aria-label') || ''")
    assert "code cell 1 of" in label

    # A kernel of this page's own, with torch and mindspore already imported.
    new = live_server.kernel_ids() - before
    assert len(new) == 1
    assert "True True" in run_code(tab, "import sys; print('torch' in sys.modules, 'mindspore' in sys.modules)")

    print(f"\nlive code: click → first live output {first_output:.2f} s")
    blocking = [v for v in run_axe(tab) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)
    screenshot(tab, "live-clip_grad_value_")

    # Edit the PyTorch cell into an error: the traceback shows under it.
    torch_tab = tab.locator(".mapping-example .sd-tab-set").first.locator(".sd-tab-content").nth(0)
    first_torch = torch_tab.locator(".thebe-cell").first
    first_torch.locator(".CodeMirror").click()
    tab.keyboard.press("Control+A")
    tab.keyboard.type('clip = torch_grads[0]\nraise ValueError(f"not clipped: {clip.shape}")')
    tab.keyboard.press("Shift+Enter")
    torch_output = torch_tab.locator(".live-output").first
    torch_output.locator(".jp-OutputArea-output", has_text="ValueError").first.wait_for(timeout=KERNEL_TIMEOUT)
    text = static_text(torch_output)
    assert "not clipped: torch.Size([2, 3])" in text
    assert "tensor(" not in text, "the new run replaced the old output"
    blocking = [v for v in run_axe(tab) if v["impact"] in BLOCKING]
    assert not blocking, "with a traceback shown:\n" + describe(blocking)

    # Restarting the kernel is not losing it: the same kernel, a fresh namespace, still preloaded.
    tab.locator(".mapping-example .thebe-cell").first.locator(".thebe-restart-button").click()
    deadline = time.monotonic() + 60
    shown = ""
    while time.monotonic() < deadline and "NameError" not in shown:
        tab.wait_for_timeout(500)
        shown = run_code(tab, "import sys; print('torch' in sys.modules); print(torch_grads)")
    assert "True" in shown and "NameError" in shown, shown
    assert live_server.kernel_ids() & new == new
    assert box.get_attribute("data-state") == "done", status.inner_text()
    assert context.errors == [], (context.errors, context.failed)

    # Leaving the page ends its kernel.
    tab.goto(live_server.origin + "/source/index.html")
    left = live_server.wait_for_kernels(lambda ids: not (ids & new), timeout=30)
    assert not (left & new), "the page's kernel outlived the page"
    context.close()

    # A fresh account: nothing about the server was written where Jupyter keeps its files.
    written = [p.name for p in live_server.home.rglob("*") if p.is_file()]
    assert not [n for n in written if n.startswith("jpserver-") or "cookie_secret" in n], written


def test_an_error_stops_the_run_and_the_status_line_says_where(browser, live_server):
    context = new_reader(browser, live_server)
    tab = open_with_key(context, live_server, OTHER)
    # The example's first cell, changed before the click, now raises.
    tab.evaluate("""() => { document.querySelector('.mapping-example div.example-code pre').textContent =
                            'raise ValueError("on purpose")'; }""")
    cells = tab.locator(".mapping-example div.example-code").count()
    run_example(tab)
    status = tab.locator(".live-status")
    assert tab.get_attribute(".live-launch", "data-state") == "error", status.inner_text()
    assert tab.evaluate("window.__live.states").count("running") == 1
    assert f"Cell 1 of {cells} stopped with ValueError: on purpose" in status.inner_text()
    outputs = tab.locator(".mapping-example .live-output")
    assert "on purpose" in static_text(outputs.nth(0))
    assert all(static_text(outputs.nth(i)) == "" for i in range(1, cells)), "cells after the error ran"
    blocking = [v for v in run_axe(tab) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)
    context.close()


def two_tabs_run(browser, live_server):
    """A reader runs the seed page's example, then another page's in a second tab, opened without
    the printed address (it borrows the key from the first): (context, first tab, second tab)."""
    context = new_reader(browser, live_server)
    first = open_with_key(context, live_server, SEED)
    run_example(first)
    second = context.new_page()
    second.goto(live_server.origin + OTHER)
    run_example(second)
    return context, first, second


def test_two_pages_have_separate_kernels_and_closing_one_leaves_the_other(browser, live_server):
    context, first, second = two_tabs_run(browser, live_server)

    # No state is shared.
    assert "set" in run_code(first, "secret = 'A'; print('set')")
    shown = run_code(second, "print(secret)")
    assert "NameError" in shown, f"the second page sees the first page's variable: {shown!r}"
    history = run_code(second, "get_ipython().run_line_magic('history', '-g secret')")
    assert "secret = 'A'" not in history, "one page's history shows what another ran"
    first_kernels, second_kernels = {page_kernel(first)}, {page_kernel(second)}
    assert first_kernels != second_kernels, "the two pages share a kernel"
    assert first_kernels | second_kernels <= live_server.kernel_ids()

    # Closing the first tab ends its kernel and leaves the second one running.
    first.close()
    ids = live_server.wait_for_kernels(lambda ids: not (ids & first_kernels), timeout=30)
    assert not (ids & first_kernels), "the closed tab's kernel is still running"
    assert second_kernels <= ids, "closing one tab ended the other tab's kernel"
    assert "42" in run_code(second, "print(6 * 7)")
    assert second.get_attribute(".live-launch", "data-state") not in ("closed", "failed")
    assert context.errors == [], context.errors
    context.close()


# -- Attacks ---------------------------------------------------------------------------------


HOSTILE_HOSTS = ("evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}", "attacker.localhost.example")


def raw_get(origin: str, path: str, host: str) -> tuple[int, str]:
    """A request with any Host header, as a DNS-rebound page's requests arrive."""
    address = origin.split("//", 1)[1]
    connection = http.client.HTTPConnection(address, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, str(response.getheaders()) + response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_a_foreign_host_gets_4xx_and_no_key(live_server):
    port = live_server.origin.rsplit(":", 1)[1]
    paths = ["/", "/" + CONFIG, "/index.html", SEED, "/_static/live.js", "/jupyter/api/status", "/api/status"]
    for host in HOSTILE_HOSTS:
        for path in paths:
            status, text = raw_get(live_server.origin, path, host.format(port=port))
            assert 400 <= status < 500, f"Host {host}, {path}: {status}"
            assert live_server.key not in text, f"Host {host}, {path}: the key is in the answer"
    # The server's own names serve the site, and nothing anyone can ask for holds the key.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        for path in paths[:5]:
            status, text = raw_get(live_server.origin, path, host)
            assert status == 200, f"Host {host}, {path}: {status}"
            assert live_server.key not in text, f"Host {host}, {path}: the key is in the answer"
    # The key is taken from a header only: in a query string it opens nothing.
    status, _, _ = http_get(f"{live_server.api}api/kernels?token={live_server.key}")
    assert status in (401, 403), "a key in a query string was accepted"
    assert http_get(live_server.api + "api/kernels")[0] in (401, 403)


@pytest.fixture(scope="module")
def other_origin():
    """A page on another loopback origin: a server of its own on another port."""
    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!DOCTYPE html><html lang=en><title>elsewhere</title><p>another site</p></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((live.HOST, 0), Blank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{live.HOST}:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def page_kernel(tab) -> str:
    """The id of the kernel a page's cells run in."""
    return tab.evaluate("window.thebe.session.connection.kernel.id")


def reader_with_a_kernel(browser, server: LiveServer):
    """The reader's tab, its example run: a kernel the attacker may try to reach."""
    context = new_reader(browser, server)
    tab = open_with_key(context, server, SEED)
    run_example(tab)
    kernel = page_kernel(tab)
    assert kernel in server.kernel_ids()
    return context, kernel


def attack(tab, sites: list[str], kernel_id: str, marker: Path) -> dict:
    return tab.evaluate(ATTACK, {"sites": sites, "kernelId": kernel_id, "marker": str(marker),
                                 "keyProtocol": KEY_PROTOCOL})


def assert_repelled(server: LiveServer, report: dict, marker: Path, kernels_before: set[str], where: str):
    """Worst outcome first: code ran, a kernel WebSocket opened, a kernel started, the key was read."""
    time.sleep(1)
    started = server.kernel_ids() - kernels_before
    assert not marker.exists(), f"{where} ran code as the user (WebSocket: {report['opened']})"
    assert not report["opened"], f"{where} opened a kernel WebSocket: {report['opened']}"
    assert not (report["started"] or started), f"{where} started a kernel: {report['started'] or started}"
    leaked = leaks(server.key, report["texts"])
    assert not leaked, f"{where} read the key:\n" + "\n".join(leaked)


def test_pages_of_other_loopback_origins_cannot_get_the_key_start_a_kernel_or_open_a_websocket(
        browser, live_server, other_origin, tmp_path):
    reader, kernel_id = reader_with_a_kernel(browser, live_server)
    port = live_server.origin.rsplit(":", 1)[1]
    site = live_server.origin + "/"
    # In the reader's own browser: a page of another server on loopback, and the same server
    # under another of its names (another origin: it shares no storage with the reader's tab).
    for where, url, sites in (
        ("a page on another loopback port", other_origin, [site]),
        ("a page from http://localhost:<port>", f"http://localhost:{port}/source/index.html",
         [f"http://localhost:{port}/", site]),
    ):
        marker = tmp_path / f"ran-{secrets.token_hex(4)}"
        before = live_server.kernel_ids()
        tab = reader.new_page()
        tab.goto(url)
        report = attack(tab, sites, kernel_id, marker)
        tab.close()
        assert_repelled(live_server, report, marker, before, where)
    assert kernel_id in live_server.kernel_ids(), "the reader's kernel is untouched"
    reader.close()


REBINDING_ARGS = [
    *CHROMIUM_ARGS,
    "--host-resolver-rules=MAP evil.example 127.0.0.1",
    # Private Network Access off: what Firefox and Safari do, and what a page may get around.
    "--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,"
    "BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks",
]


def test_dns_rebinding_cannot_run_code(browser, live_server, tmp_path):
    """evil.example resolves to 127.0.0.1: a page of that origin reaches the server as same-origin."""
    port = live_server.origin.rsplit(":", 1)[1]
    rebinding = browser.browser_type.launch(executable_path=str(CHROMIUM), args=REBINDING_ARGS)
    try:
        reader, kernel_id = reader_with_a_kernel(rebinding, live_server)
        marker = tmp_path / "ran"
        before = live_server.kernel_ids()
        evil = rebinding.new_context().new_page()
        evil.goto(f"http://evil.example:{port}/source/index.html")
        assert evil.evaluate("location.host") == f"evil.example:{port}", "the name was not mapped to 127.0.0.1"
        report = attack(evil, [f"http://evil.example:{port}/"], kernel_id, marker)
        assert_repelled(live_server, report, marker, before, "a DNS-rebound page")
        assert kernel_id in live_server.kernel_ids()
        reader.close()
    finally:
        rebinding.close()


def test_the_key_is_never_in_the_server_log_the_console_or_a_url(browser, live_server):
    """After a reader's whole visit (two tabs, a run, an error, closing): only the printed address holds it."""
    context, first, second = two_tabs_run(browser, live_server)
    run_code(first, "raise RuntimeError('on purpose')")
    first.close()
    second.goto(live_server.origin + "/source/index.html")
    time.sleep(1)
    seen = console_seen(context, live_server.origin)
    urls = [url for page, url in context.urls if page.startswith(live_server.origin)]
    context.close()
    # The reader's pages in every context this module opened, not only this one.
    for other in live_server.tabs:
        seen += [text for url, text in other.console_texts if url.startswith(live_server.origin)]
        urls += [url for page, url in other.urls if page.startswith(live_server.origin)]
    assert seen, "the console hook recorded nothing"
    assert not leaks(live_server.key, seen), "the key is in the browser console:\n" + "\n".join(leaks(live_server.key, seen))
    in_urls = [u for u in urls if live_server.key in u and not u.startswith(live_server.address)]
    assert not in_urls, f"the key is in a requested URL: {in_urls[:3]}"
    time.sleep(1)
    log = live_server.output.text
    assert "DEBUG" in log or "[D " in log or "GET" in log, "the server log is not verbose"
    lines = [line for line in log.splitlines() if live_server.key in line and "Open the site:" not in line]
    assert not lines, "the key is in the server log:\n" + "\n".join(lines[:5])


# -- tools/live.py ---------------------------------------------------------------------------


def private_folders(command_lines: list[str]) -> set[Path]:
    """The live server's private folder, found from its preloader's socket argument."""
    return {Path(word).parent for line in command_lines for word in line.split() if word.endswith("preload.sock")}


def test_live_script_serves_the_site_and_stops_everything_on_sigint(site):
    process, output = start_live(site.html)
    try:
        output.wait_for(r"Press Ctrl-C", timeout=240)
        out = output.text
        origin = re.search(r"Open the site:\s+(http://127\.0\.0\.1:\d+)/#live-key=([\w-]+)", out)
        origin, key = origin.group(1), origin.group(2)
        assert len(key) >= 40
        assert [line for line in out.splitlines() if key in line] == [f"  Open the site:  {origin}/#live-key={key}"]
        assert "Run the example live" in http_get(origin + SEED)[2]
        assert json.loads(http_get(origin + "/" + CONFIG)[2]) == {"url": "jupyter/"}
        api = origin + "/jupyter/"
        # The key is required, in the Authorization header, and only from the site's own origin.
        assert http_get(api + "api/kernelspecs")[0] in (401, 403)
        assert http_get(api + "api/kernelspecs", {"Authorization": f"token {key}"})[0] == 200
        foreign = http_get(api + "api/kernelspecs", {"Authorization": f"token {key}", "Origin": "http://localhost:1"})
        assert foreign[0] in (403, 404), "a keyed request from another origin was served"
        assert not (foreign[1].get("Access-Control-Allow-Origin") or "").endswith(":1")

        # A kernel, so the clean-up has something to end: forked from the preloader, in a folder of its own.
        status, _, text = http_get(api + "api/kernels", {"Authorization": f"token {key}"}, "POST",
                                   b'{"name": "python3"}')
        assert status == 201, text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(live.process_tree(process.pid)) < 4:
            time.sleep(0.2)
        tree = live.process_tree(process.pid)
        names = [" ".join(p.cmdline()) for p in tree]
        assert any("live_kernels.py" in n for n in names) and any("preload.py" in n for n in names), names
        assert len(tree) >= 4, "expected tools/live.py, the server, the preloader and a kernel"
        private = private_folders(names)
        assert len(private) == 1 and next(iter(private)).is_dir()
        assert all(key not in " ".join(p.cmdline()) for p in tree), "the key is on a command line"
        assert all(key not in " ".join(p.environ().values()) for p in tree[1:]), "the key is in an environment"
        kernel = json.loads(text)["id"]
        shown = execute(f"ws://{origin.split('//')[1]}/jupyter/api/kernels/{kernel}/channels",
                        "import os, sys; print('torch' in sys.modules, 'mindspore' in sys.modules, os.getcwd())",
                        headers={"Origin": origin}, subprotocols=[KEY_PROTOCOL + key])
        preloaded_torch, preloaded_mindspore, cwd = shown.split()
        assert preloaded_torch == preloaded_mindspore == "True", "the kernel was not forked from the preloader"
        assert Path(cwd).parent.parent in private_folders(names), "the kernel's folder is not its own"

        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)       # what Ctrl-C in the terminal does
        rest = output.rest(timeout=60)
        stopping = time.monotonic() - started
        assert process.returncode == 0, rest
        assert "stopped." in rest
        left = [p for p in tree if live.alive(p)]
        assert not left, f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
        print(f"\ntools/live.py stopped everything {stopping:.1f} s after SIGINT")
        assert not next(iter(private)).exists(), "the server's private folder is left behind"
        with pytest.raises(OSError):
            urllib.request.urlopen(origin + SEED, timeout=2)
    finally:
        kill_tree(process)


def test_live_script_stops_cleanly_when_interrupted_while_starting(site):
    process, output = start_live(site.html)
    try:
        # Wait until the server and its preloader exist, then interrupt before the server answers.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(live.process_tree(process.pid)) < 3:
            time.sleep(0.05)
        tree = live.process_tree(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        rest = output.rest(timeout=60)
        assert process.returncode == 0, rest
        assert "stopped." in rest
        assert not [p for p in tree if live.alive(p)], rest
    finally:
        kill_tree(process)


def test_killing_the_script_outright_still_stops_the_server(site):
    """SIGKILL cannot be handled: the server learns of its parent's death from the OS (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    process, output = start_live(site.html)
    tree = []
    try:
        output.wait_for(r"Press Ctrl-C", timeout=240)
        tree = live.process_tree(process.pid)
        assert len(tree) >= 3, "expected tools/live.py, the server and its preloader"
        process.kill()
        output.rest(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and [p for p in tree if live.alive(p)]:
            time.sleep(0.2)
        assert not [p.pid for p in tree if live.alive(p)], output.text
    finally:
        for proc in live.process_tree(process.pid) + tree:
            if live.alive(proc):
                proc.kill()


def test_live_script_refuses_a_missing_site_or_a_taken_port(tmp_path, site):
    started = time.time() - 1  # process start times are rounded
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "make html" in result.stderr
    with socket.socket() as taken:
        taken.bind((live.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, str(ROOT / "tools" / "live.py"), "--port", str(port),
                                 "--html", str(site.html)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "PORT=" in result.stderr
    # Nothing was started: no server (it would have outlived live.py, adopted by init). Only
    # servers for these two runs count (their site folder or port): other tests run beside this one.
    def ours(command: str) -> bool:
        return (any(word in command for word in ("live_kernels", "jupyter_server"))
                and (str(tmp_path) in command or str(port) in command.split()))

    servers = [p.info for p in psutil.process_iter(["pid", "cmdline", "create_time"])
               if (p.info["create_time"] or 0) >= started and ours(" ".join(p.info["cmdline"] or []))]
    assert servers == []


def test_lab_config_reads_the_notebooks_as_myst():
    import tomllib

    config = tomllib.loads((ROOT / "notebooks" / "jupytext.toml").read_text(encoding="utf-8"))
    assert config["preferred_jupytext_formats_read"] == "md:myst"
    pins = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for package in ("jupyter_server", "jupyterlab", "psutil"):
        assert re.search(rf"^{package}==\S+$", pins, re.M), f"{package} is not pinned exactly"


def wait_for_port(port: int, timeout: float, output: Output) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on port {port} after {timeout} s:\n{output.text[-3000:]}")
            time.sleep(0.1)


def test_lab_opens_the_myst_notebooks_as_notebooks_on_a_fresh_account(tmp_path):
    port = live.free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "lab", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=fresh_account(tmp_path),
    )
    try:
        output = Output(process)
        token = output.wait_for(rf"http://127\.0\.0\.1:{port}/lab\?token=([\w-]+)", timeout=30).group(1)
        output.wait_for(r"Jupyter Server [\d.]+ is running at", timeout=120)
        # Jupyter Server prints that line before its event loop binds the port.
        wait_for_port(port, timeout=30, output=output)
        base = f"http://127.0.0.1:{port}/api/"
        headers = {"Authorization": f"token {token}"}
        status, _, text = http_get(base + "contents/clip_grad_value_.md?type=notebook&content=1", headers)
        assert status == 200, text
        model = json.loads(text)
        assert model["type"] == "notebook"
        code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
        assert code and "clip_grad_value_" in "".join(c["source"] for c in code)
        # A kernel starts and runs code on the fresh account; the token is required.
        status, _, text = http_get(base + "kernels", headers, "POST", b'{"name": "python3"}')
        assert status == 201, text
        kernel = json.loads(text)["id"]
        shown = execute(f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels", "print(6 * 7)", headers=headers)
        assert shown.strip() == "42", output.text[-3000:]
        assert http_get(base + "contents/clip_grad_value_.md")[0] in (401, 403)
        assert (tmp_path / "data" / "jupyter" / "runtime").is_dir()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
