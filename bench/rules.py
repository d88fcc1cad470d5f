"""Benchmark: rule evaluation through durable-rules and through the plain-Python reference, in the same run.

    .venv/bin/python bench/rules.py [--rules 50] [--n 20000] [--seed 1]

Builds a realistic ruleset (every rule on case.submitted, so first-match has the most to do), draws N seeded
random cases, checks that both evaluators give the same answer for every case, then times each. One
evaluation is one routing decision (a rule fires, or none does); the figures include turning facts into the
engine's event. Times are CPU time of this process (robust on a busy machine), with wall-clock time beside
them. The goal is under 100 microseconds per decision through durable-rules.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _rules_package() -> Any:
    """Import the rules package: this file is named rules.py too, so its folder must not shadow it."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(HERE.parent))
    import rules.compile
    import rules.engine
    import rules.model
    import rules.validate

    return rules


SEVERITIES = ["low", "medium", "high", "critical"]
TIERS = ["bronze", "silver", "gold"]
PRODUCTS = ["router", "switch", "modem", "cable", "antenna"]
WORDS = ["refund", "broken", "late", "invoice", "fraud", "angry", "lawyer", "cancel", "urgent", "repeat"]
QUEUES = ["general", "escalations", "finance", "vip", "legal"]


def _clause(field: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    out = {"field": field, "op": op, **extra}
    if op not in ("empty", "not_empty", "is_true", "is_false"):
        out["value"] = value
    return out


def build_document(count: int, rng: random.Random) -> dict[str, Any]:
    """``count`` distinct rules mixing every kind of test a routing ruleset uses."""
    def week(i: int) -> str:
        return (dt.date(2024, 1, 1) + dt.timedelta(days=7 * i)).isoformat()

    templates = [
        lambda i: {"all": [_clause("amount", "gt", 1000 * (i + 1)),
                           _clause("severity", "in", rng.sample(SEVERITIES, 2))]},
        lambda i: _clause("description", "contains", f"{rng.choice(WORDS)} {i}"),
        lambda i: {"all": [_clause("customer_tier", "eq", rng.choice(TIERS)),
                           _clause("products", "contains", rng.choice(PRODUCTS)), _clause("quantity", "gte", i)]},
        lambda i: {"all": [_clause("due_date", "before", week(i)), _clause("urgent", "is_true")]},
        lambda i: {"any": [{"all": [_clause("severity", "eq", "critical"),
                                    _clause("amount", "between", [i, 10 * i + 5])]},
                           _clause("case.requester_recent_cases", "gte", 3 + i, days=90)]},
        lambda i: {"all": [_clause("customer_tier", "neq", "bronze"),
                           _clause("email", "not_in", [f"vip{i}@example.com"]), _clause("amount", "lt", f"{i}.5")]},
        lambda i: {"all": [_clause("case.tags", "contains", "vip"), _clause("quantity", "eq", i)]},
        lambda i: {"not": {"any": [_clause("description", "empty"), _clause("amount", "lte", 50000 + i)]}},
    ]
    rules = []
    for i in range(count):
        rules.append({
            "id": f"rule-{i}", "name": f"Rule {i}", "trigger": "case.submitted", "priority": 10 * (i + 1),
            "enabled": True, "condition": templates[i % len(templates)](i),
            "actions": [{"type": "route_to_queue", "queue": rng.choice(QUEUES)},
                        {"type": "set_priority", "priority": rng.choice(["normal", "high", "urgent"])}],
        })
    return {"schema_version": 1, "rules": rules}


def random_facts(rng: random.Random, count: int) -> dict[str, Any]:
    """One case's facts, typed as the facts provider hands them over."""
    facts: dict[str, Any] = {
        "severity": rng.choice([*SEVERITIES, None]),
        "customer_tier": rng.choice(TIERS),
        "amount": Decimal(rng.randint(0, 1000 * count * 100)) / 100,
        "quantity": rng.randint(0, count),
        "description": " ".join(rng.choice([*WORDS, str(rng.randint(0, count))]) for _ in range(rng.randint(0, 12))),
        "email": f"user{rng.randint(0, 50)}@example.com",
        "products": rng.sample(PRODUCTS, rng.randint(0, 3)),
        "due_date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(-30, 7 * count)),
        "urgent": rng.random() < 0.3,
        "case.tags": rng.sample(["vip", "fraud", "repeat"], rng.randint(0, 2)),
        "case.requester_recent_cases.90": rng.randint(0, count + 3),
    }
    return facts


def _time(evaluator: Any, compiled: Any, cases: list[dict[str, Any]]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for evaluating every case: CPU time is what the evaluator costs even on a
    busy machine; wall time is what a caller waits when the machine is otherwise idle."""
    cpu, wall = time.process_time(), time.perf_counter()
    for facts in cases:
        evaluator.evaluate(compiled, "case.submitted", facts)
    return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=50, help="rules in the ruleset (default 50)")
    parser.add_argument("--n", type=int, default=20000, help="evaluations per evaluator (default 20000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rules = _rules_package()
    rng = random.Random(args.seed)
    ctx = rules.model.ValidationContext(
        fields={"severity": "choice", "customer_tier": "choice", "amount": "number", "quantity": "number",
                "description": "text", "email": "text", "products": "multi", "due_date": "date", "urgent": "bool"},
        options={"severity": SEVERITIES, "customer_tier": TIERS, "products": PRODUCTS},
        queues=QUEUES, states=["new"], tags=["vip", "fraud", "repeat"],
    )
    started = time.perf_counter()
    ruleset = rules.validate.validate_ruleset(build_document(args.rules, rng), ctx)
    compiled = rules.compile.compile_ruleset(ruleset, case_type="bench", version=1)
    compile_ms = (time.perf_counter() - started) * 1000
    cases = [random_facts(rng, args.rules) for _ in range(args.n)]
    durable, reference = rules.engine.DurableEvaluator(), rules.engine.ReferenceEvaluator()
    durable.load(compiled)

    disagreements = matched = 0
    for facts in cases:
        left = durable.evaluate(compiled, "case.submitted", facts)
        right = reference.evaluate(compiled, "case.submitted", facts)
        disagreements += left.rule_id != right.rule_id
        matched += right.rule_id is not None

    durable_cpu, durable_wall = _time(durable, compiled, cases)
    reference_cpu, reference_wall = _time(reference, compiled, cases)
    engine_rules = len(compiled.definition) - 1
    print(f"ruleset: {args.rules} rules ({engine_rules} engine rules), validated and compiled in {compile_ms:.1f} ms")
    print(f"cases: {args.n} (a rule fired for {matched}, none for {args.n - matched}); "
          f"disagreements between the evaluators: {disagreements}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (wall figures suffer under load)")
    print(f"{'':26} {'evaluations/s':>14} {'us/decision':>12} {'wall evals/s':>13} {'wall us/dec':>12}")
    for label, cpu, wall in (("durable-rules", durable_cpu, durable_wall),
                             ("reference (plain Python)", reference_cpu, reference_wall)):
        print(f"{label:26} {args.n / cpu:14,.0f} {cpu / args.n * 1e6:12.1f} {args.n / wall:13,.0f} "
              f"{wall / args.n * 1e6:12.1f}")
    ratio = durable_cpu / reference_cpu
    per_decision = durable_cpu / args.n * 1e6
    print(f"durable-rules takes {ratio:.2f}x the CPU time of the reference per decision; goal < 100 us per decision "
          f"through durable-rules: {'met' if per_decision < 100 else 'NOT met'} ({per_decision:.1f} us)")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
