"""Build a copy of the project trimmed to a few pages.

Used by the tests (a drift test changes something in the copy and watches its
build fail) and by authors checking one page without building the whole site::

    .venv/bin/python tools/subset.py /tmp/out source/mappings/clip_grad_value_

The copy keeps the configuration, the extension, the static files, the index of
mappings and the pages named (plus the notebooks their mapping blocks name),
with a generated home page listing just those.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
from mapsite.registry import DETAIL_PREFIX  # noqa: E402 - a detail page's notebook has the page's file name
from mapsite.runner import run_sphinx  # noqa: E402

SHARED = ("conf.py", "_ext", "_static", "_templates", "source/mapping-index.md")


def make_subset(dest: Path, pages: list[str]) -> Path:
    """Copy the project's shared parts and ``pages`` (docnames) into ``dest``."""
    dest = Path(dest)
    for item in SHARED:
        source = ROOT / item
        target = dest / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    docs = []
    for page in pages:
        source = ROOT / f"{page}.md"
        target = dest / f"{page}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        docs.append(page)
        if page.startswith(DETAIL_PREFIX):
            notebook = f"notebooks/{page[len(DETAIL_PREFIX):]}"
            if (ROOT / f"{notebook}.md").is_file() and notebook not in docs:
                (dest / "notebooks").mkdir(exist_ok=True)
                shutil.copyfile(ROOT / f"{notebook}.md", dest / f"{notebook}.md")
                docs.append(notebook)
    entries = ["mapping-index"] + ["/" + d for d in docs]
    (dest / "source" / "index.md").write_text(
        "# Subset build\n\n```{toctree}\n" + "\n".join(entries) + "\n```\n", encoding="utf-8"
    )
    return dest


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    dest = Path(argv[0])
    if dest.exists():
        shutil.rmtree(dest)
    project = make_subset(dest, argv[1:])
    result = run_sphinx(project)
    sys.stdout.write(result.stdout[-4000:])
    sys.stderr.write(result.stderr)
    print(f"\nsubset build of {len(argv) - 1} page(s) in {project}: exit {result.returncode}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
