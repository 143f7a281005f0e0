"""Downloaded notebooks run again, top to bottom in a fresh kernel, to the same outputs."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


SLUGS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.md"))
# This one runs in an ordinary Jupyter kernel, as a reader's would; the others in kernels forked
# from a process that imported torch and mindspore (the build's kernels, shown to give the same
# outputs by tests/test_preload.py), two at a time: each still runs top to bottom in a fresh process.
ORDINARY = "clip_grad_value_"


def rerun(downloaded: Path, manager=None):
    """Run a downloaded notebook in its own folder (some write files)."""
    notebook = nbformat.read(str(downloaded), as_version=4)
    folder = downloaded.parent
    options = {"kernel_manager_class": manager} if manager else {}
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                       **options).execute()
    except Exception as exc:  # noqa: BLE001 - reported by the notebook's own test
        return exc
    return notebook


@pytest.fixture(scope="module")
def reruns(site, tmp_path_factory) -> dict:
    from mapsite.preload import Preloader, kernel_manager_class

    folder = tmp_path_factory.mktemp("downloads")
    downloads = {}
    for slug in SLUGS:
        (folder / slug).mkdir()
        downloads[slug] = shutil.copyfile(site.html / "notebooks" / f"{slug}.ipynb", folder / slug / f"{slug}.ipynb")
    results = {ORDINARY: rerun(downloads[ORDINARY])}
    with tempfile.TemporaryDirectory(prefix="mapsite-") as private, \
            Preloader(Path(private) / "preloader.sock", ["torch", "mindspore"]) as preloader:
        manager = kernel_manager_class(preloader.socket_path, private)
        with ThreadPoolExecutor(max_workers=2) as pool:
            others = [slug for slug in SLUGS if slug != ORDINARY]
            results.update(zip(others, pool.map(lambda s: rerun(downloads[s], manager), others)))
    return results


@pytest.mark.parametrize("slug", SLUGS)
def test_downloaded_notebook_reexecutes_to_the_same_outputs(site, reruns, slug):
    published = nbformat.read(str(site.html / "notebooks" / f"{slug}.ipynb"), as_version=4)
    rerun = reruns[slug]
    assert not isinstance(rerun, Exception), f"{slug}.ipynb failed when run again: {rerun}"
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
