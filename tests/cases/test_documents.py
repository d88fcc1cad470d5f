"""The life of a document row in the domain: queued with the change that closes a case, claimed once,
built from the audit chain it covers (so it never changes afterwards), finished or failed, and seen only
by whom it is for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound
from cases import accounts, assignment, audit, conversation, definitions, document_content, documents, lifecycle
from cases.errors import PermissionDenied
from cases.models import Case, Definition, Document, User
from cases.privacy.values import readable
from cases.submissions import Uploader
from tests.support.complaint import GOOD, complaint_case_type_document

LETTER = {"template_name": "Decision letter", "version": 3, "blocks": [
    {"kind": "text", "text": "Dear {{name}}, your order {{order_number}}."}, {"kind": "timeline"}]}


@pytest.fixture
def lettered(session: Session, admin: User, complaint: Definition, general: Any) -> Definition:
    definition = definitions.create(session, "case_type", slug="complaint", title="Customer complaint",
                                    actor=admin, document=complaint_case_type_document(documents=[LETTER]))
    definitions.publish(session, definition, actor=admin)
    return definition


def _close(session: Session, case: Case, agent: User, comment: str = "Done.") -> None:
    assignment.claim(session, case, agent)
    lifecycle.transition(session, case, "start", agent)
    lifecycle.transition(session, case, "resolve", agent, comment=comment)


def _rows(session: Session, case: Case) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id)))


def test_only_entering_a_final_state_queues_the_documents(session: Session, lettered: Definition,
                                                          requester: User, agent: User) -> None:
    case = lifecycle.file_case(session, lettered, GOOD, uploader=Uploader(requester))
    assignment.claim(session, case, agent)
    lifecycle.transition(session, case, "start", agent)
    assert _rows(session, case) == []
    lifecycle.transition(session, case, "resolve", agent, comment="Refunded.")
    rows = _rows(session, case)
    assert [(d.kind, d.status, d.internal, d.template_version, d.requested_by_id) for d in rows] == [
        ("dossier", "queued", True, None, None), ("Decision letter", "queued", False, 3, None)]
    assert documents.pending_ids(session, case) == [d.id for d in rows]
    lifecycle.reopen(session, case, requester, reason="Not fixed")
    assert len(_rows(session, case)) == 2
    lifecycle.transition(session, case, "resolve", agent, comment="Now it is.")
    assert len(_rows(session, case)) == 4  # closing again makes a new set; the old ones stay as they were


def test_a_document_is_built_from_the_chain_it_covers_and_never_changes(
        session: Session, lettered: Definition, requester: User, agent: User) -> None:
    case = lifecycle.file_case(session, lettered, GOOD, uploader=Uploader(requester))
    assignment.claim(session, case, agent)
    lifecycle.transition(session, case, "start", agent)
    lifecycle.edit_fields(session, case, {"description": "The box was soaked and the vase is broken."}, agent)
    lifecycle.transition(session, case, "resolve", agent, comment="Refunded.")
    dossier, letter = _rows(session, case)
    claimed = documents.claim(session, dossier.id)
    assert claimed is not None and claimed.status == "rendering" and claimed.attempts == 1
    assert documents.claim(session, dossier.id) is None  # someone has it already
    head = audit.events(session, case.stream)[-1]
    assert (claimed.chain_seq, claimed.chain_head) == (head.seq, head.hash)

    first = document_content.render_input(session, claimed, organisation="Org")
    context = first.context
    assert (context.ref, context.state, context.draft, context.audit_total) == ("CMP-000001", "Resolved", False, 5)
    values = {row.key: row.value for row in context.fields}
    assert values["description"] == "The box was soaked and the vase is broken."
    assert values["severity"] == "High" and values["other_category"] == ""
    assert [row.seq for row in context.audit] == [1, 2, 3, 4, 5]
    assert context.timeline[-1].text.startswith("Resolve: In progress → Resolved")
    shown = readable(session, audit.events(session, case.stream))  # as the events API shows them
    assert json.loads(first.audit_json)["items"] == [audit.event_json(e) for e in shown]
    assert first.audit_csv.decode().startswith("stream,seq,at,actor,kind,payload,prev_hash,hash")
    assert first.stable_id.startswith("CMP-000001/dossier/case-type-v1/") and first.created_at == dossier.created_at

    documents.finish(session, claimed, storage_name="ab" * 16, sha256="c" * 64, size=1234)
    generated = audit.events(session, case.stream)[-1]
    assert generated.kind == "document.generated"
    assert json.loads(generated.payload)["covers_seq"] == 5

    # The case moves on: reopened, edited, closed differently. The stored dossier's input does not.
    lifecycle.reopen(session, case, agent, reason="Second look")
    lifecycle.edit_fields(session, case, {"description": "Only the box was soaked; the vase is fine."}, agent)
    lifecycle.transition(session, case, "reject", agent, comment="Nothing to refund.")
    assert document_content.render_input(session, claimed, organisation="Org") == first

    # The letter covers what happened before it was claimed, with the requester's view of the timeline.
    documents.claim(session, letter.id)
    letter_input = document_content.render_input(session, letter, organisation="Org")
    assert letter_input.template is not None and letter_input.template.template_name == "Decision letter"
    assert letter_input.audit_json == b"" and letter_input.context.state == "Rejected"
    assert all(step.actor in ("You", "Support team") for step in letter_input.context.timeline)


def test_a_failure_is_recorded_and_an_admin_may_retry(session: Session, lettered: Definition, requester: User,
                                                       agent: User, admin: User) -> None:
    case = lifecycle.file_case(session, lettered, GOOD, uploader=Uploader(requester))
    _close(session, case, agent)
    dossier = _rows(session, case)[0]
    with pytest.raises(Conflict):
        documents.retry(session, dossier, admin)  # queued, and not stuck
    claimed = documents.claim(session, dossier.id)
    assert claimed is not None
    documents.fail(session, claimed, "ran out of memory (limit 64 MB)")
    assert (dossier.status, dossier.reason) == ("failed", "ran out of memory (limit 64 MB)")
    event = audit.events(session, case.stream)[-1]
    assert (event.kind, json.loads(event.payload)["reason"]) == ("document.failed", "ran out of memory (limit 64 MB)")
    with pytest.raises(PermissionDenied):
        documents.retry(session, dossier, agent)
    documents.retry(session, dossier, admin)
    assert (dossier.status, dossier.reason) == ("queued", None)
    assert audit.events(session, case.stream)[-1].kind == "document.retried"
    assert audit.verify(session, case.stream).ok


def test_who_sees_which_documents_and_who_may_ask_for_a_draft(session: Session, lettered: Definition,
                                                               requester: User, agent: User, admin: User) -> None:
    auditor = accounts.create_user(session, email="audrey@example.com", name="Audrey", password="long enough pw",
                                   roles=["auditor"])
    outsider = accounts.create_user(session, email="out@example.com", name="Out", password="long enough pw",
                                    roles=["agent"])
    case = lifecycle.file_case(session, lettered, GOOD, uploader=Uploader(requester))
    assert documents.may_request_draft(session, agent, case) and documents.may_request_draft(session, auditor, case)
    assert not documents.may_request_draft(session, requester, case)
    assert not documents.may_request_draft(session, outsider, case)
    with pytest.raises(PermissionDenied):
        documents.request_draft(session, case, requester)
    draft = documents.request_draft(session, case, auditor)
    assert (draft.kind, draft.draft, draft.requested_by_id) == ("dossier", True, auditor.id)
    assert documents.request_draft(session, case, agent).id == draft.id  # the waiting one
    _close(session, case, agent)
    with pytest.raises(Conflict):
        documents.request_draft(session, case, agent)

    rows = {d.kind if not d.draft else "draft": d for d in _rows(session, case)}
    for row in rows.values():
        row.status = "done"
    session.commit()
    assert [d.kind for d in documents.documents_for(session, case, requester)] == ["Decision letter"]
    assert len(documents.documents_for(session, case, auditor)) == 3
    assert len(documents.documents_for(session, case, agent)) == 3
    documents.document_for(session, rows["Decision letter"].id, requester)
    for hidden in ("dossier", "draft"):
        with pytest.raises(NotFound):
            documents.document_for(session, rows[hidden].id, requester)
    with pytest.raises(NotFound):
        documents.document_for(session, rows["dossier"].id, outsider)
    assert documents.download_name(rows["draft"], case) == f"CMP-000001-dossier-draft-{rows['draft'].id}.pdf"
    assert documents.download_name(rows["Decision letter"], case).startswith("CMP-000001-decision-letter-")


def test_state_and_data_as_of_follow_every_kind_of_move(session: Session, lettered: Definition, requester: User,
                                                        agent: User) -> None:
    case = lifecycle.file_case(session, lettered, GOOD, uploader=Uploader(requester))
    assignment.claim(session, case, agent)
    lifecycle.transition(session, case, "start", agent)
    conversation.request_information(session, case, agent, "Photo please?")
    conversation.answer_information(session, case, requester, "Sent.")
    lifecycle.edit_fields(session, case, {"customer_tier": "standard"}, agent)
    events = audit.events(session, case.stream)
    states = [document_content.state_as_of(events[:n], "?") for n in range(1, len(events) + 1)]
    assert [s for s in states] == ["new", "new", "in_progress", "waiting", "in_progress", "in_progress"]
    assert document_content.state_as_of(events, "?") == case.state
    assert document_content.data_as_of(events) == json.loads(case.data)
    assert document_content.data_as_of(events[:3])["customer_tier"] == "gold"
