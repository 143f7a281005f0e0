"""The "Check your code" page (issue 12, item 2): the report of mapsite.scan, made in the browser.

The page reads the reader's code with a Python tokenizer, parser and scope walker of its own
(_static/check-your-code.js). These tests hold it to the command line: on the same input, the
page and `python -m mapsite.scan --json` must report the same APIs, at the same lines and
columns, with the same records and summary. The inputs are the sample programs in
tests/data/scan/samples/ (aliases, shadowing, strings and comments, star imports, tensor methods,
a syntax error, newer syntax, files that declare or lack an encoding), the scanner's own fixtures,
and a folder of real PyTorch source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, screenshot
from mapsite.scan import compact_uses  # _ext is on sys.path (conftest)

DATA = ROOT / "tests" / "data" / "scan"
SAMPLES = DATA / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.py"))
PAGE = "/source/check-your-code.html"
AXE = ROOT / ".vendor" / "axe-core" / "axe.min.js"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "_ext"), os.environ.get("PYTHONPATH")]))}


def cli_report(site, base_url: str, *names: str, cwd: Path = SAMPLES) -> dict:
    """The command line's JSON report of files named relative to `cwd`, with the page's site URL."""
    result = subprocess.run(
        [sys.executable, "-m", "mapsite.scan", "--json", "--mappings", str(site.html / "mappings.json"),
         "--site-url", base_url + "/", *names],
        capture_output=True, text=True, cwd=cwd, env=ENV, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def open_page(tab, url: str) -> None:
    tab.goto(url + PAGE)
    tab.wait_for_function("window.checkYourCode && window.checkYourCode.catalogue")


def page_report(tab) -> dict:
    tab.wait_for_selector("#cyc-report:not([hidden])")
    return tab.evaluate("window.checkYourCode.lastReport")


def add_files(tab, paths: list[Path]) -> dict:
    tab.evaluate("window.checkYourCode.lastReport = null")
    tab.set_input_files("#cyc-files", [str(p) for p in paths])
    tab.wait_for_function("window.checkYourCode.lastReport !== null")
    return page_report(tab)


def uses(records: list[dict], file: str | None = None) -> set[tuple]:
    return {(r["pytorch"], u["file"], u["line"], u["column"]) for r in records for u in r["uses"]
            if file is None or u["file"] == file}


def errors(report: dict) -> list[tuple]:
    return [(e["path"], e["kind"], e.get("line")) for e in report["errors"]]


def assert_same_report(page: dict, cli: dict) -> None:
    """The page's report is the command line's: uses first (the clearest failure), then every record."""
    assert uses(page["apis"]) == uses(cli["apis"])
    assert uses(page["possible_tensor_methods"]) == uses(cli["possible_tensor_methods"])
    assert page["apis"] == cli["apis"]
    assert page["possible_tensor_methods"] == cli["possible_tensor_methods"]
    assert page["summary"] == cli["summary"]
    assert page["files"] == cli["files"]
    assert errors(page) == errors(cli)


def rendered(tab) -> dict[tuple, str]:
    """What the rendered report shows: (kind, API) -> the text of its "used at"."""
    return {(kind, api): text for kind, api, text in tab.evaluate(
        """() => Array.from(document.querySelectorAll("#cyc-report .cyc-api")).map(e => [
            e.dataset.kind, e.dataset.api, e.querySelector(".cyc-uses").textContent])""")}


# -- the page and the command line agree ------------------------------------------------------------

@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_page_and_command_line_report_the_same_apis(page, served_site, site, sample):
    open_page(page, served_site)
    report = add_files(page, [sample])
    cli = cli_report(site, served_site, sample.name)
    assert_same_report(report, cli)
    expected = {("known", r["pytorch"]): compact_uses(r["uses"]) for r in cli["apis"]}
    expected.update({("possible", r["pytorch"]): compact_uses(r["uses"]) for r in cli["possible_tensor_methods"]})
    assert rendered(page) == expected
    assert page.console_errors == [] and page.outside_requests == []


def test_every_sample_at_once_and_the_scanner_fixtures(page, served_site, site):
    open_page(page, served_site)
    report = add_files(page, SAMPLE_FILES)
    cli = cli_report(site, served_site, *(p.name for p in SAMPLE_FILES))
    assert_same_report(report, cli)
    assert report["summary"]["line"] == cli["summary"]["line"]
    assert page.inner_text(".cyc-summary") == cli["summary"]["line"]
    assert {e["path"] for e in report["errors"]} == {"syntax_error.py", "not_utf8.py"}
    shown = page.locator(".cyc-errors li").all_inner_texts()
    assert any(t.startswith("syntax_error.py:7:") and "syntax error" in t for t in shown), shown
    assert "not_utf8.py:2:6: not UTF-8: byte 0xe9 cannot be decoded; save the file as UTF-8" in shown

    fixtures = [DATA / "aliases.py", DATA / "train_cnn.py"]
    page.click("#cyc-clear")
    assert_same_report(add_files(page, fixtures), cli_report(site, served_site, *(p.name for p in fixtures), cwd=DATA))


def test_real_pytorch_source(page, served_site, site):
    """torch/nn/modules of the installed PyTorch: real code, dense with every kind of use."""
    import torch

    folder = Path(torch.__file__).parent / "nn" / "modules"
    files = sorted(folder.glob("*.py"))
    assert len(files) >= 20
    open_page(page, served_site)
    report = add_files(page, files)
    cli = cli_report(site, served_site, *(p.name for p in files), cwd=folder)
    assert cli["summary"]["uses"] > 500
    assert_same_report(report, cli)


def test_pasted_code_and_the_keyboard(page, served_site, site, tmp_path):
    source = (SAMPLES / "aliases_and_shadowing.py").read_text(encoding="utf-8")
    open_page(page, served_site)
    page.focus("#cyc-code")
    page.fill("#cyc-code", source)
    page.keyboard.press("Control+Enter")
    report = page_report(page)
    copy = tmp_path / "pasted code"
    copy.write_text(source, encoding="utf-8")
    assert_same_report(report, cli_report(site, served_site, copy.name, cwd=tmp_path))
    # the pasted code's uses read "line 12" or "lines 12, 30"
    shown = rendered(page)
    for record in report["apis"] + report["possible_tensor_methods"]:
        lines = list(dict.fromkeys(str(u["line"]) for u in record["uses"]))
        expected = ("line " if len(lines) == 1 else "lines ") + ", ".join(lines)
        kind = "known" if record in report["apis"] else "possible"
        assert shown[(kind, record["pytorch"])] == expected, record["pytorch"]
    status = page.locator("#cyc-status")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    assert report["summary"]["line"] in status.text_content()
    path = screenshot(page, "check-your-code")
    assert path.stat().st_size > 10_000

    # Everything is reachable from the keyboard, in reading order; Enter on "Paste an example" checks it.
    page.focus("#cyc-code")
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert order == ["cyc-files", "Check the code", "cyc-example", "cyc-clear"], order
    page.keyboard.press("Shift+Tab")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))   # the pasted code would go
    page.keyboard.press("Enter")
    page.wait_for_function("window.checkYourCode.lastReport && window.checkYourCode.lastReport.files.scanned.length === 1"
                           " && document.getElementById('cyc-code').value.startsWith('import torch\\n')")
    assert asked == ["Replace the code in the box with the example?"]
    assert page.console_errors == [] and page.outside_requests == []


def test_dropping_a_file(page, served_site, site):
    """A file dropped on the form is read and checked with the pasted code."""
    sample = SAMPLES / "tensor_methods.py"
    open_page(page, served_site)
    page.fill("#cyc-code", "import torch\nx = torch.zeros(2)\nx.view(-1)\n")
    page.evaluate(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, {type: "text/x-python"}));
            const form = document.getElementById("cyc-form");
            window.checkYourCode.lastReport = null;
            form.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            window.draggingShown = document.getElementById("cyc-drop").classList.contains("cyc-dragging");
            form.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [sample.name, sample.read_text(encoding="utf-8")])
    page.wait_for_function("window.checkYourCode.lastReport !== null")
    assert page.evaluate("window.draggingShown")
    report = page_report(page)
    assert report["files"]["scanned"] == ["pasted code", "tensor_methods.py"]
    assert page.locator("#cyc-file-list li").all_inner_texts() == ["tensor_methods.py Remove"]
    cli = cli_report(site, served_site, sample.name)
    assert uses(report["apis"], sample.name) == uses(cli["apis"])
    assert uses(report["possible_tensor_methods"], sample.name) == uses(cli["possible_tensor_methods"])
    assert uses(report["apis"], "pasted code") == {("torch.zeros", "pasted code", 2, 11),
                                                   ("torch.Tensor.view", "pasted code", 3, 3)}

    # removing the file checks the pasted code alone
    page.evaluate("window.checkYourCode.lastReport = null")
    page.click("#cyc-file-list .cyc-remove")
    page.wait_for_function("window.checkYourCode.lastReport !== null")
    assert page_report(page)["files"]["scanned"] == ["pasted code"]
    assert page.locator("#cyc-file-list").is_hidden()
    assert page.console_errors == [] and page.outside_requests == []


def test_links_lead_to_the_entries(page, served_site, site):
    open_page(page, served_site)
    page.click("#cyc-example")
    page_report(page)
    links = page.eval_on_selector_all("#cyc-report a[href]", "els => els.map(e => e.href)")
    entries = [link for link in links if "#mapping-" in link]
    assert len(entries) >= 8
    for link in entries:
        path, _, anchor = link[len(served_site):].partition("#")
        target = site.html / path.lstrip("/")
        assert target.is_file(), link
        assert f'id="{anchor}"' in target.read_text(encoding="utf-8"), link


# -- accessibility, offline use -----------------------------------------------------------------------

def run_axe(tab) -> list[dict]:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `make vendor` (make test does)")
    if not tab.evaluate("typeof window.axe !== 'undefined'"):
        tab.add_script_tag(path=str(AXE))
    return tab.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
        v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))""")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violations(page, served_site, scheme):
    page.emulate_media(color_scheme=scheme)
    open_page(page, served_site)
    states = {"empty": run_axe(page)}
    page.set_input_files("#cyc-files", [str(p) for p in SAMPLE_FILES])   # every section of the report, errors too
    page.fill("#cyc-code", (SAMPLES / "tensor_methods.py").read_text(encoding="utf-8"))
    page.click("button[type=submit]")
    page.wait_for_selector(".cyc-errors")
    states["with a report"] = run_axe(page)
    blocking = {state: [v for v in found if v["impact"] in ("serious", "critical")] for state, found in states.items()}
    assert blocking == {state: [] for state in states}, json.dumps(blocking, indent=1)
    # labelled controls, a live region for the result
    assert page.locator("label[for=cyc-code]").inner_text() == "Paste your PyTorch code"
    assert page.locator("label[for=cyc-files]").count() == 1
    assert page.locator("#cyc-status[role=status][aria-live=polite]").count() == 1


def test_the_page_works_opened_from_disk(browser, site):
    """No server: opened as a file, the page reads the data the build wrote next to its script."""
    context = browser.new_context()
    tab = context.new_page()
    problems = []
    tab.on("console", lambda m: m.type == "error" and problems.append(m.text))
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("request", lambda r: not r.url.startswith("file://") and problems.append(r.url))
    try:
        tab.goto((site.html / PAGE.lstrip("/")).resolve().as_uri())
        tab.wait_for_function("window.checkYourCode && window.checkYourCode.catalogue")
        tab.click("#cyc-example")
        report = page_report(tab)
        assert report["summary"]["apis"] >= 15
        first = tab.locator("#cyc-report a[href*='#mapping-']").first.get_attribute("href")
        assert first.startswith((site.html.resolve().as_uri() + "/source/"))
        assert problems == []
    finally:
        context.close()


def test_the_script_is_only_on_its_page(site):
    for name in ("source/check-your-code.html", "source/mapping-index.html", "source/index.html"):
        soup = site.soup(name)
        scripts = [s.get("src", "") for s in soup.find_all("script")]
        here = name == "source/check-your-code.html"
        assert any("check-your-code.js" in s for s in scripts) == here, name
        assert any("check-your-code.css" in (l.get("href") or "") for l in soup.find_all("link")) == here, name
    data = (site.html / "_static" / "check-your-code-data.js").read_text(encoding="utf-8")
    exported = json.loads(data[data.index("=") + 1:].strip().rstrip(";"))
    assert exported == json.loads((site.html / "mappings.json").read_text(encoding="utf-8"))
    toc = [a.get("href") for a in site.soup("source/index.html").select(".toctree-wrapper a")]
    assert toc.index("check-your-code.html") == toc.index("mapping-index.html") + 1   # on the home page, after the index
