"""The standard battery: probes every row of a plain-call entry faces, whatever its cases say.

An entry's cases show what its author thought of. The battery adds what authors forget,
derived from the entry's first case: its first array argument (the *subject*) is replaced
by

* ``large values``: the pattern ``WIDE`` (magnitudes from 1e-6 to 1e4, both signs), cycled
  to the subject's shape;
* ``NaN/inf``: NaN, +inf, -inf, -0.0 and 0.0, cycled to the shape;
* ``empty``: the shape with its first dimension 0;
* ``0-d``: the subject's first element as a 0-d array;
* ``float16``, ``float64``, ``int32``, ``int64``, ``bool``: the subject in that dtype
  (integers from ``round(3 * x)``, booleans from ``x > 0``), the original dtype skipped.

The shape probes also change every array of the case with the subject's shape and dtype (the
``target`` of a loss, the other tensors of ``cat``), and the dtype probes every array of the
subject's dtype (both operands of ``matmul``, not the integer target of ``cross_entropy``), so
that a binary API sees a consistent pair. Value probes of a subject that is not floating point
(indices, masks), and with ``compare: {mode: moments}`` (random results) the value and 0-d
probes, are not applicable. Then the parameters:

* ``defaults``: a case with keyword arguments re-run without its non-array ones (their
  defaults), for at most two cases whose first arrays differ in rank (PyTorch's softmax picks
  its dimension by rank);
* ``name=value``: each floating-point keyword argument of the cases, plus 1 (``norm_type=3``),
  while the budget lasts.

That is at most 12 probes. Each runs PyTorch and the row's MindSpore callable (the call as
written for a consistent row, the translation or composite otherwise) and compares them with
the entry's ``compare`` settings (float16 results with at least 1e-3 tolerance): a probe
PyTorch rejects is not applicable; agreeing results (NaN equal to NaN, same dtype and shape)
pass; anything else, MindSpore raising included, is a *finding*. An empty probe that agrees is
run ``REPEAT_EMPTY`` more times on MindSpore: some of its reductions return uninitialised
memory for an empty input (the sum, the mean), which may happen to be close to PyTorch's
answer, and a result that changes from call to call is a finding too.

A ``consistent`` or ``renamed`` row with a finding fails the build: it must say ``differs``
and its note must name what was found. For ``differs`` and ``none`` rows (and rows that
cannot run on the CPU, whose battery runs the translation) every finding must be named in the
note by one of the words of ``KEYWORDS``. A ``differs`` row's difference may be a finding
alone; such a row needs no translation.

This module runs in the checker process; ``mapsite.checker`` calls ``run`` and ``judge``.
"""

from __future__ import annotations

import re
from typing import Any

WIDE = (4.5, -1.0e4, 1.0e-6, -6.0, 2.5e3, -3.0e-4, 12.0, -0.7, 0.02, -150.0, 1.5, -1.0e-6)
SPECIAL = (float("nan"), float("inf"), float("-inf"), -0.0, 0.0)
DTYPES = ("float16", "float64", "int32", "int64", "bool")
MAX_PROBES = 12
REPEAT_EMPTY = 3   # extra MindSpore calls of an empty probe that agreed (uninitialised results)
FORMS = ("call", "inplace_grads")   # the case forms the battery runs on

# What a note must contain (case-insensitive regular expressions) to name a finding.
KEYWORDS = {
    "large values": r"large|wide|range|magnitude|precis|accura|overflow|1e4",
    "NaN/inf": r"\bnan\b|\binf|infinit|-0\.0|signed zero|negative zero",
    "empty": r"empty",
    "0-d": r"\b0-d\b|0-dim|zero-dim|scalar",
    "float16": r"float16|half",
    "float64": r"float64|double",
    "int32": r"int32|integer",
    "int64": r"int64|integer",
    "bool": r"\bbool",
}


# --- deriving the probes ---------------------------------------------------------------


def _arrays(value: Any) -> list:
    import numpy as np

    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _arrays(item)]
    if isinstance(value, dict):
        return [a for item in value.values() for a in _arrays(item)]
    return []


def _replace(value: Any, change) -> Any:
    """``value`` with every array ``a`` replaced by ``change(a)`` (which may return ``a``)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return change(value)
    if isinstance(value, list):
        return [_replace(item, change) for item in value]
    if isinstance(value, tuple):
        return tuple(_replace(item, change) for item in value)
    if isinstance(value, dict):
        return {key: _replace(item, change) for key, item in value.items()}
    return value


def _cycled(pattern: tuple, shape: tuple, dtype) -> Any:
    import numpy as np

    size = int(np.prod(shape)) if shape else 1
    return np.resize(np.array(pattern, dtype=np.float64), size).reshape(shape).astype(dtype)


def _as_dtype(x: Any, name: str) -> Any:
    import numpy as np

    if name == "bool":
        return x > 0 if x.dtype != np.bool_ else x
    if name.startswith("int") and x.dtype.kind == "f":
        return np.round(3 * x).astype(name)
    return x.astype(name)


def _optional_parameters(entry: dict, checker) -> set | None:
    """Names of the PyTorch API's parameters that have a default (a layer's: of ``forward``);
    None when the signature cannot be read (then every non-array keyword counts as optional)."""
    import inspect

    try:
        target = checker.resolve(entry["pytorch"])
        if isinstance(target, type):
            target = getattr(target, "forward", target)
        parameters = inspect.signature(target).parameters.values()
    except Exception:  # noqa: BLE001 - builtins without metadata
        return None
    return {p.name for p in parameters if p.default is not inspect.Parameter.empty}


def derive(entry: dict, checker) -> list[dict]:
    """The probes of an entry: ``{"probe", "call", "args", "kwargs"}``, at most ``MAX_PROBES``.

    ``call`` says in words what was run; ``args`` and ``kwargs`` hold numpy arrays, as a parsed
    case does. A probe that cannot apply has ``"skip"`` (the reason) instead of arguments."""
    import numpy as np

    cases = entry.get("cases") or []
    parsed = [checker._parse_call(case, checker.Inputs(1234 + index).namespace())
              for index, case in enumerate(cases)]
    args, kwargs = parsed[0]
    found = _arrays((args, kwargs))
    if not found:
        return []
    subject = found[0]
    floating = subject.dtype.kind == "f"
    moments = (entry.get("compare") or {}).get("mode") == "moments"

    def with_subject(make_subject, make_partner=None, partners_of: str = "shape"):
        """Change the subject, and its partners: the arrays of its shape and dtype (``shape``),
        or all arrays of its dtype (``dtype``)."""
        def change(a):
            if a is subject:
                return make_subject(a)
            if make_partner is not None and a.dtype == subject.dtype and (
                    partners_of == "dtype" or a.shape == subject.shape):
                return make_partner(a)
            return a
        return _replace(args, change), _replace(kwargs, change)

    probes: list[dict] = []

    def add(name: str, call: str, made=None, skip: str | None = None):
        probe = {"probe": name, "call": call}
        if skip:
            probe["skip"] = skip
        else:
            probe["args"], probe["kwargs"] = made
        probes.append(probe)

    shape = subject.shape
    first = f"{subject.dtype}{list(shape)}"
    if moments:  # random results compared by mean and std: values and single elements say nothing
        for name in ("large values", "NaN/inf"):
            add(name, first, skip="results are compared by mean and std")
    elif floating:
        add("large values", f"{first}: 1e-6 to 1e4, both signs",
            with_subject(lambda a: _cycled(WIDE, a.shape, a.dtype)))
        add("NaN/inf", f"{first}: NaN, inf, -inf, -0.0, 0.0",
            with_subject(lambda a: _cycled(SPECIAL, a.shape, a.dtype)))
    else:
        for name in ("large values", "NaN/inf"):
            add(name, first, skip=f"the input is {subject.dtype}")
    empty = (0, *shape[1:]) if shape else (0,)
    add("empty", f"{subject.dtype}{list(empty)}",
        with_subject(lambda a: np.zeros(empty, a.dtype), lambda a: np.zeros(empty, a.dtype)))
    zero_d = lambda a: np.asarray(a.reshape(-1)[0] if a.size else np.zeros((), a.dtype))  # noqa: E731
    if moments:
        add("0-d", f"{subject.dtype}[]", skip="results are compared by mean and std")
    else:
        add("0-d", f"{subject.dtype}[]", with_subject(zero_d, zero_d))
    for name in DTYPES:
        if np.dtype(name) == subject.dtype:
            continue
        add(name, f"{name}{list(shape)}",
            with_subject(lambda a, n=name: _as_dtype(a, n), lambda a, n=name: _as_dtype(a, n), "dtype"))

    # Parameters: keyword arguments left out (their defaults), then float keywords at another value.
    optional = _optional_parameters(entry, checker)
    ranks: set = set()
    for index, (a, k) in enumerate(parsed):
        if len(probes) >= MAX_PROBES - 1 or len(ranks) >= 2:
            break
        kept = {name: v for name, v in k.items() if _arrays(v) or (optional is not None and name not in optional)}
        arrays = _arrays((a, k))
        if len(kept) == len(k) or not arrays or arrays[0].ndim in ranks:
            continue
        ranks.add(arrays[0].ndim)
        add("defaults", f"case {index + 1} without {', '.join(n for n in k if n not in kept)}", (a, kept))
    seen: set = set()
    for index, (a, k) in enumerate(parsed):
        for name, value in k.items():
            if isinstance(value, float) and name not in seen and len(probes) < MAX_PROBES:
                seen.add(name)
                add(f"{name}={value + 1.0:g}", f"case {index + 1} with {name}={value + 1.0:g}",
                    (a, {**k, name: value + 1.0}))
    return probes[:MAX_PROBES]


# --- running them ---------------------------------------------------------------------------


def _outcome(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"raises {type(exc).__name__}: {text}"[:160]


def _preview(value: Any) -> str:
    """A result in a few characters: dtype and shape, and the values when there are few."""
    import numpy as np

    if isinstance(value, np.ndarray):
        head = f"{value.dtype}{list(value.shape)}"
        if 0 < value.size <= 4:
            return head + " " + np.array2string(value.reshape(-1), precision=6, separator=", ")
        return head
    if isinstance(value, tuple):
        return "(" + ", ".join(_preview(v) for v in value) + ")"
    return type(value).__name__ + " " + repr(value)[:40]


def _first_mismatch(expected: Any, actual: Any, rtol: float, atol: float) -> str:
    """``at [i, j]: torch t, mindspore m`` for the first element that differs (arrays only)."""
    import numpy as np

    if isinstance(expected, tuple) and isinstance(actual, tuple):
        for e, a in zip(expected, actual):
            where = _first_mismatch(e, a, rtol, atol)
            if where:
                return where
        return ""
    if not (isinstance(expected, np.ndarray) and isinstance(actual, np.ndarray)) or expected.shape != actual.shape:
        return ""
    if expected.size == 0:
        return ""
    e64, a64 = expected.astype(np.float64), actual.astype(np.float64)
    bad = ~np.isclose(e64, a64, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return ""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"at {list(index)}: torch {float(e64[index])!r}, mindspore {float(a64[index])!r}"


def run(entry: dict, position: int, torch_base: Any, ms_base: Any, checker) -> list[dict] | None:
    """Run the battery on one row; None when the entry's case form has no battery.

    ``torch_base`` and ``ms_base`` are what the row's cases were run with (classes are built
    afresh for every probe, with the first case's seed); ``checker`` is the calling module."""
    if checker.case_form(entry) not in FORMS:
        return None
    options = entry.get("compare", {})
    mode = options.get("mode", "values")
    rtol = float(options.get("rtol", checker.DEFAULT_RTOL))
    atol = float(options.get("atol", checker.DEFAULT_ATOL))
    records = []
    for probe in derive(entry, checker):
        record = {"probe": probe["probe"], "call": probe["call"]}
        records.append(record)
        if "skip" in probe:
            record.update(verdict="n/a", torch="", mindspore="", reason=probe["skip"])
            continue
        checker.seed_frameworks(1234)
        torch_fn = checker.make_callable(torch_base, "torch", entry, "pytorch")
        ms_fn = checker.make_callable(ms_base, "mindspore", entry, f"equivalents[{position}].api")
        if entry.get("weights") in ("copy", "copy-by-name"):
            (checker.copy_weights if entry["weights"] == "copy" else checker.copy_weights_by_name)(torch_fn, ms_fn)
        drive = checker._driver(entry, probe["args"], probe["kwargs"], checker.Inputs(1234))
        outputs = {}
        for framework, fn in (("torch", torch_fn), ("mindspore", ms_fn)):
            try:
                outputs[framework] = checker.to_plain(drive(framework, fn))
                record[framework] = _preview(outputs[framework])
            except Exception as exc:  # noqa: BLE001 - an exception is an outcome
                record[framework] = _outcome(exc)
            if "torch" not in outputs:
                # Not applicable, and MindSpore is not called: some of its CPU kernels abort the
                # process on input PyTorch rejects (BinaryCrossEntropy outside [0, 1]).
                record.update(mindspore="not run", verdict="n/a", reason="PyTorch rejects this input")
                break
        if "torch" not in outputs:
            continue
        if "mindspore" not in outputs:
            record.update(verdict="finding", reason="MindSpore raises where PyTorch does not")
            continue
        scale = 1e-3 if probe["probe"] == "float16" else 0.0
        ok, reason, _ = checker.compare(outputs["torch"], outputs["mindspore"], mode, max(rtol, scale), max(atol, scale))
        for _ in range(REPEAT_EMPTY if ok and probe["probe"] == "empty" and mode == "values" else 0):
            # Some MindSpore reductions return uninitialised memory for an empty input, which can
            # be close to the right number: call again, and a result that changes is a finding.
            try:
                again = checker.to_plain(drive("mindspore", ms_fn))
            except Exception:  # noqa: BLE001 - it answered once; a second failure says nothing new
                break
            ok, reason, _ = checker.compare(outputs["torch"], again, mode, rtol, atol)
            if ok and not checker.compare(outputs["mindspore"], again, mode, 0.0, 0.0)[0]:
                ok, reason = False, "MindSpore's result changes from call to call (uninitialised memory)"
            if not ok:
                record["mindspore"] = f"{record['mindspore']}, then {_preview(again)}"
                break
        if ok:
            record.update(verdict="agree", reason="")
        else:
            where = _first_mismatch(outputs["torch"], outputs["mindspore"], max(rtol, scale), max(atol, scale))
            record.update(verdict="finding", reason=reason + (f" ({where})" if where and mode == "values" else ""))
    return records


# --- what a row may then say -------------------------------------------------------------------


def findings(result: dict) -> list[dict]:
    return [probe for probe in result.get("battery") or [] if probe["verdict"] == "finding"]


def mentioned(note: str, probe: str) -> bool:
    """Whether ``note`` names the finding of ``probe`` (see ``KEYWORDS``)."""
    if probe in KEYWORDS:
        pattern = KEYWORDS[probe]
    elif probe == "defaults":
        pattern = r"default|without|implicit|omit|left out"
    else:  # name=value: the parameter's name
        pattern = re.escape(probe.split("=")[0])
    return bool(re.search(pattern, note or "", re.I))


def words(probe: str) -> str:
    """The words a note may use for ``probe``, for messages."""
    if probe in KEYWORDS:
        return " | ".join(w.replace("\\b", "").replace("\\", "") for w in KEYWORDS[probe].split("|"))
    if probe == "defaults":
        return "default | without | implicit | omit | left out"
    return probe.split("=")[0]


def _describe(entry: dict, api: str, probe: dict) -> str:
    return (f"probe {probe['probe']} ({probe['call']}): torch -> {probe['torch']}; mindspore -> {probe['mindspore']}"
            + (f"; {probe['reason']}" if probe.get("reason") else ""))


def judge(entry: dict, position: int, result: dict) -> None:
    """Fail a passing row whose status or note the battery contradicts (see the module's doc)."""
    if result.get("verdict") != "pass" or not result.get("battery"):
        return
    equivalent = entry["equivalents"][position]
    found = findings(result)
    if not found:
        return
    api = equivalent.get("api") or "the composite"
    status = equivalent["status"]
    field = f"equivalents[{position}]"
    names = ", ".join(p["probe"] for p in found)
    if status in ("consistent", "renamed") and equivalent.get("cpu") != "no-kernel":
        result["verdict"] = "fail"
        result["field"] = f"{field}.status"
        result["message"] = (
            f"{entry['pytorch']} -> {api} says {status}, but the battery found differences ({names}); first, "
            f"{_describe(entry, api, found[0])}. Mark the row differs and say in its note what the battery found "
            f"(for {found[0]['probe']}: {words(found[0]['probe'])})")
        return
    note = equivalent.get("note", "")
    missing = [p for p in found if not mentioned(note, p["probe"])]
    if missing:
        result["verdict"] = "fail"
        result["field"] = f"{field}.note"
        result["message"] = (
            f"{entry['pytorch']} -> {api} [{status}]: the battery found a difference the note does not name: "
            f"{_describe(entry, api, missing[0])}. Name it in the note (any of: {words(missing[0]['probe'])})"
            + (f"; also unnamed: {', '.join(p['probe'] for p in missing[1:])}" if missing[1:] else ""))
