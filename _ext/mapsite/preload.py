"""Kernels that start with torch and mindspore already imported.

Importing torch and mindspore takes about 3 s of CPU, most of what a short example costs,
and every notebook pays it again in a fresh kernel. The pre-executor therefore starts one
*preloader* process that imports the configured modules (``mapsite_preload_modules``) and
ipykernel once, then forks a child for every kernel it is asked for. Each notebook still
runs in a process of its own, started from the same state as a fresh interpreter that has
just imported those modules: nothing a notebook does reaches another one.

The child becomes an ordinary IPython kernel (``ipykernel_launcher``): its own session
(so interrupts and kills reach it and its subprocesses), the working folder and
environment jupyter_client asked for, and numpy's global generator reseeded from the OS
(forked children would otherwise share it; ``random`` reseeds itself after a fork).

The build's mapping checker comes from the same process (``run_module``): a forked child
runs ``python -m mapsite.checker`` with files for its standard streams, so a build imports
the frameworks once for its notebooks and its checks.

Used by the build only, through ``PreloadedKernelManager`` (an nbclient
``kernel_manager_class``) and ``run_module``. Kernel specs other than this interpreter's ipykernel start as
usual. tests/test_downloads re-executes every downloaded notebook in a plain kernel and
compares its output with the built page, which keeps the two paths equal.

Run as ``python preload.py SOCKET MODULE...``: this file imports nothing from the
extension, so the kernels' ``sys.path`` stays that of a plain kernel.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

READY_TIMEOUT = 120.0  # seconds a kernel request waits for the preloader to finish importing


# -- the preloader process ------------------------------------------------------------------

def _send(conn: socket.socket, message: dict) -> None:
    """One JSON message per line, either way."""
    conn.sendall(json.dumps(message).encode() + b"\n")


def _read_message(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return json.loads(data or b"{}")


def _enter_child(request: dict) -> None:
    """In a forked child: the session, folder and environment a new process would have."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def _leave_child(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _exit_code(exc: SystemExit) -> int:
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _become_kernel(request: dict) -> None:
    """Turn into `python -m ipykernel_launcher ...`."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.argv = request["argv"][2:]  # as `python -m ipykernel_launcher ...` sees them
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=sys.argv[1:])


def _become_program(request: dict) -> None:
    """Run `python -m MODULE ARGS...` with files as its standard streams (the build's checker,
    which then needs no import of its own)."""
    written = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for fd, (name, flags) in enumerate((("stdin", os.O_RDONLY), ("stdout", written), ("stderr", written))):
        opened = os.open(request[name], flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.path[:0] = request["path"]  # what PYTHONPATH would have added at start-up
    sys.argv = [request["module"], *request["args"]]
    import runpy

    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)


def _run_child(request: dict, become) -> None:
    """In a forked child: set it up as a new process, ``become(request)``, exit with its status;
    never return to the preloader's loop."""
    code = 1
    try:
        _enter_child(request)
        become(request)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return to the loop
        traceback.print_exc()
    finally:
        _leave_child(code)


def _tasks() -> set[int]:
    """The thread ids of this process, as the kernel lists them."""
    return {int(tid) for tid in os.listdir("/proc/self/task")}


def describe_thread(tid: int) -> str:
    """A thread by its Python name if it has one, else by the name the kernel gives it."""
    import threading

    for thread in threading.enumerate():
        if thread.native_id == tid:
            return f"Python thread {thread.name!r} (tid {tid})"
    try:
        comm = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
    except OSError:
        comm = "?"
    return f"native thread {comm!r} (tid {tid})"


def import_fork_safely(modules: list[str]) -> str | None:
    """Import the modules; return why forking this process would be unsafe, or None.

    fork() copies only the calling thread: a lock another thread held stays locked in the
    child forever. The one extra thread allowed is the pool numpy's OpenBLAS starts on import,
    which registers pthread_atfork handlers and builds its pool again in the child. It is
    identified by starting numpy on its own first; any other thread left running after the
    imports (a Python thread above all) makes the preloader refuse to fork.
    """
    before = _tasks()
    import numpy  # noqa: F401 - its OpenBLAS pool is the thread known to survive fork
    allowed = _tasks() - before
    for module in modules:
        __import__(module)
    # The kernel's own heavy imports (IPython, zmq). Not ipykernel.kernelapp: it reads
    # JPY_PARENT_PID from the environment on import, so each kernel imports it (3 ms).
    import ipykernel.ipkernel  # noqa: F401
    unsafe = sorted(_tasks() - before - allowed)
    if unsafe:
        names = ", ".join(describe_thread(tid) for tid in unsafe)
        return (f"importing {', '.join(modules)} left {names} running, and a process with other "
                "threads cannot be forked safely")
    return None


def serve(socket_path: str, modules: list[str]) -> None:
    """Import the modules, then fork kernels on request until told to stop or orphaned."""
    # `python preload.py` put this file's folder first on sys.path; a kernel would not have it.
    del sys.path[0]
    # Ctrl-C on a build reaches the whole process group: the build then stops the preloader,
    # which stops its kernels (they run in sessions of their own, out of Ctrl-C's reach).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        failure = import_fork_safely(modules)
    except BaseException as exc:  # noqa: BLE001 - reported to every request; kernels then start as usual
        failure = f"the preloader could not import its modules: {type(exc).__name__}: {exc}"
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(16)
    exits: dict[int, int] = {}
    running: set[int] = set()
    stopping = False
    while not stopping and os.getppid() == parent:
        ready, _, _ = select.select([server], [], [], 0.2)
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                exits[pid] = os.waitstatus_to_exitcode(status)
        if not ready:
            continue
        conn, _ = server.accept()
        with conn:
            request = _read_message(conn)
            op = request.get("op")
            if op in ("start", "run") and failure:
                _send(conn, {"error": failure})
            elif op in ("start", "run"):
                pid = os.fork()
                if pid == 0:
                    server.close()
                    conn.close()
                    _run_child(request, _become_kernel if op == "start" else _become_program)
                running.add(pid)
                _send(conn, {"pid": pid})
            elif op == "poll":
                _send(conn, {"exit": exits.get(request["pid"]) if request["pid"] not in running else None})
            elif op == "status":
                _send(conn, {"error": failure})
            elif op == "stop":
                stopping = True
                _send(conn, {})
            else:
                _send(conn, {"error": f"unknown request {request!r}"})
    for pid in running:  # kernels still alive when the build ends (it was interrupted)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    server.close()
    Path(socket_path).unlink(missing_ok=True)


# -- the build side -------------------------------------------------------------------------

FALLBACK = "build with `-D mapsite_preload_modules=` to start ordinary kernels instead"


class PreloaderGone(RuntimeError):
    """The preloader process is no longer there to fork kernels."""


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def preloader_pid(socket_path: str) -> int | None:
    """The preloader's pid, written next to its socket when it starts."""
    try:
        return int(Path(socket_path + ".pid").read_text())
    except (OSError, ValueError):
        return None


def request(socket_path: str, message: dict, wait: float = 0.0) -> dict:
    """Send one request; wait up to `wait` seconds for the preloader to start listening.

    A preloader that has died (a crash in native code, os._exit, a kill) fails the request at
    once with PreloaderGone, saying so, instead of waiting for a socket nobody will open.
    """
    deadline = time.monotonic() + wait
    pid = preloader_pid(socket_path)
    while True:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(socket_path)
            break
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            client.close()
            if pid is not None and not _alive(pid):
                raise PreloaderGone(
                    f"the kernel preloader (pid {pid}, mapsite.preload) has died, so no kernel can be "
                    f"forked from it; {FALLBACK}") from exc
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with client:
        try:
            _send(client, message)
            reply = _read_message(client)
        except OSError as exc:
            raise PreloaderGone(f"the kernel preloader stopped answering ({exc}); {FALLBACK}") from exc
        if not reply and pid is not None and not _alive(pid):
            raise PreloaderGone(f"the kernel preloader (pid {pid}) died while answering; {FALLBACK}")
        return reply


class Preloader:
    """The preloader process of one pre-execution run; a context manager that stops it."""

    def __init__(self, socket_path: Path, modules: list[str]):
        self.socket_path = str(socket_path)
        socket_path.unlink(missing_ok=True)
        # It inherits the build's environment (GLOG_v, a test's sitecustomize), as kernels do.
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__)), self.socket_path, *modules], stdin=subprocess.DEVNULL,
        )
        # Kernel requests come from other processes (the execution workers): they learn from
        # this file which process to watch, and fail fast if it dies.
        Path(self.socket_path + ".pid").write_text(str(self.process.pid))

    def __enter__(self) -> "Preloader":
        return self

    def failure(self) -> str | None:
        """Why the preloader could not fork kernels (they then started as usual), or None."""
        try:
            return request(self.socket_path, {"op": "status"}, wait=READY_TIMEOUT)["error"]
        except PreloaderGone as exc:
            return str(exc)

    def __exit__(self, *exc) -> None:
        try:
            request(self.socket_path, {"op": "stop"}, wait=0)
            self.process.wait(timeout=10)
        except Exception:  # noqa: BLE001 - it never started listening or does not answer
            self.process.kill()
            self.process.wait()
        Path(self.socket_path + ".pid").unlink(missing_ok=True)


class ForkedKernel:
    """What LocalProvisioner expects of a Popen, for a kernel the preloader forked."""

    stdin = stdout = stderr = None

    def __init__(self, socket_path: str, pid: int):
        self.socket_path, self.pid, self.returncode = socket_path, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = request(self.socket_path, {"op": "poll", "pid": self.pid})["exit"]
            except OSError:  # the preloader is gone, and its kernels with it
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"kernel {self.pid} still running")
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def run_module(socket_path: str, module: str, args: list[str], stdin: str, env: dict,
               path: list[str]) -> tuple[int, str, str] | None:
    """``python -m module args`` in a child forked from the preloader, reading ``stdin``, with
    ``path`` first on sys.path and ``env`` as its environment: (exit code, stdout, stderr), the
    code negative for a signal as with subprocess. None if the preloader cannot fork (it says
    why to its ``status`` request); PreloaderGone if it is not there."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mapsite-run-") as folder:
        streams = {name: os.path.join(folder, name) for name in ("stdin", "stdout", "stderr")}
        for name, text in (("stdin", stdin), ("stdout", ""), ("stderr", "")):
            Path(streams[name]).write_text(text, encoding="utf-8")
        message = {"op": "run", "module": module, "args": args, "cwd": os.getcwd(), "env": env, "path": path,
                   **streams}
        reply = request(socket_path, message, wait=READY_TIMEOUT)
        if "error" in reply:
            return None
        code = ForkedKernel(socket_path, reply["pid"]).wait()
        return code, *(Path(streams[name]).read_text(encoding="utf-8", errors="replace")
                       for name in ("stdout", "stderr"))


@functools.cache
def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class PreloadedProvisioner(LocalProvisioner):
        socket_path = ""

        def _forkable(self, cmd: list[str]) -> bool:
            return (bool(self.socket_path) and len(cmd) > 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]
                    and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))

        async def launch_kernel(self, cmd: list[str], **kwargs):
            if not self._forkable(cmd):
                return await super().launch_kernel(cmd, **kwargs)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            env = dict(kwargs.get("env") or os.environ)
            env["JPY_PARENT_PID"] = str(os.getpid())  # what jupyter_client's launcher adds on POSIX
            message = {"op": "start", "argv": cmd, "cwd": cwd, "env": env}
            reply = await asyncio.get_running_loop().run_in_executor(
                None, lambda: request(self.socket_path, message, wait=READY_TIMEOUT))
            if "error" in reply:
                self.log.info("%s; starting an ordinary kernel", reply["error"])
                return await super().launch_kernel(cmd, **kwargs)
            self.process = ForkedKernel(self.socket_path, reply["pid"])
            self.pid = self.pgid = reply["pid"]  # the child called setsid: its group is its pid
            self.cwd = cwd
            return self.connection_info

    return PreloadedProvisioner


@functools.cache
def _private_folder() -> str:
    """A folder of this process's own (mode 0700, removed at exit) for kernels' ipc sockets."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="mapsite-ipc-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def kernel_manager_class(socket_path: str | None, ipc_dir: str | None = None):
    """An AsyncKernelManager (nbclient's default) whose kernels come from the preloader, if any.

    Its kernels talk over Unix sockets (ipc), not TCP: local to this machine by construction,
    and each kernel's log stays free of the "running over TCP without encryption" warning.
    The sockets go into ``ipc_dir`` (the build's private temporary folder), not Jupyter's
    runtime folder: on a new account that folder does not exist, and nothing here should
    depend on what an earlier Jupyter session left behind.
    """
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    provisioner_class = _provisioner_class()

    class PreloadedKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            # Short (a socket path has at most 107 characters) and absolute (the kernel runs elsewhere).
            return os.path.join(ipc_dir or _private_folder(), f"k-{uuid.uuid4().hex[:12]}")

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None and socket_path:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                # Reading kernel_spec raises NoSuchKernel for an unknown name, as usual.
                self.provisioner = provisioner_class(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
                self.provisioner.socket_path = socket_path
            return await super()._async_pre_start_kernel(**kw)

    return PreloadedKernelManager


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
    # Its kernels are stopped and its socket removed. An ordinary interpreter exit would now tear
    # down torch and mindspore (about a second, while the build waits for this process).
    _leave_child(0)
