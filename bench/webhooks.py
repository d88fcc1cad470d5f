"""Benchmark: what webhooks cost the filing path, and how fast one worker delivers.

Run: `.venv/bin/python bench/webhooks.py [--cases N] [--subscriptions K]`

On a fresh SQLite database (migrated as `casework init` does) in a temporary folder:
- filing: N cases filed through cases.lifecycle with no subscription (the baseline, measured in the
  same run) and then N with K active subscriptions to `case.filed` (each filing also writes K delivery
  rows in its transaction): median milliseconds per filing of each.
- delivery: the N*K deliveries sent by `app.webhooks.deliver_due` to a local http.server receiver on
  127.0.0.1 (allow-listed), signed per Standard Webhooks: deliveries per second for one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CASEWORK_INSTANCE", tempfile.mkdtemp(prefix="casework-bench-"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--subscriptions", type=int, default=3)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.webhooks import deliver_due
    from cases import accounts, definitions, lifecycle, webhooks
    from cases.passwords import set_work_factor
    from cases.submissions import Uploader
    from tests.app.webhook_receiver import receiver
    from tests.support.complaint import GOOD, complaint_case_type_document, complaint_document

    set_work_factor(2**10)
    folder = Path(tempfile.mkdtemp(prefix="casework-bench-db-"))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "SECRET_KEY": "x" * 32,
                      "WEBHOOKS_AUTO_DELIVER": False, "DOCUMENTS_AUTO_RENDER": False})
    with app.app_context():
        upgrade()
        s = db.session
        admin = accounts.create_user(s, email="admin@example.com", name="Admin", password="long enough pw",
                                     roles=["admin"])
        requester = accounts.create_user(s, email="r@example.com", name="R", password="long enough pw",
                                         roles=["requester"])
        accounts.create_queue(s, slug="general", name="General")
        form = definitions.create(s, "form", slug="complaint", title="Complaint", actor=admin,
                                  document=complaint_document())
        definitions.publish(s, form, actor=admin)
        case_type = definitions.create(s, "case_type", slug="complaint", title="Complaint", actor=admin,
                                       document=complaint_case_type_document())
        definitions.publish(s, case_type, actor=admin)

        def file_many() -> list[float]:
            times = []
            for _ in range(args.cases):
                start = time.perf_counter()
                lifecycle.file_case(s, case_type, GOOD, uploader=Uploader(requester))
                times.append((time.perf_counter() - start) * 1000)
            return times

        baseline = file_many()
        with receiver() as rx:
            webhooks.set_allow_list(s, "127.0.0.1/32", admin)
            for _ in range(args.subscriptions):
                webhooks.create_subscription(s, url=rx.url, kinds=["case.filed"], actor=admin)
            with_hooks = file_many()
            s.remove()
            start = time.perf_counter()
            sent = deliver_due(app, rounds=10**6)
            elapsed = time.perf_counter() - start
            assert sent == len(rx.requests) == args.cases * args.subscriptions, (sent, len(rx.requests))
            assert all(json.loads(r.body)["type"] == "case.filed" for r in rx.requests)
    print(f"filing, no subscriptions (baseline): median {statistics.median(baseline):.2f} ms over {args.cases}")
    print(f"filing, {args.subscriptions} subscriptions:            median {statistics.median(with_hooks):.2f} ms "
          f"over {args.cases}")
    print(f"delivery, one worker: {sent} deliveries in {elapsed:.2f} s = {sent / elapsed:.0f} per second")


if __name__ == "__main__":
    main()
