"""The porting walkthrough's links to mappings, and the scan report of its PyTorch program.

* ``{mapping-link}`torch.optim.SGD``` (or ``{mapping-link}`SGD <torch.optim.SGD>```) links to the
  entry of a PyTorch API, wherever the page that maps it is.
* ``{walkthrough-scan}`` shows ``mapsite.scan``'s report on the code cells of the page's notebook
  tagged ``pytorch``, read as one program, against this build's own entries.

Both are resolved once every page is read, from the entries the ``{mapping}`` blocks stored (the
same data as ``mappings.json``), so a walkthrough never links a page by its file name and is
rewritten whenever an entry may have moved. A link to, or a call of, an API the site does not map
is a warning: under ``-W`` the build fails until the entry exists.
"""

from __future__ import annotations

import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from .execution import read_notebook
from .index_and_json import entry_urls
from .registry import STATUS_LABELS, entries, simple_table
from .removed import removed_docs

logger = logging.getLogger(__name__)

TAG = "pytorch"                       # the cells that make up the scanned program
LINK_SYNTAX = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
STEP_HEADING = re.compile(r"^#{2,3}\s+(.+?)\s*$", re.M)


class mapping_link(nodes.Inline, nodes.TextElement):
    """Placeholder for a link to a PyTorch API's entry, resolved once every entry is known."""


class walkthrough_scan(nodes.General, nodes.Element):
    """Placeholder for the scan report of the page's PyTorch cells, filled once every entry is known."""


def _docs(env: BuildEnvironment) -> set[str]:
    if not hasattr(env, "mapsite_walkthrough_docs"):
        env.mapsite_walkthrough_docs = set()
    return env.mapsite_walkthrough_docs


class MappingLinkRole(SphinxRole):
    def run(self):
        match = LINK_SYNTAX.match(self.text)
        title, api = (match.group(1), match.group(2).strip()) if match else (self.text, self.text.strip())
        node = mapping_link(self.rawtext, "", api=api, title=title or api)
        node += nodes.literal(text=title or api)
        self.set_source_info(node)
        _docs(self.env).add(self.env.docname)
        return [node], []


def pytorch_program(notebook) -> tuple[str, list[str]]:
    """The code of the cells tagged ``pytorch``, in order, and for each of its lines the step (the
    heading above the cell) it belongs to."""
    parts, steps, step = [], [], ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            headings = STEP_HEADING.findall(cell.source)
            if headings:
                step = headings[-1].partition(":")[0].strip()
        elif cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", []):
            source = cell.source.rstrip("\n")
            if parts:
                parts.append("")
                steps.append(step)
            parts.append(source)
            steps.extend([step] * (source.count("\n") + 1))
    return "\n".join(parts) + "\n", steps


class WalkthroughScanDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        path = self.env.doc2path(self.env.docname)
        try:
            notebook = read_notebook(self.env, path)
        except ValueError as exc:
            raise self.error(f"{path}:{self.lineno}: {{walkthrough-scan}} belongs on a MyST notebook: {exc}")
        code, steps = pytorch_program(notebook)
        if not code.strip():
            raise self.error(f"{path}:{self.lineno}: {{walkthrough-scan}} found no code cell tagged {TAG!r} to scan")
        _docs(self.env).add(self.env.docname)
        lines = code.count("\n")
        fence = "`" * 4
        markup = [fence + "{dropdown} The PyTorch program that was scanned: the cells tagged PyTorch, "
                  f"in order ({lines} lines)", "", "```{code-block} python", ":linenos:", ""]
        markup += code.splitlines() + ["```", fence, ""]
        container = nodes.container(classes=["walkthrough-scan"])
        placeholder = walkthrough_scan(code=code, steps=steps, lineno=self.lineno)
        self.set_source_info(placeholder)
        self.state.nested_parse(StringList(markup), self.content_offset, container)
        container += placeholder
        return [container]


def _catalogue(app: Sphinx, docname: str):
    """This build's entries as ``mapsite.scan`` reads mappings.json, with URLs relative to ``docname``."""
    from .scan import Catalogue

    known = {}
    for api, info in entries(app.env).items():
        entry = info["entry"]
        page, _ = entry_urls(app.builder, docname, info)
        known[api] = {"pytorch": api, "namespace": entry["namespace"], "summary": entry["summary"],
                      "page": page, "equivalents": entry["equivalents"]}
    return Catalogue("(this build)", dict(app.config.mapsite_versions), known)


def _api_cell(record: dict) -> nodes.Node:
    paragraph = nodes.paragraph()
    literal = nodes.literal(text=record["pytorch"])
    if record["covered"]:
        reference = nodes.reference("", "", refuri=record["url"], internal=True, classes=["walkthrough-api"])
        reference += literal
        paragraph += reference
    else:
        paragraph += literal
    return paragraph


def _status_cell(record: dict, possible: bool) -> nodes.Node:
    cell = nodes.inline(classes=["mapping-status-cell"])
    status = record["status"] or "uncovered"
    cell += nodes.inline(text=record["label"], classes=["mapping-status", f"status-{status}"])
    if possible:
        cell += nodes.Text(" (a tensor method, if the receiver is a tensor)")
    return cell


def _equivalents_cell(record: dict) -> nodes.Node:
    if not record["covered"]:
        return nodes.paragraph(text="not on the site yet")
    items = nodes.bullet_list(classes=["walkthrough-equivalents"])
    for eq in record["equivalents"]:
        item = nodes.paragraph()
        if eq.get("api"):
            item += nodes.literal(text=eq["api"])
        else:
            item += nodes.Text("no single API")
        item += nodes.Text(f" ({STATUS_LABELS.get(eq['status'], eq['status'])})")
        items += nodes.list_item("", item)
    return items


def _uses_cell(record: dict, steps: list[str]) -> nodes.Node:
    by_step: dict[str, list[str]] = {}
    for use in record["uses"]:
        line = use["line"]
        step = steps[line - 1] if 0 < line <= len(steps) else ""
        lines = by_step.setdefault(step, [])
        if str(line) not in lines:
            lines.append(str(line))
    text = "; ".join(f"{step + ': ' if step else ''}line{'s' if len(lines) > 1 else ''} {', '.join(lines)}"
                     for step, lines in by_step.items())
    return nodes.paragraph(text=text)


def render_report(app: Sphinx, docname: str, node: walkthrough_scan) -> list[nodes.Node]:
    from .scan import Scan, build_report, scan_source

    catalogue = _catalogue(app, docname)
    filename = f"{docname} (PyTorch cells)"
    code, steps = node["code"], node["steps"]
    uses = scan_source(code, filename, catalogue.tensor_methods, catalogue.known_apis)
    report = build_report(Scan(files=[filename], lines=code.count("\n"), uses=[(filename, u) for u in uses]),
                          catalogue, site_url="")
    rows = []
    for records, possible in ((report["apis"], False), (report["possible_tensor_methods"], True)):
        for record in records:
            if record["covered"]:
                record["url"] = catalogue.entries[record["pytorch"]]["page"]
            else:
                lines = sorted({u["line"] for u in record["uses"]})
                where = f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}"
                logger.warning(
                    f"{app.env.doc2path(docname)}: the walkthrough's PyTorch program calls {record['pytorch']} "
                    f"(program {where}), which is not on the site: map it in a {{mapping}} entry",
                    location=(docname, node.get("lineno")), type="mapsite", subtype="walkthrough",
                )
            rows.append([_api_cell(record), _status_cell(record, possible), _equivalents_cell(record),
                         _uses_cell(record, steps)])
    summary = nodes.paragraph(classes=["walkthrough-scan-summary"])
    summary += nodes.strong(text="Summary: ")
    summary += nodes.Text(report["summary"]["line"])
    header = ["PyTorch API", "Status", "MindSpore equivalents", "Used in (lines of the program above)"]
    table = simple_table(header, rows, classes=["walkthrough-scan-table"])
    return [summary, table]


def _resolve_link(app: Sphinx, docname: str, node: mapping_link, warned: set[str]) -> nodes.Node:
    info = entries(app.env).get(node["api"])
    literal = nodes.literal(text=node["title"])
    if info is None:
        if node["api"] in warned:  # once per page and API
            return literal
        warned.add(node["api"])
        logger.warning(f"{app.env.doc2path(docname)}: {{mapping-link}} to {node['api']}, which is not on the site",
                       location=node, type="mapsite", subtype="walkthrough")
        return literal
    page, _ = entry_urls(app.builder, docname, info)
    reference = nodes.reference("", "", refuri=page, internal=True, classes=["mapping-link"])
    reference += literal
    return reference


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    warned: set[str] = set()
    for node in list(doctree.findall(mapping_link)):
        node.replace_self(_resolve_link(app, docname, node, warned))
    for node in list(doctree.findall(walkthrough_scan)):
        node.replace_self(render_report(app, docname, node))


def _on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    app.mapsite_walkthrough_pages_read = bool(docnames)


def _on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    # Links and reports follow the entries: rewrite them whenever a page was read or deleted.
    if not getattr(app, "mapsite_walkthrough_pages_read", True) and not removed_docs(app):
        return []
    return sorted(_docs(env) & env.found_docs)


def _on_purge(app, env, docname):
    _docs(env).discard(docname)


def _on_merge(app, env, docnames, other):
    _docs(env).update(_docs(other) & set(docnames))


def setup(app: Sphinx) -> dict:
    app.add_node(mapping_link)
    app.add_node(walkthrough_scan)
    app.add_role("mapping-link", MappingLinkRole())
    app.add_directive("walkthrough-scan", WalkthroughScanDirective)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-get-updated", _on_env_get_updated)
    app.connect("env-purge-doc", _on_purge)
    app.connect("env-merge-info", _on_merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
