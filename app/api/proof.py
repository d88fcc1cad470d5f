"""API: the latest signed checkpoint, and export bundles for the offline verifier.

A bundle holds a case's whole audit chain (staff names, internal notes, routing): the hashes cannot be
checked on a filtered copy, so bundles are for the staff on the case, auditors and admins; a requester
gets 403 (their case page and the events API show them the public part).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue

from app.api.base import api_user, bp
from app.api.openapi import operation
from app.api.schemas import CaseFilterQuery, CheckpointQuery
from app.checkpoints import make_checkpoint, signer
from app.extensions import db
from cases import access, checkpoints
from cases.errors import PermissionDenied
from cases.models import Case, Role
from cases.read import queries


def json_download(body: dict[str, Any], name: str) -> Response:
    """A JSON file download (never cached: it is a snapshot of the audit log)."""
    response = Response(json.dumps(body, indent=1, ensure_ascii=False) + "\n", mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/audit/checkpoint")
@operation("The latest signed checkpoint", query=CheckpointQuery, produces="application/json", tags=["audit"])
def latest_checkpoint(query: CheckpointQuery) -> ResponseReturnValue:
    """The latest signed checkpoint (one is made if there is none yet); `?leaves=1` adds every leaf
    (auditors and admins: the file to keep for `casework audit verify-file --since`)."""
    user = api_user()
    if not user.has_role(Role.AUDITOR, Role.ADMIN, Role.AGENT):
        raise PermissionDenied("Checkpoints are for staff and auditors.")
    found = checkpoints.latest(db.session) or make_checkpoint().checkpoint
    assert found is not None
    if query.leaves in ("1", "true", "yes"):
        if not user.has_role(Role.AUDITOR, Role.ADMIN):
            raise PermissionDenied("Only auditors and admins download the leaves of a checkpoint.")
        return json_download(checkpoints.checkpoint_file(db.session, found), f"checkpoint-{found.id}.json")
    return checkpoints.checkpoint_json(found)


@bp.get("/cases/<int:case_id>/bundle")
@operation("A case's export bundle for the offline verifier", produces="application/json")
def case_bundle(case_id: int) -> ResponseReturnValue:
    """The case's export bundle: its events, the latest checkpoint, the inclusion proof and the public key."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    if not access.sees_internal(db.session, user, case):
        raise PermissionDenied("Bundles hold the whole audit chain, staff names included: they are for the staff "
                               "on the case, auditors and admins.")
    return json_download(checkpoints.fresh_bundle(db.session, [case], signer()), f"bundle-{case.ref}.json")


def search_bundle(user: Any, filters: queries.CaseFilters, *, complete: bool) -> Response:
    """One bundle for every case `user` may see that matches `filters` (auditor search export, API)."""
    ids = [case_id for case_id, _ref in queries.all_matching(db.session, user, filters)]
    cases = [c for c in (db.session.get(Case, i) for i in ids) if c is not None]
    body = checkpoints.fresh_bundle(db.session, cases, signer(), complete=complete)
    return json_download(body, f"bundle-{len(body['cases'])}-cases.json")


@bp.get("/audit/bundle")
@operation("One export bundle of every matching case", query=CaseFilterQuery, produces="application/json",
           tags=["audit"])
def cases_bundle(query: CaseFilterQuery) -> ResponseReturnValue:
    """A bundle of every case matching the case-list filters (auditors and admins); without filters it is
    marked complete and carries every leaf, so the verifier can name a case that went missing."""
    user = api_user()
    if not user.has_role(Role.AUDITOR, Role.ADMIN):
        raise PermissionDenied("Only auditors and admins export bundles of many cases.")
    filters = queries.parse_filters(request.args)
    if "status" not in request.args:
        filters.open = None
    return search_bundle(user, filters, complete=not any(request.args.values()))
