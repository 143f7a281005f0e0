"""Page weight of built pages, measured in a real browser (Debian's chromium via Playwright).

Each page is loaded in a fresh browser context (a cold cache) and every request it
makes is recorded until the network is idle. The test server does not compress, so
the transferred size is estimated by gzip-compressing each response body with
Python's gzip at level 6 (what a typical web server does); HTTP headers are not
counted. The favicon counts: chromium asks for it like any browser. Requests to
any other host are blocked and listed: the site must make none.

    .venv/bin/python tools/pageweight.py _build/html
    .venv/bin/python tools/pageweight.py _build/html --verbose
    .venv/bin/python tools/pageweight.py _build/html --json
    .venv/bin/python tools/pageweight.py _build/html --page /source/mappings/Adam.html

Issue 5's budget for a mapping page: at most 150 KiB gzip and 15 requests, none
outside. The command prints the numbers; it exits non-zero only when a page makes
outside requests or fails to load (--strict also fails on a page over budget).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import sys
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
# One page of each kind; the benchmark and the tests measure these.
PAGES = {
    "index": "/source/mapping-index.html",
    "mapping": "/source/mappings/clip_grad_value_.html",
    "notebook": "/notebooks/clip_grad_value_.html",
}
BUDGET_GZIP_KIB = 150
BUDGET_REQUESTS = 15


def gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6))


@dataclass
class Resource:
    url: str
    kind: str        # Playwright's resource type: document, stylesheet, script, image, ...
    status: int      # 0 when the request failed (or was blocked)
    raw: int         # response body bytes
    gzip: int        # the same body gzip-compressed at level 6


@dataclass
class PageWeight:
    path: str
    resources: list[Resource] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)   # requests to any other host (blocked)

    @property
    def requests(self) -> int:
        return len(self.resources)

    @property
    def raw_bytes(self) -> int:
        return sum(r.raw for r in self.resources)

    @property
    def gzip_bytes(self) -> int:
        return sum(r.gzip for r in self.resources)

    @property
    def failed(self) -> list[Resource]:
        return [r for r in self.resources if not 200 <= r.status < 400]

    def within_budget(self) -> bool:
        return self.gzip_bytes <= BUDGET_GZIP_KIB * 1024 and self.requests <= BUDGET_REQUESTS and not self.outside

    def as_dict(self) -> dict:
        return {
            "path": self.path, "requests": self.requests, "raw_bytes": self.raw_bytes,
            "gzip_bytes": self.gzip_bytes, "outside": self.outside,
            "resources": [asdict(r) for r in self.resources],
        }


def measure(browser, base_url: str, path: str) -> PageWeight:
    """Load ``base_url + path`` in a fresh context of ``browser`` (a Playwright sync Browser)."""
    base_url = base_url.rstrip("/")
    path = path if path.startswith("/") else "/" + path
    origin = urlsplit(base_url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    weight = PageWeight(path=path)
    issued = []   # in the order the page asked for them: the document first

    def route(r):
        url = urlsplit(r.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and (url.scheme, url.netloc) != (origin.scheme, origin.netloc):
            weight.outside.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    try:
        context.route("**/*", route)
        tab = context.new_page()
        tab.on("request", lambda request: issued.append(request))
        tab.goto(base_url + path, wait_until="networkidle")
        for request in issued:
            response = request.response() if request.failure is None else None
            body = b""
            if response is not None:
                try:
                    body = response.body()
                except Exception:  # redirects have no body
                    body = b""
            weight.resources.append(Resource(
                url=request.url, kind=request.resource_type, status=response.status if response else 0,
                raw=len(body), gzip=gzip_size(body) if body else 0,
            ))
    finally:
        context.close()
    return weight


@contextmanager
def serve(directory: Path):
    """Serve ``directory`` over HTTP on a free loopback port; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # A browser that closes a connection mid-response (a page left before it loaded) is
            # no error of the site's; anything else is still printed.
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def measure_site(html: Path, pages: dict[str, str] | None = None) -> dict[str, PageWeight]:
    """Serve ``html``, launch chromium and measure each page (name -> path)."""
    from playwright.sync_api import sync_playwright

    pages = pages or PAGES
    with serve(Path(html)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return {name: measure(browser, base, path) for name, path in pages.items()}
        finally:
            browser.close()


def table(results: dict[str, PageWeight], verbose: bool = False) -> str:
    kib = 1024
    width = max([10] + [len(name) for name in results])
    lines = [f"{'page':{width}} {'requests':>8} {'raw KiB':>9} {'gzip KiB':>9}  budget",
             "-" * (width + 38)]
    for name, w in results.items():
        verdict = "ok" if w.within_budget() else "OVER"
        lines.append(f"{name:{width}} {w.requests:8d} {w.raw_bytes / kib:9.1f} {w.gzip_bytes / kib:9.1f}  {verdict}")
        if verbose:
            for r in sorted(w.resources, key=lambda r: -r.gzip):
                short = urlsplit(r.url).path
                lines.append(f"{'':{width}} {r.kind:>8} {r.raw / kib:9.1f} {r.gzip / kib:9.1f}  {r.status}  {short}")
        for url in w.outside:
            lines.append(f"{'':{width}} OUTSIDE REQUEST (blocked): {url}")
    lines.append(f"budget per page: <= {BUDGET_GZIP_KIB} KiB gzip, <= {BUDGET_REQUESTS} requests, none outside")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the built site (e.g. _build/html)")
    parser.add_argument("--page", action="append", default=[],
                        help="a page path to measure instead of the defaults (repeatable), e.g. /source/index.html")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every resource")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--strict", action="store_true", help="also fail when a page is over budget")
    args = parser.parse_args(argv)
    if not (args.html / "source" / "index.html").is_file():
        parser.error(f"{args.html} does not look like a built site (no source/index.html)")
    pages = {p.strip("/").removesuffix(".html"): p for p in args.page} if args.page else PAGES
    results = measure_site(args.html, pages)
    if args.json:
        print(json.dumps({name: w.as_dict() for name, w in results.items()}, indent=2))
    else:
        print(table(results, verbose=args.verbose))
    bad = any(w.outside or w.failed for w in results.values())
    if args.strict:
        bad = bad or not all(w.within_budget() for w in results.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
