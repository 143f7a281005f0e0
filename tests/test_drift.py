"""Drift guard: make the drift happen and watch the build fail with a clear message.

Each test builds a copy of the project trimmed to the seed page.
"""

from __future__ import annotations

import textwrap

from conftest import build_copy

SEED_PAGE = "source/mappings/clip_grad_value_"


def test_changed_documented_value_fails_the_build(project_copy):
    project = project_copy(SEED_PAGE)
    page = project / f"{SEED_PAGE}.md"
    text = page.read_text()
    original = "torch-after: [[[-0.1, -0.1, -0.1], [0.1, 0.1, 0.1]], [-0.1, 0.1]]"
    assert original in text
    page.write_text(text.replace(original, "torch-after: [[[-0.1, -0.1, -0.1], [0.1, 0.1, 0.1]], [-0.2, 0.2]]"))
    result = build_copy(project)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "behaviour drift in" in log and "clip_grad_value_.md" in log
    assert "'torch-after'" in log
    assert "expected [-0.1, -0.1, -0.1, 0.1, 0.1, 0.1, -0.2, 0.2]" in log
    assert "executed [-0.1, -0.1, -0.1, 0.1, 0.1, 0.1, -0.1, 0.1]" in log


def _patched_build(project, patch: str):
    """Build with a sitecustomize that patches a framework API as soon as it is imported."""
    hook = project / "patch"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent('''
        import builtins, sys
        _import = builtins.__import__

        def _patch():
        %s

        def _hooked(name, *args, **kwargs):
            module = _import(name, *args, **kwargs)
            try:
                _patch()  # idempotent: a later star-import may restore the original
            except Exception:
                pass
            return module

        builtins.__import__ = _hooked
    ''') % textwrap.indent(textwrap.dedent(patch), "    "))
    return build_copy(project, env={"PYTHONPATH": str(hook)})


def test_mindspore_clipping_at_other_bounds_fails_the_build(project_copy):
    project = project_copy(SEED_PAGE)
    result = _patched_build(project, '''
        ops = sys.modules.get("mindspore.ops")
        real = getattr(ops, "clip_by_value", None)
        if real is None or getattr(real, "drifted", False):
            return
        def clip_wider(x, clip_value_min=None, clip_value_max=None):
            return real(x, clip_value_min * 2, clip_value_max * 2)
        clip_wider.drifted = True
        ops.clip_by_value = clip_wider
    ''')
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "behaviour drift in" in log and "'mindspore-after'" in log
    assert "clipped weight gradients differ" in log, "the cross-framework check fails too"


def test_torch_clip_doing_nothing_fails_the_build(project_copy):
    project = project_copy(SEED_PAGE)
    result = _patched_build(project, '''
        utils = sys.modules.get("torch.nn.utils")
        real = getattr(utils, "clip_grad_value_", None)
        if real is None or getattr(real, "drifted", False):
            return
        def clip_nothing(parameters, clip_value, foreach=None):
            return None
        clip_nothing.drifted = True
        utils.clip_grad_value_ = clip_nothing
    ''')
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "behaviour drift in" in log and "'torch-after'" in log
    assert "executed [-0.1, -0.25, -0.1, 0.1, 0.25, 0.1, -0.5, 0.5]" in log
