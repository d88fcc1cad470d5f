"""Compiling rulesets to durable-rules JSON, and encoding facts into the one event it reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from rules.compile import (
    BUCKET_SIZE,
    CATCH_ALL_PRI,
    MAX_BRANCHES_PER_TRIGGER,
    CompiledRuleset,
    compile_draft,
    compile_ruleset,
)
from rules.engine import DurableEvaluator, ReferenceEvaluator
from rules.errors import RuleInvalid
from rules.facts import normalize_facts
from rules.literals import fnv1a_32
from rules.model import ValidationContext
from rules.validate import validate_ruleset
from tests.rules.rules_helpers import COMPLAINT_ESCALATION, clause, doc, rule, unique_slug


def _alternatives(compiled: CompiledRuleset) -> dict[str, list[dict[str, Any]]]:
    """Engine rule name -> its list of tests, for every rule but the catch-all."""
    return {name: body["all"][0]["m"]["$and"] for name, body in compiled.definition.items() if name != "catch_all"}


def _event(compiled: CompiledRuleset, facts: dict[str, Any], trigger: str = "case.submitted") -> dict[str, Any]:
    return compiled.encoder.encode(trigger, normalize_facts(compiled.families, facts))


# --- names and shape -------------------------------------------------------------------------------


def test_published_and_draft_names(build: Any) -> None:
    ruleset = build(rule("a", 10, clause("amount", "gt", 1)))
    assert compile_ruleset(ruleset, case_type="complaint", version=3).name == "complaint@v3"
    draft = compile_draft(ruleset, case_type="complaint")
    assert draft.name.startswith("complaint@draft-") and draft.version is None
    assert compile_draft(build(rule("a", 10, clause("amount", "gt", 1))), case_type="complaint").name == draft.name
    assert compile_draft(build(rule("a", 10, clause("amount", "gt", 2))), case_type="complaint").name != draft.name


@pytest.mark.parametrize(("case_type", "version"), [("Bad Slug", 1), ("ok", 0), ("ok", True), ("", 1)])
def test_bad_names_are_refused(build: Any, case_type: str, version: Any) -> None:
    with pytest.raises(RuleInvalid):
        compile_ruleset(build(rule("a", 10)), case_type=case_type, version=version)


def test_every_alternative_tests_its_trigger_first_and_a_catch_all_handles_the_rest(build: Any) -> None:
    compiled = compile_draft(build(
        rule("c", 50, clause("amount", "empty")),
        rule("a", 10, {"any": [clause("severity", "eq", "high"), clause("amount", "gt", 5)]}),
        rule("b", 30, clause("severity", "neq", "low")),
        rule("u", 10, clause("amount", "empty"), trigger="case.updated"),
        rule("off", 1, clause("amount", "gt", 0), enabled=False),
    ), case_type=unique_slug())
    alternatives = _alternatives(compiled)
    assert sorted(alternatives) == ["r0_0", "r1_0", "r1_1", "r2_0", "r3_0"]  # the disabled rule is left out
    for tests in alternatives.values():
        assert "trigger" in tests[0] and "_b" in tests[1]["$neq"]
    pri = {name: body["pri"] for name, body in compiled.definition.items()}
    assert pri == {"r1_0": 1, "r1_1": 1, "r2_0": 2, "r0_0": 3, "r3_0": 1, "catch_all": CATCH_ALL_PRI}
    assert compiled.definition["catch_all"]["all"] == [{"m": {"$ex": {"trigger": 1}}}]
    assert compiled.actions == {"casework:no-rule": None, "casework:1": "a", "casework:2": "b", "casework:0": "c",
                                "casework:3": "u"}


def test_the_json_is_what_durable_lang_writes(build: Any) -> None:
    """The JSON form of each construct, checked against what durable.lang's define() returns."""
    from durable import lang

    compiled = compile_draft(build(
        rule("a", 10, {"all": [
            clause("severity", "in", ["high", "critical"]),
            clause("amount", "gte", 2),
            clause("urgent", "empty"),
            clause("products", "contains", "router"),
            clause("customer_tier", "neq", "gold"),
        ]}),
    ), case_type=unique_slug())
    tests = _alternatives(compiled)["r0_0"]
    m, item = lang.m, lang.item
    expected = ((m.trigger == "case.submitted") & (m._b != 1)
                & ((m.v_severity == "high") | (m.v_severity == "critical"))
                & (m.v_amount >= 2) & -m.v_urgent & m.v_products.anyItem(item == "router")
                & (-m.v_customer_tier | (m.v_customer_tier != "gold"))).define()
    assert {"$and": tests} == expected


def test_rules_are_bucketed_so_many_matches_do_not_overflow_the_engine(ctx: ValidationContext) -> None:
    """More than ~64 alternatives matching one event at once fail with error 303 without buckets."""
    rules = [rule(f"r{i}", i + 1, clause("amount", "gt", i)) for i in range(150)]
    compiled = compile_ruleset(validate_ruleset(doc(*rules), ctx), case_type=unique_slug(), version=1)
    buckets = {tests[1]["$neq"]["_b"] for tests in _alternatives(compiled).values()}
    assert len(buckets) == -(-150 // BUCKET_SIZE)
    for amount, expected in ((1000, "r0"), (0.5, "r0"), (-1, None), (149.5, "r0")):
        assert DurableEvaluator().evaluate(compiled, "case.submitted", {"amount": amount}).rule_id == expected
    last_only = compile_ruleset(validate_ruleset(doc(*[rule(f"r{i}", i + 1, clause("amount", "lt", -i))
                                                       for i in range(150)]), ctx), case_type=unique_slug(), version=1)
    assert DurableEvaluator().evaluate(last_only, "case.submitted", {"amount": -148.5}).rule_id == "r0"
    assert DurableEvaluator().evaluate(last_only, "case.submitted", {"amount": 0}).rule_id is None


def test_too_many_alternatives_per_trigger_are_refused(ctx: ValidationContext) -> None:
    any_of = {"any": [clause("amount", "eq", n) for n in range(4)]}
    rules = [rule(f"r{i}", i + 1, {"all": [clause("quantity", "eq", i), any_of]}) for i in range(100)]
    with pytest.raises(RuleInvalid) as caught:
        validate_ruleset(doc(*rules), ctx)
    assert caught.value.errors[0].path == "rules"
    assert str(MAX_BRANCHES_PER_TRIGGER) in caught.value.errors[0].message


# --- limits refused at save time -------------------------------------------------------------------


def test_a_condition_with_too_many_alternatives_is_refused(ctx: ValidationContext) -> None:
    pairs = [{"any": [clause("amount", "eq", 2 * n), clause("quantity", "eq", n)]} for n in range(6)]  # 2**6
    with pytest.raises(RuleInvalid) as caught:
        validate_ruleset(doc(rule("big", 10, {"all": pairs})), ctx)
    assert caught.value.errors == [(
        "rules[0].condition",
        "This condition is too complex for the rules engine: written out it has more than 32 alternatives. "
        "Split the rule in two or simplify its 'any' groups.")]


def test_a_condition_with_too_many_groups_is_refused(ctx: ValidationContext) -> None:
    tests = [clause("quantity", "neq", n) for n in range(15)]  # every neq is "empty or different": one $or each
    with pytest.raises(RuleInvalid) as caught:
        validate_ruleset(doc(rule("many", 10, {"all": tests})), ctx)
    assert caught.value.errors[0].path == "rules[0].condition"
    assert "16 groups" in caught.value.errors[0].message
    validate_ruleset(doc(rule("many", 10, {"all": tests[:14]})), ctx)


@pytest.mark.parametrize(("field", "value", "why"), [
    ("amount", "0.0001", "at most 12 significant digits"),
    ("amount", "1234567890.123", "at most 12 significant digits"),
    ("amount", 10**16, "at most 12 significant digits"),
    ("incident_at", "2200-01-01T00:00:00+00:00", "between 1834 and 2106"),
])
def test_constants_the_engine_cannot_compare_exactly_are_refused(ctx: ValidationContext, field: str, value: str,
                                                                 why: str) -> None:
    with pytest.raises(RuleInvalid) as caught:
        validate_ruleset(doc(rule("r", 10, clause(field, "after" if field == "incident_at" else "gt", value))), ctx)
    assert caught.value.errors[0].path == "rules[0].condition"
    assert why in caught.value.errors[0].message


def test_more_properties_than_one_event_holds_are_refused() -> None:
    fields = {f"f{n}": "text" for n in range(260)}
    ctx = ValidationContext(fields=fields, queues=["general"])

    def ruleset(count: int) -> Any:
        return doc(rule("wide", 10, {"all": [clause(f"f{n}", "not_empty") for n in range(count)]}))

    with pytest.raises(RuleInvalid) as caught:
        validate_ruleset(ruleset(251), ctx)
    assert caught.value.errors[0].path == "rules"
    assert "at most 250" in caught.value.errors[0].message
    compiled = compile_ruleset(validate_ruleset(ruleset(250), ctx), case_type=unique_slug(), version=1)
    facts = {f"f{n}": "x" for n in range(260)}
    assert DurableEvaluator().evaluate(compiled, "case.submitted", facts).rule_id == "wide"
    assert len(_event(compiled, facts)) == 252  # trigger, _b and 250 facts (+ sid and id when posted)
    facts["f249"] = "   "
    assert DurableEvaluator().evaluate(compiled, "case.submitted", facts).rule_id is None


# --- the fact encoder --------------------------------------------------------------------------------


def test_facts_are_coerced_to_their_family_and_empty_ones_left_out(build: Any) -> None:
    compiled = compile_draft(build(rule("every", 10, {"all": [
        clause("description", "contains", "Refund"), clause("email", "eq", "x@y.z"),
        clause("amount", "gt", 10000), clause("quantity", "lt", "2.5"), clause("due_date", "after", "2024-01-01"),
        clause("incident_at", "before", "2024-01-01T00:00:00+00:00"), clause("severity", "eq", "high"),
        clause("products", "contains", "router"), clause("urgent", "is_true"), clause("attachments", "not_empty"),
        clause("items", "empty"),
    ]})), case_type=unique_slug())
    event = _event(compiled, {
        "description": "  I want a REFUND now ", "email": "   ", "amount": Decimal("10000.01"), "quantity": 3,
        "due_date": "2024-02-01", "incident_at": dt.datetime(2023, 12, 31, 23, 0, 0, 500000, tzinfo=dt.UTC),
        "severity": "high", "products": ["router", "modem"], "urgent": "yes", "attachments": [{"name": "a.pdf"}],
        "items": [], "not_in_any_rule": "ignored",
    })
    assert event == {
        "trigger": "case.submitted", "_b": 0,
        "v_description": "i want a refund now", "p_description": ["c0"],
        "v_amount": 10000.01, "v_quantity": 3,
        "v_due_date": dt.date(2024, 2, 1).toordinal(),
        "v_incident_at": 1704063600.5,
        "v_severity": "high", "v_products": ["router", "modem"], "v_urgent": True, "v_attachments": 1,
    }
    assert isinstance(event["v_amount"], float) and isinstance(event["v_quantity"], int)


@pytest.mark.parametrize(("amount", "posted"), [
    (Decimal("10000"), 10000),
    (Decimal("10000.010"), 10000.01),
    (Decimal("10000.000000000000001"), None),  # too precise for a double: a stand-in between 10000 and 10000.01
    (Decimal("1e30"), 10001),                 # above every constant
    (Decimal("-1e30"), -1),                   # below every constant
    (Decimal("0.000000001"), 0.0005),
    (2**60, 10001),
])
def test_numbers_the_engine_cannot_read_exactly_get_an_exact_stand_in(build: Any, amount: Any, posted: Any) -> None:
    compiled = compile_draft(build(
        rule("exact", 10, clause("amount", "in", [10000, "10000.01", 0])),
        rule("above", 20, clause("amount", "gt", "0.001")),
    ), case_type=unique_slug())
    value = _event(compiled, {"amount": amount})["v_amount"]
    if posted is None:
        assert 10000 < value < 10000.01
    else:
        assert value == posted
    for evaluator in (DurableEvaluator(), ReferenceEvaluator()):
        expected = ReferenceEvaluator().evaluate(compiled, "case.submitted", {"amount": amount}).rule_id
        assert evaluator.evaluate(compiled, "case.submitted", {"amount": amount}).rule_id == expected


def test_text_too_long_for_the_engine_compares_as_it_should(build: Any) -> None:
    """The engine compares strings over 65535 bytes by their length modulo 65536: they get a stand-in."""
    compiled = compile_draft(build(
        rule("exact", 10, clause("description", "eq", "x" * 100)),
        rule("word", 20, clause("description", "contains", "needle")),
    ), case_type=unique_slug())
    long_text = "x" * 65_636  # 65636 % 65536 == 100: the engine alone would call it equal to "x" * 100
    event = _event(compiled, {"description": long_text})
    assert event["v_description"].startswith("\u0000long:")
    for evaluator in (DurableEvaluator(), ReferenceEvaluator()):
        assert evaluator.evaluate(compiled, "case.submitted", {"description": long_text}).rule_id is None
        assert evaluator.evaluate(compiled, "case.submitted", {"description": long_text + " needle"}).rule_id == "word"
        assert evaluator.evaluate(compiled, "case.submitted", {"description": " X" * 50}).rule_id is None
        assert evaluator.evaluate(compiled, "case.submitted", {"description": "X" * 100}).rule_id == "exact"


def test_contains_does_not_trust_the_engines_regular_expressions(build: Any) -> None:
    """durable-rules' $mt says ".*bbb.*" does not match "bbbbaa"; contains is computed while encoding."""
    compiled = compile_draft(build(rule("bbb", 10, clause("description", "contains", "bbb"))), case_type=unique_slug())
    assert "$mt" not in str(compiled.definition)
    for text, expected in (("bbbbaa", "bbb"), ("abbbb", "bbb"), ("bbab", None), ("B B B", None), ("xBbBx", "bbb")):
        assert DurableEvaluator().evaluate(compiled, "case.submitted", {"description": text}).rule_id == expected


def test_property_names_never_share_the_engines_hash() -> None:
    assert fnv1a_32("$and") == 3746487396 and fnv1a_32("$or") == 340911698  # the engine's own constants
    fields = {f"k{n}": "number" for n in range(200)} | {"case_state": "choice"}
    ctx = ValidationContext(fields=fields, queues=["general"])
    compiled = compile_ruleset(validate_ruleset(doc(rule("r", 10, {"all": [
        clause(key, "not_empty") for key in fields] + [clause("case.state", "not_empty")]})), ctx),
        case_type=unique_slug(), version=1)
    props = [slot.prop for slot in compiled.encoder.slots]
    assert len({fnv1a_32(p) for p in props} | {fnv1a_32(p) for p in ("sid", "id", "trigger", "_b")}) == len(props) + 4
    assert len(set(props)) == len(props)  # case.state and case_state do not collide


def test_facts_the_rules_need(ctx: ValidationContext) -> None:
    ruleset = validate_ruleset(COMPLAINT_ESCALATION, ctx)
    assert ruleset.required_facts() == {"severity", "customer_tier", "case.requester_recent_cases.90"}
    assert ruleset.recent_case_windows() == {90}
