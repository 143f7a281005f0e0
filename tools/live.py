"""Serve the built site with live code: ``make live`` (and ``make lab``).

``live`` starts two things on loopback:

* a Jupyter server (jupyter_server, run by this Python, so its kernels import the
  project's torch and mindspore) with a random token, accepting requests only from
  the site's exact origin (``ServerApp.allow_origin``, never ``*``);
* the built site (``_build/html``) on another port. Besides the files, it answers
  ``/live-server.json`` with the Jupyter server's address and token, from memory:
  the token is never written to disk. A plain build's own ``live-server.json``
  names no server, so ``make serve`` pages explain how to start one.

Ctrl-C (or SIGTERM, SIGHUP) stops both: the Jupyter server runs in its own session
so the terminal's signal reaches this script only; the script asks the server to
shut down (which ends its kernels), then kills whatever is left of the server's
process tree.

``lab`` runs JupyterLab on ``notebooks/`` (loopback, random token); jupytext opens the
MyST notebooks there as notebooks (``notebooks/jupytext.toml``).

    .venv/bin/python tools/live.py [--port 8000] [--jupyter-port 0] [--html _build/html]
    .venv/bin/python tools/live.py lab [--port 8888]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import json
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
HOST = "127.0.0.1"
CONFIG_PATH = "/live-server.json"      # what the pages ask for (mapsite.live writes the no-server default)
EXAMPLE_PAGE = "source/mappings/clip_grad_value_.html"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def base_env(token: str | None = None) -> dict[str, str]:
    """The environment for the server and its kernels: this venv first, MindSpore's glog quiet."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("GLOG_v", "3")
    env["PYTHONUNBUFFERED"] = "1"
    if token is not None:
        env["JUPYTER_TOKEN"] = token          # not on the command line, where `ps` would show it
    return env


def root_flags() -> list[str]:
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def server_flags(port: int, root_dir: Path) -> list[str]:
    """What both servers share: loopback only, this port or fail, no browser, root allowed as root."""
    return [
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False",
        *root_flags(),
    ]


def jupyter_command(port: int, origin: str, root_dir: Path, verbose: bool = False) -> list[str]:
    return [
        sys.executable, "-m", "jupyter_server",
        *server_flags(port, root_dir),
        f"--ServerApp.allow_origin={origin}",
        "--ServerApp.terminals_enabled=False",
        # Only the REST and kernel APIs are needed: skip the lab UI and its helpers (faster start).
        "--ServerApp.jpserver_extensions=jupyterlab=False",
        "--ServerApp.jpserver_extensions=jupyter_lsp=False",
        "--ServerApp.jpserver_extensions=notebook_shim=False",
        "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
        # A page closed without ending its kernel: the kernel goes after 30 idle minutes.
        "--MappingKernelManager.cull_idle_timeout=1800",
        "--MappingKernelManager.cull_interval=300",
        f"--ServerApp.log_level={'INFO' if verbose else 'WARN'}",
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


def start_jupyter(port: int, origin: str, token: str, root_dir: Path, verbose: bool = False) -> subprocess.Popen:
    """The Jupyter server in a session of its own: a Ctrl-C in the terminal reaches only us.

    Should this script be killed outright, the server still gets SIGTERM and ends its kernels.
    """
    return subprocess.Popen(
        jupyter_command(port, origin, root_dir, verbose),
        env=base_env(token), cwd=str(root_dir), stdin=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=parent_death_signal(),
    )


def wait_for_jupyter(process: subprocess.Popen, url: str, token: str, timeout: float,
                     stop: threading.Event | None = None) -> None:
    """Return once the server answers its status API; raise if it exits, or on timeout or stop."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url + "api/status", headers={"Authorization": f"token {token}"})
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited with status {process.returncode}")
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset, timed out (URLError is an OSError too)
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Jupyter server did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)


def process_tree(pid: int) -> list:
    """The process and everything it started (kernels live in sessions of their own)."""
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop_jupyter(process: subprocess.Popen, grace: float = 10.0) -> None:
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


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """The built site, plus /live-server.json naming the running Jupyter server (``server.live_config``)."""

    def send_head(self):
        if self.path.split("?", 1)[0] == CONFIG_PATH:
            body = self.server.live_config
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def log_message(self, format, *args):
        if not self.server.quiet:
            super().log_message(format, *args)


def serve_site(html: Path, port: int, config: dict, quiet: bool = True) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer((HOST, port), functools.partial(SiteHandler, directory=str(html)))
    server.live_config, server.quiet = json.dumps(config).encode(), quiet
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="site", daemon=True).start()
    return server


def live(args: argparse.Namespace) -> int:
    html = Path(args.html).resolve()
    if not (html / "index.html").is_file():
        print(f"live: no built site in {html}; run `make html` first", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)

    token = secrets.token_urlsafe(32)
    jupyter_port = args.jupyter_port or free_port()
    jupyter_url = f"http://{HOST}:{jupyter_port}/"
    try:
        # The site's port first: its origin is what the Jupyter server is told to accept.
        site = serve_site(html, args.port, {"url": jupyter_url, "token": token}, quiet=not args.verbose)
    except OSError as exc:
        print(f"live: cannot serve the site on {HOST}:{args.port}: {exc.strerror} "
              f"(try `make live PORT=<another port>`)", file=sys.stderr)
        return 2
    origin = f"http://{HOST}:{site.server_address[1]}"
    jupyter = start_jupyter(jupyter_port, origin, token, Path(args.root_dir).resolve(), args.verbose)
    status = 0
    try:
        started = time.monotonic()
        wait_for_jupyter(jupyter, jupyter_url, token, args.timeout, stop)
        print(
            f"\nLive code is ready (Jupyter server up in {time.monotonic() - started:.1f} s).\n"
            f"  Open the site:  {origin}/\n"
            f"  For example:    {origin}/{EXAMPLE_PAGE}  (press \"Run the example live\")\n"
            f"  Jupyter server: {jupyter_url} (token-protected; accepts only {origin})\n"
            "Press Ctrl-C to stop the site, the server and its kernels.",
            flush=True,
        )
        while not stop.wait(0.5):
            if jupyter.poll() is not None:
                print(f"live: the Jupyter server exited with status {jupyter.returncode}", file=sys.stderr)
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
        print("\nlive: stopping the Jupyter server and the site…", flush=True)
        stop_jupyter(jupyter)
        site.shutdown()
        site.server_close()
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
    parser.add_argument("--jupyter-port", type=int, default=0, help="Jupyter server port for live (default: a free one)")
    parser.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the built site")
    parser.add_argument("--root-dir", default=str(ROOT / "notebooks"), help="the Jupyter server's root folder")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the Jupyter server")
    parser.add_argument("--verbose", action="store_true", help="log every request and the server's info messages")
    args = parser.parse_args(argv)
    if args.port is None:
        args.port = 8000 if args.command == "live" else 8888
    return lab(args) if args.command == "lab" else live(args)


if __name__ == "__main__":
    sys.exit(main())
