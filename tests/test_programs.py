"""The ``program`` case form (mapsite.programs): two programs, PyTorch's and MindSpore's, each
setting ``result``, run on the same inputs and compared. These run the frameworks but build
no site; each program is a line or two."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapsite.checker import case_form, check_entry
from mapsite.programs import code_blocks, run_program
from mapsite.registry import validate

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def entry(*rows: dict, program: str = "result = x * 2", cases=("x=randn(2, 3)", "x=array(2.5, float32)")) -> dict:
    return {"pytorch": "torch.mul", "namespace": "torch", "summary": "Probe.", "program": program,
            "cases": list(cases), "equivalents": list(rows)}


def only_row(report: dict) -> dict:
    [row] = report["equivalents"]
    return row


def test_program_is_a_case_form_and_needs_no_translation():
    probe = entry({"api": "mindspore.ops.mul", "status": "renamed", "note": "x", "program": "result = x * 2"})
    assert case_form(probe) == "program"
    assert validate(probe) == []


def test_the_schema_names_an_unknown_program_field():
    probe = entry({"api": "mindspore.ops.mul", "status": "renamed", "note": "x", "programme": "result = x * 2"})
    assert any("programme" in problem for problem in validate(probe))


def test_a_renamed_row_passes_when_the_programs_agree():
    row = only_row(check_entry(entry({"api": "mindspore.ops.mul", "status": "renamed", "note": "x",
                                      "program": "result = ops.mul(x, 2)"})))
    assert row["verdict"] == "pass", row
    assert [case["agree"] for case in row["cases"]] == [True, True]
    assert row["cases"][1]["torch"] == row["cases"][1]["mindspore"] == "float32[] 5."


def test_a_renamed_row_fails_when_the_programs_disagree():
    row = only_row(check_entry(entry({"api": "mindspore.ops.mul", "status": "renamed", "note": "x",
                                      "program": "result = ops.mul(x, 3)"})))
    assert row["verdict"] == "fail"
    assert "does not match torch.mul" in row["message"] and "values differ" in row["message"]


def test_a_differs_row_passes_when_its_naive_program_goes_wrong():
    row = only_row(check_entry(entry({"api": "mindspore.ops.mul", "status": "differs", "note": "x",
                                      "naive": "result = x.mul_by_two()", "program": "result = x * 2"})))
    assert row["verdict"] == "pass", row
    assert all(case["mindspore"].startswith("raises AttributeError") for case in row["naive_cases"])


def test_a_differs_row_whose_naive_program_agrees_fails():
    """Without this rule a `differs` claim would outlive the difference it documents."""
    row = only_row(check_entry(entry({"api": "mindspore.ops.mul", "status": "differs", "note": "x",
                                      "naive": "result = ops.mul(x, 2)", "program": "result = x * 2"})))
    assert row["verdict"] == "fail"
    assert "now agrees" in row["message"] and "verify this entry" in row["message"]


def test_a_differs_row_needs_a_naive_program():
    row = only_row(check_entry(entry({"api": "mindspore.ops.mul", "status": "differs", "note": "x",
                                      "program": "result = x * 2"})))
    assert row["verdict"] == "error" and row["field"] == "equivalents[0].naive"


def test_a_program_row_cannot_be_consistent():
    row = only_row(check_entry(entry({"api": "mindspore.ops.mul", "status": "consistent",
                                      "program": "result = x * 2"})))
    assert row["verdict"] == "error" and row["field"] == "equivalents[0].status"


def test_a_mindspore_program_may_not_use_torch():
    row = only_row(check_entry(entry({"status": "none", "note": "x",
                                      "program": "import torch\nresult = x * 2"})))
    assert row["verdict"] == "error" and "may not use torch" in row["message"]


def test_cases_name_their_inputs():
    row = only_row(check_entry(entry({"status": "none", "note": "x", "program": "result = x * 2"},
                                     cases=("randn(2, 3)",))))
    assert row["verdict"] == "error" and row["field"] == "cases" and "names its inputs" in row["message"]


def test_a_pytorch_program_that_sets_no_result_is_an_entry_error():
    row = only_row(check_entry(entry({"status": "none", "note": "x", "program": "result = x * 2"},
                                     program="y = x * 2")))
    assert row["verdict"] == "error" and row["field"] == "cases[0]" and "does not set `result`" in row["message"]


def test_a_dict_result_is_compared_as_its_items():
    row = only_row(check_entry(entry({"status": "none", "note": "x", "program": "result = {'b': x, 'a': 1}"},
                                     program="result = {'b': x, 'a': 1}")))
    assert row["verdict"] == "pass", row
    row = only_row(check_entry(entry({"status": "none", "note": "x", "program": "result = {'a': 1, 'b': x}"},
                                     program="result = {'b': x, 'a': 1}")))
    assert row["verdict"] == "fail"


def test_each_program_gets_its_own_framework_and_a_fresh_directory(capsys):
    seen = run_program("import os\nprint('noise')\nresult = (sorted(k for k in globals() if not k.startswith('_')),"
                       " tmp, os.listdir(tmp))", "mindspore", {"x": 1}, "probe")
    names, tmp, listing = seen
    assert "torch" not in names and {"ms", "mindspore", "ops", "mint", "nn", "np", "tmp", "x"} <= set(names)
    assert listing == [] and not os.path.exists(tmp)  # removed after the run
    assert "noise" not in capsys.readouterr().out  # the checker's stdout carries JSON
    names = run_program("result = sorted(k for k in globals() if not k.startswith('_'))", "torch", {}, "probe")
    assert "mindspore" not in names and {"torch", "nn", "F", "np", "tmp"} <= set(names)


def test_evidence_shows_the_code_that_ran():
    probe = entry({"api": "mindspore.ops.mul", "status": "differs", "note": "x",
                   "naive": "result = x.mul_by_two()", "program": "result = x * 2\n"})
    [title, block] = code_blocks(probe)
    assert block.astext() == "result = x * 2" and "PyTorch" in title.astext()
    assert code_blocks(probe, probe["equivalents"][0], "naive")[1].astext() == "result = x.mul_by_two()"
    assert code_blocks({"program": "x"}, {"status": "none"}, "naive") == []


def test_the_command_line_reports_a_program_row_by_field(tmp_path):
    """Run as ``python -m mapsite.checker`` the checker is ``__main__``: the form must raise
    that module's EntryError, which the report names by field, not as a traceback."""
    page = tmp_path / "probe.md"
    page.write_text("```{mapping}\npytorch: torch.mul\nnamespace: torch\nsummary: Probe.\n"
                    "program: \"result = x * 2\"\ncases:\n  - \"x=ones(2)\"\nequivalents:\n"
                    "  - api: mindspore.ops.mul\n    status: consistent\n    program: \"result = x * 2\"\n```\n",
                    encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "_ext"), "GLOG_v": "3"}
    proc = subprocess.run([sys.executable, "-m", "mapsite.checker", str(page)], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    assert proc.returncode == 1
    assert "equivalents[0].status a program row compares two different programs" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stdout


def test_an_error_naming_the_temporary_directory_reads_the_same_on_every_build():
    probe = entry({"api": "mindspore.ops.mul", "status": "differs", "note": "x",
                   "naive": "open(tmp + '/missing.ckpt')", "program": "result = x * 2"})
    row = only_row(check_entry(probe))
    assert row["verdict"] == "pass", row
    assert all(case["mindspore"] == "raises FileNotFoundError: [Errno 2] No such file or directory: "
               "'{tmp}/missing.ckpt'" for case in row["naive_cases"]), row["naive_cases"]
