"""A native crash in the checker process (MindSpore's CPU kernels can die with SIGFPE) fails
the entry it was checking, not the build: the entries after it are checked in a new process."""

from __future__ import annotations

import pytest

from mapsite.evidence import run_checker

pytestmark = pytest.mark.unit


def entry(api: str, translation: str) -> dict:
    return {"pytorch": api, "namespace": "torch", "summary": "probe", "cases": ["randn(3)"],
            "equivalents": [{"api": "mindspore.ops.abs", "status": "renamed", "translation": translation}]}


def test_a_crash_fails_its_entry_and_the_rest_are_still_checked():
    crash = "lambda input: __import__('os').kill(__import__('os').getpid(), 8)"   # SIGFPE, like the kernel
    batch = [entry("torch.abs", "lambda input: ops.abs(input)"), entry("torch.absolute", crash),
             entry("torch.abs", "lambda input: mint.abs(input)")]
    reports = run_checker(batch)
    assert [r["pytorch"] for r in reports] == ["torch.abs", "torch.absolute", "torch.abs"]
    assert reports[0]["equivalents"][0]["verdict"] == "pass"
    assert reports[2]["equivalents"][0]["verdict"] == "pass"
    crashed = reports[1]["equivalents"][0]
    assert crashed["verdict"] == "error"
    assert "the checker process died (killed by SIGFPE) while checking this entry" in crashed["message"]
