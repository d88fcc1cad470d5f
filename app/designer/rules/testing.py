"""The rule designer's test panel: a sample case's inputs, the form's own fields and the case's attributes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import wtforms

from cases.rule_testing import DraftRules, SampleCase
from forms.schema import FormSchema
from forms.wtf import build_form_class
from rules import CASE_PRIORITIES, TRIGGERS
from rules.model import PRIORITY_LABELS, SLA_KIND_LABELS, SLA_KINDS

SKIPPED_FAMILIES = ("file", "group")
"""Sample answers the test panel cannot take (files, repeating rows)."""

@dataclass
class SamplePanel:
    """The sample case's inputs: the form's own fields, and the case's attributes."""

    form: wtforms.Form | None
    attributes: SampleCase
    trigger: str
    errors: dict[str, str]
    states: list[tuple[str, str]]
    queues: list[tuple[str, str]]
    transitions: list[tuple[str, str]]
    priorities: list[tuple[str, str]] = field(
        default_factory=lambda: [(p, PRIORITY_LABELS[p]) for p in CASE_PRIORITIES])
    sla_kinds: list[tuple[str, str]] = field(default_factory=lambda: [(k, SLA_KIND_LABELS[k]) for k in SLA_KINDS])

    def items(self) -> list[Any]:
        """The sample form's inputs, without those a sample cannot hold (files, repeating rows)."""
        if self.form is None:
            return []
        layout = self.form.layout()  # type: ignore[attr-defined]
        return [item for item in layout if item.spec.takes_input and item.spec.family not in SKIPPED_FAMILIES]

    def skipped(self) -> list[str]:
        if self.form is None:
            return []
        layout = self.form.layout()  # type: ignore[attr-defined]
        return [item.spec.display_label for item in layout
                if item.spec.takes_input and item.spec.family in SKIPPED_FAMILIES]


ATTRIBUTE_INPUTS = ("state", "queue", "priority", "age_hours", "tags", "transition", "sla_kind", "earlier_cases")


def sample_panel(draft: DraftRules, draft_document: Mapping[str, Any], schema: FormSchema | None, *,
               post: Any = None, sample: SampleCase | None = None, trigger: str = "case.submitted",
               errors: Mapping[str, str] | None = None) -> SamplePanel:
    """The test panel, fresh (the case type's defaults) or as submitted (with its errors)."""
    form = None
    if schema is not None:
        cls = build_form_class(schema, base=wtforms.Form)
        form = cls(formdata=post) if post is not None else cls()
        for key, message in (errors or {}).items():
            if key in form._fields:
                form.apply_errors({key: [message]})  # type: ignore[attr-defined]
    ctx = draft.context
    if sample is None:
        states = [s for s in draft_document.get("states") or [] if isinstance(s, Mapping)]
        initial = next((s.get("key") for s in states if s.get("kind") == "initial"), "")
        default_queue = draft_document.get("default_queue")
        sample = SampleCase(state=initial if isinstance(initial, str) else "",
                            queue=default_queue if isinstance(default_queue, str) else "", priority="normal",
                            age_hours="0", earlier_cases="0")
    return SamplePanel(
        form=form, attributes=sample, trigger=trigger if trigger in TRIGGERS else "case.submitted",
        errors={k: v for k, v in (errors or {}).items() if k in ATTRIBUTE_INPUTS},
        states=[(s, ctx.state_labels.get(s, s)) for s in ctx.states],
        queues=[(q, ctx.queue_labels.get(q, q)) for q in ctx.queues],
        transitions=[(t, ctx.transition_labels.get(t, t)) for t in ctx.transitions],
    )
