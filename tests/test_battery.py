"""The standard battery (mapsite.battery): probes every plain-call row faces beyond its cases.

These run the checker in this process on tiny entries (a few seconds, most of it importing
the frameworks). Each fails without the battery: the entries' own cases all agree."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit

checker = pytest.importorskip("mapsite.checker")
from mapsite import battery  # noqa: E402

RELU = {
    "pytorch": "torch.nn.ReLU", "namespace": "torch.nn", "summary": "Probe.",
    "cases": ["randn(3, 4)"],
}
CLAMP = {
    "pytorch": "torch.clamp", "namespace": "torch", "summary": "Probe.",
    "cases": ["randn(3, 4), -0.5, 0.5"],
}


def check(entry: dict, **row) -> dict:
    return checker.check_entry({**entry, "equivalents": [row]})["equivalents"][0]


@pytest.mark.parametrize("entry,api", [(RELU, "mindspore.mint.nn.ReLU"), (CLAMP, "mindspore.mint.clamp")])
def test_a_consistent_row_that_maps_nan_differently_fails(entry, api):
    result = check(entry, api=api, status="consistent")
    assert [c["agree"] for c in result["cases"]] == [True]  # the cases alone would pass
    assert result["verdict"] == "fail"
    assert result["field"] == "equivalents[0].status"
    nan = next(p for p in result["battery"] if p["probe"] == "NaN/inf")
    assert nan["verdict"] == "finding" and "torch nan" in nan["reason"]


def test_the_failure_names_entry_equivalent_probe_both_results_and_the_remedy():
    message = check(RELU, api="mindspore.mint.nn.ReLU", status="consistent")["message"]
    for part in ("torch.nn.ReLU", "mindspore.mint.nn.ReLU", "says consistent", "probe NaN/inf",
                 "torch -> float32[3, 4]", "mindspore -> float32[3, 4]", "torch nan, mindspore 0.0",
                 "Mark the row differs", "nan"):
        assert part in message, part


def test_a_differs_row_must_name_its_finding_in_the_note():
    result = check(RELU, api="mindspore.mint.nn.ReLU", status="differs", note="Takes no inplace argument.")
    assert result["verdict"] == "fail"
    assert result["field"] == "equivalents[0].note"
    assert "does not name" in result["message"] and "probe NaN/inf" in result["message"]


def test_a_differs_row_whose_only_difference_is_a_finding_needs_no_translation():
    result = check(RELU, api="mindspore.mint.nn.ReLU", status="differs", note="Maps NaN to 0; PyTorch keeps NaN.")
    assert result["verdict"] == "pass", result.get("message")
    assert result["cases"] == [] and [c["agree"] for c in result["naive_cases"]] == [True]


def test_a_probe_pytorch_rejects_is_not_applicable_and_mindspore_is_not_run():
    result = check(RELU, api="mindspore.mint.nn.ReLU", status="differs", note="Maps NaN to 0.")
    boolean = next(p for p in result["battery"] if p["probe"] == "bool")
    assert boolean["verdict"] == "n/a"
    assert boolean["torch"].startswith("raises") and boolean["mindspore"] == "not run"
    assert boolean not in battery.findings(result)


def test_probes_are_derived_from_the_first_case_and_stay_within_budget():
    entry = {**CLAMP, "cases": ["randn(2, 3, 4), min=-0.5", "randn(3, 4), max=0.1"],
             "equivalents": [{"api": "mindspore.mint.clamp", "status": "consistent"}]}
    probes = battery.derive(entry, checker)
    names = [p["probe"] for p in probes]
    assert names[:9] == ["large values", "NaN/inf", "empty", "0-d", "float16", "float64", "int32", "int64", "bool"]
    # Both cases leave out a keyword (ranks 3 and 2); then the budget has room for one more value.
    assert names[9:] == ["defaults", "defaults", "min=0.5"]
    assert len(probes) == battery.MAX_PROBES
    empty = next(p for p in probes if p["probe"] == "empty")
    assert empty["args"][0].shape == (0, 3, 4)


@pytest.mark.parametrize("note,probe,named", [
    ("Maps NaN to 0.", "NaN/inf", True),
    ("Raises for int64 input.", "int32", False),
    ("Raises for integer input.", "int32", True),
    ("The mean of an empty tensor is -inf.", "empty", True),
    ("Off by 1e-4 for large inputs.", "large values", True),
    ("With norm_type 3 nothing is clipped.", "norm_type=3", True),
    ("Nothing about it.", "0-d", False),
])
def test_a_note_names_a_finding_by_keyword(note, probe, named):
    assert battery.mentioned(note, probe) is named
