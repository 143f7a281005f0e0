"""Kernels forked by the preloader behave like fresh kernels, each in a process of its own.

That their outputs equal a plain kernel's is checked on every notebook by test_downloads,
which re-executes the downloaded notebooks with nbclient's ordinary kernels.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from jupyter_client.kernelspec import NoSuchKernel

from conftest import ROOT

sys.path.insert(0, str(ROOT / "_ext"))

from mapsite.preload import Preloader, kernel_manager_class  # noqa: E402

# What a kernel reports about itself, as one JSON line.
PROBE = """\
import json, os, sys
import numpy as np
print(json.dumps({
    "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
    "preloaded": "torch" in sys.modules and "mindspore" in sys.modules,
    "leaked": "secret" in globals(),
    "draw": float(np.random.random()),
    "parent_env": os.environ.get("JPY_PARENT_PID"),
    "extension_on_path": any(p.rstrip("/").endswith("mapsite") for p in sys.path),
}))
secret = 42
"""


def run(cells: list[str], cwd: Path, manager, kernel_name: str = "python3") -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": kernel_name, "display_name": kernel_name, "language": "python"}
    NotebookClient(notebook, timeout=60, kernel_name=kernel_name, kernel_manager_class=manager,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def report(notebook) -> dict:
    return json.loads(notebook.cells[0].outputs[0]["text"])


@pytest.fixture(scope="module")
def preloader(tmp_path_factory):
    folder = tmp_path_factory.mktemp("preload")
    with Preloader(folder / "p.sock", ["torch", "mindspore"]) as running:
        yield running
    assert running.process.returncode == 0, "the preloader did not stop cleanly"
    assert not (folder / "p.sock").exists()


def test_each_notebook_gets_its_own_fresh_preloaded_process(preloader, tmp_path):
    assert preloader.failure() is None
    manager = kernel_manager_class(preloader.socket_path)
    first = report(run([PROBE], tmp_path, manager))
    second = report(run([PROBE], tmp_path, manager))
    for kernel in (first, second):
        assert kernel["preloaded"], "torch and mindspore should already be imported"
        assert kernel["ppid"] == preloader.process.pid, "the kernel was not forked by the preloader"
        assert kernel["cwd"] == str(tmp_path)
        assert kernel["parent_env"] == str(os.getpid())
        assert not kernel["leaked"]
        assert not kernel["extension_on_path"]
    assert first["pid"] != second["pid"]
    assert first["draw"] != second["draw"], "numpy's global generator must be reseeded in each child"


def test_a_kernel_that_dies_is_reported_as_dead(preloader, tmp_path):
    with pytest.raises(DeadKernelError):
        run(["import os; os._exit(3)"], tmp_path, kernel_manager_class(preloader.socket_path))


def test_an_unknown_kernel_name_is_still_an_error(preloader, tmp_path):
    with pytest.raises(NoSuchKernel):
        run(["1"], tmp_path, kernel_manager_class(preloader.socket_path), kernel_name="no-such-kernel")


def test_without_its_modules_the_preloader_starts_ordinary_kernels(tmp_path):
    with Preloader(tmp_path / "p.sock", ["a_module_that_does_not_exist"]) as broken:
        kernel = report(run([PROBE], tmp_path, kernel_manager_class(broken.socket_path)))
        assert "No module named 'a_module_that_does_not_exist'" in broken.failure()
    assert not kernel["preloaded"]
    assert kernel["ppid"] == os.getpid()


THREAD_STARTER = """\
import threading, time
threading.Thread(target=time.sleep, args=(600,), name="background-poller", daemon=True).start()
"""


def test_a_module_that_leaves_a_thread_running_is_not_forked(tmp_path, monkeypatch):
    (tmp_path / "starts_a_thread.py").write_text(THREAD_STARTER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with Preloader(tmp_path / "p.sock", ["starts_a_thread"]) as refusing:
        failure = refusing.failure()
        kernel = report(run([PROBE], tmp_path, kernel_manager_class(refusing.socket_path)))
    assert failure and "Python thread 'background-poller'" in failure, failure
    assert "cannot be forked safely" in failure
    assert kernel["ppid"] == os.getpid(), "the kernel should have started the ordinary way"


def test_numpy_openblas_pool_is_the_only_thread_allowed(preloader):
    # torch, mindspore, IPython and zmq leave no thread behind (NOTES: checked on this stack).
    assert preloader.failure() is None


def test_a_dead_preloader_fails_the_next_kernel_at_once_naming_the_fallback(tmp_path):
    with Preloader(tmp_path / "p.sock", ["json"]) as dying:
        assert dying.failure() is None
        dying.process.kill()  # as a crash in native code or os._exit would
        dying.process.wait()
        with pytest.raises(Exception) as raised:
            run(["1"], tmp_path, kernel_manager_class(dying.socket_path))
        assert "-D mapsite_preload_modules=" in str(raised.value), raised.value
        assert "has died" in str(raised.value)
        assert "has died" in dying.failure()
