"""The case-type designer at the definition limits (100 states, 300 transitions) against a normal case type.

    .venv/bin/python bench/definition_limits.py [--runs N]

Imports two case types through the real services into a fresh SQLite database: the starter library's
complaint case type (8 states, 8 transitions: the baseline) and one at the limits of case_types.workflow
(MAX_STATES, MAX_TRANSITIONS; labels with markup to escape). For each it times, warm, the median and
the maximum of N runs of the diagram alone (app.designer.case_types.diagram.case_type_svg) and of the whole
designer page (`GET /designer/case-types/<id>` as the admin, through the test client), and prints the page's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    result = fn()  # warm
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        out.append((time.perf_counter() - start) * 1000)
    return out, result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from app import create_app
    from app.designer.case_types.diagram import case_type_svg
    from app.extensions import db
    from case_types.workflow import MAX_STATES, MAX_TRANSITIONS
    from cases import accounts, definitions
    from tests.conftest import Web, make_config
    from tests.support.complaint import complaint_document
    from tests.support.designer import case_type_of_size

    folder = tempfile.mkdtemp(prefix="casework-bench-limits-")
    app = create_app(make_config(f"sqlite:///{folder}/bench.db"))
    with app.app_context():
        upgrade()
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    pack = json.loads((ROOT / "packs" / "complaint" / "case_type.json").read_text())
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        form = definitions.create(db.session, "form", slug="complaint", title="Complaint", actor=admin,
                                  document=complaint_document())
        definitions.publish(db.session, form, actor=admin)
        ids = {}
        for name, document in (("complaint pack", {**pack, "form": "complaint", "form_version": 1}),
                               (f"at the limit ({MAX_STATES} states, {MAX_TRANSITIONS} transitions)",
                                case_type_of_size(MAX_STATES, MAX_TRANSITIONS))):
            definition = definitions.create(db.session, "case_type", slug=f"ct{len(ids)}", title=name, actor=admin,
                                            document=document)
            ids[name] = (definition.id, document)
        db.session.remove()
    web = Web(app.test_client())
    web.login("admin@example.com")
    print(f"{'case type':<48} {'diagram median/max ms':>22} {'page median/max ms':>20} {'page KB':>8}")
    for name, (definition_id, document) in ids.items():
        diagram, _ = timed(lambda d=document: case_type_svg(d), args.runs)
        page, response = timed(lambda i=definition_id: web.get(f"/designer/case-types/{i}"), args.runs)
        assert response.status_code == 200
        print(f"{name:<48} {statistics.median(diagram):>11.0f} / {max(diagram):<8.0f} "
              f"{statistics.median(page):>9.0f} / {max(page):<8.0f} {len(response.data) / 1024:>8.0f}")


if __name__ == "__main__":
    main()
