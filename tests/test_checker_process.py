"""A native crash in the checker process (MindSpore's CPU kernels can die with SIGFPE) fails
the entry it was checking, not the build: the entries after it are checked in a new process,
whether checker processes start on their own or are forked from the build's preloader."""

from __future__ import annotations

import pytest

from mapsite.evidence import run_checker
from mapsite.preload import Preloader

pytestmark = pytest.mark.unit


def entry(api: str, translation: str) -> dict:
    return {"pytorch": api, "namespace": "torch", "summary": "probe", "cases": ["randn(3)"],
            "equivalents": [{"api": "mindspore.ops.abs", "status": "renamed", "translation": translation}]}


def parent_written_to(path) -> str:
    """A translation that writes its process's parent pid to ``path``, then agrees."""
    return f"lambda input: (open({str(path)!r}, 'w').write(str(__import__('os').getppid())), ops.abs(input))[1]"


@pytest.mark.parametrize("forked", [False, True], ids=["own-process", "forked-from-preloader"])
def test_a_crash_fails_its_entry_and_the_rest_are_still_checked(forked, tmp_path):
    crash = "lambda input: __import__('os').kill(__import__('os').getpid(), 8)"   # SIGFPE, like the kernel
    parent = tmp_path / "parent.txt"
    batch = [entry("torch.abs", parent_written_to(parent)), entry("torch.absolute", crash),
             entry("torch.abs", "lambda input: mint.abs(input)")]
    if forked:
        with Preloader(tmp_path / "p.sock", ["torch", "mindspore"]) as preloader:
            reports = run_checker(batch, preloader=preloader.socket_path)
            assert int(parent.read_text()) == preloader.process.pid, "the checker was not forked from the preloader"
    else:
        reports = run_checker(batch)
        assert int(parent.read_text()) == __import__("os").getpid()
    assert [r["pytorch"] for r in reports] == ["torch.abs", "torch.absolute", "torch.abs"]
    assert reports[0]["equivalents"][0]["verdict"] == "pass"
    assert reports[2]["equivalents"][0]["verdict"] == "pass"
    crashed = reports[1]["equivalents"][0]
    assert crashed["verdict"] == "error"
    assert "the checker process died (killed by SIGFPE) while checking this entry" in crashed["message"]


def test_a_preloader_that_cannot_fork_leaves_the_checks_to_a_process_of_their_own(tmp_path, monkeypatch):
    (tmp_path / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    parent = tmp_path / "parent.txt"
    with Preloader(tmp_path / "p.sock", ["starts_a_thread"]) as refusing:
        assert "cannot be forked safely" in refusing.failure()
        reports = run_checker([entry("torch.abs", parent_written_to(parent))], preloader=refusing.socket_path)
    assert reports[0]["equivalents"][0]["verdict"] == "pass"
    assert int(parent.read_text()) == __import__("os").getpid()
