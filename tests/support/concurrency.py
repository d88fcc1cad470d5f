"""Running work in many threads at once, each with its own database session, released together."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cases.database import make_engine


def race(database_url: str, workers: int, work: Callable[[Session, int], Any]) -> list[Any]:
    """Run `work` in `workers` threads, each with its own session, released at the same instant."""
    options = {"pool_size": workers + 2, "max_overflow": 0} if database_url.startswith("postgresql") else {}
    engine = make_engine(database_url, **options)
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(i: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            try:
                barrier.wait(timeout=30)
                results[i] = work(s, i)
            except BaseException as exc:
                exc.add_note("".join(traceback.format_exception(exc)))
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    return results
