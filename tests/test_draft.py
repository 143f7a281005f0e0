"""The entry drafter (`make draft API=...`): candidates by name, signatures, defaults, a first run.

One drafter run covers every case (the frameworks are imported once)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from mapsite.runner import framework_env

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def drafted() -> subprocess.CompletedProcess:
    from conftest import ROOT

    return subprocess.run(
        [sys.executable, "-m", "mapsite.draft", "torch.nn.ELU", "torch.nn.BatchNorm1d", "torch.nn.NoSuchLayer",
         "torch.nn.LogSoftmax"],
        capture_output=True, text=True, env=framework_env(PYTHONPATH=str(ROOT / "_ext")), cwd=ROOT,
        check=False, timeout=300)


def block(stdout: str, api: str) -> dict:
    body = stdout.split(f"```{{mapping}}\npytorch: {api}\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(f"pytorch: {api}\n{body}")


def test_a_layer_gets_both_families_and_what_the_run_showed(drafted):
    entry = block(drafted.stdout, "torch.nn.ELU")
    assert entry["namespace"] == "torch.nn" and "TODO" in entry["summary"]
    rows = {eq["api"]: eq for eq in entry["equivalents"]}
    assert list(rows) == ["mindspore.mint.nn.ELU", "mindspore.nn.ELU"]
    # mint's ELU has no CPU kernel in the pinned release: the draft says so instead of "differs".
    assert rows["mindspore.mint.nn.ELU"]["cpu"] == "no-kernel"
    assert "# PyTorch:   torch.nn.ELU(alpha=1.0, inplace=False)" in drafted.stdout


def test_a_differing_default_is_named_and_constructor_arguments_are_guessed(drafted):
    entry = block(drafted.stdout, "torch.nn.BatchNorm1d")
    assert entry["init"] == "4" and entry["cases"] == ["randn(2, 4)"]
    assert "default of momentum: PyTorch 0.1, MindSpore 0.9 (the note must say so)" in drafted.stdout


def test_a_name_is_matched_without_case(drafted):
    apis = [eq.get("api") for eq in block(drafted.stdout, "torch.nn.LogSoftmax")["equivalents"]]
    assert any(api and api.lower() == "mindspore.nn.logsoftmax" for api in apis)


def test_an_api_that_does_not_import_is_a_clear_error_and_the_others_still_draft(drafted):
    assert drafted.returncode == 2
    assert "torch.nn.NoSuchLayer does not import" in drafted.stderr
    assert drafted.stdout.count("```{mapping}") == 3
