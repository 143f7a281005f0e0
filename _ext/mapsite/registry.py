"""The ``{mapping}`` directive: each mapping's facts, written once.

A block holds one entry as YAML. The directive validates it against the
schema, renders the facts, and stores the entry in the build environment, where
the checks (``evidence``), the index (``index``) and the JSON export read it.
Entries are purged and merged per document, so ``-j`` builds are safe.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .search_terms import index_node

logger = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("schema") / "mappings.schema.json"
STATUS_LABELS = {"consistent": "consistent", "renamed": "renamed", "differs": "differs", "none": "no direct equivalent"}


def cpu_label(versions: dict) -> str:
    """What a row with ``cpu: no-kernel`` says next to its status."""
    return f"not run: no CPU kernel in MindSpore {versions.get('mindspore', '?')}, status unverified"
DETAIL_PREFIX = "source/mappings/"


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def api_doc_url(api: str) -> str:
    """The official reference page of an API (external; followed only when clicked)."""
    if api.startswith("torch"):
        return f"https://docs.pytorch.org/docs/stable/generated/{api}.html"
    parts = api.split(".")
    section = parts[1] if len(parts) > 2 and parts[1] in ("ops", "nn", "mint", "experimental", "dataset") else "mindspore"
    if parts[1:2] == ["Tensor"]:
        return f"https://www.mindspore.cn/docs/en/master/api_python/mindspore/Tensor/{api}.html"
    return f"https://www.mindspore.cn/docs/en/master/api_python/{section}/{api}.html"


def api_link(api: str) -> nodes.Node:
    ref = nodes.reference("", "", refuri=api_doc_url(api), classes=["api-doc"])
    ref += nodes.literal(text=api)
    return ref


def detail_slug(docname: str) -> str | None:
    """A detail page's slug: its file name, which is also its example notebook's (written once)."""
    return docname[len(DETAIL_PREFIX):] if docname.startswith(DETAIL_PREFIX) else None


def anchor_for(api: str) -> str:
    return "mapping-" + re.sub(r"[^a-z0-9]+", "-", api.lower()).strip("-")


def entries(env: BuildEnvironment) -> dict[str, dict]:
    if not hasattr(env, "mapsite_entries"):
        env.mapsite_entries = {}
    return env.mapsite_entries


def validate(entry) -> list[str]:
    """Schema errors as 'field: problem' strings, plus the rules a schema cannot say."""
    import jsonschema

    if not isinstance(entry, dict):
        return ["(block): must be a YAML mapping of fields"]
    entry_schema = {**schema()["$defs"]["entry"], "$defs": schema()["$defs"]}
    validator = jsonschema.Draft202012Validator(entry_schema)
    problems = []
    for error in sorted(validator.iter_errors(entry), key=lambda e: list(e.absolute_path)):
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        problems.append(f"{field or '(block)'}: {error.message}")
    if problems:
        return problems
    if not (entry["pytorch"] + ".").startswith(entry["namespace"] + "."):
        problems.append(f"namespace: {entry['namespace']!r} is not a prefix of pytorch {entry['pytorch']!r}")
    if not entry.get("cases"):
        problems.append("cases: every entry needs cases: the checker executes each row's claim")
    for index, eq in enumerate(entry["equivalents"]):
        if "program" in eq:  # the program form: its own rules, in mapsite.programs
            continue
        # A differs row may lack one when the standard battery alone finds its difference (the
        # checker then requires it the moment a case differs; see mapsite.battery).
        if entry.get("cases") and eq["status"] == "renamed" and "translation" not in eq:
            problems.append(f"equivalents[{index}].translation: a {eq['status']} row needs the translation that makes it agree")
        if eq.get("cpu") and eq["status"] == "none":
            problems.append(f"equivalents[{index}].cpu: a row with no direct equivalent has no API to run on the CPU")
        if entry.get("cases") and eq["status"] == "none" and "composite" not in eq:
            problems.append(f"equivalents[{index}].composite: a row with no direct equivalent needs the composite that replaces it")
    return problems


class mapping_evidence(nodes.General, nodes.Element):
    """Placeholder replaced by the executed checks once every page is read."""


class MappingDirective(SphinxDirective):
    has_content = True

    def run(self) -> list[nodes.Node]:
        page = self.env.doc2path(self.env.docname)
        where = f"{page}:{self.lineno}"
        try:
            entry = yaml.safe_load("\n".join(self.content))
        except yaml.YAMLError as exc:
            raise self.error(f"{where}: mapping block is not valid YAML: {exc}")
        problems = validate(entry)
        if problems:
            raise self.error(f"{where}: malformed mapping entry\n  " + "\n  ".join(problems))
        detail = self.env.docname.startswith(DETAIL_PREFIX)
        slug = detail_slug(self.env.docname)
        if detail and not Path(self.env.srcdir, "notebooks", f"{slug}.md").is_file():
            raise self.error(f"{where}: a detail page's example is notebooks/{slug}.md (the page's own name), "
                             "which does not exist")
        api = entry["pytorch"]
        known = entries(self.env).get(api)
        if known and known["docname"] != self.env.docname:
            conflicts(self.env)[self.env.docname] = api
            raise self.error(duplicate_message(self.env, where, api, known["docname"]))
        anchor = anchor_for(api)
        entries(self.env)[api] = {
            "entry": entry,
            "docname": self.env.docname,
            "lineno": self.lineno,
            "anchor": anchor,
            "detail": detail,
            "example": slug if detail else None,   # the notebook is named after the page
        }
        return [index_node(entry, anchor), self.render(entry, anchor)]

    def render(self, entry: dict, anchor: str) -> nodes.Node:
        box = nodes.container(classes=["mapping-entry"], ids=[anchor])
        head = nodes.paragraph(classes=["mapping-summary"])
        head += api_link(entry["pytorch"])
        head += nodes.Text(f" ({entry['namespace']}): {entry['summary']}")
        box += head
        table = simple_table(
            ["MindSpore", "Status", "What to know"],
            [
                [
                    api_link(eq["api"]) if eq.get("api") else nodes.Text("(no single API)"),
                    status_badge(eq, self.config.mapsite_versions),
                    note_cell(eq),
                ]
                for eq in entry["equivalents"]
            ],
            classes=["mapping-equivalents"],
        )
        box += table
        box += mapping_evidence(api=entry["pytorch"])
        return box


def status_badge(eq: dict, versions: dict) -> nodes.Node:
    status = eq["status"]
    badge = nodes.inline(classes=["mapping-status-cell"])
    badge += nodes.inline(text=STATUS_LABELS[status], classes=["mapping-status", f"status-{status}"])
    if eq.get("cpu") == "no-kernel":
        badge += nodes.inline(text=cpu_label(versions), classes=["mapping-cpu", "cpu-no-kernel"])
    return badge


def note_cell(eq: dict) -> nodes.Node:
    cell = nodes.inline()
    if eq.get("note"):
        cell += nodes.Text(eq["note"] + " ")
    code = eq.get("translation") or eq.get("composite")
    if code:
        cell += nodes.Text("Use: ")
        cell += nodes.literal(text=code)
    return cell


def simple_table(header: list[str], rows: list[list[nodes.Node]], classes: list[str]) -> nodes.table:
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    group += thead
    row = nodes.row()
    for title in header:
        row += nodes.entry("", nodes.paragraph(text=title))
    thead += row
    tbody = nodes.tbody()
    group += tbody
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, (nodes.paragraph, nodes.Element)) and not isinstance(cell, nodes.Inline) else nodes.paragraph("", "", cell)
            row += entry
        tbody += row
    return table


def conflicts(env: BuildEnvironment) -> dict[str, str]:
    """Pages that declared a PyTorch API another page maps: docname -> API. Read again on every
    build until fixed, so the error is never hidden by an unchanged page."""
    if not hasattr(env, "mapsite_conflicts"):
        env.mapsite_conflicts = {}
    return env.mapsite_conflicts


def duplicate_message(env: BuildEnvironment, where: str, api: str, other_docname: str) -> str:
    return f"{where}: pytorch: {api} is already mapped in {env.doc2path(other_docname)}; each API is mapped once"


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    for api in [a for a, info in entries(env).items() if info["docname"] == docname]:
        del entries(env)[api]
    conflicts(env).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    """Take a parallel reader's entries; two pages read by different readers may map the same API."""
    for docname, api in conflicts(other).items():
        if docname in docnames:
            conflicts(env)[docname] = api
    for api, info in sorted(entries(other).items(), key=lambda item: item[1]["docname"]):
        if info["docname"] not in docnames:
            continue
        known = entries(env).get(api)
        if known and known["docname"] != info["docname"]:
            # Keep the entry of the page that sorts first, as a serial build (reading in order) does.
            first, second = sorted([known, info], key=lambda i: i["docname"])
            entries(env)[api] = first
            conflicts(env)[second["docname"]] = api
            where = f"{env.doc2path(second['docname'])}:{second['lineno']}"
            logger.warning(duplicate_message(env, where, api, first["docname"]),
                           location=(second["docname"], second["lineno"]), type="mapsite", subtype="duplicate")
            continue
        entries(env)[api] = info


def _outdated(app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
    return sorted(d for d in conflicts(env) if d in env.found_docs)


def setup(app: Sphinx) -> dict:
    app.add_node(mapping_evidence)
    app.add_directive("mapping", MappingDirective)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
