"""The child renderer: memory limit, timeout, readable failures, no zombies, and the next job still works."""

from __future__ import annotations

import gc
import hashlib
import os
import time
from pathlib import Path

import pytest

from app.documents.child import render_in_child, run_in_child, start_renderer
from app.documents.errors import RenderFailed
from app.documents.render import render_pdf
from app.documents.render_request import RenderRequest
from app.documents.samples import sample_dossier_context
from app.documents.templating import dossier_html
from tests.app.documents.conftest import audit_attachments, metadata_for, pdftotext


# Jobs for the child: module-level so the child can import them by name.
def hoard_memory(step_mb: int) -> bytes:
    """Allocate until something gives, the way a runaway layout would."""
    hoard = []
    while True:
        hoard.append(bytearray(step_mb * 1024 * 1024))


def sleep_for(seconds: float) -> bytes:
    time.sleep(seconds)
    return b"woke up"


def raise_error(message: str) -> bytes:
    raise ValueError(message)


def die_hard(code: int) -> bytes:
    os._exit(code)


def tracked_objects(_: None) -> tuple[int, int]:
    """What the child's garbage collector walks, and how much it was told to leave alone."""
    gc.collect()
    return len(gc.get_objects()), gc.get_freeze_count()


def small_job() -> RenderRequest:
    context = sample_dossier_context(fields=6, events=8, steps=3)
    return RenderRequest(html=dossier_html(context), metadata=metadata_for(context),
                     attachments=audit_attachments(context))


def descendants(pid: int) -> dict[int, tuple[str, str]]:
    """pid -> (state, command line) of every process below `pid` (from /proc): zombies and leftovers."""
    children: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        states[int(entry.name)] = fields[0]
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: dict[int, tuple[str, str]] = {}
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                command = ""
            found[child] = (states[child], command)
            pending.append(child)
    return found


@pytest.fixture(scope="module", autouse=True)
def renderer() -> None:
    start_renderer()


def test_a_dossier_renders_in_a_child_and_matches_the_in_process_bytes() -> None:
    job = small_job()
    pdf = render_in_child(job)
    assert "CMP-000123" in pdftotext(pdf)
    local = render_pdf(job.html, metadata=job.metadata, attachments=job.attachments)
    assert hashlib.sha256(pdf).digest() == hashlib.sha256(local).digest()


def test_a_warm_child_collects_only_what_its_jobs_made() -> None:
    """What the forkserver imported (WeasyPrint, pyHanko, pypdf) is frozen: walking its ~120,000 objects in
    every collection cost about 0.1 s of CPU per document."""
    render_in_child(small_job())
    tracked, frozen = run_in_child(tracked_objects, None)
    assert frozen > 50_000
    # A warm child that served other tests' jobs keeps their caches (fonts, parsed templates): some
    # thousands of objects, a fraction of the frozen imports (about 16,000 against 114,000 in a full run).
    assert tracked < frozen / 3


def test_running_out_of_memory_is_reported_and_the_next_job_still_works() -> None:
    started = time.monotonic()
    with pytest.raises(RenderFailed) as raised:
        run_in_child(hoard_memory, 8, memory_mb=160, timeout_s=30)
    assert raised.value.reason == "ran out of memory (limit 160 MB)"
    assert time.monotonic() - started < 10
    assert render_in_child(small_job()).startswith(b"%PDF-1.7")


def test_a_real_render_over_its_memory_limit_fails_with_a_memory_reason() -> None:
    """WeasyPrint itself hitting the limit (in Python or in Pango/GLib) reads as out of memory."""
    job = small_job()
    with pytest.raises(RenderFailed, match=r"ran out of memory \(limit 120 MB\)"):
        render_in_child(job, memory_mb=120, timeout_s=30)
    assert render_in_child(job).startswith(b"%PDF")


def test_a_job_over_its_time_is_killed_with_a_readable_reason() -> None:
    started = time.monotonic()
    with pytest.raises(RenderFailed) as raised:
        run_in_child(sleep_for, 30.0, timeout_s=1)
    assert raised.value.reason == "took longer than 1 s"
    assert time.monotonic() - started < 5
    assert run_in_child(sleep_for, 0.0, timeout_s=10) == b"woke up"


def test_an_exception_in_the_child_is_reported() -> None:
    with pytest.raises(RenderFailed, match="failed: ValueError: the layout broke"):
        run_in_child(raise_error, "the layout broke")


def test_a_child_that_dies_without_an_answer_is_reported() -> None:
    with pytest.raises(RenderFailed, match=r"stopped without an answer \(exit code 3\)"):
        run_in_child(die_hard, 3)


def test_no_zombies_and_no_leftover_children() -> None:
    for call in (lambda: run_in_child(sleep_for, 30.0, timeout_s=0.5), lambda: run_in_child(die_hard, 1)):
        with pytest.raises(RenderFailed):
            call()
    run_in_child(sleep_for, 0.0)
    below = descendants(os.getpid())
    assert all(state != "Z" for state, _ in below.values()), below
    # What may remain is multiprocessing's own forkserver and resource tracker, and nothing under them.
    helpers = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")
    assert all(any(helper in command for helper in helpers) for _, command in below.values()), below


def test_temporary_files_are_cleaned_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    render_in_child(small_job())
    with pytest.raises(RenderFailed):
        run_in_child(sleep_for, 30.0, timeout_s=0.5)
    assert list(tmp_path.iterdir()) == []
