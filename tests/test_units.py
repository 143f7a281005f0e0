"""Fast unit tests, no site build: the checker's comparison, entry validation, the table lint,
the settings check and the myst-nb shims. `make test-unit` runs these (and other `unit` tests)
in seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from markdown_it import MarkdownIt
from sphinx.errors import ExtensionError

from conftest import ROOT
from mapsite import settings, shims
from mapsite.checker import compare
from mapsite.registry import validate
from mapsite.table_lint import split_row, table_problems

pytestmark = pytest.mark.unit

# -- the checker's comparison -----------------------------------------------------------------

F32 = np.array([1.0, 2.0, 3.0], dtype=np.float32)


@pytest.mark.parametrize("expected,actual,agree,reason", [
    (F32, F32.copy(), True, ""),
    (F32, F32 + 1e-7, True, ""),
    (F32, F32 + 1e-2, False, "values differ"),
    (F32, F32.astype(np.float64), False, "dtype float32 vs float64"),
    (F32, F32.reshape(3, 1), False, "shape [3] vs [3, 1]"),
    (np.array([np.nan], np.float32), np.array([np.nan], np.float32), True, ""),
    (np.array([np.nan], np.float32), np.array([0.0], np.float32), False, "values differ"),
    ((F32, F32), (F32, F32), True, ""),
    ((F32, F32), (F32,), False, "2 vs 1 elements"),
    ((F32,), F32, False, "structure"),
    (F32, 1.0, False, "float32[3] vs float 1.0"),
    (3, 3.0, True, ""),
    (1, True, False, "type int vs bool"),
    (np.zeros((0,), np.float32), np.zeros((0,), np.float32), True, ""),
])
def test_compare_values(expected, actual, agree, reason):
    ok, why, _ = compare(expected, actual, "values", 1e-5, 1e-6)
    assert ok is agree
    assert reason in why


def test_compare_shape_mode_ignores_values_and_reports_no_difference():
    ok, _, diff = compare(F32, F32 * 10, "shape", 1e-5, 1e-6)
    assert ok and math.isnan(diff)


def test_compare_moments_uses_atol_on_mean_and_std():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(10_000), rng.standard_normal(10_000)
    assert compare(a, b, "moments", 0, 0.05)[0]
    assert not compare(a, b + 1, "moments", 0, 0.05)[0]


# -- entry validation ---------------------------------------------------------------------------

VALID = {
    "pytorch": "torch.nn.ReLU", "namespace": "torch.nn", "summary": "Probe.",
    "cases": ["randn(2, 3)"], "equivalents": [{"api": "mindspore.nn.ReLU", "status": "consistent"}],
}


def test_a_valid_entry_has_no_problems():
    assert validate(VALID) == []


@pytest.mark.parametrize("change,problem", [
    ({"summary": None}, "(block): 'summary' is a required property"),
    ({"namespace": "torch.optim"}, "namespace: 'torch.optim' is not a prefix of pytorch"),
    ({"cases": None}, "cases: every entry needs cases"),
    ({"equivalents": [{"api": "mindspore.nn.ReLU", "status": "same"}]}, "equivalents[0].status: 'same' is not one of"),
    ({"equivalents": [{"api": "mindspore.nn.ReLU", "status": "renamed", "note": "x"}]},
     "equivalents[0].translation: a renamed row needs the translation"),
    ({"equivalents": [{"status": "none", "note": "x"}]}, "equivalents[0].composite"),
    ({"pytorch": "numpy.abs"}, "pytorch: 'numpy.abs' does not match"),
])
def test_validation_names_the_field(change, problem):
    entry = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    problems = validate(entry)
    assert any(problem in p for p in problems), problems


def test_a_block_that_is_not_a_mapping_is_named():
    assert validate(["a list"]) == ["(block): must be a YAML mapping of fields"]


# -- table lint -----------------------------------------------------------------------------------

MD = MarkdownIt("commonmark").enable("table")


def test_split_row_keeps_escaped_pipes_in_one_cell():
    assert [cell.strip() for cell in split_row(r"| `a \| b` | c |")] == [r"`a \| b`", "c"]


def test_table_lint_finds_short_long_and_piped_rows():
    text = "\n".join([
        "| A | B | C |",
        "| --- | --- | --- |",
        "| 1 | 2 | 3 |",
        "| 1 | 2 |",
        "| 1 | 2 | 3 | 4 |",
        "| `x | y` | 2 | 3 |",
        "",
    ])
    problems = dict(table_problems(text, MD))
    assert set(problems) == {4, 5, 6}
    assert "has 2 cells but the header has 3" in problems[4]
    assert "keeps the first 3 and drops the rest" in problems[5]
    assert "`x | y`" in problems[6]


def test_table_lint_reports_a_header_that_is_not_rendered():
    problems = table_problems("| A | B |\n| --- |\n| 1 | 2 |\n", MD)
    assert problems and "not rendered as a table at all" in problems[0][1]


# -- settings and shims -----------------------------------------------------------------------------

class Config:
    mapsite_execution_workers = 0
    mapsite_preload_modules = ["torch", "mindspore"]
    mapsite_cache_dir = ""
    mapsite_memoise_navigation = True
    nb_execution_mode = "cache"


def test_good_settings_pass_and_empty_module_names_are_dropped():
    config = Config()
    config.mapsite_preload_modules = [""]   # what `-D mapsite_preload_modules=` gives
    assert settings.problems(config) == []
    assert config.mapsite_preload_modules == []


@pytest.mark.parametrize("name,value,message", [
    ("mapsite_execution_workers", -1, "mapsite_execution_workers = -1"),
    ("mapsite_execution_workers", True, "mapsite_execution_workers = True"),
    ("mapsite_preload_modules", ["torch", "not a module"], "'not a module' is not a module name"),
    ("mapsite_preload_modules", 3, "mapsite_preload_modules = 3"),
    ("nb_execution_mode", "auto", "nb_execution_mode = 'auto'"),
    ("mapsite_memoise_navigation", "yes", "mapsite_memoise_navigation = 'yes'"),
])
def test_a_bad_setting_is_named(name, value, message):
    config = Config()
    setattr(config, name, value)
    assert any(message in p for p in settings.problems(config))


def test_every_shim_target_exists_in_the_installed_myst_nb():
    shims.install()


def test_a_missing_shim_target_fails_loudly_naming_the_shim():
    with pytest.raises(ExtensionError, match=r"mapsite.shims \(probe\): myst_nb.core.execute.cache.no_such"):
        shims._target("myst_nb.core.execute.cache", "no_such", "probe")


def test_the_build_does_not_import_the_iri_grammar():
    """mapsite.lean_imports, first in conf.py, keeps jsonschema from compiling rfc3987_syntax's
    grammar in the Sphinx process; schemas still validate (nothing here checks formats)."""
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, '_ext'); import mapsite.lean_imports, jsonschema, nbformat; "
            "jsonschema.validate({'a': 1}, {'type': 'object'}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rfc3987_syntax' and sys.modules[m]))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert shown.stdout.strip() == "[]", shown.stdout + shown.stderr
    conf = (ROOT / "conf.py").read_text(encoding="utf-8")
    assert conf.index('"mapsite.lean_imports"') < conf.index('"myst_nb"'), "it must load before myst-nb"
