"""Run a render in a child process with a memory limit and a wall-clock timeout.

Why a child: a hostile or simply huge case must not take the worker down with it. The child gets
`RLIMIT_AS` (address space) before it starts the work; the parent waits at most `timeout_s`, then
kills it. Every failure becomes `RenderFailed` with a reason a person can read, the child is always
reaped (no zombies) and its temporary folder removed.

Why forkserver: the parent may hold threads (the web server, an RQ worker), and forking a threaded
process can deadlock the child. The forkserver is a fresh single-threaded process that imports
WeasyPrint once (`PRELOAD`); each job is forked from it, so a job starts warm (no 1 s import) yet
in a new process whose memory limit is its own. The forkserver is started lazily on the first job, or
by `start_renderer()` at worker start-up.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from app.documents.errors import DocumentError, RenderFailed
from app.documents.jobs import RenderJob

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: Imported once by the forkserver, so forked children start with WeasyPrint loaded.
PRELOAD = ["app.documents.render", "app.documents.content", "app.documents.signing"]
_POLL_S = 0.2
_STDERR_NAME = "stderr.txt"
_STDERR_TAIL = 2000
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
    from multiprocessing import forkserver

    forkserver.ensure_running()


def render_in_child(job: RenderJob, *, memory_mb: int = 512, timeout_s: float = 60) -> bytes:
    """Render `job` to PDF bytes in a child process; raises `RenderFailed` with a readable reason."""
    return run_in_child(_render_job, job, memory_mb=memory_mb, timeout_s=timeout_s)


def _render_job(job: RenderJob) -> bytes:
    from app.documents.render import render_job

    return render_job(job)


def run_in_child(func: Callable[[T], R], arg: T, *, memory_mb: int = 512, timeout_s: float = 60) -> R:
    """Call `func(arg)` in a forked-from-forkserver child under the limits; `func` must be importable.

    Returns what `func` returned (it must pickle). Raises `RenderFailed` when the child runs out of
    memory, takes longer than `timeout_s`, raises, or dies.
    """
    if memory_mb < 32 or timeout_s <= 0:
        raise ValueError("memory_mb must be at least 32 and timeout_s positive")
    context = _context()
    workdir = tempfile.mkdtemp(prefix="casework-render-")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main,
        args=(sender, func, arg, memory_mb * 1024 * 1024, workdir),
        name="casework-render",
        daemon=True,
    )
    try:
        process.start()
    except Exception as exc:
        receiver.close()
        sender.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise RenderFailed(f"could not start the renderer: {exc}") from exc
    try:
        # The parent keeps only the reading end, so a dead child shows up as end-of-file.
        sender.close()
        message, timed_out = _wait(process, receiver, time.monotonic() + timeout_s)
    finally:
        # Runs on every path, KeyboardInterrupt included: kill if needed, always reap, always clean.
        if process.is_alive():
            process.kill()
        process.join()
        exitcode = process.exitcode
        receiver.close()
        process.close()
        stderr_tail = _tail(os.path.join(workdir, _STDERR_NAME))
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        if timed_out:
            raise RenderFailed(f"took longer than {timeout_s:g} s")
        return _outcome(message, exitcode, memory_mb)
    except RenderFailed as failure:
        log.warning("render child failed: %s; its stderr ended with:\n%s", failure.reason, stderr_tail or "(nothing)")
        raise


def _wait(process: Any, receiver: Connection, deadline: float) -> tuple[tuple[str, Any] | None, bool]:
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


def _child_main(sender: Connection, func: Callable[[Any], Any], arg: Any, memory_bytes: int, workdir: str) -> None:
    """The child's whole life: limit itself, do the work, send one message, exit."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard)  # a container's own cap can only make it stricter
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # A crash at the limit must not write a core file the size of the limit.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # WeasyPrint writes fonts to temporary folders; keep them where the parent cleans up.
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir
    # Fontconfig and GLib complain on stderr, at length when memory runs out: keep it for the log.
    stderr = os.open(os.path.join(workdir, _STDERR_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(stderr, 2)
    os.close(stderr)
    message: tuple[str, Any]
    try:
        message = ("ok", func(arg))
    except MemoryError:
        # Send after the except block: by then the traceback and what it kept alive are freed.
        message = ("memory", "")
    except Exception as exc:
        # Native code reports a failed allocation in its own words (zlib, cffi, fontconfig returning
        # NULL...); if the address space is all but used up, memory is the real reason.
        if _near_limit(memory_bytes):
            message = ("memory", f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, DocumentError):
            message = ("error", str(exc))
        else:
            message = ("error", f"{type(exc).__name__}: {exc}")
    try:
        sender.send(message)
    except MemoryError:
        sender.send(("memory", ""))
    finally:
        sender.close()


def _tail(path: str) -> str:
    """The end of the child's stderr, for the log (the reason given to people stays short)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _STDERR_TAIL))
            return handle.read().decode(errors="replace").strip()
    except OSError:
        return ""


def _near_limit(memory_bytes: int) -> bool:
    """Whether this process's peak address space came within 10% of the limit (Linux /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024 >= memory_bytes * 0.9
    except (OSError, ValueError):
        pass
    return False
