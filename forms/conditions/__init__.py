"""# Condition language contract (shared by forms/ and rules/)

A condition is JSON:
    Condition := {"all": [Condition, ...]} | {"any": [Condition, ...]} | {"not": Condition} | Clause
    Clause    := {"field": "<field key>", "op": "<operator>", "value": <json>}
`value` is omitted for the unary operators (empty, not_empty, is_true, is_false).
{"all": []} is always true; {"any": []} is always false.

Each field has a *family* that decides which operators fit and how values compare:

| family | form field types                              | operators                                                   | python value type |
| ------ | --------------------------------------------- | ----------------------------------------------------------- | ----------------- |
| text   | short_text, long_text, email, phone, url      | eq, neq, in, not_in, contains, not_contains, empty, not_empty | str |
| number | integer, decimal, currency (and calculated)   | eq, neq, gt, gte, lt, lte, between, in, not_in, empty, not_empty | int / decimal.Decimal |
| date   | date                                          | eq, neq, before, after, between, empty, not_empty            | datetime.date |
| datetime | datetime                                    | before, after, between, empty, not_empty                      | aware datetime.datetime |
| choice | single_choice                                 | eq, neq, in, not_in, empty, not_empty                         | str (an option value) |
| multi  | multi_choice                                  | contains, not_contains, empty, not_empty                      | list[str] (option values) |
| bool   | yes_no                                        | is_true, is_false, empty, not_empty                           | bool |
| file   | file                                          | empty, not_empty                                             | list of file refs |
| group  | repeating group                               | empty, not_empty                                             | list of row dicts |

Semantics (both the plain-Python evaluator in forms/ and the durable-rules compiler in rules/ must give exactly these):
- A value is *empty* when the key is missing, or it is None, "" (after strip), or [].
- neq, not_in and not_contains are the exact negation of eq, in and contains, so they are TRUE for an empty value.
  Every other operator (eq, in, contains, gt, gte, lt, lte, between, before, after, is_true, is_false) is FALSE for an empty value.
- text comparisons (eq, neq, in, not_in, contains, not_contains) are case-insensitive and ignore surrounding white space
  (compare `s.strip().casefold()`); `contains` on text is substring.
- number: compared numerically (Decimal exactness; 10000 < 10000.01). `between` takes [low, high], inclusive both ends.
- date / datetime: `before` is strictly earlier, `after` strictly later, `between` [low, high] inclusive.
- choice: eq/in compare option values exactly (case-sensitive; they are machine values).
- multi: `contains` takes ONE option value and is true when it is among the selected ones.
- `in` / `not_in` take a non-empty JSON list.
- Condition values in JSON: numbers as JSON numbers or decimal strings ("10000.01"); dates as "YYYY-MM-DD";
  datetimes as ISO 8601 with offset; bools only for nothing (is_true/is_false are unary).

Public API of forms.conditions (pure Python, no Flask, no DB; the modules of this package hold the parts:
language = operators, families and parsed trees; values = emptiness and coercion; checking = validation and
parsing; evaluation; wording = plain-language descriptions):
    class ConditionError(forms.errors.FormsError): has .path (e.g. "all[1].value") and .message
    FAMILY_OPERATORS: Mapping[str, frozenset[str]]             # family -> operators allowed
    UNARY_OPERATORS: frozenset[str]
    def validate_condition(cond, families: Mapping[str, str], options: Mapping[str, Sequence[str]] | None = None) -> list[ConditionError]
        # every problem, each with a path and an admin-readable message: unknown field, operator that does not fit
        # the family, missing/extra value, value of the wrong type, choice value that is not an option, malformed node.
    def parse_condition(cond, families, options=None) -> Condition   # validated, values coerced to python types; raises ConditionInvalid(errors)
    def evaluate(cond, values: Mapping[str, Any], families: Mapping[str, str]) -> bool   # values already of the python types above
    def referenced_fields(cond) -> set[str]
    def describe(cond, labels: Mapping[str, str], option_labels: Mapping[str, Mapping[str, str]] | None = None) -> str
        # plain language: "Severity is High or Critical and Customer tier is Gold"
    def coerce_value(family: str, raw: Any) -> Any   # JSON/str -> python type of the family; raises ValueError with a readable message
"""  # noqa: E501

from forms.conditions.checking import parse_condition, validate_condition
from forms.conditions.evaluation import evaluate
from forms.conditions.language import (
    FAMILIES,
    FAMILY_OPERATORS,
    OPERATORS,
    UNARY_OPERATORS,
    AllOf,
    AnyOf,
    Clause,
    Condition,
    Not,
    Operator,
    condition_to_json,
    referenced_fields,
)
from forms.conditions.values import coerce_value, is_empty
from forms.conditions.wording import describe
from forms.errors import ConditionError, ConditionInvalid

__all__ = [
    "FAMILIES",
    "FAMILY_OPERATORS",
    "OPERATORS",
    "UNARY_OPERATORS",
    "AllOf",
    "AnyOf",
    "Clause",
    "Condition",
    "ConditionError",
    "ConditionInvalid",
    "Not",
    "Operator",
    "coerce_value",
    "condition_to_json",
    "describe",
    "evaluate",
    "is_empty",
    "parse_condition",
    "referenced_fields",
    "validate_condition",
]
