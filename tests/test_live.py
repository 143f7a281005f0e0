"""Live code: the "Run the example live" button against a real Jupyter server, and tools/live.py.

The Jupyter server is started once per session with tools/live.py's own functions, on a
free loopback port, accepting the test site's origin only. The site learns of it from
live-server.json, which these tests write into the built site (tools/live.py answers that
path from memory instead).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from conftest import ROOT, screenshot

import live  # tools/live.py (conftest puts tools/ on sys.path)
from test_site_quality import BLOCKING, describe, run_axe

SEED = "/source/mappings/clip_grad_value_.html"
CONFIG = "live-server.json"
SETTLED = ".live-launch[data-state]:not([data-state='checking']):not([data-state='loading']):not([data-state='starting'])"
KERNEL_TIMEOUT = 120_000   # ms: a cold kernel importing torch and mindspore on a busy 2-core machine


@pytest.fixture(scope="session")
def jupyter(served_site):
    """A real Jupyter server for the whole session, accepting only the test site's origin."""
    token = secrets.token_urlsafe(24)
    port = live.free_port()
    url = f"http://{live.HOST}:{port}/"
    process = live.start_jupyter(port, served_site, token, ROOT / "notebooks")
    try:
        live.wait_for_jupyter(process, url, token, timeout=60)
        yield {"url": url, "token": token, "process": process}
    finally:
        tree = live.process_tree(process.pid)
        live.stop_jupyter(process)
        assert not [p.pid for p in tree if live.alive(p)], "the Jupyter server left processes behind"


@pytest.fixture
def live_config(site):
    """Set what the site's live-server.json says; the build's own file comes back afterwards."""
    path = site.html / CONFIG
    original = path.read_text(encoding="utf-8")

    def write(url, token=None):
        path.write_text(json.dumps({"url": url, "token": token}), encoding="utf-8")

    yield write
    path.write_text(original, encoding="utf-8")


def static_text(locator) -> str:
    return locator.evaluate("el => el.textContent").strip()


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def record_error_sources(tab) -> list[tuple[str, str]]:
    """(text, URL) of each console error: the conftest fixture keeps only the text."""
    sources: list[tuple[str, str]] = []
    tab.on("console", lambda msg: msg.type == "error" and sources.append((msg.text, msg.location.get("url", ""))))
    return sources


def site_errors(tab, sources, allowed: str) -> list[str]:
    """Console errors, less the browser's own "Failed to load resource" for a request to ``allowed``."""
    expected = {text for text, url in sources if url.startswith(allowed) and text.startswith("Failed to load resource")}
    return [e for e in tab.console_errors if e not in expected]


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
    assert json.loads((site.html / CONFIG).read_text()) == {"url": None, "token": None}
    thebe = site.html / "_static" / "thebe"
    assert (thebe / "index.js").is_file() and (thebe / "thebe.css").is_file()
    assert len(list(thebe.glob("*.index.js"))) > 50, "thebe's lazily loaded chunks are missing"
    assert not list(thebe.glob("*.map")), "source maps are not shipped"


# -- No server -------------------------------------------------------------------------------


def test_without_a_server_the_button_says_how_to_start_one(page, served_site, live_config):
    sources = record_error_sources(page)
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
    assert button.is_enabled(), "the reader can try again once the server runs"
    assert not [u for u in requested if "thebe" in u], "thebe is loaded only for a reachable server"

    # A server that was named but is not running: a quick answer, not a hang.
    dead = f"http://127.0.0.1:{live.free_port()}/"
    live_config(dead, "no-such-token")
    started = time.monotonic()
    button.click()
    page.wait_for_selector('.live-launch[data-state="unavailable"] .live-status:has-text("No Jupyter server answered")',
                           timeout=10_000)
    assert time.monotonic() - started < 8
    assert "make live" in status.inner_text()
    assert not [u for u in requested if "thebe" in u]
    assert page.locator(".thebe-cell").count() == 0, "the static page is left as it was"
    assert "binder" not in page.locator("body").inner_text().lower()
    screenshot(page, "live-no-server")
    assert site_errors(page, sources, allowed=dead) == [], sources
    assert all(u.startswith(dead) for u in page.outside_requests)


# -- A real kernel ---------------------------------------------------------------------------


def test_live_cells_run_in_a_kernel_and_show_tracebacks(page, served_site, jupyter, live_config):
    live_config(jupyter["url"], jupyter["token"])
    page.goto(served_site + SEED)
    torch_tab = page.locator(".mapping-example .sd-tab-set").first.locator(".sd-tab-content").nth(0)
    # What the static page printed for the first PyTorch cell: the gradients.
    expected = static_text(torch_tab.locator(".example-output").first)
    assert "tensor(" in expected
    code_cells = page.locator(".mapping-example div.example-code").count()

    started = time.monotonic()
    page.get_by_role("button", name="Run the example live").click()
    page.wait_for_selector(SETTLED, timeout=KERNEL_TIMEOUT)
    assert page.get_attribute(".live-launch", "data-state") == "ready", page.locator(".live-status").inner_text()
    ready = time.monotonic() - started

    cells = page.locator(".mapping-example .thebe-cell")
    outputs = page.locator(".mapping-example .live-output")
    assert cells.count() == code_cells and outputs.count() == code_cells, "one editable cell and one output each"
    cells.nth(0).locator(".thebe-run-button").click()      # the set-up cell: imports, inputs
    first_torch = torch_tab.locator(".thebe-cell").first
    first_torch.locator(".thebe-run-button").click()
    torch_output = torch_tab.locator(".live-output").first
    torch_output.locator(".jp-OutputArea-output").first.wait_for(timeout=KERNEL_TIMEOUT)
    first_output = time.monotonic() - started
    assert normalise(static_text(torch_output)) == normalise(expected)
    assert static_text(outputs.nth(0)) == "", "the set-up cell prints nothing"
    print(f"\nlive code: click → kernel ready {ready:.1f} s, click → first live output {first_output:.1f} s")
    # The live cells are as accessible as the static ones (axe-core, as in test_site_quality).
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)

    # Edit the PyTorch cell into an error: the traceback shows under it.
    editor = first_torch.locator(".CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('clip = torch_grads[0]\nraise ValueError(f"not clipped: {clip.shape}")')
    page.keyboard.press("Shift+Enter")
    error = torch_output.locator(".jp-OutputArea-output", has_text="ValueError")
    error.first.wait_for(timeout=KERNEL_TIMEOUT)
    text = static_text(torch_output)
    assert "not clipped: torch.Size([2, 3])" in text
    assert "Traceback" in text or "----> 2" in text or "Cell In" in text
    assert "tensor(" not in text, "the new run replaced the old output"

    assert "binder" not in page.locator("body").inner_text().lower()
    screenshot(page, "live-clip_grad_value_")

    # Restarting the kernel is not losing it: the page stays live, with a fresh namespace.
    cells.nth(0).locator(".thebe-restart-button").click()
    page.wait_for_timeout(1500)
    first_torch.locator(".CodeMirror").click()
    page.keyboard.press("Shift+Enter")
    torch_output.locator(".jp-OutputArea-output", has_text="NameError").first.wait_for(timeout=KERNEL_TIMEOUT)
    assert page.get_attribute(".live-launch", "data-state") == "ready", page.locator(".live-status").inner_text()

    # Leaving the page ends its kernel session.
    assert len(sessions(jupyter)) == 1
    page.goto(served_site + "/source/index.html")
    deadline = time.monotonic() + 10
    while sessions(jupyter) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sessions(jupyter) == [], "the page's kernel outlived the page"
    assert page.console_errors == []
    assert all(u.startswith(jupyter["url"]) for u in page.outside_requests), page.outside_requests


def sessions(jupyter) -> list:
    request = urllib.request.Request(jupyter["url"] + "api/sessions",
                                     headers={"Authorization": f"token {jupyter['token']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


# -- tools/live.py ---------------------------------------------------------------------------


class Output:
    """Collects a process's output on a thread, so waiting for a line never blocks on the pipe."""

    def __init__(self, process: subprocess.Popen):
        import threading

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


def test_live_script_serves_both_and_stops_cleanly_on_sigint(site):
    # A session of its own, like a terminal's foreground job: Ctrl-C goes to its whole group.
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(site.html)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, start_new_session=True,
    )
    try:
        output = Output(process)
        output.wait_for(r"Press Ctrl-C", timeout=90)
        out = output.text
        origin = re.search(r"Open the site:\s+(http://127\.0\.0\.1:\d+)/", out).group(1)
        config = json.load(urllib.request.urlopen(origin + "/" + CONFIG, timeout=5))
        server, token = config["url"], config["token"]
        assert server.startswith("http://127.0.0.1:") and server.rstrip("/") != origin and len(token) >= 32
        assert token not in out, "the token is not printed"

        # Only the site's exact origin may use the server; the token is required.
        def get(path, origin_header=None, with_token=True):
            headers = {"Origin": origin_header} if origin_header else {}
            if with_token:
                headers["Authorization"] = f"token {token}"
            try:
                with urllib.request.urlopen(urllib.request.Request(server + path, headers=headers), timeout=5) as r:
                    return r.status, r.headers.get("Access-Control-Allow-Origin")
            except urllib.error.HTTPError as exc:
                return exc.code, exc.headers.get("Access-Control-Allow-Origin")

        assert get("api/kernelspecs", origin) == (200, origin)
        # CORS names the site's origin alone, so a page from anywhere else cannot read the answers
        # (jupyter_server skips its own origin check for token-authenticated requests).
        assert get("api/kernelspecs", "http://localhost:1")[1] == origin
        assert get("api/kernelspecs", "http://localhost:1", with_token=False)[0] in (401, 403, 404)
        assert get("api/kernelspecs", origin, with_token=False)[0] in (401, 403)
        assert urllib.request.urlopen(origin + SEED, timeout=5).status == 200

        # A kernel, so the clean-up has something to end.
        request = urllib.request.Request(server + "api/kernels", data=b'{"name": "python3"}', method="POST",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(live.process_tree(process.pid)) < 3:
            time.sleep(0.2)
        tree = live.process_tree(process.pid)
        assert len(tree) >= 3, "expected tools/live.py, the Jupyter server and a kernel"

        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)       # what Ctrl-C in the terminal does
        rest = output.rest(timeout=40)
        stopping = time.monotonic() - started
        assert process.returncode == 0, rest
        assert "stopped." in rest
        left = [p for p in tree if live.alive(p)]
        assert not left, f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
        print(f"\ntools/live.py stopped everything {stopping:.1f} s after SIGINT")
        with pytest.raises(OSError):
            urllib.request.urlopen(origin + SEED, timeout=2)
    finally:
        if process.poll() is None:
            for proc in reversed(live.process_tree(process.pid)):
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
            process.wait(timeout=10)


def test_live_script_stops_cleanly_when_interrupted_while_starting(site):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(site.html)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, start_new_session=True,
    )
    output = Output(process)
    # Wait until the Jupyter server process exists, then interrupt before it answers.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(live.process_tree(process.pid)) < 2:
        time.sleep(0.05)
    tree = live.process_tree(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    rest = output.rest(timeout=40)
    assert process.returncode == 0, rest
    assert "stopped." in rest
    assert not [p for p in tree if live.alive(p)], rest


def test_killing_the_script_outright_still_stops_the_server(site):
    """SIGKILL cannot be handled: the server learns of its parent's death from the OS (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(site.html)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, start_new_session=True,
    )
    output = Output(process)
    output.wait_for(r"Press Ctrl-C", timeout=90)
    tree = live.process_tree(process.pid)
    assert len(tree) >= 2
    process.kill()
    output.rest(timeout=10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and [p for p in tree if live.alive(p)]:
        time.sleep(0.2)
    assert not [p.pid for p in tree if live.alive(p)], output.text


def test_live_script_refuses_a_missing_site(tmp_path):
    started = time.time() - 1  # process start times are rounded
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "make html" in result.stderr
    # Nothing was started: no Jupyter server (it would have outlived live.py, adopted by init).
    servers = [p.info for p in psutil.process_iter(["pid", "cmdline", "create_time"])
               if (p.info["create_time"] or 0) >= started
               and any(word in " ".join(p.info["cmdline"] or []) for word in ("jupyter", "live.py"))]
    assert servers == []


def test_lab_config_reads_the_notebooks_as_myst():
    import tomllib

    config = tomllib.loads((ROOT / "notebooks" / "jupytext.toml").read_text(encoding="utf-8"))
    assert config["preferred_jupytext_formats_read"] == "md:myst"
    pins = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for package in ("jupyter_server", "jupyterlab", "psutil"):
        assert re.search(rf"^{package}==\S+$", pins, re.M), f"{package} is not pinned exactly"


def test_lab_opens_the_myst_notebooks_as_notebooks():
    port = live.free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "lab", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    try:
        output = Output(process)
        token = output.wait_for(rf"http://127\.0\.0\.1:{port}/lab\?token=([\w-]+)", timeout=30).group(1)
        output.wait_for(r"Jupyter Server [\d.]+ is running at", timeout=90)
        base = f"http://127.0.0.1:{port}/api/contents/"
        request = urllib.request.Request(base + "clip_grad_value_.md?type=notebook&content=1",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            model = json.load(response)
        assert model["type"] == "notebook"
        code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
        assert code and "clip_grad_value_" in "".join(c["source"] for c in code)
        # The token is required.
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(base + "clip_grad_value_.md", timeout=10)
        assert denied.value.code in (401, 403)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
