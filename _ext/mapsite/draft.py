"""Draft a mapping entry for a PyTorch API from introspection, for an author to review.

    .venv/bin/python -m mapsite.draft torch.nn.functional.gelu [more APIs] [--case "randn(3, 4)"] [--init "..."]
    make draft API=torch.nn.functional.gelu

It looks for MindSpore candidates of the same name (``mint`` first, then the
classic ``ops``/``nn``/``Tensor`` families; case-insensitively, so
``LogSoftmax`` finds ``LogSoftMax``), prints both signatures and every
parameter whose default differs, runs a first case through the checker with
each candidate marked ``consistent``, and prints a ``{mapping}`` block whose
statuses are what that run showed. Everything it cannot know is marked
``TODO``: the summary, the notes, the other cases, and a translation for a row
that differs. The draft is printed, never written: the facts live only in the
page the author pastes it into, where the build checks them again.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Any

import yaml

from .checker import (EntryError, check_entry, default_differences, missing_kernel, resolve, signature_of,
                      synchronous_mindspore)

# Where MindSpore keeps the counterpart of each PyTorch namespace, most PyTorch-like first.
FAMILIES = (
    ("torch.nn.functional.", ("mindspore.mint.nn.functional.", "mindspore.ops.")),
    ("torch.nn.init.", ("mindspore.common.initializer.",)),
    ("torch.nn.utils.", ("mindspore.ops.", "mindspore.nn.utils.")),
    ("torch.nn.", ("mindspore.mint.nn.", "mindspore.nn.")),
    ("torch.optim.lr_scheduler.", ("mindspore.experimental.optim.lr_scheduler.", "mindspore.nn.")),
    ("torch.optim.", ("mindspore.mint.optim.", "mindspore.experimental.optim.", "mindspore.nn.")),
    ("torch.linalg.", ("mindspore.mint.linalg.", "mindspore.ops.")),
    ("torch.fft.", ("mindspore.mint.fft.", "mindspore.ops.")),
    ("torch.special.", ("mindspore.mint.special.", "mindspore.ops.")),
    ("torch.Tensor.", ("mindspore.Tensor.", "mindspore.mint.", "mindspore.ops.")),
    ("torch.", ("mindspore.mint.", "mindspore.ops.", "mindspore.")),
)
# The first argument's name tells what a first case should pass.
TENSOR_ARGUMENTS = {"input", "x", "self", "tensor", "a"}


def namespace_of(api: str) -> str:
    """The namespace an entry is grouped under: the module path, or torch.Tensor / torch.nn for members."""
    for prefix, _ in FAMILIES:
        if api.startswith(prefix):
            return prefix.rstrip(".")
    return api.rsplit(".", 1)[0]


def _lookup(module_path: str, name: str) -> str | None:
    """``module_path + name`` if it exists, else a case-insensitive match in that module."""
    try:
        module = resolve(module_path.rstrip("."))
    except Exception:  # noqa: BLE001 - a MindSpore family missing from this release
        return None
    if hasattr(module, name):
        return module_path + name
    lowered = name.lower()
    for attribute in dir(module):
        if attribute.lower() == lowered and not attribute.startswith("_"):
            return module_path + attribute
    return None


def candidates(api: str) -> list[str]:
    """MindSpore APIs named like ``api``, in the order an entry lists them."""
    for prefix, families in FAMILIES:
        if api.startswith(prefix):
            name = api[len(prefix):]
            found = [_lookup(family, name) for family in families if "." not in name]
            return list(dict.fromkeys(c for c in found if c))
    return []


def first_case(api: str) -> tuple[str, str | None]:
    """A first call for the PyTorch API (cases, init), guessed from its signature."""
    obj = resolve(api)
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        parameters = [p for p in inspect.signature(target).parameters.values() if p.name != "self"]
    except (TypeError, ValueError):
        parameters = []
    if isinstance(obj, type):
        required = [p for p in parameters if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        init = ", ".join("4" for _ in required)   # sizes and counts: a small int is the usual guess
        return "randn(2, 4)" if required else "randn(2, 3, 4)", init or None
    return "randn(3, 4)", None


def shown_signature(api: str) -> str:
    """The signature to show: introspected, or else the first line of a builtin's docstring."""
    signature = signature_of(api)
    if signature:
        return signature
    doc = (getattr(resolve(api), "__doc__", None) or "").strip().splitlines()
    name = api.rsplit(".", 1)[-1]
    if doc and doc[0].startswith(name + "("):
        return f"{api.rsplit('.', 1)[0]}.{doc[0]} (from its docstring)"
    return f"{api} (no signature to read)"


def draft(api: str, case: str | None = None, init: str | None = None) -> tuple[dict, list[str]]:
    """The drafted entry and the lines of findings to show above it."""
    resolve(api)   # fails early, with Python's own message, on a name that does not import
    guessed_case, guessed_init = first_case(api)
    case = case or guessed_case
    init = init if init is not None else guessed_init
    found = candidates(api)
    entry: dict[str, Any] = {
        "pytorch": api,
        "namespace": namespace_of(api),
        "summary": "TODO: one line for the index, in your own words.",
    }
    if init:
        entry["init"] = init
    entry["cases"] = [case]
    entry["equivalents"] = [{"api": candidate, "status": "consistent"} for candidate in found]
    lines = [f"PyTorch:   {shown_signature(api)}"]
    if not found:
        lines.append("No MindSpore API of the same name: write a composite (status none) or name the equivalent.")
        entry["equivalents"] = [{"status": "none", "composite": "TODO", "note": "TODO"}]
        return entry, lines
    report = check_entry(entry)
    for eq, result in zip(entry["equivalents"], report["equivalents"]):
        lines.append(f"MindSpore: {shown_signature(eq['api'])}")
        for difference in default_differences(api, eq["api"]) or []:
            lines.append(f"           default of {difference['parameter']}: PyTorch {difference['torch']}, "
                         f"MindSpore {difference['mindspore']} (the note must say so)")
        outcomes = [c.get("mindspore", "") for c in result.get("cases", []) + result.get("naive_cases", [])]
        if any(missing_kernel(str(outcome)) for outcome in outcomes) or missing_kernel(result.get("message", "")):
            eq["cpu"] = "no-kernel"
            eq["note"] = "TODO: what to use on the CPU."
            eq["translation"] = "TODO"
            lines.append("           no CPU kernel: the case failed with MindSpore's missing-kernel error")
        elif result["verdict"] != "pass":
            eq["status"] = "differs"
            eq["note"] = "TODO: what differs, and what to write instead."
            eq["translation"] = "TODO: a callable with PyTorch's signature"
            lines.append(f"           first case: {result.get('message', 'differs').splitlines()[0][:160]}")
        else:
            lines.append("           first case agrees: add the cases that could tell them apart (dtypes, "
                         "NaN, empty, keywords, non-default arguments)")
    return entry, lines


def render(entry: dict, lines: list[str]) -> str:
    body = yaml.safe_dump(entry, sort_keys=False, allow_unicode=True, width=110)
    comments = "\n".join(f"# {line}" for line in lines)
    return f"{comments}\n\n## `{entry['pytorch']}`\n\n```{{mapping}}\n{body}```\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mapsite.draft", description=__doc__.split("\n\n")[0])
    parser.add_argument("api", nargs="+", help="the PyTorch API(s), e.g. torch.nn.functional.gelu")
    parser.add_argument("--case", help='a first case (call arguments), e.g. "randn(2, 5), dim=1"')
    parser.add_argument("--init", help="constructor arguments for a layer or other class")
    args = parser.parse_args(argv)
    synchronous_mindspore()
    status = 0
    for api in args.api:   # several in one run: the frameworks are imported once
        try:
            entry, lines = draft(api, args.case, args.init)
        except (ImportError, AttributeError) as exc:
            print(f"mapsite.draft: {api} does not import: {exc}", file=sys.stderr)
            status = 2
            continue
        except EntryError as exc:
            print(f"mapsite.draft: {api}: {exc.field}: {exc.message}", file=sys.stderr)
            status = 2
            continue
        print(render(entry, lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
