"""The execution report lists every example notebook, in words a reader can see."""

from __future__ import annotations

from conftest import ROOT


def test_every_notebook_is_listed_as_succeeded(site):
    table = site.soup("source/execution-report.html").select_one("table:has(th:-soup-contains('Run Time'))")
    assert table is not None, "the execution report has no table"
    header = [th.get_text(strip=True) for th in table.select("thead th")]
    rows = {
        tr.select("td")[0].get_text(strip=True): dict(zip(header, (td.get_text(strip=True) for td in tr.select("td"))))
        for tr in table.select("tbody tr")
    }
    assert sorted(rows) == sorted(f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("*.md"))
    # Words, not the emoji myst-nb writes: without an emoji font those are empty boxes.
    assert {row["Status"] for row in rows.values()} == {"succeeded"}
    assert all(float(row["Run Time (s)"]) > 0 for row in rows.values())
