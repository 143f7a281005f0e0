"""Drift guard: make the drift happen and watch the build fail with a clear message.

Each test builds a copy of the project trimmed to the seed page.
"""

from __future__ import annotations

from conftest import build_copy, patch_on_import

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


def test_mindspore_clipping_at_other_bounds_fails_the_build(project_copy):
    project = project_copy(SEED_PAGE)
    env = patch_on_import(project / "patch", "mindspore.ops", "clip_by_value", '''
        def make(real):
            def clip_wider(x, clip_value_min=None, clip_value_max=None):
                return real(x, clip_value_min * 2, clip_value_max * 2)
            return clip_wider
    ''')
    result = build_copy(project, env=env)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "behaviour drift in" in log and "'mindspore-after'" in log
    assert "clipped weight gradients differ" in log, "the cross-framework check fails too"


def test_torch_clip_doing_nothing_fails_the_build(project_copy):
    project = project_copy(SEED_PAGE)
    env = patch_on_import(project / "patch", "torch.nn.utils", "clip_grad_value_", '''
        def make(real):
            def clip_nothing(parameters, clip_value, foreach=None):
                return None
            return clip_nothing
    ''')
    result = build_copy(project, env=env)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "behaviour drift in" in log and "'torch-after'" in log
    assert "executed [-0.1, -0.25, -0.1, 0.1, 0.25, 0.1, -0.5, 0.5]" in log
