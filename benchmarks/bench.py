"""Build benchmark: how long the strict build takes, against the floor of running the examples.

Measures, on a copy of the project (the repository is never modified):
  1. a clean build (empty output and caches),
  2. a no-op rebuild (median of 5),
  3. a rebuild after one notebook changed,
  4. a rebuild after one mapping entry changed (one case added to it),
  5. a clean build whose kernels are not preloaded (each imports torch and mindspore itself),
  6. the floor: every example notebook run as a plain Python script, one after another, plus
     every mapping entry checked one after another in a single checker process.
Then the checker's time per entry (median, slowest five), the ratios and, if chromium is
available, the page weight per page type.

    .venv/bin/python benchmarks/bench.py            (make bench)
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "_ext"))
from mapsite.runner import framework_env, sphinx_command  # noqa: E402

CHANGED = "clip_grad_value_"
# The entry edited for the one-entry rebuild: its page, the entry's first case, and the case added.
CHANGED_ENTRY = ("source/catalogue/tensor-ops.md", "torch.clamp", '  - "randn(4, 5), min=-0.25"\n')
IGNORE = shutil.ignore_patterns(".git", ".venv", "_build", "__pycache__", ".pytest_cache")


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, result


def build(project: Path, out: Path | None = None, *overrides: str) -> float:
    out = out or project / "_build" / "html"
    seconds, result = timed(sphinx_command(project, out, "-q", *[arg for o in overrides for arg in ("-D", o)]),
                            env=framework_env())
    if result.returncode != 0:
        sys.exit(f"build failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return seconds


def notebook_as_script(notebook: Path, target: Path) -> Path:
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--to", "py:percent", "-o", str(target), str(notebook)],
                   check=True)
    return target


def floor(project: Path, scratch: Path) -> dict[str, float]:
    """Each notebook as a plain script, run in its own folder like the build does."""
    times = {}
    env = framework_env()
    for notebook in sorted((project / "notebooks").glob("*.md")):
        script = notebook_as_script(notebook, scratch / f"{notebook.stem}.py")
        seconds, result = timed([sys.executable, str(script)], cwd=project / "notebooks", env=env)
        if result.returncode != 0:
            sys.exit(f"{notebook.name} failed as a script:\n{result.stderr[-2000:]}")
        times[notebook.stem] = seconds
    return times


def all_entries(project: Path) -> list[dict]:
    from mapsite.checker import entries_in_page

    return [entry for page in sorted((project / "source").rglob("*.md")) for entry in entries_in_page(str(page))]


def check_floor(project: Path) -> float:
    """Every entry checked serially in one process (the frameworks imported once)."""
    import json

    entries = all_entries(project)
    env = framework_env(PYTHONPATH=str(project / "_ext"))
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mapsite.checker", "--json"], input=json.dumps(entries),
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"the serial check failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def check_times(project: Path) -> dict[str, float]:
    """Seconds the checker spent per entry in the last build (from the per-entry check cache)."""
    import json

    times = {}
    for report in (project / "_build" / ".check_cache").rglob("*.json"):
        data = json.loads(report.read_text())
        times[data["pytorch"]] = max(times.get(data["pytorch"], 0.0), data.get("seconds", 0.0))
    return times


def edit_entry(project: Path) -> str:
    page, api, case = CHANGED_ENTRY
    path = project / page
    text = path.read_text()
    start = text.index(f"pytorch: {api}\n")
    cases = text.index("cases:\n", start) + len("cases:\n")
    path.write_text(text[:cases] + case + text[cases:])
    return api


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mapsite-bench-") as tmp:
        tmp = Path(tmp)
        project = tmp / "project"
        shutil.copytree(ROOT, project, ignore=IGNORE)
        scratch = tmp / "scripts"
        scratch.mkdir()

        clean = build(project)
        noop = statistics.median(build(project) for _ in range(5))  # short and noisy: the median of 5
        notebook = project / "notebooks" / f"{CHANGED}.md"
        notebook.write_text(notebook.read_text().replace("import numpy as np", "import numpy as np  # changed", 1))
        changed = build(project)
        per_entry = check_times(project)
        entry = edit_entry(project)
        entry_rebuild = build(project)
        entry_check = check_times(project)[entry]
        # The same clean build with ordinary kernels, each importing torch and mindspore itself.
        plain = build(project, tmp / "plain" / "html", f"mapsite_cache_dir={tmp / 'plain'}", "mapsite_preload_modules=")
        floors = floor(project, scratch)
        checks_serial = check_floor(project)
        peak_child_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        serial = sum(floors.values()) + checks_serial
        slowest = sorted(per_entry.items(), key=lambda item: -item[1])[:5]
        rows = [
            ("cores", f"{os.cpu_count()}"),
            ("notebooks", f"{len(floors)}"),
            ("mapping entries", f"{len(per_entry)}"),
            ("clean build", f"{clean:.1f} s"),
            ("clean build, kernels not preloaded", f"{plain:.1f} s"),
            ("no-op rebuild (median of 5)", f"{noop:.1f} s"),
            (f"rebuild, {CHANGED} changed", f"{changed:.1f} s"),
            (f"rebuild, one entry ({entry}) changed", f"{entry_rebuild:.1f} s"),
            (f"  of which that entry's own check", f"{entry_check:.2f} s"),
            ("check time per entry, median", f"{statistics.median(per_entry.values()):.2f} s"),
            ("check time per entry, slowest five", ", ".join(f"{api} {t:.1f} s" for api, t in slowest)),
            ("floor: notebooks as scripts, serial", f"{sum(floors.values()):.1f} s"),
            ("floor: every entry checked, serial", f"{checks_serial:.1f} s"),
            ("floor: both", f"{serial:.1f} s"),
            (f"floor of {CHANGED}", f"{floors[CHANGED]:.1f} s"),
            ("clean build / serial floor", f"{clean / serial:.2f}"),
            ("clean build, not preloaded / serial floor", f"{plain / serial:.2f}"),
            ("changed rebuild / its floor", f"{changed / floors[CHANGED]:.2f}"),
            ("peak RSS of one child process", f"{peak_child_mib:.0f} MiB"),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        try:
            from pageweight import main as page_weight
        except ImportError:
            return 0
        print()
        page_weight([str(project / "_build" / "html")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
