"""The one server behind ``make live``: the built site and Jupyter's kernel API on one origin.

tools/live.py starts this file as a process of its own and hands it the session's key on
standard input. It is a jupyter_server ``ServerApp`` with these changes (the reasons are in
tools/live.py's docstring):

* The site (``--html``) is served at ``/``, Jupyter's API under ``/jupyter/``. Every request,
  for a page or for the API, goes through Jupyter's Host check: a name other than
  ``localhost`` or a loopback address gets 403.
* ``/live-server.json`` says where the API is (``jupyter/``) and nothing else; ``/`` is a
  small page that moves the key from the address's fragment into the tab's sessionStorage.
* Authentication (``HeaderKeyIdentityProvider``): the key is accepted in the
  ``Authorization`` header, or, for a WebSocket (a browser cannot set headers on one), as a
  ``mapsite-live-key.<key>`` subprotocol. Never from a query string, never from a cookie
  (none is set), and the origin check is applied to every request, keyed or not. No
  response carries a CORS grant (jupyter_server echoes the Origin of keyed requests; not here).
* Kernels (``LiveMappingKernelManager``) are forked from a preloader that has imported the
  preload modules (``mapsite.preload``, as in the build); each starts in an empty folder of
  its own, without IPython's shared history file; a kernel whose last WebSocket closed and
  was not reopened within ``--orphan-grace`` seconds is shut down, and idle kernels are culled.
* Nothing is written to Jupyter's runtime folder: that folder is a private temporary one
  (``JUPYTER_RUNTIME_DIR``), removed on exit, and no server-info file, browser-open file or
  cookie secret is written at all. User and system Jupyter config files are not read, so
  nothing there can widen what this server accepts.

    python tools/live_kernels.py --html _build/html --port 8000 < key
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
API_PREFIX = "/jupyter/"          # Jupyter's base_url: everything else is the site
CONFIG_PATH = "/live-server.json"  # what the pages ask for (mapsite.live writes the no-server default)
KEY_PROTOCOL = "mapsite-live-key."  # WebSocket subprotocol prefix carrying the key
KEY_FRAGMENT = "live-key"         # the printed address ends in #live-key=<key>
STORAGE_ITEM = "mapsite-live-key"  # sessionStorage item where the pages keep it
DEFAULT_PRELOAD = ("torch", "mindspore")

# The page at "/": it runs in the reader's browser only, and holds no secret itself.
LANDING = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Live code: opening the site</title>
<link rel="icon" href="data:,"></head>
<body><main><p>Opening <a href="index.html">the site</a> with live code…</p></main>
<script>
(function () {
  var found = /(?:^#|&)%(fragment)s=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (found) {
    try { sessionStorage.setItem("%(item)s", found[1]); } catch (e) { /* storage disabled */ }
  }
  // replace(): the address with the key leaves the history and the address bar.
  location.replace("index.html");
})();
</script></body></html>
""" % {"fragment": KEY_FRAGMENT, "item": STORAGE_ITEM}


def _jupyter_classes():
    """Everything that needs jupyter_server, built on first use (tools/live.py imports this file)."""
    from jupyter_server.auth.decorator import allow_unauthenticated
    from jupyter_server.auth.identity import IdentityProvider, User
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager, ServerKernelManager
    from tornado import web
    from traitlets import Float, Unicode, default

    reader = User(username="reader", name="reader", display_name="The reader")

    class HeaderKeyIdentityProvider(IdentityProvider):
        """The key in a header or a WebSocket subprotocol; no query string, no cookie."""

        key = ""   # set on the class by main(): not in the traitlets config, whose debug log prints it

        @default("token")
        def _key_default(self) -> str:
            return self.key

        def get_token(self, handler) -> str:
            found = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
            if found:
                return found.group(2).strip()
            if handler.request.headers.get("Upgrade", "").lower() == "websocket":
                for protocol in handler.request.headers.get("Sec-WebSocket-Protocol", "").split(","):
                    protocol = protocol.strip()
                    if protocol.startswith(KEY_PROTOCOL):
                        return protocol[len(KEY_PROTOCOL):]
            return ""

        async def get_user_token(self, handler):
            given, key = self.get_token(handler), self.token
            if key and given and hmac.compare_digest(given.encode(), key.encode()):
                return reader
            return None

        def get_user_cookie(self, handler):
            return None

        def set_login_cookie(self, handler, user) -> None:
            pass  # no cookie: it would reach every port on this host

        def clear_login_cookie(self, handler) -> None:
            pass

        def should_check_origin(self, handler) -> bool:
            # jupyter_server skips the check for keyed requests; here the key is not enough.
            return True

        def is_token_authenticated(self, handler) -> bool:
            # Never "token-authenticated" in jupyter_server's sense, which would also echo any
            # Origin in Access-Control-Allow-Origin. Its other use, skipping the XSRF check,
            # is done by disable_check_xsrf: with no cookie there is no ambient credential to forge.
            return False

    class LiveMappingKernelManager(AsyncMappingKernelManager):
        """Kernels forked from the preloader, each in an empty folder, ended when abandoned."""

        preload_socket = Unicode("", config=True, help="the preloader's socket; empty: ordinary kernels")
        folders = Unicode("", config=True, help="where each kernel gets a working folder of its own")
        orphan_grace = Float(10.0, config=True, help="seconds a kernel without a WebSocket is kept")

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._kernel_folders: dict[str, str] = {}
            self._orphan_checks: dict[str, asyncio.TimerHandle] = {}

        def _create_kernel_manager_factory(self):
            sys.path.insert(0, str(ROOT / "_ext"))
            try:
                from mapsite.preload import kernel_manager_class
            finally:
                sys.path.remove(str(ROOT / "_ext"))
            forked = kernel_manager_class(self.preload_socket or None)
            # ServerKernelManager: what jupyter_server's kernel API expects of each kernel's manager.
            manager_class = type("LiveKernelManager", (forked, ServerKernelManager), {})

            def create_kernel_manager(*args, **kwargs):
                if self.shared_context:
                    if self.context.closed:
                        self.context = self._context_default()
                    kwargs.setdefault("context", self.context)
                return manager_class(*args, **kwargs)

            return create_kernel_manager

        async def _async_start_kernel(self, *, kernel_id=None, path=None, **kwargs):
            if kernel_id is not None and kernel_id in self:
                return await super()._async_start_kernel(kernel_id=kernel_id, path=path, **kwargs)
            folder = tempfile.mkdtemp(prefix="kernel-", dir=self.folders or None)
            kwargs["cwd"] = folder
            # IPython's history database is one file for every kernel of the account:
            # `%history -g` in one page would show what another page ran.
            kwargs["extra_arguments"] = [*kwargs.get("extra_arguments", []), "--HistoryManager.enabled=False"]
            try:
                kernel_id = await super()._async_start_kernel(kernel_id=kernel_id, path=None, **kwargs)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self._kernel_folders[kernel_id] = folder
            return kernel_id

        start_kernel = _async_start_kernel

        def remove_kernel(self, kernel_id):
            removed = super().remove_kernel(kernel_id)
            check = self._orphan_checks.pop(kernel_id, None)
            if check is not None:
                check.cancel()
            folder = self._kernel_folders.pop(kernel_id, None)
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
            return removed

        def notify_connect(self, kernel_id):
            super().notify_connect(kernel_id)
            check = self._orphan_checks.pop(kernel_id, None)
            if check is not None:
                check.cancel()

        def notify_disconnect(self, kernel_id):
            super().notify_disconnect(kernel_id)
            if self._kernel_connections.get(kernel_id, 1) <= 0 and kernel_id not in self._orphan_checks:
                loop = asyncio.get_running_loop()
                self._orphan_checks[kernel_id] = loop.call_later(
                    self.orphan_grace, lambda: asyncio.ensure_future(self._end_orphan(kernel_id)))

        async def _end_orphan(self, kernel_id):
            self._orphan_checks.pop(kernel_id, None)
            if kernel_id in self and self._kernel_connections.get(kernel_id, 0) <= 0:
                self.log.info("Kernel %s: its page is gone; shutting it down", kernel_id)
                try:
                    await self.shutdown_kernel(kernel_id)
                except Exception as exc:  # noqa: BLE001 - already gone, or dying: nothing left to end
                    self.log.debug("Kernel %s: shutdown after its page left: %s", kernel_id, exc)

    class SiteHandler(JupyterHandler, web.StaticFileHandler):
        """The built site: public files, still behind Jupyter's Host check (in prepare)."""

        def initialize(self, path: str, default_filename: str | None = None) -> None:
            web.StaticFileHandler.initialize(self, path=path, default_filename=default_filename)

        @allow_unauthenticated
        def get(self, path, include_body=True):
            return web.StaticFileHandler.get(self, path, include_body)

        @allow_unauthenticated
        def head(self, path):
            return web.StaticFileHandler.head(self, path)

        def compute_etag(self):
            return None

        def set_extra_headers(self, path):
            self.set_header("Cache-Control", "no-cache")

    class FixedHandler(JupyterHandler):
        """A document from memory: the landing page, the server description, the icon."""

        def initialize(self, body: str | bytes | None, content_type: str) -> None:
            self.body, self.content_type = body, content_type

        @allow_unauthenticated
        def get(self):
            if self.body is None:
                self.set_status(204)
                return self.finish()
            self.set_header("Content-Type", self.content_type)
            self.set_header("Cache-Control", "no-store")
            self.finish(self.body)

    class LiveServerApp(ServerApp):
        name = "mapsite-live"
        site_folder = ""

        @default("cookie_secret")
        def _random_cookie_secret(self) -> bytes:
            return os.urandom(32)   # in memory only (the default writes a file); no cookie is issued anyway

        def load_config_file(self, suppress_errors: bool = True) -> None:
            """Only the configuration given here: no user, system or environment config file."""

        def init_webapp(self) -> None:
            super().init_webapp()
            site = str(self.site_folder)
            described = json.dumps({"url": API_PREFIX.lstrip("/")})
            # Browsers ask for /favicon.ico on pages that name no icon (the root redirect page).
            icon = Path(site, "_static", "favicon.svg")
            icon_body = icon.read_bytes() if icon.is_file() else None
            # Added after Jupyter's own handlers, these are matched first; /jupyter/ stays Jupyter's.
            self.web_app.add_handlers(".*$", [
                (r"/", FixedHandler, {"body": LANDING, "content_type": "text/html; charset=utf-8"}),
                (CONFIG_PATH, FixedHandler, {"body": described, "content_type": "application/json"}),
                (r"/favicon\.ico", FixedHandler, {"body": icon_body, "content_type": "image/svg+xml"}),
                (r"/(?!%s)(.*)" % API_PREFIX.lstrip("/"), SiteHandler, {"path": site, "default_filename": "index.html"}),
            ])

        # Nothing about this server goes to disk: no server-info file (it holds the key) ...
        def write_server_info_file(self) -> None:
            pass

        def remove_server_info_file(self) -> None:
            pass

        # ... and no browser-open file (it holds a login link).
        def write_browser_open_files(self) -> None:
            pass

        def remove_browser_open_files(self) -> None:
            pass

    return LiveServerApp, HeaderKeyIdentityProvider, LiveMappingKernelManager


def server_config(args: argparse.Namespace, key: str, folder: Path, socket_path: str | None):
    from traitlets.config import Config

    app_class, provider, kernels = _jupyter_classes()
    config = Config()
    server = config.ServerApp
    server.ip = HOST
    server.port = args.port
    server.port_retries = 0
    server.open_browser = False
    server.base_url = API_PREFIX
    server.root_dir = str(folder / "kernels")
    server.allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
    server.allow_remote_access = False           # Jupyter's Host check: loopback names only
    server.allow_origin = ""                     # no cross-origin access at all
    server.disable_check_xsrf = True             # no cookie, so nothing a cross-site request could carry
    server.terminals_enabled = False
    server.identity_provider_class = provider
    server.kernel_manager_class = kernels
    server.log_level = "DEBUG" if args.verbose else "WARN"
    provider.key = key
    manager = config[kernels.__name__]
    manager.preload_socket = socket_path or ""
    manager.folders = str(folder / "kernels")
    manager.orphan_grace = args.orphan_grace
    manager.cull_idle_timeout = args.cull_idle
    manager.cull_interval = max(10, min(60, args.cull_idle // 4 or 10))
    manager.cull_connected = True                # an open but forgotten tab does not hold a kernel forever
    return app_class, config


def read_key() -> str:
    key = sys.stdin.readline().strip()
    # The pipe is done with: standard input becomes /dev/null, as for a daemon.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if len(key) < 32 or not all(c.isalnum() or c in "-_" for c in key):
        raise SystemExit("live_kernels: expected the session key (at least 32 URL-safe characters) on stdin")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", required=True, help="the built site")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--preload", default=",".join(DEFAULT_PRELOAD),
                        help="modules the kernels start with, comma-separated; empty: ordinary kernels")
    parser.add_argument("--orphan-grace", type=float, default=10.0,
                        help="seconds a kernel whose page closed its connection is kept (a reload reconnects)")
    parser.add_argument("--cull-idle", type=int, default=1800, help="seconds after which an idle kernel ends")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    key = read_key()
    os.environ.pop("JUPYTER_TOKEN", None)   # kernels inherit this environment
    modules = [m.strip() for m in args.preload.split(",") if m.strip()]

    folder = Path(tempfile.mkdtemp(prefix="mapsite-live-"))   # mode 0700
    try:
        (folder / "kernels").mkdir()
        os.environ["JUPYTER_RUNTIME_DIR"] = str(folder / "runtime")
        preloader = None
        if modules:
            sys.path.insert(0, str(ROOT / "_ext"))
            from mapsite.preload import Preloader

            sys.path.remove(str(ROOT / "_ext"))
            # Importing torch and mindspore (a few seconds) overlaps the server's own start.
            preloader = Preloader(folder / "preload.sock", modules)
        try:
            app_class, config = server_config(args, key, folder, preloader and preloader.socket_path)
            app = app_class(config=config)
            app.site_folder = str(Path(args.html).resolve())
            app.initialize(argv=[], find_extensions=False)
            if preloader is not None:
                failure = preloader.failure()   # waits until the modules are imported
                if failure:
                    print(f"live: kernels start without preloading: {failure}", file=sys.stderr, flush=True)
            app.start()                         # returns once stopped (SIGTERM), kernels ended
        finally:
            if preloader is not None:
                preloader.__exit__(None, None, None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
