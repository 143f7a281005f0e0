"""Execute every mapping's cross-checks and show the evidence on its page.

After all pages are read (``env-updated``), entries without a cached passing
result are checked by ``python -m mapsite.checker`` in worker processes, so the
Sphinx process never imports torch or mindspore. The processes are forked from the
build's preloader (mapsite.preload), which has imported both already: it starts before
reading if notebooks run, else as soon as a page read declares an entry without a cached
result, and imports while the other pages are read. Without one they start on their own.
Passing results are cached per entry text and framework versions; failures are never
cached, so they are reported again on every build until fixed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from .execution import start_preloader, stop_preloader, use_preloader, worker_count
from .programs import code_blocks
from .registry import entries, mapping_evidence, simple_table
from .runner import framework_env
from .versions import versions_key

logger = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def results(env: BuildEnvironment) -> dict[str, dict]:
    if not hasattr(env, "mapsite_results"):
        env.mapsite_results = {}
    return env.mapsite_results


def _cache_dir(app: Sphinx) -> Path:
    return Path(app.config.mapsite_cache_dir) / ".check_cache" / versions_key(app.config.mapsite_versions)


# A change to the check engine invalidates every cached result, like a new framework version.
CHECKER_DIGEST = hashlib.sha256(b"".join(
    Path(__file__).with_name(name).read_bytes() for name in ("checker.py", "programs.py", "battery.py"))).hexdigest()


def _entry_key(entry: dict) -> str:
    text = CHECKER_DIGEST + json.dumps(entry, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _result_file(app: Sphinx, entry: dict) -> Path:
    """Where the passing check result of ``entry`` (as it is now) is cached."""
    return _cache_dir(app) / f"{_entry_key(entry)}.json"


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _checker_process(entries: list[dict], preloader: str | None) -> tuple[int, str, str]:
    """``python -m mapsite.checker --json`` on ``entries``: forked from the build's preloader when
    there is one that can fork (the frameworks are already imported there), else a new process."""
    env = framework_env(PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])))
    if preloader:
        from .preload import PreloaderGone, run_module

        try:
            done = run_module(preloader, "mapsite.checker", ["--json"], json.dumps(entries), env, [str(PACKAGE_ROOT)])
        except (PreloaderGone, OSError):  # gone: a process of its own checks as well, only slower
            done = None
        if done is not None:
            return done
    proc = subprocess.run([sys.executable, "-m", "mapsite.checker", "--json"], input=json.dumps(entries),
                          capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def run_checker(batch: list[dict], preloader: str | None = None) -> list[dict]:
    """Reports for ``batch``, in order, from checker processes (forked from ``preloader``, the
    socket of the build's preloader, if given).

    A native crash (MindSpore's CPU kernels can die with SIGFPE) kills the process, not the
    build: the entry being checked gets a failing report naming the crash, and the entries
    after it are checked in a new process. A process that fails before its frameworks
    imported is a broken set-up, and stops the build."""
    reports: list[dict] = []
    while len(reports) < len(batch):
        rest = batch[len(reports):]
        returncode, stdout, stderr = _checker_process(rest, preloader)
        lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        if not lines or not lines[0].get("ready"):
            raise RuntimeError(f"the checker process failed ({_exit_description(returncode)}) before "
                               f"checking anything:\n{stderr[-3000:]}")
        reports += lines[1:]
        if returncode != 0 and len(reports) < len(batch):
            entry = batch[len(reports)]
            message = (f"the checker process died ({_exit_description(returncode)}) while checking this "
                       f"entry; its last output: {stderr.strip()[-300:] or '(none)'}")
            reports.append({"pytorch": entry.get("pytorch"), "signatures": {}, "equivalents": [
                {"verdict": "error", "field": f"equivalents[{i}]", "message": message, "api": eq.get("api")}
                for i, eq in enumerate(entry.get("equivalents", []))]})
    return reports


def _passed(report: dict) -> bool:
    return all(eq["verdict"] == "pass" for eq in report["equivalents"])


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """A page just read declares an entry with no cached result: the checks after reading will
    run, so the preloader starts now and imports the frameworks while the other pages are read."""
    env = app.env
    if env.mystnb_config.execution_mode == "off" or getattr(app, "mapsite_preloader", None) is not None:
        return
    for info in entries(env).values():
        if info["docname"] == env.docname and (
                env.mystnb_config.execution_mode == "force" or not _result_file(app, info["entry"]).is_file()):
            start_preloader(app)
            return


def _on_env_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    found = results(env)
    previous, previous_keys = dict(found), getattr(env, "mapsite_result_keys", {})
    found.clear()
    env.mapsite_result_keys = {}
    mode = env.mystnb_config.execution_mode
    if mode == "off":  # nothing runs; mapsite.execution said so once, and each entry says so
        return []
    _cache_dir(app).mkdir(parents=True, exist_ok=True)
    pending = []
    for api, info in sorted(entries(env).items()):
        cached = _result_file(app, info["entry"])
        key = env.mapsite_result_keys[api] = cached.stem
        if not cached.is_file() or mode == "force":
            pending.append(info["entry"])
        elif previous_keys.get(api) == key and api in previous:
            found[api] = previous[api]  # the saved environment holds this very result: no file to read
        else:
            found[api] = json.loads(cached.read_text(encoding="utf-8"))
    if pending:
        preloader = use_preloader(app)
        check = functools.partial(run_checker, preloader=preloader)
        workers = worker_count(app, len(pending))
        batches = [pending[i::workers] for i in range(workers)]
        started = time.perf_counter()
        logger.info(f"[mapsite] checking {len(pending)} mapping(s) in {workers} process(es)"
                    + (", forked from the kernels' preloader" if preloader else ""))

        def record(entry: dict, report: dict) -> bool:
            """Keep the report; cache it if it passed. Failures are never cached."""
            found[entry["pytorch"]] = report
            if _passed(report):
                _result_file(app, entry).write_text(json.dumps(report), encoding="utf-8")
            return _passed(report)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            failing = [
                entry
                for batch, reports in zip(batches, pool.map(check, batches))
                for entry, report in zip(batch, reports)
                if not record(entry, report)
            ]
            # A failed MindSpore CPU kernel can break later calls in the same process, so a
            # failure only counts if the entry also fails alone, in a new process.
            for entry, reports in zip(failing, pool.map(check, [[e] for e in failing])):
                record(entry, reports[0])
        logger.info(f"[mapsite] mapping checks ran in {time.perf_counter() - started:.1f} s")
    stop_preloader(app)  # nothing runs after the checks: its memory goes back before writing
    for api, info in sorted(entries(env).items()):
        for position, eq in enumerate(found[api]["equivalents"]):
            if eq["verdict"] == "pass":
                continue
            field = eq.get("field", f"equivalents[{position}]")
            logger.warning(
                f"mapping {api}, field {field}: {eq.get('message', 'check failed')}",
                location=(info["docname"], info["lineno"]), type="mapsite", subtype="check",
            )
    return []


def _case_rows(cases: list[dict]) -> list[list[nodes.Node]]:
    rows = []
    for case in cases:
        # The size of a difference is shown only where the results agree: where they differ it
        # can be noise from uninitialised memory (BCELoss weights) and change on every build.
        diff = case.get("max_diff") if case["agree"] else None
        rows.append([
            nodes.literal(text=case["call"]),
            nodes.Text(case["torch"]),
            nodes.Text(case["mindspore"]),
            nodes.Text("" if diff is None else f"{diff:.2g}"),
            nodes.Text("yes" if case["agree"] else f"no: {case.get('reason') or 'differs'}"),
        ])
    return rows


HEADER = ["Call", "PyTorch result", "MindSpore result", "max |diff|", "Agree"]


def render_evidence(api: str, report: dict | None, entry: dict) -> nodes.Node:
    box = nodes.container(classes=["mapping-evidence"])
    if report is None:
        box += nodes.paragraph(text="The checks of this mapping did not run in this build "
                                    "(nb_execution_mode is 'off'): its statuses were not verified.",
                               classes=["check-not-run"])
        return box
    signatures = [sig for sig in report.get("signatures", {}).values() if sig]
    if signatures:
        box += nodes.paragraph(text="Signatures, read from the installed packages:", classes=["evidence-title"])
        text = "\n".join(signatures)
        box += nodes.literal_block(text, text, language="none", classes=["signatures"])
    if entry.get("program"):  # the program form: show the code that ran
        box += code_blocks(entry)
    for eq, declared in zip(report["equivalents"], entry["equivalents"]):
        name = eq.get("api") or "composite"
        if eq["verdict"] not in ("pass",):
            box += nodes.paragraph(text=f"Check of {name} failed: {eq.get('message', '')}", classes=["check-failed"])
            continue
        if eq.get("defaults"):
            intro = nodes.paragraph(classes=["evidence-title"])
            intro += nodes.Text("Defaults that differ, read from both signatures: ")
            intro += nodes.literal(text=entry["pytorch"])
            intro += nodes.Text(" vs ")
            intro += nodes.literal(text=name)
            box += intro
            box += simple_table(["Parameter", "PyTorch default", "MindSpore default"], [
                [nodes.literal(text=d["parameter"]), nodes.literal(text=d["torch"]), nodes.literal(text=d["mindspore"])]
                for d in eq["defaults"]], ["evidence-table", "evidence-defaults"])
        title = nodes.paragraph(classes=["evidence-title"])
        title += nodes.Text("Executed check: ")
        title += nodes.literal(text=entry["pytorch"])
        title += nodes.Text(" vs ")
        title += nodes.literal(
            text=declared.get("translation") or declared.get("composite") or declared.get("mindspore") or name
        )
        if eq.get("naive_cases"):
            naive = nodes.paragraph(classes=["evidence-title"])
            if declared.get("cpu") == "no-kernel":
                naive += nodes.literal(text=name)
                naive += nodes.Text(" still fails on the CPU, as expected (no kernel): its status is not verified here")
            else:
                naive += nodes.Text("The difference, as executed: " if declared["status"] == "differs" and eq["cases"]
                                    else "As PyTorch writes the call: ")  # without cases: the battery shows it
                naive += nodes.literal(text=entry["pytorch"])
                naive += nodes.Text(" vs ")
                naive += nodes.literal(text=name)
                naive += nodes.Text(" used the PyTorch way, in the naive program below" if entry.get("program")
                                    else " called the same way")
            box += naive
            if entry.get("program"):
                box += code_blocks(entry, declared, "naive")
            box += simple_table(HEADER, _case_rows(eq["naive_cases"]), ["evidence-table", "evidence-naive"])
        box += title if eq["cases"] else []  # a differs row found by the battery alone has no translation
        if entry.get("program"):
            box += code_blocks(entry, declared, "program")
        if eq["cases"]:
            box += simple_table(HEADER, _case_rows(eq["cases"]), ["evidence-table"])
        box += _battery_nodes(eq, declared, name)
    return box


def _battery_nodes(eq: dict, declared: dict, name: str) -> list[nodes.Node]:
    """The standard battery (mapsite.battery), compactly: one line naming the probes that agree
    or do not apply, and a table of the findings only."""
    probes = eq.get("battery") or []
    if not probes:
        return []
    line = nodes.paragraph(classes=["evidence-title", "evidence-battery"])
    line += nodes.Text(f"Standard battery, {len(probes)} probes on ")
    line += nodes.literal(text=declared.get("translation") or declared.get("composite") or declared.get("mindspore")
                          or name)
    agree = [p["probe"] for p in probes if p["verdict"] == "agree"]
    reasons: dict[str, list[str]] = {}
    for p in probes:
        if p["verdict"] == "n/a":
            reasons.setdefault(p.get("reason") or "not applicable", []).append(p["probe"])
    skipped = [f"{', '.join(names)} ({reason})" for reason, names in reasons.items()]
    found = [p for p in probes if p["verdict"] == "finding"]
    line += nodes.Text(": agrees on " + (", ".join(agree) or "none") + "; "
                       + (f"{len(found)} finding(s), below" if found else "no findings")
                       + ("; not applicable: " + "; ".join(skipped) if skipped else "") + ".")
    out: list[nodes.Node] = [line]
    if found:
        out.append(simple_table(["Probe", "Input", "PyTorch", "MindSpore", "Found"], [
            [nodes.Text(p["probe"]), nodes.Text(p["call"]), nodes.Text(p["torch"]), nodes.Text(p["mindspore"]),
             nodes.Text(p.get("reason") or "differs")] for p in found], ["evidence-table", "evidence-battery"]))
    return out


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    found = results(app.env)
    known = entries(app.env)
    for node in list(doctree.findall(mapping_evidence)):
        api = node["api"]
        node.replace_self(render_evidence(api, found.get(api), known[api]["entry"]) if api in known else [])


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _on_doctree_read)
    app.connect("env-updated", _on_env_updated)
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
