"""The ``{example}`` directive: a notebook's executed cells, PyTorch and MindSpore side by side.

The directive's body holds the documented values (YAML, one entry per value).
Each is compared with the numbers the notebook actually printed in the cell
whose metadata names that value, so the page fails to build the day a framework
release changes behaviour. The reader sees both: the executed cells and a table
of documented values next to what this build produced.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

from .execution import NOTEBOOK_PREFIX, cached_notebook, cell_name, failed_notebook, note_execution, read_notebook
from .provenance import not_executed_node, provenance_node
from .registry import DETAIL_PREFIX, detail_slug

logger = logging.getLogger(__name__)

FRAMEWORK_TABS = (("pytorch", "PyTorch"), ("mindspore", "MindSpore"))
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=e))(?:e[-+]?\d+)?", re.I)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FENCE = "`" * 8


def notebook_path(env, slug: str) -> Path:
    return Path(env.srcdir, NOTEBOOK_PREFIX, slug + ".md")


def download_links_html(from_docname: str, builder, slug: str) -> str:
    """Links to the executed .ipynb and the MyST source written by ``downloads``."""
    here = builder.get_target_uri(from_docname)
    ipynb = relative_uri(here, f"{NOTEBOOK_PREFIX}{slug}.ipynb")
    source = relative_uri(here, f"{NOTEBOOK_PREFIX}{slug}.md")
    return (
        '<p class="example-downloads">Download this example: '
        f'<a class="reference download" href="{html.escape(ipynb)}" download>{slug}.ipynb</a> '
        "(executed notebook) · "
        f'<a class="reference download" href="{html.escape(source)}" download>{slug}.md</a> '
        "(MyST source, opens in JupyterLab with jupytext)</p>"
    )


def flatten(value) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in flatten(item)]
    return [float(value)]


def cell_text(cell) -> str:
    """The text a code cell showed: stdout and plain-text results."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def cell_tag(cell) -> str | None:
    tags = cell.get("metadata", {}).get("tags", [])
    return next((key for key, _ in FRAMEWORK_TABS if key in tags), None)


def failure_summary(notebook) -> str:
    # The pre-executor records why the run stopped (a timeout or a dead kernel leaves no error output).
    if notebook.metadata.get("mapsite_failure"):
        return notebook.metadata["mapsite_failure"]
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {output.get('evalue', '')}"[:300]
    return "no outputs"


class ExampleDirective(SphinxDirective):
    """Render ``notebooks/<slug>.md`` with its outputs, and check its documented values.

    The slug is the detail page's own file name (``source/mappings/<slug>.md``): it is
    written once, so a page and its notebook cannot drift apart.
    """

    has_content = True
    option_spec = {"tolerance": float}

    def run(self) -> list[nodes.Node]:
        where = f"{self.env.doc2path(self.env.docname)}:{self.lineno}"
        slug = detail_slug(self.env.docname)
        if slug is None:
            raise self.error(f"{where}: {{example}} belongs on a detail page under {DETAIL_PREFIX}, "
                             "whose file name names its notebook")
        path = notebook_path(self.env, slug)
        if not path.is_file():
            raise self.error(
                f"{where}: example notebook {NOTEBOOK_PREFIX}{slug}.md does not exist"
            )
        self.env.note_dependency(str(path))
        try:
            expected = yaml.safe_load("\n".join(self.content)) or {}
        except yaml.YAMLError as exc:
            raise self.error(f"{where}: documented values are not valid YAML: {exc}")
        if not isinstance(expected, dict):
            raise self.error(f"{where}: documented values must be a mapping of value name to numbers")
        executing = self.env.mystnb_config.execution_mode != "off"
        try:
            # Execution off: a cached result is not this build's, so the code is shown without outputs.
            notebook, record = cached_notebook(self.env, path) if executing else (read_notebook(self.env, path), None)
        except ValueError as exc:
            raise self.error(str(exc))
        note_execution(self.env, self.env.docname, path, record)
        if record is None and executing:
            partial = failed_notebook(self.env, path)
            if partial is not None:
                notebook = partial
            logger.warning(
                f"example notebook {NOTEBOOK_PREFIX}{slug}.md failed to execute: "
                f"{failure_summary(notebook)}; its own page reports the details",
                location=(self.env.docname, self.lineno), type="mapsite", subtype="example",
            )
        container = nodes.container(classes=["mapping-example"])
        self.state.nested_parse(StringList(self.markup(notebook)), self.content_offset, container)
        container += nodes.raw("", download_links_html(self.env.docname, self.env.app.builder, slug), format="html")
        if record is not None:
            container += provenance_node(
                self.config.mapsite_versions, record.created.timestamp(), record.data.get("execution_seconds")
            )
        elif not executing:
            container += not_executed_node()
        if expected:
            container += self.documented_values(slug, notebook, expected)
        return [container]

    def markup(self, notebook) -> list[str]:
        """MyST text for the cells: untagged cells flow, tagged runs become synced tabs."""
        lines: list[str] = []
        groups: list[tuple[str | None, list]] = []
        # The notebook's own title and introduction stay on its page; the mapping page has its own.
        first_code = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), 0)
        for index in range(first_code, len(notebook.cells)):
            tag = cell_tag(notebook.cells[index])
            if groups and groups[-1][0] == ("tabs" if tag else None):
                groups[-1][1].append(index)
            else:
                groups.append(("tabs" if tag else None, [index]))
        for kind, indexes in groups:
            if kind is None:
                for index in indexes:
                    lines += self.cell_markup(notebook, index)
                continue
            lines += [FENCE + "{tab-set}", ":sync-group: framework", ""]
            for key, label in FRAMEWORK_TABS:
                members = [i for i in indexes if cell_tag(notebook.cells[i]) == key]
                if not members:
                    continue
                lines += ["`" * 7 + "{tab-item} " + label, f":sync: {key}", ""]
                for index in members:
                    lines += self.cell_markup(notebook, index)
                lines += ["`" * 7, ""]
            lines += [FENCE, ""]
        return lines

    def cell_markup(self, notebook, index: int) -> list[str]:
        cell = notebook.cells[index]
        if cell.cell_type == "markdown":
            return cell.source.splitlines() + [""]
        if cell.cell_type != "code" or "remove-cell" in cell.get("metadata", {}).get("tags", []):
            return []
        lines = ["`" * 6 + "{code-block} python", ":class: example-code", ""]
        lines += cell.source.splitlines() + ["`" * 6, ""]
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                text = output.get("text", "")
                if output.get("name") == "stderr":
                    where = cell_name(notebook, index)
                    logger.warning(
                        f"stray stderr in {where} of example notebook {NOTEBOOK_PREFIX}{detail_slug(self.env.docname)}.md: "
                        f"{text.strip()[:200]!r}",
                        location=(self.env.docname, self.lineno), type="mapsite", subtype="example",
                    )
            elif kind in ("execute_result", "display_data"):
                text = output.get("data", {}).get("text/plain", "")
            elif kind == "error":
                text = ANSI.sub("", "\n".join(output.get("traceback", [])))
            else:
                continue
            if text.strip():
                lines += ["`" * 6 + "{code-block} none", ":class: example-output", ""]
                lines += text.rstrip("\n").splitlines() + ["`" * 6, ""]
        return lines

    def documented_values(self, slug: str, notebook, expected: dict) -> nodes.Node:
        """Compare each documented value with the executed output; warn on drift."""
        tolerance = self.options.get("tolerance", 1e-4)
        by_name = {
            cell.get("metadata", {}).get("value"): cell
            for cell in notebook.cells
            if cell.cell_type == "code" and cell.get("metadata", {}).get("value")
        }
        rows = []
        page = self.env.doc2path(self.env.docname)
        for name, documented in expected.items():
            try:
                want = flatten(documented)
            except (TypeError, ValueError):
                raise self.error(f"{page}:{self.lineno}: documented value {name!r} is not a number or a list of numbers")
            cell = by_name.get(name)
            if cell is None:
                raise self.error(
                    f"{page}:{self.lineno}: documented value {name!r} names no cell of "
                    f"{NOTEBOOK_PREFIX}{slug}.md (set `value: {name}` in the cell's options)"
                )
            executed = bool(cell.get("outputs"))
            got = [float(x) for x in NUMBER.findall(cell_text(cell))] if executed else []
            agrees = executed and len(got) == len(want) and all(
                abs(a - b) <= tolerance for a, b in zip(got, want)
            )
            if executed and not agrees:
                logger.warning(
                    f"behaviour drift in {page}: documented value {name!r} expected {want}, "
                    f"executed {got} (notebook {NOTEBOOK_PREFIX}{slug}.md, tolerance {tolerance})",
                    location=(self.env.docname, self.lineno), type="mapsite", subtype="drift",
                )
            rows.append((name, want, got, agrees))
        for name in sorted(set(by_name) - set(expected)):
            logger.warning(
                f"{NOTEBOOK_PREFIX}{slug}.md: cell value {name!r} has no documented value on {page}",
                location=(self.env.docname, self.lineno), type="mapsite", subtype="drift",
            )
        return self.values_table(rows, tolerance)

    def values_table(self, rows, tolerance: float) -> nodes.Node:
        def fmt(numbers):
            return ", ".join(f"{x:g}" for x in numbers)

        not_run = "not executed" if self.env.mystnb_config.execution_mode != "off" else "not executed (execution off)"

        lines = [
            "```{list-table} Documented values, checked against this build's execution "
            f"(tolerance {tolerance:g})",
            ":header-rows: 1",
            ":class: documented-values",
            "",
            "* - Value",
            "  - Documented",
            "  - Executed in this build",
            "  - Agrees",
        ]
        for name, want, got, agrees in rows:
            lines += [f"* - `{name}`", f"  - {fmt(want)}", f"  - {fmt(got) or not_run}",
                      f"  - {'yes' if agrees else '**no**'}"]
        lines.append("```")
        section = nodes.container(classes=["documented-values"])
        self.state.nested_parse(StringList(lines), self.content_offset, section)
        return section


def setup(app: Sphinx) -> dict:
    app.add_directive("example", ExampleDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
