"""All models, imported here so the metadata is complete wherever `cases.models` is imported."""

from cases.models.accounts import ApiToken, LoginSession, Queue, QueueMember, Role, Setting, User, UserRole
from cases.models.audit import GENESIS_HASH, AuditEvent, AuditStream
from cases.models.automation import Approval, AssignmentCursor
from cases.models.base import Base, UTCDateTime
from cases.models.cases import PRIORITIES, Case, CaseCounter, Comment
from cases.models.checkpoints import Checkpoint, CheckpointLeaf
from cases.models.definitions import CHANGE_STATUSES, ChangeRequest, Definition, DefinitionVersion
from cases.models.documents import CHECK_STATUSES, DOCUMENT_STATUSES, DOSSIER, Document, DocumentCheck
from cases.models.erasure_requests import ErasureRequest
from cases.models.form_tokens import FormToken
from cases.models.holds import LegalHold
from cases.models.idempotency import IdempotencyKey
from cases.models.identities import UserIdentity
from cases.models.insight import Handoff, InsightCase, SlaOutcome, StateVisit
from cases.models.links import LINK_KINDS, CaseLink
from cases.models.notifications import OutboxMessage
from cases.models.privacy import PersonalValue
from cases.models.registrations import PendingRegistration
from cases.models.retention import RetentionAction
from cases.models.sla import SLA_STATUSES, Deadline
from cases.models.submissions import StoredFile, Submission
from cases.models.tasks import TASK_STATUSES, Task
from cases.models.webhooks import (
    DELIVERY_STATUSES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

__all__ = [
    "CHANGE_STATUSES",
    "CHECK_STATUSES",
    "DELIVERY_STATUSES",
    "DOCUMENT_STATUSES",
    "DOSSIER",
    "GENESIS_HASH",
    "LINK_KINDS",
    "PRIORITIES",
    "SLA_STATUSES",
    "TASK_STATUSES",
    "ApiToken",
    "Approval",
    "AssignmentCursor",
    "AuditEvent",
    "AuditStream",
    "Base",
    "Case",
    "CaseCounter",
    "CaseLink",
    "ChangeRequest",
    "Checkpoint",
    "CheckpointLeaf",
    "Comment",
    "Deadline",
    "Definition",
    "DefinitionVersion",
    "Document",
    "DocumentCheck",
    "ErasureRequest",
    "FormToken",
    "Handoff",
    "IdempotencyKey",
    "InsightCase",
    "LegalHold",
    "LoginSession",
    "OutboxMessage",
    "PendingRegistration",
    "PersonalValue",
    "Queue",
    "QueueMember",
    "RetentionAction",
    "Role",
    "Setting",
    "SlaOutcome",
    "StateVisit",
    "StoredFile",
    "Submission",
    "Task",
    "UTCDateTime",
    "User",
    "UserIdentity",
    "UserRole",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
