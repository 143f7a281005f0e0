"""Downloaded notebooks run again, top to bottom in a fresh kernel, to the same outputs."""

from __future__ import annotations

import shutil
import zipfile

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT


def code_outputs(notebook) -> list[str]:
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output["name"] == "stdout":
                # stderr is left out: MindSpore's glog lines carry timestamps.
                parts.append(output["text"])
            elif output.get("output_type") in ("execute_result", "display_data"):
                parts.append(output["data"].get("text/plain", ""))
            elif output.get("output_type") == "error":
                parts.append(f"error:{output['ename']}")
        texts.append("".join(parts))
    return texts


@pytest.mark.parametrize("slug", sorted(p.stem for p in (ROOT / "notebooks").glob("*.md")))
def test_downloaded_notebook_reexecutes_to_the_same_outputs(site, tmp_path, slug):
    downloaded = tmp_path / f"{slug}.ipynb"
    shutil.copyfile(site.html / "notebooks" / f"{slug}.ipynb", downloaded)
    published = nbformat.read(str(downloaded), as_version=4)
    rerun = nbformat.read(str(downloaded), as_version=4)
    NotebookClient(rerun, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert code_outputs(rerun) == code_outputs(published)


def test_zip_holds_every_notebook(site):
    with zipfile.ZipFile(site.html / "notebooks.zip") as archive:
        names = sorted(archive.namelist())
    expected = sorted(f"notebooks/{p.stem}.ipynb" for p in (ROOT / "notebooks").glob("*.md"))
    assert names == expected


def test_zip_is_linked_from_home_and_index(site):
    for page in ("source/index.html", "source/mapping-index.html"):
        links = [a["href"] for a in site.soup(page).select("a[href$='notebooks.zip']")]
        assert links, f"{page} does not link notebooks.zip"
        assert all(((site.html / page).parent / href).resolve().is_file() for href in links)
