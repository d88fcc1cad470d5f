"""Benchmark: the case dossier against a minimal fixed-layout reference of the same content.

Run: `.venv/bin/python bench/documents.py [--runs N] [--fields N] [--events N]`

Needs only what `make run` installs (WeasyPrint and its system libraries; pypdf counts the pages); it
imports nothing from tests/ and no test-only package.

- time: warm, in this process (WeasyPrint imported and one render of each done first), the median of
  N alternating runs, wall clock and CPU time; the dossier's time includes filling its Jinja template.
- calls: Python function calls of one render (cProfile). Unlike time it does not move with the load of
  other processes, so on a shared machine it is the steadiest way to compare two layouts.
- memory: peak resident set size of a fresh child process per measurement (a child forked from the
  warm forkserver that `render_in_child` uses), read inside the child as VmHWM from /proc/self/status
  (the same figure as ru_maxrss of RUSAGE_SELF); "render MB" is that peak minus the child's resident
  size just before it started rendering.
- child: wall time of `render_in_child` for the dossier, process start and transfer included.
- signed: the same through `make_in_child` (render, PAdES signature with a fresh ECDSA P-256 key, content
  digest), against `render_in_child` in the same run; and, in this process, the signature and the content
  digest (`app.documents.content`) alone.

Both documents are PDF/A-3b with the same fonts, metadata and attachments (audit.json, audit.csv). The
reference is the least markup that lays the content out: one table per section with fixed layout and
column widths, default styles, no page header or footer, no repeated table headers.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.documents.child import render_in_child, run_in_child, start_renderer
from app.documents.render_request import Attachment, PdfMetadata, RenderRequest
from app.documents.samples import sample_audit_exports, sample_dossier_context
from app.documents.templating import dossier_html, format_when
from case_types.document_templates import DossierContext


def reference_html(ctx: DossierContext) -> str:
    """The same content with the least markup that still lays out sensibly: fixed tables, no extras."""
    e = html.escape

    def table(widths: list[int], rows: list[list[str]]) -> str:
        cols = "".join(f'<col style="width:{w}%">' for w in widths)
        body = "".join("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
        return f"<table><colgroup>{cols}</colgroup>{body}</table>"

    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><style>",
        '@font-face{font-family:"S";src:url(fonts/DejaVuSans.ttf)}',
        '@font-face{font-family:"S";font-weight:700;src:url(fonts/DejaVuSans-Bold.ttf)}',
        '@page{size:A4;margin:18mm 14mm 20mm}html{font-family:"S";font-size:8.5pt}',
        "table{width:100%;table-layout:fixed}td{vertical-align:top}",
        "</style></head><body>",
        f"<h1>{e(ctx.title)}</h1>",
        f"<p>{e(ctx.ref)} {e(ctx.case_type)} {e(ctx.state)} {e(format_when(ctx.generated_at))} {e(ctx.chain_head)}</p>",
        table([32, 68], [[row.label, row.value] for row in ctx.fields]),
        table([20, 22, 58], [[format_when(row.at), row.actor, row.text] for row in ctx.timeline]),
        table([5, 21, 22, 16, 36],
              [[str(row.seq), format_when(row.at), row.actor, row.kind, row.summary] for row in ctx.audit]),
        "</body></html>",
    ]
    return "".join(parts)


def _job(ctx: DossierContext, source: str) -> RenderRequest:
    audit_json, audit_csv = sample_audit_exports(ctx.audit)
    metadata = PdfMetadata(
        title=ctx.title, author="Casework bench", subject=f"Case dossier {ctx.ref}", keywords=(ctx.ref, "dossier"),
        stable_id=f"{ctx.ref}/bench", created_at=ctx.generated_at,
    )
    return RenderRequest(html=source, metadata=metadata,
                     attachments=(Attachment("audit.json", audit_json), Attachment("audit.csv", audit_csv)))


def _render(job: RenderRequest, ctx: DossierContext | None) -> bytes:
    from app.documents.render import render_pdf_for

    if ctx is not None:  # the dossier: filling the template is part of its cost
        job = RenderRequest(html=dossier_html(ctx, audit_limit=len(ctx.audit)), metadata=job.metadata,
                        attachments=job.attachments)
    return render_pdf_for(job)


def _timed(job: RenderRequest, ctx: DossierContext | None) -> tuple[float, float, bytes]:
    """(wall s, CPU s, PDF) of one render in this process."""
    started, cpu_started = time.perf_counter(), time.process_time()
    pdf = _render(job, ctx)
    return time.perf_counter() - started, time.process_time() - cpu_started, pdf


def _calls(job: RenderRequest, ctx: DossierContext | None) -> int:
    profile = cProfile.Profile()
    profile.runcall(_render, job, ctx)
    return pstats.Stats(profile, stream=io.StringIO()).total_calls  # type: ignore[attr-defined]


def _peak_memory(job: RenderRequest) -> tuple[float, float]:
    """Runs in a child: (peak RSS MB, RSS growth during the render MB), from /proc/self/status VmHWM."""
    from app.documents.render import render_pdf_for

    def hwm() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    before = hwm()
    render_pdf_for(job)
    after = hwm()
    return after, after - before


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fields", type=int, default=40)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()

    start_renderer()
    ctx = sample_dossier_context(fields=args.fields, events=args.events)
    jobs = {
        "dossier": (_job(ctx, dossier_html(ctx, audit_limit=args.events)), ctx),
        "reference": (_job(ctx, reference_html(ctx)), None),
    }
    # Warm-up: import WeasyPrint and render each once.
    pdfs = {name: _render(job, source) for name, (job, source) in jobs.items()}
    times: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(args.runs):
        # Alternating, so load from other processes on the machine hits both alike.
        for name, (job, source) in jobs.items():
            seconds, cpu_seconds, _pdf = _timed(job, source)
            times[name].append(seconds)
            cpu[name].append(cpu_seconds)
    calls = {name: _calls(job, source) for name, (job, source) in jobs.items()}
    memory = {name: run_in_child(_peak_memory, job, memory_mb=2048, timeout_s=300) for name, (job, _) in jobs.items()}
    child_times = []
    for _ in range(3):
        started = time.perf_counter()
        render_in_child(jobs["dossier"][0])
        child_times.append(time.perf_counter() - started)

    print(f"{args.fields} fields, {args.events} audit events, {len(ctx.timeline)} timeline steps; "
          f"{args.runs} warm runs each, in-process; memory from one child process each")
    print(f"{'document':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7} {'calls':>9} {'peak MB':>8}"
          f" {'render MB':>10} {'pages':>6} {'PDF kB':>7}")
    for name in jobs:
        peak, growth = memory[name]
        print(f"{name:<10} {statistics.median(times[name]):>9.3f} {min(times[name]):>7.3f} {max(times[name]):>7.3f}"
              f" {statistics.median(cpu[name]):>7.3f} {calls[name]:>9,} {peak:>8.1f} {growth:>10.1f}"
              f" {_pages(pdfs[name]):>6} {len(pdfs[name]) / 1024:>7.1f}")

    def ratio(values: dict[str, float]) -> str:
        return f"{values['dossier'] / values['reference']:.2f}"

    print("ratio dossier/reference: "
          f"time {ratio({n: statistics.median(v) for n, v in times.items()})}, "
          f"CPU {ratio({n: statistics.median(v) for n, v in cpu.items()})}, "
          f"calls {ratio({n: float(v) for n, v in calls.items()})}, "
          f"peak memory {ratio({n: v[0] for n, v in memory.items()})}")
    print("dossier through render_in_child (forkserver child, limits on): "
          f"median {statistics.median(child_times):.3f} s of 3")
    _signed(jobs["dossier"][0], pdfs["dossier"], statistics.median(child_times))


def _signed(job: RenderRequest, pdf: bytes, render_s: float) -> None:
    """What signing and the content digest add to a dossier's render (see the module docstring)."""
    import tempfile

    from app.documents.certificate import signing_key
    from app.documents.content import content_digest
    from app.documents.pipeline import make_in_child
    from app.documents.signing import sign_pdf

    with tempfile.TemporaryDirectory() as folder:
        key = signing_key({}, Path(folder))
    assert key is not None
    made = []
    for _ in range(3):
        started = time.perf_counter()
        make_in_child(job, key, reason="bench")
        made.append(time.perf_counter() - started)
    sign_pdf(pdf, key, reason="warm-up")
    sign_s, digest_s = [], []
    for _ in range(3):
        started = time.perf_counter()
        sign_pdf(pdf, key, reason="bench")
        sign_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        content_digest(pdf)
        digest_s.append(time.perf_counter() - started)
    print(f"dossier through make_in_child (render + sign + content digest): median {statistics.median(made):.3f} s"
          f" of 3, {statistics.median(made) / render_s:.2f}x render_in_child; in-process: signature"
          f" {statistics.median(sign_s):.3f} s, content digest {statistics.median(digest_s):.3f} s")


if __name__ == "__main__":
    main()
