"""The generated views of the mappings: the ``{mapping-index}`` table and ``mappings.json``.

Both are built from the entries the ``{mapping}`` blocks stored, after every
page is read, so neither repeats a fact.
"""

from __future__ import annotations

import html
import json
import shutil
from collections import Counter
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

from .evidence import results
from .registry import SCHEMA_PATH, STATUS_LABELS, cpu_label, entries
from .removed import removed_docs

JSON_NAME = "mappings.json"
NO_KERNEL_FILTER = "cpu-no-kernel"   # the index's status filter value for rows with no CPU kernel
SCHEMA_VERSION = 2   # 2: the status renamed, the fields cpu and status_verified (see the schema)
SCHEMA_NAME = "mappings.schema.json"


class mapping_index(nodes.General, nodes.Element):
    """Placeholder for the index table, filled once every entry is known."""


class MappingIndexDirective(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        docs = getattr(self.env, "mapsite_index_docs", set())
        docs.add(self.env.docname)
        self.env.mapsite_index_docs = docs
        return [mapping_index()]


def entry_urls(builder, from_docname: str, info: dict) -> tuple[str, str]:
    """URLs (relative to ``from_docname``) of the entry and of its executed evidence."""
    page = relative_uri(builder.get_target_uri(from_docname), builder.get_target_uri(info["docname"]))
    entry = info["entry"]
    if info.get("example"):
        evidence = page + "#example"
    else:
        evidence = page + "#" + info["anchor"]
    return page + "#" + info["anchor"], evidence


def _breakable(name: str) -> str:
    """An API name that may wrap after its dots (<wbr> adds no text to copy or search)."""
    return html.escape(name).replace(".", ".<wbr>")


def _badges(entry: dict, versions: dict) -> str:
    parts = []
    for eq in entry["equivalents"]:
        api = _breakable(eq.get("api") or "composite")
        cpu = (f' <span class="mapping-cpu cpu-no-kernel">{html.escape(cpu_label(versions))}</span>'
               if eq.get("cpu") == "no-kernel" else "")
        parts.append(
            f'<li><code>{api}</code> <span class="mapping-status status-{eq["status"]}">'
            f'{STATUS_LABELS[eq["status"]]}</span>{cpu}</li>'
        )
    return '<ul class="equivalents">' + "".join(parts) + "</ul>"


def render_index(app: Sphinx, docname: str) -> str:
    known = entries(app.env)
    by_namespace: dict[str, list] = {}
    for api, info in known.items():
        by_namespace.setdefault(info["entry"]["namespace"], []).append((api, info))
    statuses = Counter(eq["status"] for info in known.values() for eq in info["entry"]["equivalents"])
    options_ns = "".join(f'<option value="{html.escape(ns)}">{html.escape(ns)}</option>' for ns in sorted(by_namespace))
    options_st = "".join(
        f'<option value="{s}">{STATUS_LABELS[s]} ({statuses.get(s, 0)})</option>' for s in STATUS_LABELS
    )
    no_kernel = sum(eq.get("cpu") == "no-kernel" for info in known.values() for eq in info["entry"]["equivalents"])
    options_st += f'<option value="{NO_KERNEL_FILTER}">not run on CPU ({no_kernel})</option>'
    out = [
        '<form class="mapping-filters" role="search" aria-label="Filter the mappings" onsubmit="return false">',
        '<label>Namespace <select id="filter-namespace"><option value="">all</option>' + options_ns + "</select></label>",
        '<label>Status <select id="filter-status"><option value="">all</option>' + options_st + "</select></label>",
        '<label>Text <input id="filter-text" type="search" placeholder="e.g. dropout, momentum"></label>',
        f'<p id="filter-count" aria-live="polite">{len(known)} of {len(known)} mappings shown</p>',
        "</form>",
        '<div class="table-wrapper"><table class="mapping-index docutils">',
        "<thead><tr><th>PyTorch</th><th>MindSpore equivalents</th><th>Summary</th><th>Evidence</th></tr></thead>",
    ]
    for namespace in sorted(by_namespace):
        rows = sorted(by_namespace[namespace])
        out.append(f'<tbody data-namespace="{html.escape(namespace)}">')
        out.append(f'<tr class="namespace-row"><th colspan="4" scope="rowgroup">{html.escape(namespace)} ({len(rows)})</th></tr>')
        for api, info in rows:
            entry = info["entry"]
            page, evidence = entry_urls(app.builder, docname, info)
            status_list = " ".join(sorted({eq["status"] for eq in entry["equivalents"]}
                                          | ({NO_KERNEL_FILTER} if any(eq.get("cpu") for eq in entry["equivalents"]) else set())))
            kind = "detail page and example" if info["detail"] else "checks"
            out.append(
                f'<tr class="mapping-row" data-namespace="{html.escape(namespace)}" data-status="{status_list}">'
                f'<td><a href="{html.escape(page)}"><code>{_breakable(api)}</code></a></td>'
                f"<td>{_badges(entry, app.config.mapsite_versions)}</td>"
                f"<td>{html.escape(entry['summary'])}</td>"
                f'<td><a href="{html.escape(evidence)}">{kind}</a></td></tr>'
            )
        out.append("</tbody>")
    out.append("</table></div>")
    return "\n".join(out)


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(mapping_index)):
        node.replace_self(nodes.raw("", render_index(app, docname), format="html"))


def _on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    app.mapsite_pages_read = bool(docnames)


def _on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    # The index shows every entry: rewrite it whenever pages were read or deleted.
    if not getattr(app, "mapsite_pages_read", True) and not removed_docs(app):
        return []
    return sorted(getattr(env, "mapsite_index_docs", set()) & env.found_docs)


def _on_purge(app, env, docname):
    getattr(env, "mapsite_index_docs", set()).discard(docname)


def _on_merge(app, env, docnames, other):
    env.mapsite_index_docs = getattr(env, "mapsite_index_docs", set()) | getattr(other, "mapsite_index_docs", set())


def export(app: Sphinx) -> dict:
    """The JSON export, built once per build from the entries and their check results.

    Called when the build finishes, for mappings.json and for the Check your code page's copy.
    """
    if getattr(app, "mapsite_export", None) is None:
        app.mapsite_export = _build_export(app)
    return app.mapsite_export


def _build_export(app: Sphinx) -> dict:
    found = results(app.env)
    mappings = []
    for api, info in sorted(entries(app.env).items()):
        entry = info["entry"]
        page, evidence = entry_urls(app.builder, "index", info)
        # No report: a build with execution off, which ran no check.
        report = found.get(api) or {"equivalents": [{"verdict": "not run"}] * len(entry["equivalents"])}
        equivalents = []
        for eq, result in zip(entry["equivalents"], report["equivalents"]):
            exported = {k: eq[k] for k in ("api", "status", "note", "translation", "composite", "mindspore", "cpu") if k in eq}
            exported["verdict"] = result["verdict"]
            exported["status_verified"] = result["verdict"] == "pass" and eq.get("cpu") != "no-kernel"
            exported["runs_on_cpu"] = eq.get("cpu") != "no-kernel"
            # A differs row found by the battery alone runs its cases only the PyTorch way (naive_cases).
            exported["cases_checked"] = max(len(result.get("cases", [])), len(result.get("naive_cases", [])))
            exported["battery_probes"] = len(result.get("battery") or [])
            exported["battery_findings"] = sum(p["verdict"] == "finding" for p in result.get("battery") or [])
            equivalents.append(exported)
        item = {
            "pytorch": api,
            "namespace": entry["namespace"],
            "summary": entry["summary"],
            "page": page,
            "evidence": evidence,
            "detail_page": info["detail"],
            "equivalents": equivalents,
        }
        if info.get("example"):
            item["example"] = info["example"]
        mappings.append(item)
    return {"schema_version": SCHEMA_VERSION, "verified_with": dict(app.config.mapsite_versions),
            "count": len(mappings), "mappings": mappings}


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    Path(app.outdir, JSON_NAME).write_text(json.dumps(export(app), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    shutil.copyfile(SCHEMA_PATH, Path(app.outdir, SCHEMA_NAME))


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    if pagename in getattr(app.env, "mapsite_index_docs", set()):
        app.add_js_file("mapping-index.js", defer="defer")


def setup(app: Sphinx) -> dict:
    app.add_node(mapping_index)
    app.add_directive("mapping-index", MappingIndexDirective)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-get-updated", _on_env_get_updated)
    app.connect("env-purge-doc", _on_purge)
    app.connect("env-merge-info", _on_merge)
    app.connect("html-page-context", _on_page_context)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
