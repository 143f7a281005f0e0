"""The ``program`` case form: a short PyTorch program against its MindSpore port.

Some of what a port touches first is not a call with a result: switching a model to
evaluation mode, saving and loading weights, seeding, turning gradients off, iterating a
data loader. Such an API is checked by running two small programs, each of which sets a
variable ``result``::

    pytorch: torch.nn.Module.eval
    program: |
      net = torch.nn.Dropout(p=0.5)
      net.eval()
      result = net(x)
    cases:
      - "x=ones(4, 4)"
    equivalents:
      - api: mindspore.nn.Cell.set_train
        status: differs
        note: ...
        program: |
          net = nn.Dropout(p=0.5)
          net.set_train(False)
          result = net(x)
        naive: |
          net = nn.Dropout(p=0.5)
          net.eval()
          result = net(x)

Each case holds keyword arguments only (``x=randn(2, 3), n=4``); they become names in the
program, arrays as each framework's tensors, exactly as a call's arguments would. Every
program runs in a fresh namespace holding its own framework and nothing of the other:

* PyTorch: ``torch``, ``nn`` (``torch.nn``), ``F`` (``torch.nn.functional``), ``np``;
* MindSpore: ``mindspore``, ``ms``, ``ops``, ``mint``, ``nn`` (``mindspore.nn``), ``np``;

plus ``tmp``, the path of a new empty directory (for save and load), removed afterwards.
A MindSpore program may not mention ``torch``: it would not be a port. Both frameworks are
seeded with the case's seed before each program. The two ``result`` values are compared with
the entry's ``compare`` settings, like call results (a dict is compared as its items).

Statuses, checked by machine like the call forms':

* ``renamed``: the MindSpore ``program`` gives the same result on every case. A ``naive``
  program (PyTorch's program with MindSpore's names) is optional; when given it is run and
  shown, and may agree or not.
* ``differs``: ``naive`` is required and must fail or give another result on at least one
  case (otherwise "now agrees: verify this entry"); ``program`` must agree on every case.
* ``none``: there is no MindSpore API to name; ``program`` is the replacement.
* ``consistent`` is refused: the two programs are different texts (one imports torch, the
  other MindSpore), so the strongest claim a pair of programs can carry is ``renamed``.
* ``cpu: no-kernel``: ``naive`` must fail on every case, one of them for want of a kernel,
  and ``program`` (what runs on the CPU) must agree.

This module is imported by ``mapsite.checker`` (in the checker process, with the frameworks)
and, for ``code_blocks`` only, by ``mapsite.evidence`` (in Sphinx, without them).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from typing import Any

TORCH_NAME = re.compile(r"\btorch\b")
TMP_PREFIX = "mapsite-program-"
TMP_PATH = re.compile(re.escape(tempfile.gettempdir()) + "/" + TMP_PREFIX + r"\w+")
# Fields of the call forms that a program row does not use; given, they would be silently ignored.
UNUSED_ENTRY_FIELDS = ("init", "torch", "weights", "train")
UNUSED_ROW_FIELDS = ("translation", "composite", "mindspore")


def namespace(framework: str, tmp: str) -> dict[str, Any]:
    """The names a program starts with: its own framework only, ``np`` and ``tmp``."""
    import numpy as np

    if framework == "torch":
        import torch

        return {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "np": np, "tmp": tmp}
    import mindspore

    return {"mindspore": mindspore, "ms": mindspore, "ops": mindspore.ops, "mint": mindspore.mint,
            "nn": mindspore.nn, "np": np, "tmp": tmp}


def run_program(code: str, framework: str, names: dict[str, Any], label: str) -> Any:
    """Run ``code`` in a fresh namespace with ``names`` added; return its ``result``.

    Output the program prints is discarded (the checker's stdout carries JSON)."""
    tmp = tempfile.mkdtemp(prefix=TMP_PREFIX)
    # MindSpore reads a function's __module__ (mindspore.grad fails on None): give the program a module name.
    scope = {"__name__": "mapsite_program", **namespace(framework, tmp), **names}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, f"<{label} program>", "exec"), scope)  # noqa: S102 - the entry's own code
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "result" not in scope:
        raise NameError(f"the {label} program does not set `result`")
    return scope["result"]


def plain_result(value: Any, checker) -> Any:
    """Like ``checker.to_plain``; a dict becomes the tuple of its (key, value) items, in order."""
    if isinstance(value, dict):
        return tuple((key, plain_result(item, checker)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(plain_result(item, checker) for item in value)
    return checker.to_plain(value)


def show(value: Any, limit: int = 300) -> str:
    """A result for the evidence table: type, shape and (shortened) values."""
    import numpy as np

    def text(item: Any) -> str:
        if isinstance(item, np.ndarray):
            values = np.array2string(item, precision=4, threshold=8, edgeitems=2, separator=", ")
            return f"{item.dtype}{list(item.shape)} {' '.join(values.split())}"
        if isinstance(item, tuple):
            return "(" + ", ".join(text(part) for part in item) + ("," if len(item) == 1 else "") + ")"
        if isinstance(item, float):
            return repr(round(item, 6))
        return repr(item)

    shown = text(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _outcome(code: str, framework: str, names: dict[str, Any], label: str, checker) -> tuple[Any, str]:
    """(plain result or None, what the evidence shows). An exception is a finding."""
    try:
        plain = plain_result(run_program(code, framework, names, label), checker)
        return plain, show(plain)
    except Exception as exc:  # noqa: BLE001 - a failing program is a finding, not a crash
        first = str(exc).splitlines()[0] if str(exc) else ""
        first = TMP_PATH.sub("{tmp}", first)  # a fresh directory per run: keep the page the same on every build
        return None, f"raises {type(exc).__name__}: {first}"[:200]


def _validate(entry: dict, position: int, checker) -> dict:
    """The rules of the form that the schema cannot state; return the row."""
    EntryError = checker.EntryError
    equivalent = entry["equivalents"][position]
    field = f"equivalents[{position}]"
    if not entry.get("program"):
        raise EntryError("program", f"{field} gives a MindSpore program: the entry needs PyTorch's program")
    for name in UNUSED_ENTRY_FIELDS:
        if name in entry:
            raise EntryError(name, f"a program entry does not use {name}: the program builds what it needs")
    for name in UNUSED_ROW_FIELDS:
        if name in equivalent:
            raise EntryError(f"{field}.{name}", f"a program row does not use {name}: its code is `program`")
    if not equivalent.get("program"):
        raise EntryError(f"{field}.program", "every row of a program entry needs the MindSpore program")
    status = equivalent["status"]
    if status == "consistent":
        raise EntryError(f"{field}.status", "a program row compares two different programs, so it cannot be "
                                            "consistent: write renamed (or differs with a naive program)")
    if (status == "differs" or equivalent.get("cpu") == "no-kernel") and not equivalent.get("naive"):
        raise EntryError(f"{field}.naive", f"a {'cpu: no-kernel' if status != 'differs' else 'differs'} program row "
                                           "needs `naive`: PyTorch's program written with MindSpore's names")
    if status == "none" and equivalent.get("naive"):
        raise EntryError(f"{field}.naive", "a row with no direct equivalent has no API to call the PyTorch way")
    for key in ("program", "naive"):
        if equivalent.get(key) and TORCH_NAME.search(equivalent[key]):
            raise EntryError(f"{field}.{key}", "a MindSpore program may not use torch")
    return equivalent


def _case_names(case: str, seed: int, checker) -> dict[str, Any]:
    inputs = checker.Inputs(seed)
    args, kwargs = checker._parse_call(case, inputs.namespace())
    if args:
        raise checker.EntryError("cases", f"{case!r}: a program case names its inputs (x=randn(2, 3)), "
                                          "positional arguments have no name in the program")
    return kwargs


def check_program(entry: dict, position: int, checker) -> dict:
    """Check one row of a program entry; the result has the shape of ``checker.check_equivalent``'s.

    ``checker`` is the calling checker module (run as ``__main__`` or imported), so that its
    ``EntryError`` is the one its caller catches."""
    equivalent = _validate(entry, position, checker)
    status = equivalent["status"]
    no_kernel = equivalent.get("cpu") == "no-kernel"
    result: dict[str, Any] = {"api": equivalent.get("api"), "status": status, "cases": [], "naive_cases": []}
    if equivalent.get("api"):
        try:
            checker.resolve(equivalent["api"])
        except Exception as exc:  # noqa: BLE001
            raise checker.EntryError(f"equivalents[{position}].api",
                                     f"{equivalent['api']!r} does not import: {exc}") from exc
    cases = entry.get("cases") or []
    if not cases:
        raise checker.EntryError("cases", "every entry needs cases: the checker executes each row's claim")
    options = entry.get("compare", {})
    mode = options.get("mode", "values")
    rtol = float(options.get("rtol", checker.DEFAULT_RTOL))
    atol = float(options.get("atol", checker.DEFAULT_ATOL))

    for index, case in enumerate(cases):
        seed = 1234 + index
        sides = [("cases", equivalent["program"], "MindSpore")]
        if equivalent.get("naive"):
            sides.insert(0, ("naive_cases", equivalent["naive"], "naive"))
        checker.seed_frameworks(seed)
        expected, torch_text = _outcome(entry["program"], "torch",
                                        checker.to_framework(_case_names(case, seed, checker), "torch"),
                                        "PyTorch", checker)
        if expected is None:
            raise checker.EntryError(f"cases[{index}]", f"{case!r}: the PyTorch program {torch_text}")
        for key, code, label in sides:
            checker.seed_frameworks(seed)  # the same seed and the same inputs for every program
            names = checker.to_framework(_case_names(case, seed, checker), "mindspore")
            actual, ms_text = _outcome(code, "mindspore", names, label, checker)
            record: dict[str, Any] = {"call": case, "torch": torch_text, "mindspore": ms_text}
            if actual is None:
                record.update(agree=False, reason="program raised", max_diff=None)
            else:
                ok, reason, diff = checker.compare(expected, actual, mode, rtol, atol)
                record.update(agree=ok, reason=reason, max_diff=None if diff != diff else diff)
            result[key].append(record)

    if no_kernel:
        ran = [c for c in result["naive_cases"] if not c["mindspore"].startswith("raises ")]
        if ran:
            result.update(verdict="fail", message=(
                f"the naive program of {equivalent['api']} now runs on CPU (case {ran[0]['call']} gave "
                f"{ran[0]['mindspore']}): verify this entry and drop `cpu: no-kernel`"))
            return result
        if not any(checker.missing_kernel(c["mindspore"]) for c in result["naive_cases"]):
            result.update(verdict="fail", message=(
                f"cpu: no-kernel, but the naive program of {equivalent['api']} fails for another reason "
                f"({result['naive_cases'][0]['mindspore']})"))
            return result
    elif status == "differs" and all(c["agree"] for c in result["naive_cases"]):
        result.update(verdict="fail", message=(
            f"the naive program ({equivalent['api']} used the PyTorch way) now agrees with {entry['pytorch']} "
            "on every case: verify this entry; the documented difference has disappeared"))
        return result
    bad = next((c for c in result["cases"] if not c["agree"]), None)
    if bad is None:
        result["verdict"] = "pass"
    else:
        result.update(verdict="fail", message=(
            f"the MindSpore program of {equivalent.get('api') or 'the replacement'} does not match {entry['pytorch']} "
            f"for ({bad['call']}): {bad.get('reason') or ''} torch -> {bad['torch']}; mindspore -> {bad['mindspore']}"))
    return result


# --- rendering (Sphinx side: docutils only) -------------------------------------------------


def code_blocks(entry: dict, declared: dict | None = None, key: str = "program") -> list:
    """Literal blocks showing the code that ran: PyTorch's program (``declared`` None), or a
    row's ``program`` or ``naive`` program."""
    from docutils import nodes

    titles = {"program": "The MindSpore program:", "naive": "The naive program (PyTorch's way, MindSpore's names):"}
    title, code = (("The PyTorch program (each sets result):", entry["program"]) if declared is None
                   else (titles[key], declared.get(key)))
    if not code:
        return []
    text = code.rstrip("\n")
    return [nodes.paragraph(text=title, classes=["evidence-title"]),
            nodes.literal_block(text, text, language="python", classes=["program-code"])]
