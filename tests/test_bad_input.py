"""Bad input on a page or in a notebook: a clear error naming the file and what is wrong,
a failed build, and every other page still built.

All the bad input goes into one probe project, next to a good page, built once (with a 2 s cell
timeout): a -W --keep-going build must report each problem with its own file.
The probe notebooks use no framework, but their kernels are forked from the build's
preloader like every other, so these failures are the ones a real build meets.
A failing notebook runs once, before the read phase; its page reports that run.
"""

from __future__ import annotations

import re
import time

import pytest

from conftest import build_copy, make_probe

GOOD_PAGE = "# Good page\n\nThis page has nothing wrong with it.\n"
NOTEBOOK = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: %s
---

# Probe notebook

```{code-cell} ipython3
print("before the bad cell")
```

```{code-cell} ipython3
%s
```
"""
BAD_CELL_LINE = 18  # the ```{code-cell} line of the second cell, cell 3 as myst-nb counts cells
SLEEP = 300  # the timed-out cell's sleep: a build that waited for it (twice) would take over 10 minutes

TABLES = r"""# Probe

## Parameters

| Categories | Subcategories | PyTorch | MindSpore | Differences |
| --- | --- | --- | --- | --- |
| Parameters | Parameter 1 | `input` | `input` | Same. |
| | Parameter 2 | `dim` | `dim` |
| | Parameter 3 | `keepdim` | `keepdim` | Same. | Extra. |
| Returns | Index | `a \| b` or `c` | int64 | An escaped pipe is one cell. |
| Returns | Mask | `x | y` | bool | Same. |

| Option | Meaning |
| --- | --- |
| `a` | first |
a line right under the table

| One | Two | Three |
| --- | --- |
| 1 | 2 | 3 |

```text
| Not | a | table |
| --- | --- | --- |
| 1 |
```

:::{note}
| Directive | body |
| --- | --- |
| 1 |
:::

| Good | table |
|:-----|------:|
| 1 | 2 |
"""


FAILING = [
    ("kernel_crash", "python3", "import os\nos._exit(1)",
     f"the kernel died while running cell 3 (line {BAD_CELL_LINE}): the Python process exited"),
    ("timeout", "python3", f"import time\ntime.sleep({SLEEP})",
     f"cell 3 (line {BAD_CELL_LINE}) timed out after 2 s (nb_execution_timeout)"),
    ("no_such_kernel", "no_such_kernel", "print(1)",
     "no such kernel 'no_such_kernel': the kernelspec name in the notebook's front matter is not an installed kernel"),
]
STDERR_CELL = "import sys\nprint('oops', file=sys.stderr)"
RUNS_ONCE_CELL = "with open('runs.txt', 'a') as log:\n    log.write('ran\\n')\nraise ValueError('bad input')"
EXAMPLE_PAGE = "# Probe\n\n```{example}\n```\n"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """(project, exit code, log, seconds) of the one build of every bad input."""
    pages = {"source/catalogue/good": GOOD_PAGE, "source/mappings/tables": TABLES,
             "source/mappings/stderr": EXAMPLE_PAGE}
    notebooks = {"notebooks/stderr": NOTEBOOK % ("python3", STDERR_CELL),
                 "notebooks/runs_once": NOTEBOOK % ("python3", RUNS_ONCE_CELL)}
    for case, kernel, cell, _ in FAILING:
        pages[f"source/mappings/{case}"] = EXAMPLE_PAGE
        notebooks[f"notebooks/{case}"] = NOTEBOOK % (kernel, cell)
    # tables.md has no notebook of its own: a detail page needs one only for an {example} block.
    project = make_probe(tmp_path_factory.mktemp("bad-input") / "probe", {**pages, **notebooks})
    started = time.perf_counter()
    result = build_copy(project, "-D", "nb_execution_timeout=2")
    return project, result.returncode, result.stdout + result.stderr, time.perf_counter() - started


def line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_the_probe_build_fails_and_builds_the_good_page(probe):
    project, code, log, _ = probe
    assert code != 0
    assert (project / "_build/html/source/catalogue/good.html").is_file(), "the good page is still built"


def test_broken_parameter_table_names_file_line_and_count(probe):
    project, code, log, _ = probe
    page = "source/mappings/tables.md"
    expected = {
        "| | Parameter 2": "table row has 4 cells but the header has 5; markdown-it silently pads it with empty cells",
        "| | Parameter 3": "table row has 6 cells but the header has 5; markdown-it silently keeps the first 5 "
                          "and drops the rest",
        "| Returns | Mask": "table row has 6 cells but the header has 5; markdown-it silently keeps the first 5 "
                           "and drops the rest (the | inside `x | y` splits a cell: write \\| there)",
        "a line right under": "table row has 1 cell but the header has 2; markdown-it silently pads it with "
                              "empty cells (a line right under a table is one of its rows: leave a blank line",
        "| One | Two": "table header has 3 cells but the delimiter row under it has 2, so it is not rendered",
    }
    for row, message in expected.items():
        assert f"{page}:{line_of(TABLES, row)}: WARNING: {message}" in log, log[-4000:]
    # The escaped pipe, the code block, the directive body and the good table are left alone.
    assert log.count("[mapsite.table]") == len(expected), log[-4000:]


@pytest.mark.parametrize("case,kernel,cell,message", FAILING, ids=[c[0] for c in FAILING])
def test_failing_notebook_is_reported_and_other_pages_built(probe, case, kernel, cell, message):
    project, code, log, seconds = probe
    assert seconds < SLEEP / 2, "a stuck kernel was waited for, not stopped"
    # On the notebook's own page (myst-nb's report, our sentence first) ...
    assert re.search(rf"notebooks/{case}\.md: WARNING: Executing notebook failed: \w+\n{re.escape(message)}", log), log[-4000:]
    # ... and where a mapping page embeds it.
    assert (f"source/mappings/{case}.md:3: WARNING: example notebook notebooks/{case}.md failed to execute: "
            + message) in log, log[-4000:]
    html = project / "_build" / "html"
    assert (html / f"notebooks/{case}.html").is_file() and (html / f"source/mappings/{case}.html").is_file()
    if case != "no_such_kernel":  # what ran before the failure is still shown
        assert "before the bad cell" in (html / f"notebooks/{case}.html").read_text(encoding="utf-8")


def test_stray_stderr_names_notebook_and_cell(probe):
    project, code, log, _ = probe
    assert "notebooks/stderr.md:20: WARNING: stderr was found in the cell outputs of cell 3" in log, log[-4000:]
    assert (f"source/mappings/stderr.md:3: WARNING: stray stderr in cell 3 (line {BAD_CELL_LINE}) "
            "of example notebook notebooks/stderr.md: 'oops'") in log, log[-4000:]


def test_a_failing_notebook_runs_once(probe):
    """myst-nb, not finding a failed notebook in the cache, is handed the failed run: no second run."""
    project, code, log, _ = probe
    assert f"cell 3 (line {BAD_CELL_LINE}) raised ValueError: bad input" in log, log[-4000:]
    assert (project / "notebooks" / "runs.txt").read_text() == "ran\n", "the failing notebook ran more than once"
