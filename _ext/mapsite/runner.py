"""How the project runs Sphinx and the framework processes, stated once.

* ``FRAMEWORK_ENV``: what every process that imports MindSpore needs in its environment.
  MindSpore logs deprecations through glog on stderr (``[WARNING] ME(pid) <time> ...``),
  which would land in notebook outputs and change on every build; ``GLOG_v=3`` silences it.
  ``ONEDNN_MAX_CPU_ISA=AVX2`` caps the instruction set oneDNN (inside both frameworks) picks
  at run time, so an executed value does not depend on the build machine's processor: with
  AVX-512, torch 2.13.0's gelu returns NaN for +inf, with AVX2 inf (MindSpore: inf).
  The build sets both for itself (kernels and checkers inherit them), and so does anything
  that starts a build or a framework process.
* ``sphinx_command`` / ``run_sphinx``: the one strict Sphinx command line, used by the
  tests, the benchmark and ``tools/subset.py``.

This module imports neither Sphinx nor a framework, so tools can use it cheaply.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FRAMEWORK_ENV = {"GLOG_v": "3", "ONEDNN_MAX_CPU_ISA": "AVX2"}
# Warnings are errors, every failing page is reported, and broken references warn (-n).
STRICT = ["-W", "--keep-going", "-n"]


def framework_env(base: dict | None = None, **extra: str) -> dict:
    """``base`` (default: this process's environment) with FRAMEWORK_ENV and ``extra`` on top."""
    return {**(os.environ if base is None else base), **FRAMEWORK_ENV, **extra}


def sphinx_command(project: Path, out: Path | None = None, *extra: str, python: str = sys.executable) -> list[str]:
    """The strict HTML build of ``project`` into ``out`` (default ``project/_build/html``)."""
    project = Path(project)
    out = Path(out) if out is not None else project / "_build" / "html"
    return [python, "-m", "sphinx", *STRICT, *extra, "-b", "html", str(project), str(out)]


def run_sphinx(project: Path, out: Path | None = None, *extra: str, env: dict | None = None,
               python: str = sys.executable) -> subprocess.CompletedProcess:
    """Run ``sphinx_command`` and capture its output; ``env`` adds to this process's environment."""
    return subprocess.run(sphinx_command(project, out, *extra, python=python), capture_output=True, text=True,
                          check=False, env=framework_env(**(env or {})))
