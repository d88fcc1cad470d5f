"""The rule designer through its pages and htmx partials, as an admin uses it (both backends)."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from cases import accounts, definitions, lifecycle
from cases.models import Case, Deadline, Definition
from cases.submissions import Uploader
from tests.conftest import Web
from tests.support.complaint import CALM, complaint_case_type_document, complaint_document
from tests.support.designer import element


@pytest.fixture
def case_type(app: Any, demo_users: Any) -> int:
    """The complaint form and case type, published as version 1 without rules; an Escalations queue."""
    with app.app_context():
        ada = accounts.find_user(db.session, "admin@example.com")
        assert ada is not None
        form = definitions.create(db.session, "form", slug="complaint", title="Customer complaint", actor=ada,
                                  document=complaint_document())
        definitions.publish(db.session, form, actor=ada)
        accounts.create_queue(db.session, slug="escalations", name="Escalations")
        definition = definitions.create(db.session, "case_type", slug="complaint", title="Customer complaint",
                                        actor=ada, document=complaint_case_type_document())
        definitions.publish(db.session, definition, actor=ada)
        definition_id = definition.id
        db.session.remove()
    return definition_id


@pytest.fixture
def admin(app: Any, case_type: int) -> Web:
    web = Web(app.test_client())
    web.login("admin@example.com")
    return web


def base(definition_id: int) -> str:
    return f"/designer/case-types/{definition_id}/rules/"


def draft(app: Any, definition_id: int) -> tuple[dict[str, Any], int]:
    """The draft's rules document and revision."""
    with app.app_context():
        definition = db.session.get(Definition, definition_id)
        assert definition is not None
        document = json.loads(definition.draft)
        db.session.remove()
    return document.get("rules") or {"schema_version": 1, "rules": []}, definition.draft_revision


def post(web: Web, app: Any, definition_id: int, path: str, data: dict[str, Any] | None = None, *,
         revision: int | None = None, htmx: bool = True) -> Any:
    """Post as the page does: the draft revision it shows, as htmx unless told otherwise."""
    body = dict(data or {})
    body.setdefault("expected_revision", draft(app, definition_id)[1] if revision is None else revision)
    return web.post(base(definition_id) + path, body, htmx=htmx)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def add_rule(web: Web, app: Any, definition_id: int, name: str, trigger: str = "case.submitted") -> str:
    _rules, revision = draft(app, definition_id)
    response = web.post(base(definition_id), {"nr-name": name, "nr-trigger": trigger,
                                              "nr-expected_revision": revision}, htmx=True)
    assert response.status_code == 200, text(response)[:3000]
    rules, _revision = draft(app, definition_id)
    return str(rules["rules"][-1]["id"])


def set_condition(web: Web, app: Any, definition_id: int, rule_id: str, *rows: tuple[str, str, Any],
                  mode: str = "all") -> Any:
    data: dict[str, Any] = {"enabled": "1", "mode": mode, "rows": str(len(rows))}
    for i, (field, op, value) in enumerate(rows):
        data.update({f"field-{i}": field, f"op-{i}": op, f"value-{i}": value})
    return post(web, app, definition_id, f"{rule_id}/condition", data)


def add_action(web: Web, app: Any, definition_id: int, rule_id: str, kind: str, **settings: Any) -> Any:
    data = {"anew-type": kind, **{f"anew-{k}": v for k, v in settings.items()}}
    return post(web, app, definition_id, f"{rule_id}/actions", data)


def escalation(web: Web, app: Any, definition_id: int) -> str:
    """Critical complaints go to Escalations, urgently."""
    rule_id = add_rule(web, app, definition_id, "Escalate critical complaints")
    assert set_condition(web, app, definition_id, rule_id, ("severity", "eq", "critical")).status_code == 200
    assert add_action(web, app, definition_id, rule_id, "route_to_queue", queue="escalations").status_code == 200
    assert add_action(web, app, definition_id, rule_id, "set_priority", priority="urgent").status_code == 200
    return rule_id


# ---------------------------------------------------------------- access and the page


def test_only_admins_reach_the_rule_designer(app: Any, case_type: int, demo_users: Any) -> None:
    anonymous = app.test_client().get(base(case_type))
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for email in ("agent@example.com", "requester@example.com", "auditor@example.com"):
        web = Web(app.test_client())
        web.login(email)
        assert web.get(base(case_type)).status_code == 403
        assert web.post(base(case_type), {"nr-name": "x", "nr-trigger": "case.submitted",
                                          "nr-expected_revision": "1"}).status_code == 403
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    page = admin.get(base(case_type))
    assert page.status_code == 200
    html = text(page)
    assert "No rules yet" in html and 'id="rule-test"' in html and 'id="backtest"' in html
    editor = text(admin.get(f"/designer/case-types/{case_type}"))
    assert f'href="{base(case_type)}"' in element(editor, "rules")


def test_a_rule_is_built_with_pickers_and_summarised_in_plain_language(app: Any, admin: Web, case_type: int) -> None:
    rule_id = escalation(admin, app, case_type)
    rules, _revision = draft(app, case_type)
    assert rules["rules"] == [{
        "id": rule_id, "name": "Escalate critical complaints", "trigger": "case.submitted", "priority": 10,
        "enabled": True, "condition": {"field": "severity", "op": "eq", "value": "critical"},
        "actions": [{"type": "route_to_queue", "queue": "escalations"}, {"type": "set_priority", "priority": "urgent"}],
    }]
    page = text(admin.get(base(case_type) + f"?rule={rule_id}"))
    card = element(page, f"rule-{rule_id}")
    assert ("When a case is submitted and Severity is Critical: route to Escalations, set priority to Urgent"
            in card)
    # The editor shows the stored condition back in its pickers, and each action in its inputs.
    builder = element(page, "rl-cond")
    assert re.search(r'<option value="severity" selected>', builder)
    assert re.search(r'<option value="critical" selected>Critical</option>', builder)
    assert re.search(r'<option value="escalations" selected>Escalations</option>', element(page, "act-form-0"))
    assert "No problems in the rules" in page


def test_settings_conditions_and_actions_round_trip(app: Any, admin: Web, case_type: int) -> None:
    rule_id = add_rule(admin, app, case_type, "Repeat customers")
    response = post(admin, app, case_type, f"{rule_id}/condition", {
        "enabled": "1", "mode": "any", "rows": "2",
        "field-0": "case.requester_recent_cases", "op-0": "gte", "value-0": "2", "days-0": "90",
        "field-1": "customer_tier", "op-1": "in", "value-1": ["gold", "silver"]})
    assert response.status_code == 200, text(response)[:2000]
    assert add_action(admin, app, case_type, rule_id, "assign_to", by="strategy", strategy="round_robin",
                      queue="general", user="agent@example.com").status_code == 200
    assert add_action(admin, app, case_type, rule_id, "set_due_in", hours="4", business_hours="y").status_code == 200
    assert add_action(admin, app, case_type, rule_id, "notify", to="requester", queue="general",
                      message="We are on it").status_code == 200
    rule = draft(app, case_type)[0]["rules"][0]
    assert rule["condition"] == {"any": [
        {"field": "case.requester_recent_cases", "op": "gte", "value": 2, "days": 90},
        {"field": "customer_tier", "op": "in", "value": ["gold", "silver"]}]}
    assert rule["actions"] == [
        {"type": "assign_to", "strategy": "round_robin", "queue": "general"},
        {"type": "set_due_in", "hours": 4, "business_hours": True},
        {"type": "notify", "to": "requester", "message": "We are on it"}]
    # Change one action, move it, remove another; rename the rule and move it to another trigger.
    assert post(admin, app, case_type, f"{rule_id}/actions/1", {"a1-type": "set_due_in", "a1-hours": "8"}
                ).status_code == 200
    assert post(admin, app, case_type, f"{rule_id}/actions/1/move", {"direction": "up"}).status_code == 200
    assert post(admin, app, case_type, f"{rule_id}/actions/2/remove").status_code == 200
    response = post(admin, app, case_type, f"{rule_id}/settings", {
        "rs-name": "Repeat customers first", "rs-trigger": "case.updated", "rs-enabled": "y", "rs-description": "Why",
        "rs-expected_revision": draft(app, case_type)[1]})
    assert response.status_code == 200
    rule = draft(app, case_type)[0]["rules"][0]
    assert [a["type"] for a in rule["actions"]] == ["set_due_in", "assign_to"]
    assert rule["actions"][0] == {"type": "set_due_in", "hours": 8, "business_hours": False}
    assert (rule["name"], rule["trigger"], rule["description"]) == ("Repeat customers first", "case.updated", "Why")
    page = text(admin.get(base(case_type) + f"?rule={rule_id}"))
    assert 'value="90"' in element(page, "rl-cond-0")
    # The picker re-draw: another field gets operators that fit it, nothing is saved.
    revision = draft(app, case_type)[1]
    redraw = admin.get(base(case_type) + f"{rule_id}/condition?enabled=1&rows=1&field-0=case.age_hours&op-0=in",
                       headers={"HX-Request": "true"})
    assert redraw.status_code == 200 and '<option value="gt"' in text(redraw)
    form = admin.get(base(case_type) + f"{rule_id}/action-form?slot=new&anew-type=require_approval",
                     headers={"HX-Request": "true"})
    assert 'name="anew-approver"' in text(form) and 'name="anew-on_approve"' in text(form)
    assert draft(app, case_type)[1] == revision


def test_reorder_by_buttons_and_by_dropping_keeps_priorities_unique(app: Any, admin: Web, case_type: int) -> None:
    ids = [add_rule(admin, app, case_type, name) for name in ("One", "Two", "Three")]
    for rule_id, severity in zip(ids, ("low", "medium", "high"), strict=True):
        set_condition(admin, app, case_type, rule_id, ("severity", "eq", severity))
        add_action(admin, app, case_type, rule_id, "add_tag", tag=rule_id)
    response = post(admin, app, case_type, f"{ids[2]}/move", {"direction": "up"})
    assert "“Three” is now rule 2 of 3 tried when a case is submitted." in element(text(response), "rl-status")

    def order() -> list[tuple[str, int]]:
        rules = draft(app, case_type)[0]["rules"]
        return sorted(((r["id"], r["priority"]) for r in rules), key=lambda pair: pair[1])

    assert order() == [("one", 10), ("three", 20), ("two", 30)]
    response = post(admin, app, case_type, "move", {"rule": "one", "position": "2"})  # dropped at the end
    assert response.status_code == 200
    assert order() == [("three", 10), ("two", 20), ("one", 30)]
    html = text(admin.get(base(case_type)))
    positions = [m.group(1) for m in re.finditer(r'<li class="rl-card[^"]*"\s+id="rule-([a-z_]+)"', html)]
    assert positions == ["three", "two", "one"]
    assert re.search(r'id="move-three-up" disabled', html) and not re.search(r'id="move-two-up" disabled', html)


def test_delete_undo_and_duplicate(app: Any, admin: Web, case_type: int) -> None:
    rule_id = escalation(admin, app, case_type)
    before = draft(app, case_type)[0]
    response = post(admin, app, case_type, f"{rule_id}/delete")
    status = element(text(response), "rl-status")
    assert "Rule “Escalate critical complaints” deleted." in status and 'id="undo-button"' in status
    assert draft(app, case_type)[0]["rules"] == []
    removed = re.search(r'name="removed" value="([^"]+)"', status)
    assert removed
    response = post(admin, app, case_type, "restore", {"removed": html_lib.unescape(removed.group(1))})
    assert "is back" in text(response)
    assert draft(app, case_type)[0] == before
    response = post(admin, app, case_type, f"{rule_id}/duplicate")
    rules = draft(app, case_type)[0]["rules"]
    assert [(r["name"], r["enabled"]) for r in rules] == [("Escalate critical complaints", True),
                                                          ("Escalate critical complaints (copy)", False)]
    assert "The copy is off" in text(response)
    assert post(admin, app, case_type, "restore", {"removed": "garbage"}).status_code == 422


def test_problems_are_shown_at_the_rule_condition_and_action_they_concern(app: Any, admin: Web,
                                                                          case_type: int) -> None:
    rule_id = add_rule(admin, app, case_type, "Half done")
    set_condition(admin, app, case_type, rule_id, ("severity", "eq", "critical"), ("customer_tier", "gt", "5"))
    response = add_action(admin, app, case_type, rule_id, "route_to_queue", queue="")
    html = text(response)
    assert "2 things to fix in the rules" in element(html, "rl-problems")
    row = element(html, "rl-cond-1")
    assert "error" in row and "Customer tier" in row  # the operator that does not fit, on its own row
    action = element(html, "act-0")
    assert "needs the setting" in action and 'aria-describedby="a0-queue-problem"' in action
    assert "problems to fix" in element(html, "rule-half_done")
    # The case-type editor links its rule problems to the rule designer.
    editor = text(admin.get(f"/designer/case-types/{case_type}"))
    assert '<a href="#rules">Rule “Half done”</a>' in element(editor, "problems")
    assert "2 problems in the rules" in element(editor, "rules")


def test_a_stale_page_is_refused_with_a_reload_link(app: Any, admin: Web, case_type: int) -> None:
    rule_id = add_rule(admin, app, case_type, "First")
    _rules, revision = draft(app, case_type)
    add_action(admin, app, case_type, rule_id, "add_tag", tag="x")  # someone else's edit meanwhile
    response = post(admin, app, case_type, f"{rule_id}/delete", revision=revision)
    assert response.status_code == 409
    html = text(response)
    assert "Someone else changed this draft" in html and "Reload the draft" in html
    assert [r["id"] for r in draft(app, case_type)[0]["rules"]] == [rule_id]
    assert post(admin, app, case_type, "missing/delete").status_code == 404
    refused = admin.post(base(case_type) + f"{rule_id}/delete", {}, htmx=True)
    assert refused.status_code == 409


def test_edits_refused_without_htmx_redirect_and_names_are_escaped(app: Any, admin: Web, case_type: int) -> None:
    _rules, revision = draft(app, case_type)
    response = admin.post(base(case_type), {"nr-name": "<script>alert(1)</script>", "nr-trigger": "case.submitted",
                                            "nr-expected_revision": revision})
    assert response.status_code == 303
    page = text(admin.get(response.headers["Location"]))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    empty = admin.post(base(case_type), {"nr-name": " ", "nr-trigger": "case.submitted",
                                         "nr-expected_revision": draft(app, case_type)[1]}, htmx=True)
    assert empty.status_code == 422 and "Enter a name for the rule." in text(empty)


# ---------------------------------------------------------------- trying the draft


def sample(**answers: Any) -> dict[str, Any]:
    return {"tp-trigger": "case.submitted", "tp-state": "new", "tp-queue": "general", "tp-priority": "normal",
            "tp-age_hours": "0", "tp-earlier_cases": "0", **{**CALM, **answers}}


def test_the_test_panel_says_which_rule_fires_in_both_evaluators(app: Any, admin: Web, case_type: int) -> None:
    escalation(admin, app, case_type)
    fired = admin.post(base(case_type) + "test", sample(severity="critical"), htmx=True)
    assert fired.status_code == 200
    result = element(text(fired), "rule-test-result")
    assert "Rule <strong>“Escalate critical complaints”</strong> fires: route to Escalations, set priority to Urgent" \
        in result
    # Engine names and "evaluators" are developers' words: the admin reads what the rules decide.
    assert "evaluator" not in text(fired).lower() and "durable" not in text(fired).lower()
    calm = element(text(admin.post(base(case_type) + "test", sample(), htmx=True)), "rule-test-result")
    assert "No rule fires" in calm
    # The sample keeps what was typed; a wrong input is marked where it is, and nothing is tried.
    wrong = admin.post(base(case_type) + "test", sample(**{"tp-age_hours": "soon", "severity": "purple"}), htmx=True)
    assert wrong.status_code == 422
    html = text(wrong)
    assert 'id="tp-age_hours-error"' in html and 'aria-invalid="true"' in element(html, "tp-age_hours")
    assert "Select one of the options." in html
    assert 'value="Riley Requester"' in html
    # Without htmx, the whole page comes back with the answer in it.
    page = admin.post(base(case_type) + "test", sample(severity="critical"))
    assert page.status_code == 200 and 'id="rl-workspace"' in text(page) and "fires" in text(page)


def test_a_disagreement_between_the_evaluators_is_a_visible_warning(app: Any, admin: Web, case_type: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from cases import rule_testing
    from rules import Evaluation

    class Contrary:
        def evaluate(self, ruleset: Any, trigger: str, facts: Any) -> Evaluation:
            return Evaluation(trigger, None, None, "contrary", None, ())

    escalation(admin, app, case_type)
    monkeypatch.setattr(rule_testing, "DurableEvaluator", Contrary)
    result = element(text(admin.post(base(case_type) + "test", sample(severity="critical"), htmx=True)),
                     "rule-test-result")
    assert 'role="alert"' in result and "cross-check of the rules gave two different answers" in result
    assert "the rules as they run: no rule fires" in result
    assert "the cross-check: rule “Escalate critical complaints”" in result
    assert "durable" not in result.lower() and "evaluator" not in result.lower()


def test_the_test_panel_waits_for_a_draft_without_problems(app: Any, admin: Web, case_type: int) -> None:
    none_yet = element(text(admin.post(base(case_type) + "test", sample(), htmx=True)), "rule-test-result")
    assert "no rules yet" in none_yet
    add_rule(admin, app, case_type, "Unfinished")
    blocked = element(text(admin.post(base(case_type) + "test", sample(), htmx=True)), "rule-test-result")
    assert "problem to fix first" in blocked


def file_cases(app: Any, case_type: int, *severities: str) -> list[str]:
    with app.app_context():
        definition = db.session.get(Definition, case_type)
        requester = accounts.find_user(db.session, "requester@example.com")
        assert definition is not None and requester is not None
        refs = [lifecycle.file_case(db.session, definition, {**CALM, "severity": s}, uploader=Uploader(requester)).ref
                for s in severities]
        db.session.remove()
    return refs


def test_back_test_compares_the_draft_with_the_published_rules_on_filed_cases(app: Any, admin: Web,
                                                                             case_type: int) -> None:
    refs = file_cases(app, case_type, "low", "critical", "medium", "critical")
    escalation(admin, app, case_type)
    response = admin.post(base(case_type) + "backtest", {"bt-limit": "100", "bt-trigger": "case.submitted"},
                          htmx=True)
    assert response.status_code == 200
    html = text(response)
    assert "2 of 4 cases would be decided differently" in html
    assert "Compared with the rules of version 1" in html
    changes = element(html, "bt-changes")
    assert refs[1] in changes and refs[3] in changes and refs[0] not in changes
    assert "route to Escalations, set priority to Urgent" in changes and "no rule fires" in changes
    assert "/work/cases/" in changes
    assert "Route to queue" in html and "Set priority" in html  # by kind of action
    hits = re.search(r"Escalate critical complaints</th><td>0</td><td>2</td>", html)
    assert hits, html
    # Limits are checked; a new version of the rules is compared with what is published.
    assert admin.post(base(case_type) + "backtest", {"bt-limit": "1001", "bt-trigger": "case.submitted"},
                      htmx=True).status_code == 422
    one = text(admin.post(base(case_type) + "backtest", {"bt-limit": "1", "bt-trigger": "case.submitted"}, htmx=True))
    assert "1 of 1 case would be decided differently" in one


def test_back_test_uses_the_case_as_filed(app: Any, admin: Web, case_type: int) -> None:
    """A case filed as critical and downgraded later still counts as critical on submission."""
    (ref,) = file_cases(app, case_type, "critical")
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == ref))
        assert case is not None
        data = json.loads(case.data)
        case.data = json.dumps({**data, "severity": "low"})
        db.session.commit()
        db.session.remove()
    escalation(admin, app, case_type)
    html = text(admin.post(base(case_type) + "backtest", {"bt-limit": "10", "bt-trigger": "case.submitted"},
                           htmx=True))
    assert "1 of 1 case would be decided differently" in html
    now = text(admin.post(base(case_type) + "backtest", {"bt-limit": "10", "bt-trigger": "case.updated"}, htmx=True))
    assert "0 of 1 case would be decided differently" in now


# ---------------------------------------------------------------- notices for admins and agents


def test_the_dashboard_lists_recent_rule_failures(app: Any, admin: Web, case_type: int) -> None:
    escalation(admin, app, case_type)
    revision = draft(app, case_type)[1]
    published = admin.post(f"/designer/case-types/{case_type}/publish",
                           {"pub-expected_revision": revision, "pub-change_note": "Escalations"})
    assert published.status_code == 303
    with app.app_context():
        queue = accounts.find_queue(db.session, "escalations")
        assert queue is not None
        accounts.update_queue(db.session, queue, name="Escalations", description="", active=False)
        db.session.remove()
    (ref,) = file_cases(app, case_type, "critical")
    dashboard = text(admin.get("/designer/"))
    notice = element(dashboard, "rule-failures")
    assert ref in notice and "/work/cases/" in notice and "case.submitted" in notice


def test_at_risk_cases_are_marked_in_the_work_list(app: Any, case_type: int, demo_users: Any) -> None:
    (ref, other) = file_cases(app, case_type, "low", "low")
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == ref))
        assert case is not None
        now = datetime.now(UTC)
        db.session.add(Deadline(case_id=case.id, kind="response", state=case.state, status="running",
                                target_seconds=3600, business_hours=False, due_at=now + timedelta(minutes=10),
                                warn_at=None, warned_at=now - timedelta(minutes=5), created_at=now))
        case.due_at = now + timedelta(minutes=10)
        db.session.commit()
        db.session.remove()
    agent = Web(app.test_client())
    agent.login("agent@example.com")
    html = text(agent.get("/work/?scope=all"))
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr[^>]*>.*?(CMP-\d+).*?</tr>", html, re.S)}
    assert "at risk" in rows[ref] and "at risk" not in rows[other]
