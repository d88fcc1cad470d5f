"""Builders shared by the rules tests: a validation context covering every field family, rule documents."""

from __future__ import annotations

import uuid
from typing import Any

from rules.model import ValidationContext

FIELDS = {
    "description": "text",
    "email": "text",
    "amount": "number",
    "quantity": "number",
    "due_date": "date",
    "incident_at": "datetime",
    "severity": "choice",
    "customer_tier": "choice",
    "products": "multi",
    "urgent": "bool",
    "attachments": "file",
    "items": "group",
}
OPTIONS = {
    "severity": ["low", "medium", "high", "critical"],
    "customer_tier": ["bronze", "silver", "gold"],
    "products": ["router", "switch", "modem", "Cable"],
}


def make_context() -> ValidationContext:
    """A case type with one field of every family, queues, states, transitions, users and roles."""
    return ValidationContext(
        fields=FIELDS,
        options=OPTIONS,
        queues=["general", "escalations", "finance", "vip"],
        states=["new", "open", "waiting", "cfo_approval", "approved", "rejected", "closed"],
        transitions=["open", "escalate", "close", "reopen"],
        users=["alice@example.com", "Bob@Example.com"],
        roles=["manager", "cfo"],
        tags=["vip", "fraud", "repeat"],
        field_labels={"severity": "Severity", "customer_tier": "Customer tier", "amount": "Amount",
                      "description": "Description", "products": "Products"},
        option_labels={"severity": {"low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"},
                       "customer_tier": {"bronze": "Bronze", "silver": "Silver", "gold": "Gold"}},
        queue_labels={"escalations": "Escalations", "finance": "Finance", "general": "General"},
        state_labels={"cfo_approval": "CFO approval", "approved": "Approved", "rejected": "Rejected"},
        role_labels={"cfo": "CFO", "manager": "Manager"},
        user_labels={"alice@example.com": "Alice"},
    )


def rule(rule_id: str, priority: int, condition: dict[str, Any] | None = None, *, trigger: str = "case.submitted",
         actions: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A rule document with sensible defaults."""
    return {
        "id": rule_id,
        "name": extra.pop("name", rule_id.replace("_", " ").capitalize()),
        "trigger": trigger,
        "priority": priority,
        "enabled": extra.pop("enabled", True),
        "condition": condition if condition is not None else {"all": []},
        "actions": actions if actions is not None else [{"type": "route_to_queue", "queue": "general"}],
        **extra,
    }


def doc(*rules: dict[str, Any]) -> dict[str, Any]:
    """A ruleset document."""
    return {"schema_version": 1, "rules": list(rules)}


def clause(field: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    """A condition clause (no value for the unary operators)."""
    out: dict[str, Any] = {"field": field, "op": op, **extra}
    if op not in ("empty", "not_empty", "is_true", "is_false"):
        out["value"] = value
    return out


COMPLAINT_ESCALATION = doc(
    rule("escalate", 10, {"any": [
        clause("severity", "in", ["high", "critical"]),
        clause("customer_tier", "eq", "gold"),
        clause("case.requester_recent_cases", "gte", 2, days=90),
    ]}, name="Escalate complaints", actions=[
        {"type": "route_to_queue", "queue": "escalations"},
        {"type": "set_priority", "priority": "urgent"},
        {"type": "set_due_in", "hours": 4, "business_hours": True},
    ]),
)


def unique_slug() -> str:
    """A case-type slug no other test uses, so published names never collide within one process."""
    return f"t{uuid.uuid4().hex[:12]}"
