"""Serve the built site with live code: ``make live`` (and ``make lab``).

``live`` runs one server on loopback (tools/live_kernels.py, a jupyter_server run by this
Python, so its kernels import the project's torch and mindspore). It serves the built site
(``_build/html``) at ``/`` and Jupyter's kernel API under ``/jupyter/``, and prints one
address, ``http://127.0.0.1:<port>/#live-key=<key>``.

Why this design. Whoever holds the Jupyter key can run any code as the user who started
``make live``, so the key must never reach another origin. Two servers (the site, and
Jupyter on another port) meant handing the key to a page of another origin, which is what
went wrong before: the site answered ``/live-server.json`` with the key to any Host (so a
page on a DNS-rebound name read it as same-origin), and jupyter_server lets a keyed request
skip its origin checks. Here:

* One origin, one port. Every request, for a page or for the API, passes Jupyter's Host
  check: only ``localhost`` and loopback addresses are served, anything else gets 403, so a
  rebound name gets no page, no API and no WebSocket. The site needs no CORS at all, and
  none is granted to anyone.
* The key is never served. It reaches the browser in the fragment of the printed address,
  which browsers never send to a server; the page at ``/`` moves it into the tab's
  sessionStorage (kept per origin: another origin, even another port, cannot read it) and
  drops it from the address bar. The pages send it only to their own origin, in the
  ``Authorization`` header, or as a WebSocket subprotocol (a browser cannot set headers on a
  WebSocket); never in a query string, so no log line carries it. Jupyter's login cookie is
  not used either: cookies are shared by every port of a host, and another local server
  would receive it. The origin check is kept even for keyed requests.
* Nothing about the server goes to disk: the key comes on the server's standard input (not
  on its command line or in its environment, which kernels inherit), and Jupyter's runtime
  folder is a private temporary one, removed on exit, where no server-info file (it holds
  the key) or cookie secret is written.
* One kernel per page view: each press of the button starts a kernel of its own, forked
  from a preloader that has imported torch and mindspore (``mapsite.preload``, as the build
  does), in an empty working folder of its own. Leaving the page ends it (the page deletes
  its session; if that request is lost, the server ends a kernel whose WebSocket closed and
  did not come back within 10 s), and a kernel idle for 30 minutes is culled. Nothing is
  shared between pages, and one page never ends another's kernel.

The alternative the issue offered, keeping two servers with a Host check on the site's and
the key in the fragment, needs the same fragment-and-header handling plus a cross-origin
grant on the Jupyter side; one origin is less to get right.

Ctrl-C (or SIGTERM, SIGHUP) stops everything: the server runs in a session of its own, so
the terminal's signal reaches this script only; the script asks the server to stop (it ends
its kernels and the preloader), then kills whatever is left of the server's process tree.
Should this script be killed outright, the OS sends the server SIGTERM (Linux).

``lab`` runs JupyterLab on ``notebooks/`` (loopback, random key, Jupyter's own login);
jupytext opens the MyST notebooks there as notebooks (``notebooks/jupytext.toml``).

    .venv/bin/python tools/live.py [--port 8000] [--html _build/html] [--preload torch,mindspore]
    .venv/bin/python tools/live.py lab [--port 8888]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
from mapsite.runner import framework_env  # noqa: E402
HOST = "127.0.0.1"
API_PREFIX = "/jupyter/"               # tools/live_kernels.py: the site at /, Jupyter's API here
KEY_FRAGMENT = "live-key"              # the printed address ends in #live-key=<key>
EXAMPLE_PAGE = "source/mappings/clip_grad_value_.html"
PRELOAD = "torch,mindspore"            # as conf.py's mapsite_preload_modules
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether the server could listen there (as it does, connections still closing do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def base_env(token: str | None = None) -> dict[str, str]:
    """The environment for a server and its kernels: this venv first, MindSpore's glog quiet.

    ``token`` is for JupyterLab only, which reads it from JUPYTER_TOKEN; the live server gets
    its key on standard input and the variable is removed, so its kernels never see a key.
    """
    env = framework_env()   # MindSpore's glog quiet (mapsite.runner says why)
    env.pop("JUPYTER_TOKEN", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    if token is not None:
        env["JUPYTER_TOKEN"] = token          # not on the command line, where `ps` would show it
    return env


def root_flags() -> list[str]:
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def server_flags(port: int, root_dir: Path) -> list[str]:
    """JupyterLab's: loopback only, this port or fail, no browser, root allowed as root."""
    return [
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False",
        *root_flags(),
    ]


def parent_death_signal():
    """Linux: a function for the child that has the OS send it SIGTERM when we die, even by SIGKILL.

    prctl is looked up here, in the parent, so the child only makes one C call before exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm)


def server_command(port: int, html: Path, preload: str, verbose: bool = False) -> list[str]:
    return [sys.executable, str(ROOT / "tools" / "live_kernels.py"), "--html", str(html), "--port", str(port),
            "--preload", preload, *(["--verbose"] if verbose else [])]


def start_server(port: int, html: Path, key: str, preload: str = PRELOAD, verbose: bool = False) -> subprocess.Popen:
    """The live server in a session of its own (a Ctrl-C in the terminal reaches only us); the key on its stdin.

    Should this script be killed outright, the server still gets SIGTERM and ends its kernels.
    """
    process = subprocess.Popen(
        server_command(port, html, preload, verbose), env=base_env(), cwd=str(ROOT), stdin=subprocess.PIPE,
        text=True, start_new_session=True, preexec_fn=parent_death_signal(),
    )
    try:
        process.stdin.write(key + "\n")
        process.stdin.close()
    except OSError:  # it died at once; wait_for_server reports how
        pass
    return process


def wait_for_server(process: subprocess.Popen, url: str, key: str, timeout: float,
                    stop: threading.Event | None = None) -> None:
    """Return once the server answers its status API; raise if it exits, or on timeout or stop."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url + API_PREFIX.lstrip("/") + "api/status",
                                     headers={"Authorization": f"token {key}"})
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the live server exited with status {process.returncode}")
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset, timed out (URLError is an OSError too)
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the live server did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)


def process_tree(pid: int) -> list:
    """The process and everything it started (kernels live in sessions of their own)."""
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop_server(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Ask the server to stop (it shuts its kernels down), then make sure its whole tree is gone."""
    tree = process_tree(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Anything still alive from the tree (a kernel that ignored its shutdown request, a child of it).
    tree += [p for p in process_tree(process.pid) if p not in tree]
    left = [p for p in tree if p.pid != process.pid and alive(p)]
    for proc in left:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, left = psutil.wait_procs(left, timeout=3)
    for proc in left:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=3)
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


def alive(proc) -> bool:
    """Running and not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def live(args: argparse.Namespace) -> int:
    html = Path(args.html).resolve()
    if not (html / "index.html").is_file():
        print(f"live: no built site in {html}; run `make html` first", file=sys.stderr)
        return 2
    port = args.port or free_port()
    if not port_free(port):
        print(f"live: cannot serve on {HOST}:{port}, the port is taken (try `make live PORT=<another port>`)",
              file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)

    key = secrets.token_urlsafe(32)
    origin = f"http://{HOST}:{port}"
    server = start_server(port, html, key, args.preload, args.verbose)
    status = 0
    try:
        started = time.monotonic()
        wait_for_server(server, origin + "/", key, args.timeout, stop)
        preloaded = ", ".join(m for m in args.preload.split(",") if m.strip()) or "nothing"
        print(
            f"\nLive code is ready ({time.monotonic() - started:.1f} s; kernels start with {preloaded} imported).\n"
            f"  Open the site:  {origin}/#{KEY_FRAGMENT}={key}\n"
            "  That address carries this session's key (browsers never send the part after #); keep it to\n"
            "  yourself. Then open a mapping page, for example\n"
            f"                  {origin}/{EXAMPLE_PAGE}\n"
            "  in the same tab, and press \"Run the example live\".\n"
            "Press Ctrl-C to stop the site, the server and its kernels.",
            flush=True,
        )
        while not stop.wait(0.5):
            if server.poll() is not None:
                print(f"live: the live server exited with status {server.returncode}", file=sys.stderr)
                status = 1
                break
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"live: {exc}", file=sys.stderr)
        status = 1
    finally:
        # A second Ctrl-C must not interrupt the clean-up.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        print("\nlive: stopping the server and its kernels…", flush=True)
        stop_server(server)
        print("live: stopped.", flush=True)
    return status


def lab(args: argparse.Namespace) -> int:
    """JupyterLab on notebooks/, replacing this process: Lab handles Ctrl-C and ends its kernels."""
    token = secrets.token_urlsafe(32)
    command = [sys.executable, "-m", "jupyterlab", *server_flags(args.port, Path(args.root_dir).resolve())]
    print(
        "JupyterLab on notebooks/, loopback only. Once it is up, open\n"
        f"  http://{HOST}:{args.port}/lab?token={token}\n"
        "The MyST notebooks (.md) open as notebooks with right-click → Open With → Jupytext Notebook.\n"
        f"(Port taken? `make lab LABPORT=<another port>`.) Ctrl-C twice (or once, then y) stops it and its kernels.",
        flush=True,
    )
    os.chdir(Path(args.root_dir).resolve())
    os.execve(sys.executable, command, base_env(token))
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("live", "lab"), default="live")
    parser.add_argument("--port", type=int, default=None,
                        help="site port for live (default 8000), JupyterLab port for lab (default 8888); 0: any free port")
    parser.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the built site")
    parser.add_argument("--root-dir", default=str(ROOT / "notebooks"), help="JupyterLab's root folder")
    parser.add_argument("--preload", default=PRELOAD,
                        help="modules live kernels start with, comma-separated (default: %(default)s; empty: none)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for the live server")
    parser.add_argument("--verbose", action="store_true", help="log every request and the server's debug messages")
    args = parser.parse_args(argv)
    if args.port is None:
        args.port = 8000 if args.command == "live" else 8888
    return lab(args) if args.command == "lab" else live(args)


if __name__ == "__main__":
    sys.exit(main())
