"""Live-code benchmark: from pressing "Run the example live" to the first output under a cell.

Starts the live server the way `make live` does (tools/live.py, on a free port, kernels
forked from a preloader that has imported torch and mindspore), then, in Debian's chromium,
opens the address it prints and a mapping page, presses the button, and times the click to
the first live output in the page itself (performance.now() at the click and when the first
output node appears). Each run is a first visit: a fresh browser context, so thebe is
fetched and compiled again, and a new kernel. The page's own marks (mapsite-live:*) give
where the time went.

    .venv/bin/python benchmarks/live_bench.py                       (the built _build/html)
    .venv/bin/python benchmarks/live_bench.py --runs 5 --json
    .venv/bin/python benchmarks/live_bench.py --html /path/to/site --page /source/mappings/Adam.html
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from pageweight import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGE = "/source/mappings/clip_grad_value_.html"
STEPS = ("session", "library", "cells", "kernel")   # the marks live.js sets, in order

WATCH = """() => {
    window.__bench = {};
    const box = document.querySelector('.live-launch');
    new MutationObserver(() => {
        if (!window.__bench.first && document.querySelector('.live-output .jp-OutputArea-output')) {
            window.__bench.first = performance.now();
        }
    }).observe(document.body, {subtree: true, childList: true});
    box.querySelector('.live-button').addEventListener('click', () => { window.__bench.click = performance.now(); },
                                                      {capture: true});
}"""
RESULT = """() => {
    const marks = {};
    for (const m of performance.getEntriesByType('mark')) {
        if (m.name.startsWith('mapsite-live:')) marks[m.name.slice(13)] = m.startTime - window.__bench.click;
    }
    return {first: window.__bench.first - window.__bench.click, marks,
            state: document.querySelector('.live-launch').getAttribute('data-state')};
}"""


def start_server(html: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "live.py"), "--port", "0", "--html", str(html)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(300) or process.poll() is not None:
        stop_server(process)
        sys.exit("live_bench: the live server did not start:\n" + "".join(lines)[-3000:])
    address = re.search(r"Open the site:\s+(\S+)", "".join(lines))
    if not address:
        stop_server(process)
        sys.exit("live_bench: no address in the live server's output:\n" + "".join(lines)[-3000:])
    return process, address.group(1)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)     # what Ctrl-C does; tools/live.py cleans up
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def one_run(browser, address: str, page: str, timeout_ms: int) -> dict:
    origin = address.split("/#", 1)[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(address)
        tab.wait_for_url(re.compile(r"/source/index\.html$"))   # / and /index.html forward there
        tab.goto(origin + page)
        tab.evaluate(WATCH)
        tab.get_by_role("button", name="Run the example live").click()
        tab.locator(".live-output .jp-OutputArea-output").first.wait_for(timeout=timeout_ms)
        result = tab.evaluate(RESULT)
        tab.close()           # its kernel ends with it
        return result
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the built site (make html)")
    parser.add_argument("--page", default=PAGE, help="the mapping page whose example runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for a run's first output")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    html = Path(args.html).resolve()
    if not (html / args.page.lstrip("/")).is_file():
        sys.exit(f"live_bench: no {args.page} in {html}; run `make html` first")
    if not Path(CHROMIUM).exists():
        sys.exit(f"live_bench: chromium is needed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    process, address = start_server(html)
    runs = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for _ in range(args.runs):
                    runs.append(one_run(browser, address, args.page, int(args.timeout * 1000)))
                    time.sleep(0.5)
            finally:
                browser.close()
    finally:
        stop_server(process)

    firsts = [r["first"] / 1000 for r in runs]
    steps = {step: statistics.median(r["marks"][step] / 1000 for r in runs if step in r["marks"])
             for step in STEPS if any(step in r["marks"] for r in runs)}
    summary = {"page": args.page, "runs": firsts, "median_s": statistics.median(firsts),
               "median_steps_s": steps, "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"live code, {args.page}: click → first output, each a first visit (fresh browser, new kernel)")
        print("  runs:   " + ", ".join(f"{s:.2f} s" for s in firsts))
        print(f"  median: {summary['median_s']:.2f} s (of {len(firsts)})")
        print("  median time of each step after the click: " +
              ", ".join(f"{step} {seconds:.2f} s" for step, seconds in steps.items()))
        print(f"  machine: {summary['cpus']} CPUs, load average {summary['load_average'][0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
