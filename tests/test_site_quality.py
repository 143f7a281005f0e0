"""Site quality (issue 5): accessibility with axe-core, clean pages, no broken internal links, page weight.

The browser tests share the session's chromium (the ``page`` fixture records console
errors and requests to other hosts). axe-core comes from ``make vendor``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT

import pageweight  # tools/ is on sys.path (conftest)

AXE = ROOT / ".vendor" / "axe-core" / "axe.min.js"
PAGES = {
    **pageweight.PAGES,  # one index, mapping and notebook page
    "mapping-table": "/source/mappings/BatchNorm2d.html",
    "catalogue": "/source/catalogue/tensor-ops.html",
}
BLOCKING = ("serious", "critical")


def run_axe(tab) -> list[dict]:
    """axe-core's violations on the page as it is now: id, impact, help and the failing nodes."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `make vendor` (make test does)")
    if not tab.evaluate("typeof window.axe !== 'undefined'"):
        tab.add_script_tag(path=str(AXE))
    return tab.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ") + "  " + n.html.slice(0, 120)),
            }));
        }"""
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']} {v['id']} ({len(v['nodes'])}): {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"][:5])
    return "\n".join(lines)


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_serious_or_critical_violations(page, served_site, name):
    page.emulate_media(color_scheme="light")
    page.goto(served_site + PAGES[name])
    states = {"as loaded": run_axe(page)}
    # Tabs: the other tab's code and outputs only show (and may scroll) once it is selected.
    tabs = page.locator(".sd-tab-set").first
    if tabs.count():
        for label in tabs.locator("label.sd-tab-label").all()[1:]:
            text = label.inner_text().strip()
            label.click()
            # Two frames: the page's ResizeObserver marks newly shown scrolling blocks after layout.
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            states[f"tab {text!r} selected"] = run_axe(page)
    failures = []
    for state, violations in states.items():
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        others = [v for v in violations if v["impact"] not in BLOCKING]
        print(f"{PAGES[name]} ({state}): {len(blocking)} serious/critical, "
              f"{sum(v['impact'] == 'moderate' for v in others)} moderate "
              f"{sorted(v['id'] for v in others) or ''}")
        if blocking:
            failures.append(f"{state}:\n{describe(blocking)}")
    assert not failures, f"axe on {PAGES[name]}:\n" + "\n".join(failures)


def test_scrolling_blocks_are_keyboard_reachable(page, served_site):
    """The blocks axe needs focusable are tab stops with a name; the ones that fit are not."""
    page.goto(served_site + PAGES["notebook"])
    blocks = page.evaluate(
        """() => Array.from(document.querySelectorAll("article pre")).filter(e => e.offsetParent).map(e => ({
            scrolls: e.scrollWidth > e.clientWidth + 1, tabindex: e.getAttribute("tabindex"),
            label: e.getAttribute("aria-label"), role: e.getAttribute("role")}))"""
    )
    assert any(b["scrolls"] for b in blocks), "expected at least one wide block on the notebook page"
    for block in blocks:
        if block["scrolls"]:
            assert block["tabindex"] == "0" and block["role"] == "group" and block["label"], block
        else:
            assert block["tabindex"] is None, block
    wide = page.locator("article pre[tabindex='0']").first
    wide.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert wide.evaluate("e => e === document.activeElement && e.scrollLeft > 0")


@pytest.mark.parametrize("name", PAGES)
def test_pages_log_no_errors_and_stay_on_the_site(page, served_site, name):
    page.goto(served_site + PAGES[name], wait_until="networkidle")
    assert page.console_errors == []
    assert page.outside_requests == []


# -- Internal links -----------------------------------------------------------

LINK_ATTRIBUTES = ("href", "src", "action", "data")


class LinksAndIds(HTMLParser):
    """One page's outgoing links and its anchors, read as a stream (a parse tree per page is
    what made the crawl of the whole site slow)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for attribute in LINK_ATTRIBUTES:
            value = values.get(attribute)
            if value and value.strip():
                self.links.append(value.strip())
        if tag == "meta" and str(values.get("http-equiv", "")).lower() == "refresh":
            _, _, target = str(values.get("content", "")).partition("url=")
            if target.strip():
                self.links.append(target.strip())
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"])

    handle_startendtag = handle_starttag


def links_and_ids(text: str) -> tuple[list[str], set[str]]:
    parser = LinksAndIds()
    parser.feed(text)
    parser.close()
    return parser.links, parser.ids


def broken_internal_links(html_root: Path) -> tuple[int, list[str]]:
    """Every internal href/src of every built HTML file: (links checked, broken ones)."""
    html_root = html_root.resolve()
    pages = {}
    for path in sorted(html_root.rglob("*.html")):
        pages[path.resolve()] = links_and_ids(path.read_text(encoding="utf-8"))
    checked, broken = 0, []
    for path, (links, _) in pages.items():
        where = path.relative_to(html_root).as_posix()
        for link in links:
            url = urlsplit(link)
            if url.scheme or url.netloc or link.startswith("//"):
                continue   # another host (or mailto:, data:, javascript:): not fetched
            checked += 1
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if target.is_dir():
                target = target / "index.html"
            try:
                target.relative_to(html_root)
            except ValueError:
                broken.append(f"{where}: {link} (outside the site)")
                continue
            if not target.is_file():
                broken.append(f"{where}: {link} (no file {target.relative_to(html_root).as_posix()})")
                continue
            fragment = unquote(url.fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target][1] if target in pages else set()
                if fragment not in ids:
                    broken.append(f"{where}: {link} (no id {fragment!r} in {target.relative_to(html_root).as_posix()})")
    return checked, broken


def test_link_crawl_reports_missing_files_and_ids(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<h1 id="top">A</h1>', encoding="utf-8")
    (tmp_path / "index.html").write_text(
        '<meta http-equiv="refresh" content="0; url=a/index.html">'
        '<a href="a/#top">ok</a> <a href="a/index.html#gone">no id</a> <a href="#here" id="here">self</a>'
        '<img src="missing.png"> <a href="https://example.org/x">external</a> <a href="../up.html">out</a>',
        encoding="utf-8",
    )
    checked, broken = broken_internal_links(tmp_path)
    assert checked == 6
    assert [b.split(" (")[1] for b in broken] == [
        "no id 'gone' in a/index.html)", "no file missing.png)", "outside the site)"]


def test_no_broken_internal_links(site):
    checked, broken = broken_internal_links(site.html)
    print(f"{checked} internal links checked, {len(broken)} broken")
    assert checked > 1000, f"only {checked} internal links found: is the crawl reading the pages?"
    assert not broken, f"{len(broken)} broken internal link(s):\n" + "\n".join(broken)


# -- Page weight ----------------------------------------------------------------

def _assets(site, page: str) -> list[str]:
    soup = site.soup(page.lstrip("/"))
    found = [tag.get("href") for tag in soup.find_all("link", rel="stylesheet")]
    found += [tag.get("src") for tag in soup.find_all("script", src=True)]
    return [Path(urlsplit(url).path).name for url in found if url]


def test_pages_load_only_the_extension_assets_they_use(site):
    """sphinx-design's files only where there are tabs, myst-nb's stylesheet only with notebook cells."""
    mapping, notebook, index = (_assets(site, PAGES[n]) for n in ("mapping", "notebook", "index"))
    assert {"sphinx-design.min.css", "design-tabs.js"} <= set(mapping)
    assert not any(name.startswith("mystnb.") for name in mapping)
    assert any(name.startswith("mystnb.") for name in notebook)
    assert not {"sphinx-design.min.css", "design-tabs.js"} & set(notebook + index)
    assert not any(name.startswith("mystnb.") for name in index)
    for name in ("mapping", "notebook"):
        downloads = [a["href"] for a in site.soup(PAGES[name].lstrip("/")).select("a.download")]
        assert any(d.endswith(".ipynb") for d in downloads) and any(d.endswith(".md") for d in downloads), name


def test_page_weight_is_measured(browser, served_site):
    """A measurement, not a budget test: it prints the numbers and checks they are sane."""
    results = {name: pageweight.measure(browser, served_site, path) for name, path in pageweight.PAGES.items()}
    print()
    print(pageweight.table(results))
    for name, weight in results.items():
        assert weight.requests > 0 and weight.resources[0].kind == "document", name
        assert 0 < weight.gzip_bytes < weight.raw_bytes, name
        assert weight.failed == [], f"{name}: failed requests {[(r.url, r.status) for r in weight.failed]}"
        assert weight.outside == [], f"{name}: requests to other hosts {weight.outside}"
        if not weight.within_budget():
            warnings.warn(f"{name} page: {weight.requests} requests, {weight.gzip_bytes / 1024:.1f} KiB gzip; "
                          f"issue 5 budgets {pageweight.BUDGET_REQUESTS} and {pageweight.BUDGET_GZIP_KIB} KiB")


def test_page_weight_command_line(site):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "pageweight.py"), str(site.html), "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert set(report) == set(pageweight.PAGES)
    for name, weight in report.items():
        assert weight["requests"] > 0 and 0 < weight["gzip_bytes"] < weight["raw_bytes"], name
        assert weight["outside"] == [], name
