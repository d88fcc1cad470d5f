"""Run a render in a child process with a memory limit and a wall-clock timeout.

Why a child: a hostile or simply huge case must not take the worker down with it. The child gets
`RLIMIT_AS` (address space) before it starts each job; the parent waits at most `timeout_s`, then
kills it. Every failure becomes `RenderFailed` with a reason a person can read, the child is always
reaped (no zombies) and its temporary folder removed.

Why forkserver: the parent may hold threads (the web server, an RQ worker), and forking a threaded
process can deadlock the child. The forkserver is a fresh single-threaded process that imports
WeasyPrint once (`PRELOAD`); renderer children are forked from it, so they start warm (no 1 s import).
The forkserver is started lazily on the first job, or by `start_renderer()` at start-up.

Why warm children: forking one per document cost about a second on a loaded machine (process start,
fonts, caches), so a child stays and renders job after job, each under its own limits: the address
space limit is set for the job and lifted after it, the parent kills the child when a job takes too
long, and a child that ran out of memory, crashed, timed out, did MAX_JOBS_PER_CHILD jobs or grew by
RETIRE_GROWTH is replaced by a fresh one. Each job gets its own temporary folder and stderr file. At
most one child per thread that renders at the same time exists; they run at a lower CPU priority
(`RENDER_NICENESS`) so pages keep answering while documents render.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from app.documents.errors import DocumentError, RenderFailed
from app.documents.render_request import RenderRequest

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: Imported once by the forkserver, so forked children start with WeasyPrint loaded.
PRELOAD = ["app.documents.render", "app.documents.content", "app.documents.signing"]
_POLL_S = 0.2
_STDERR_NAME = "stderr.txt"
_STDERR_TAIL = 2000
#: A warm child renders at most this many jobs, then a fresh one takes over (bounds slow leaks).
MAX_JOBS_PER_CHILD = 200
#: ... or fewer, once its address space has grown this much past its start (fragmentation, caches).
RETIRE_GROWTH = 256 * 1024 * 1024
#: Renders run at a lower priority than the web server's threads.
RENDER_NICENESS = 5
# SIGTRAP: GLib's g_error() (e.g. Pango failing to create a thread under the limit) traps.
_MEMORY_SIGNALS = {signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGTRAP}


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    # Takes effect only when the forkserver starts (once per parent process); harmless afterwards.
    context.set_forkserver_preload(PRELOAD)
    return context


def start_renderer() -> None:
    """Start the forkserver now (it imports WeasyPrint, ~1 s) instead of on the first job."""
    _context()
    forkserver.ensure_running()


def render_in_child(request: RenderRequest, *, memory_mb: int = 512, timeout_s: float = 60) -> bytes:
    """Render `request` to PDF bytes in a child process; raises `RenderFailed` with a readable reason."""
    return run_in_child(_render_request, request, memory_mb=memory_mb, timeout_s=timeout_s)


def _render_request(request: RenderRequest) -> bytes:
    from app.documents.render import render_pdf_for

    return render_pdf_for(request)


def run_in_child(func: Callable[[T], R], arg: T, *, memory_mb: int = 512, timeout_s: float = 60) -> R:
    """Call `func(arg)` in a warm renderer child under the limits; `func` must be importable.

    Returns what `func` returned (it must pickle). Raises `RenderFailed` when the child runs out of
    memory, takes longer than `timeout_s`, raises, or dies. A child that failed in any way but a plain
    exception is stopped (killed if need be) and reaped; the next call gets a fresh one.
    """
    if memory_mb < 32 or timeout_s <= 0:
        raise ValueError("memory_mb must be at least 32 and timeout_s positive")
    workdir = tempfile.mkdtemp(prefix="casework-render-")
    child: _Child | None = None
    message: tuple[str, Any, bool] | None = None
    timed_out = False
    exitcode: int | None = None
    try:
        child = _send(func, arg, memory_mb * 1024 * 1024, workdir)
        message, timed_out = _wait(child.process, child.conn, time.monotonic() + timeout_s)
    finally:
        # Runs on every path, KeyboardInterrupt included: keep a healthy child warm, else kill and reap.
        if child is not None:
            if message is not None and message[2]:
                _IDLE.give_back(child)
            else:
                exitcode = child.stop()
        stderr_tail = _tail(os.path.join(workdir, _STDERR_NAME))
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        if timed_out:
            raise RenderFailed(f"took longer than {timeout_s:g} s")
        return _outcome(message[:2] if message else None, exitcode, memory_mb)  # type: ignore[return-value]
    except RenderFailed as failure:
        log.warning("render child failed: %s; its stderr ended with:\n%s", failure.reason, stderr_tail or "(nothing)")
        raise


class _Child:
    """A warm renderer: a child forked from the forkserver that renders one job after another."""

    def __init__(self) -> None:
        context = _context()
        self.conn, theirs = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(theirs,), name="casework-render", daemon=True)
        try:
            self.process.start()
        finally:
            theirs.close()  # the parent keeps only its end, so a dead child shows up as end-of-file

    def stop(self) -> int | None:
        """Kill if still running, always reap; the exit code (negative: the signal)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        exitcode = self.process.exitcode
        self.conn.close()
        self.process.close()
        return exitcode


class _Idle:
    """Warm children waiting for work (one per thread that renders at the same time, at most)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: list[_Child] = []

    def take(self) -> _Child | None:
        with self._lock:
            return self._children.pop() if self._children else None

    def give_back(self, child: _Child) -> None:
        with self._lock:
            self._children.append(child)

    def forget(self) -> None:
        """After a fork: the parent's children are not ours to use or reap (close our copies of their pipes)."""
        self._lock = threading.Lock()
        children, self._children = self._children, []
        for child in children:
            with contextlib.suppress(OSError):
                child.conn.close()

    def stop_all(self) -> None:
        """Stop every idle child (tests, and a clean shutdown)."""
        with self._lock:
            children, self._children = self._children, []
        for child in children:
            child.stop()


_IDLE = _Idle()
stop_renderers = _IDLE.stop_all


def _after_fork_in_child() -> None:
    """A forked process (an RQ work horse) starts its own forkserver and renderers: its parent's are not its
    children, so it could neither wait for them nor reap them (`ensure_running` failed with ECHILD)."""
    _IDLE.forget()
    server = forkserver._forkserver
    server._forkserver_pid = None
    server._forkserver_address = None
    server._forkserver_alive_fd = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _send(func: Callable[[Any], Any], arg: Any, memory_bytes: int, workdir: str) -> _Child:
    """Hand the job to an idle child (one that died while idle is replaced) or to a new one."""
    while (child := _IDLE.take()) is not None:
        try:
            child.conn.send((func, arg, memory_bytes, workdir))
            return child
        except (OSError, EOFError):
            child.stop()
    try:
        child = _Child()
    except Exception as exc:
        raise RenderFailed(f"could not start the renderer: {exc}") from exc
    try:
        child.conn.send((func, arg, memory_bytes, workdir))
    except BaseException:
        child.stop()
        raise
    return child


def _wait(process: Any, receiver: Connection, deadline: float) -> tuple[tuple[str, Any, bool] | None, bool]:
    """The child's message, or None if it died without one; True as second item on timeout."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, True
        if receiver.poll(min(remaining, _POLL_S)):
            try:
                return receiver.recv(), False
            except (EOFError, OSError):
                return None, False
        if not process.is_alive():
            # It may have sent its answer just before exiting.
            if receiver.poll(0):
                with contextlib.suppress(EOFError, OSError):
                    return receiver.recv(), False
            return None, False


def _outcome(message: tuple[str, Any] | None, exitcode: int | None, memory_mb: int) -> Any:
    if message is not None:
        status, payload = message
        if status == "ok":
            return payload
        if status == "memory":
            raise RenderFailed(f"ran out of memory (limit {memory_mb} MB)")
        raise RenderFailed(f"failed: {payload}")
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode in _MEMORY_SIGNALS:
            # Native code (Pango, HarfBuzz, GLib) aborts or crashes when malloc fails under the limit.
            raise RenderFailed(f"ran out of memory (limit {memory_mb} MB): the renderer was stopped by {name}")
        raise RenderFailed(f"crashed ({name})")
    raise RenderFailed(f"stopped without an answer (exit code {exitcode})")


def _serve(conn: Connection) -> None:
    """The child's whole life: render what the parent sends, one job at a time, until told to stop.

    It leaves (and the parent starts a fresh one) after running out of memory, after MAX_JOBS_PER_CHILD
    jobs, or once its address space has grown RETIRE_GROWTH past what it started with.
    """
    with contextlib.suppress(OSError):
        os.nice(RENDER_NICENESS)  # pages keep answering while documents render
    # A crash at the limit must not write a core file the size of the limit.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    # What the forkserver imported (WeasyPrint, pyHanko, pypdf: ~120,000 objects) lives as long as the child.
    # Frozen, the collection after each job and those during it walk only what the jobs made: without
    # this, each one took ~0.1 s of CPU, a third of a document's cost.
    gc.collect()
    gc.freeze()
    start_size = _vm_size()
    done = 0
    while True:
        try:
            func, arg, memory_bytes, workdir = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if hard != resource.RLIM_INFINITY:
            memory_bytes = min(memory_bytes, hard)  # a container's own cap can only make it stricter
        message = _run_one(func, arg, memory_bytes, workdir)
        done += 1
        keep = message[0] != "memory" and done < MAX_JOBS_PER_CHILD and _vm_size() - start_size < RETIRE_GROWTH
        try:
            conn.send((*message, keep))
        except MemoryError:
            conn.send(("memory", "", False))
            return
        if not keep:
            conn.close()
            return


def _run_one(func: Callable[[Any], Any], arg: Any, memory_bytes: int, workdir: str) -> tuple[str, Any]:
    """One job under its memory limit, with its temporary files and stderr in the job's own folder."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    # WeasyPrint writes fonts to temporary folders; keep them where the parent cleans up.
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir
    # Fontconfig and GLib complain on stderr, at length when memory runs out: keep it for the log.
    stderr = os.open(os.path.join(workdir, _STDERR_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(stderr, 2)
    os.close(stderr)
    peak_before = _status_bytes("VmPeak:")
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
    message: tuple[str, Any]
    try:
        message = ("ok", func(arg))
    except MemoryError:
        # Send after the except block: by then the traceback and what it kept alive are freed.
        message = ("memory", "")
    except Exception as exc:
        # Native code reports a failed allocation in its own words (zlib, cffi, fontconfig returning
        # NULL...); if the address space is all but used up, memory is the real reason.
        if _near_limit(memory_bytes, peak_before):
            message = ("memory", f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, DocumentError):
            message = ("error", str(exc))
        else:
            message = ("error", f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    gc.collect()
    return message


def _tail(path: str) -> str:
    """The end of the child's stderr, for the log (the reason given to people stays short)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _STDERR_TAIL))
            return handle.read().decode(errors="replace").strip()
    except OSError:
        return ""


def _status_bytes(key: str) -> int:
    """A size from /proc/self/status (Linux), in bytes; 0 where unknown."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _vm_size() -> int:
    return _status_bytes("VmSize:")


def _near_limit(memory_bytes: int, peak_before: int) -> bool:
    """Whether this job's address space came within 10% of the limit: the process's peak if the job set a
    new one, else its size now (the failed job's memory is still held by the exception)."""
    peak = _status_bytes("VmPeak:")
    size = peak if peak > peak_before else _vm_size()
    return size >= memory_bytes * 0.9
