"""The porting walkthrough (notebooks/porting-walkthrough.md): both programs run, agree, and are linked.

Two builds:

* the session's build of the whole site, whose sources map every API the walkthrough calls or
  links: the walkthrough must build cleanly, show the loss plot, state its tolerance, and show
  the scan report of its PyTorch program, every row linked to a page of the site;
* a trimmed copy of the project (tools/subset.py) with the walkthrough alone, with MindSpore's optimizer patched to a learning rate 1 % higher: the
  tolerance check must fail the build, naming the step, both losses and the tolerance. With no
  mapping page in it, the same build also shows that an API not on the site fails the build.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, Site, patch_on_import, sphinx_build

WALKTHROUGH = "notebooks/porting-walkthrough"
PAGE = f"{WALKTHROUGH}.html"
TOLERANCE = "1e-4"
LINK_ROLE = re.compile(r"\{mapping-link\}`(?:[^`<]*<)?([^`<>]+?)>?`")
BLOCK = re.compile(r"^```\{mapping\}\n(.*?)^```", re.M | re.S)
ENTRY = re.compile(r"^pytorch:\s*(\S+)\s*$", re.M)


def pytorch_program() -> str:
    """The walkthrough's PyTorch cells as one program, exactly as its scan report reads them."""
    import jupytext
    from mapsite.walkthrough import pytorch_program as program

    return program(jupytext.read(ROOT / f"{WALKTHROUGH}.md"))[0]


def site_entries() -> dict[str, str]:
    """Every PyTorch API mapped in the sources, with the docname of its page."""
    found = {}
    for path in sorted((ROOT / "source").rglob("*.md")):
        for block in BLOCK.findall(path.read_text(encoding="utf-8")):
            for api in ENTRY.findall(block):
                found[api] = path.relative_to(ROOT).with_suffix("").as_posix()
    return found


def walkthrough_apis(known: dict[str, str]) -> set[str]:
    """The APIs the walkthrough links and the APIs the scanner finds in its PyTorch program."""
    from mapsite.scan import POSSIBLE, Catalogue, scan_source

    linked = set(LINK_ROLE.findall((ROOT / f"{WALKTHROUGH}.md").read_text(encoding="utf-8")))
    methods = frozenset(api[len("torch.Tensor."):] for api in known if api.startswith("torch.Tensor."))
    uses = scan_source(pytorch_program(), "walkthrough.py", methods, frozenset(known))
    # A possible tensor method is reported only when the site maps it: it is on the site by definition.
    # Under the name the site documents it by, as the scanner reports it (opt.step() on an
    # optim.SGD is torch.optim.Optimizer.step).
    catalogue = Catalogue("", {}, dict.fromkeys(known))
    return linked | {catalogue.canonical(use.api) for use in uses if use.receiver != POSSIBLE or use.api in known}


@pytest.fixture(scope="module")
def walkthrough_site(site) -> Site:
    """The session's strict build of the whole site, once the sources are shown to map every API
    the walkthrough calls or links."""
    known = site_entries()
    missing = sorted(walkthrough_apis(known) - set(known))
    assert not missing, f"the walkthrough uses APIs no page of the site maps: {', '.join(missing)}"
    return site


def resolves(site: Site, page: str, href: str) -> bool:
    """Whether a relative link from ``page`` reaches an existing file and, if it has one, anchor."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return False
    target = (site.html / page).parent / parts.path if parts.path else site.html / page
    if not target.is_file():
        return False
    return not parts.fragment or f'id="{parts.fragment}"' in target.read_text(encoding="utf-8")


def test_both_programs_agree_within_the_stated_tolerance(walkthrough_site):
    soup = walkthrough_site.soup(PAGE)
    text = soup.get_text(" ")
    intro = " ".join(p.get_text(" ") for p in soup.select("section > p"))
    assert f"differ by more than {TOLERANCE}" in re.sub(r"\s+", " ", intro), "the tolerance is not stated in the prose"
    assert "every step agrees within the tolerance 0.0001" in text
    outputs = [pre.get_text() for pre in soup.select(".cell_output pre")]
    table = next(text for text in outputs if text.startswith("step  PyTorch"))
    rows = [line.split() for line in table.splitlines() if re.match(r"\s*\d+\s", line)]
    assert [int(row[0]) for row in rows] == list(range(1, 21))
    assert all(abs(float(torch_loss) - float(ms_loss)) <= 1e-4 for _, torch_loss, ms_loss in rows)


def test_the_plot_is_made_in_the_build_and_served_with_the_page(walkthrough_site):
    soup = walkthrough_site.soup(PAGE)
    images = soup.select(".cell_output img")
    assert len(images) == 1, "one plot, in a cell's output"
    image = images[0]
    assert "PyTorch" in image.get("alt", "") and "MindSpore" in image.get("alt", ""), "the plot needs alt text"
    src = image["src"]
    assert not urlsplit(src).scheme and not src.startswith("//"), f"the plot is loaded from elsewhere: {src}"
    path = (walkthrough_site.html / PAGE).parent / src
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_step_links_the_mappings_it_uses(walkthrough_site):
    soup = walkthrough_site.soup(PAGE)
    steps = [s for s in soup.select("section")
             if (h := s.find("h2", recursive=False)) and h.get_text().startswith("Step ")]
    assert len(steps) == 6
    for step in steps:
        links = step.select("a.mapping-link")
        assert links, f"{step.find('h2').get_text()!r} links no mapping"
        for link in links:
            assert resolves(walkthrough_site, PAGE, link["href"]), f"broken link {link['href']}"


def test_the_scan_report_lists_every_api_of_the_pytorch_program_each_linked(walkthrough_site, tmp_path):
    soup = walkthrough_site.soup(PAGE)
    table = soup.select_one("table.walkthrough-scan-table")
    assert table is not None, "no scan report on the page"
    shown = {}
    for row in table.select("tbody tr"):
        cells = row.select("td")
        link = cells[0].select_one("a")
        assert link is not None, f"{cells[0].get_text(strip=True)} is not linked"
        assert resolves(walkthrough_site, PAGE, link["href"]), f"broken link {link['href']}"
        assert "not on the site" not in cells[1].get_text()
        shown[cells[0].get_text(strip=True)] = link["href"]
    summary = soup.select_one(".walkthrough-scan-summary").get_text(" ", strip=True)
    assert "not on the site" not in summary and "PyTorch APIs used" in summary
    # The same APIs as the command-line scanner finds in the same program, against the same build.
    program = tmp_path / "walkthrough_pytorch.py"
    program.write_text(pytorch_program(), encoding="utf-8")
    scan = subprocess.run(
        [sys.executable, "-m", "mapsite.scan", "--json", "--mappings", str(walkthrough_site.html / "mappings.json"),
         str(program)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "_ext")},
    )
    report = json.loads(scan.stdout)
    assert set(shown) == {r["pytorch"] for r in report["apis"] + report["possible_tensor_methods"]}
    assert all(r["covered"] for r in report["apis"])
    assert summary.endswith(report["summary"]["line"])


# -- drift: a MindSpore optimizer with a learning rate 1 % higher ------------------------------------

DRIFTED_SGD = '''
    def make(real):
        class DriftedSGD(real):
            def __init__(self, params, lr, *args, **kwargs):
                super().__init__(params, lr * 1.01, *args, **kwargs)
        return DriftedSGD
'''


@pytest.fixture(scope="module")
def drifted_build(tmp_path_factory) -> str:
    """The walkthrough alone, built with mindspore.experimental.optim.SGD stepping 1 % further."""
    from subset import make_subset

    root = tmp_path_factory.mktemp("walkthrough-drift")
    project = make_subset(root / "project", [WALKTHROUGH])
    env = patch_on_import(root / "patch", "mindspore.experimental.optim", "SGD", DRIFTED_SGD)
    result = sphinx_build(project, root / "html", root / "cache", env=env)
    assert result.returncode != 0, "the build passed with a drifted MindSpore optimizer"
    return result.stdout + result.stderr


def test_a_drifted_mindspore_optimizer_fails_the_build(drifted_build):
    found = re.search(r"AssertionError: the losses drifted apart at step (\d+): PyTorch ([\d.]+), "
                      r"MindSpore ([\d.]+), difference ([\d.e+-]+) > tolerance 0\.0001", drifted_build)
    assert found, f"no clear tolerance failure in the log:\n{drifted_build[-6000:]}"
    step, torch_loss, ms_loss = int(found.group(1)), float(found.group(2)), float(found.group(3))
    assert 1 < step <= 20, "the first loss is computed before any update"
    assert abs(torch_loss - ms_loss) > 1e-4
    assert "porting-walkthrough.md" in drifted_build


def test_an_api_the_site_does_not_map_fails_the_build(drifted_build):
    # No mapping page is in this build: every API of the program is "not on the site".
    assert re.search(r"porting-walkthrough\.md:\d+: WARNING: .*the walkthrough's PyTorch program calls "
                     r"torch\.optim\.SGD \(program line \d+\), which is not on the site", drifted_build)
    assert "{mapping-link} to torch.nn.Conv2d, which is not on the site" in drifted_build
