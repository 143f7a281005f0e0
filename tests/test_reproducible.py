"""Two builds into empty output folders, one serial and one parallel (-j 2, from the first
one's executed results), give the same HTML, except the parts documented as volatile.

Volatile, by design: the provenance line under each executed example (when it ran and for
how long) and the execution report's table of run times. Everything else, including every
executed output and every check's evidence, must be identical.
"""

from __future__ import annotations

import difflib
import re

from bs4 import BeautifulSoup

from conftest import pinned

# The provenance paragraph is plain text in a <p> of its own; a regular expression removes it
# without parsing the page (parsing every page of two builds was most of this test's time).
PROVENANCE = re.compile(r'<p class="provenance[^"]*">[^<]*</p>')
RUN_TIMES = "table:has(th:-soup-contains('Run Time'))"  # the execution report's, parsed: one page


def normalised(path) -> str:
    text = PROVENANCE.sub("", path.read_text(encoding="utf-8"))
    if "Run Time" not in text:
        return text
    soup = BeautifulSoup(text, "html.parser")
    for node in soup.select(RUN_TIMES):
        node.decompose()
    return str(soup)


def test_serial_and_parallel_builds_give_identical_html(site, second_site):
    first = sorted(p.relative_to(site.html) for p in site.html.rglob("*.html"))
    second = sorted(p.relative_to(second_site.html) for p in second_site.html.rglob("*.html"))
    assert first == second
    differing = []
    for relative in first:
        a, b = normalised(site.html / relative), normalised(second_site.html / relative)
        if a != b:
            diff = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
            differing.append(f"{relative}:\n" + "\n".join(list(diff)[2:12]))
    assert not differing, "HTML differs between the serial and the parallel build:\n\n" + "\n\n".join(differing)


def test_provenance_names_the_versions(site):
    soup = site.soup("source/mappings/clip_grad_value_.html")
    line = soup.select_one(".provenance").get_text()
    for name in ("python", f"torch {pinned('torch')}", f"mindspore {pinned('mindspore')}", f"numpy {pinned('numpy')}"):
        assert name in line
    assert " UTC" in line and " s." in line
    notebook_line = site.soup("notebooks/clip_grad_value_.html").select_one(".provenance").get_text()
    assert f"mindspore {pinned('mindspore')}" in notebook_line
