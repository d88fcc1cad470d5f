"""Every list an admin can grow in a definition has a limit, checked when it is saved or imported, with a
message in the admin's words: fields, pages and options of a form, rules and their actions, document
templates and their blocks (states, transitions and SLA targets: tests/app/test_designer_limits.py).

At each limit the definition is accepted; one over, it is refused with exactly one problem about it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from case_types.document_templates import MAX_BLOCKS, MAX_TEMPLATES
from case_types.template_checks import check_templates
from forms.definitions import load_definition
from forms.errors import DefinitionError
from forms.schema import MAX_FIELDS, MAX_OPTIONS, MAX_PAGES
from rules.validate import MAX_ACTIONS, MAX_RULES, check_ruleset
from tests.rules.rules_helpers import doc, make_context, rule


def _text(i: int) -> dict[str, Any]:
    return {"type": "short_text", "key": f"f{i}", "label": f"Field {i}"}


def form_of(fields: int = 1, pages: int = 1, options: int = 2) -> dict[str, Any]:
    per_page = [[_text(p * 10_000 + i) for i in range(fields // pages + (p < fields % pages))] for p in range(pages)]
    choice = {"type": "single_choice", "key": "pick", "label": "Pick one",
              "options": [{"label": f"Option {i}", "value": f"o{i}"} for i in range(options)]}
    per_page[0][0] = choice
    return {"schema_version": 1, "title": "Limits",
            "pages": [{"key": f"p{p}", "title": f"Page {p}", "fields": fields_} for p, fields_ in enumerate(per_page)]}


def form_problems(data: dict[str, Any]) -> list[str]:
    try:
        load_definition(data)
    except DefinitionError as exc:
        return [p.message for p in exc.errors]
    return []


def ruleset_problems(data: dict[str, Any]) -> list[str]:
    return [p.message for p in check_ruleset(data, make_context())[1]]


def template_problems(templates: int = 1, blocks: int = 1) -> list[str]:
    raw = [{"template_name": f"Letter {t}", "version": 1,
            "blocks": [{"kind": "text", "text": f"Paragraph {b}."} for b in range(blocks)]} for t in range(templates)]
    return [message for _path, message in check_templates(raw, ())[1]]


ACTION = {"type": "add_tag", "tag": "vip"}

LIMITS: list[tuple[str, Callable[[int], list[str]], int, str]] = [
    ("form fields", lambda n: form_problems(form_of(fields=n, pages=max(1, n // 100))), MAX_FIELDS,
     f"the limit is {MAX_FIELDS}"),
    ("form pages", lambda n: form_problems(form_of(fields=n, pages=n)), MAX_PAGES, f"more than {MAX_PAGES} pages"),
    ("options of a choice field", lambda n: form_problems(form_of(options=n)), MAX_OPTIONS,
     f"at most {MAX_OPTIONS} options"),
    ("rules", lambda n: ruleset_problems(doc(*[rule(f"r{i}", i) for i in range(n)])), MAX_RULES,
     f"at most {MAX_RULES} rules"),
    ("actions of a rule", lambda n: ruleset_problems(doc(rule("r", 1, actions=[ACTION] * n))), MAX_ACTIONS,
     f"at most {MAX_ACTIONS} actions"),
    ("document templates", lambda n: template_problems(templates=n), MAX_TEMPLATES,
     f"at most {MAX_TEMPLATES} document templates"),
    ("blocks of a template", lambda n: template_problems(blocks=n), MAX_BLOCKS, f"at most {MAX_BLOCKS} blocks"),
]


@pytest.mark.parametrize(("what", "problems_of", "limit", "message"), LIMITS, ids=[row[0] for row in LIMITS])
def test_a_definition_at_its_limit_is_accepted_and_one_more_is_refused_in_admin_words(
        what: str, problems_of: Callable[[int], list[str]], limit: int, message: str) -> None:
    at_limit = problems_of(limit)
    assert not [p for p in at_limit if "at most" in p or "limit" in p or "more than" in p], at_limit
    over = problems_of(limit + 1)
    about_size = [p for p in over if message in p]
    assert len(about_size) == 1, over[:5]
    assert len(over) <= 3, f"{what}: one problem about the size, not one per item: {over[:5]}"
