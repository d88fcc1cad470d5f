"""What the browser designer needs besides the editing steps: pure helpers between a draft and its pages.

- ``problems_by_place``: the draft's problems sorted onto the field, page or form they concern;
- ``preview_document``: the draft with the parts that have problems left out, so a preview can always
  be shown as requesters would see it;
- the condition builder: which fields a condition may test, the operators that fit each field's family,
  and the conversion between a condition and the rows of pickers the admin fills in (never syntax);
- ``props_from_post``: a field's properties from the side panel's inputs.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import field as dc_field
from typing import Any, Protocol

from forms.conditions import FAMILY_OPERATORS, OPERATORS, describe, referenced_fields
from forms.definitions import load_definition
from forms.editing import CONDITIONS, find_field, find_page, place_of
from forms.errors import DefinitionError, DefinitionProblem
from forms.fieldtypes import FIELD_TYPES
from forms.files import KNOWN_FILE_TYPES

__all__ = [
    "PALETTE",
    "BuilderRow",
    "BuilderState",
    "CondField",
    "FieldProblem",
    "Preview",
    "ProblemMap",
    "add_target",
    "builder_from_post",
    "condition_fields",
    "condition_from_builder",
    "condition_summary",
    "label_of",
    "operators_for",
    "preview_document",
    "problems_by_place",
    "props_from_post",
    "state_from_condition",
    "where",
]

PALETTE: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Text", (("short_text", "One line of text"), ("long_text", "Several lines"), ("email", "An e-mail address"),
              ("phone", "A phone number"), ("url", "A web address"))),
    ("Numbers", (("integer", "A whole number"), ("decimal", "A number with decimals"),
                 ("currency", "An amount of money"), ("calculated", "Computed from other fields"))),
    ("Dates", (("date", "A calendar date"), ("datetime", "A date and a time"))),
    ("Choices", (("single_choice", "Pick one option"), ("multi_choice", "Pick several options"),
                 ("yes_no", "Yes or no"))),
    ("Other", (("file", "Attach files"), ("group", "Repeating rows of fields"),
               ("heading", "A section title"), ("info", "Text to read"))),
)
"""The palette of field types, in groups, with a hint of what each is for."""

# Operators in the order the builder offers them, per family, with the words people read.
_OPERATOR_ORDER: Mapping[str, tuple[str, ...]] = {
    "text": ("eq", "neq", "contains", "not_contains", "in", "not_in", "not_empty", "empty"),
    "number": ("eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in", "not_empty", "empty"),
    "date": ("eq", "neq", "before", "after", "between", "not_empty", "empty"),
    "datetime": ("before", "after", "between", "not_empty", "empty"),
    "choice": ("eq", "neq", "in", "not_in", "not_empty", "empty"),
    "multi": ("contains", "not_contains", "not_empty", "empty"),
    "bool": ("is_true", "is_false", "not_empty", "empty"),
    "file": ("not_empty", "empty"),
    "group": ("not_empty", "empty"),
}
_OPERATOR_WORDS = {
    "eq": "is", "neq": "is not", "in": "is one of", "not_in": "is none of", "contains": "contains",
    "not_contains": "does not contain", "gt": "is more than", "gte": "is at least", "lt": "is less than",
    "lte": "is at most", "between": "is between", "before": "is before", "after": "is after",
    "empty": "is not filled in", "not_empty": "is filled in", "is_true": "is Yes", "is_false": "is No",
}  # fmt: skip
_FAMILY_WORDS = {
    "multi": {"contains": "includes", "not_contains": "does not include"},
    "file": {"empty": "has no file", "not_empty": "has a file"},
    "group": {"empty": "has no rows", "not_empty": "has rows"},
}

_PATH_RE = re.compile(r"^pages\[(\d+)\](?:\.fields\[(\d+)\](?:\.fields\[(\d+)\])?)?(?:\.(.+))?$")
_ROW_RE = re.compile(r"^(?:(?:all|any)\[(\d+)\])?\.?(.*)$")


class Post(Protocol):
    """What a form post looks like (werkzeug's MultiDict fits)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...

    def __contains__(self, key: object) -> bool: ...


# --- problems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """A problem of one field: the property it is about (None: the field as a whole) and the message."""

    prop: str | None
    message: str
    detail: str = ""
    """The rest of the path after the property, e.g. ``all[1].value`` of a condition."""


@dataclass
class ProblemMap:
    """The draft's problems, sorted onto what they concern."""

    fields: dict[str, list[FieldProblem]] = field(default_factory=dict)
    pages: dict[int, list[str]] = field(default_factory=dict)
    form: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.form) + sum(map(len, self.pages.values())) + sum(map(len, self.fields.values()))

    def of(self, key: str, prop: str | None = None) -> list[str]:
        """Messages of a field, or of one of its properties."""
        return [p.message for p in self.fields.get(key, []) if prop is None or p.prop == prop]

    def unplaced(self, key: str, props: Sequence[str]) -> list[str]:
        """Messages of a field that no input among ``props`` shows."""
        return [p.message for p in self.fields.get(key, []) if p.prop not in props]


def _at(document: Mapping[str, Any], page: int, index: int | None, sub: int | None) -> Any:
    try:
        node: Any = document["pages"][page]
        if index is not None:
            node = node["fields"][index]
        if sub is not None:
            node = node["fields"][sub]
    except (KeyError, IndexError, TypeError):
        return None
    return node


def problems_by_place(document: Mapping[str, Any], problems: Sequence[DefinitionProblem]) -> ProblemMap:
    """Sort problems onto fields (by key), pages (by position) and the form as a whole."""
    out = ProblemMap()
    for problem in problems:
        match = _PATH_RE.match(problem.path or "")
        if match is None:
            out.form.append(problem.message)
            continue
        page, index, sub, rest = match.groups()
        if index is None:
            out.pages.setdefault(int(page), []).append(problem.message)
            continue
        node = _at(document, int(page), int(index), int(sub) if sub is not None else None)
        key = node.get("key") if isinstance(node, dict) and isinstance(node.get("key"), str) else problem.field
        if not key:
            out.pages.setdefault(int(page), []).append(problem.message)
            continue
        prop, detail = None, ""
        if rest:
            name = re.match(r"[A-Za-z_0-9]+", rest)
            prop = name.group() if name else None
            detail = rest[len(prop or ""):].lstrip(".")
        out.fields.setdefault(key, []).append(FieldProblem(prop, problem.message, detail))
    return out


# --- preview -----------------------------------------------------------------------------------


@dataclass
class Preview:
    """A loadable copy of the draft, and what had to be left out of it."""

    document: dict[str, Any] | None
    omitted: list[str] = field(default_factory=list)
    """Labels of fields left out because they have problems."""
    ignored_conditions: list[str] = field(default_factory=list)
    """Labels of fields shown although their condition has problems."""


def _label(node: Any) -> str:
    if not isinstance(node, dict):
        return "a field"
    label = node.get("label")
    return label if isinstance(label, str) and label.strip() else str(node.get("key") or "a field")


def preview_document(document: Mapping[str, Any], *, rounds: int = 12) -> Preview:
    """The draft minus the fields (and conditions) with problems, so that it loads; None if it cannot."""
    doc: Any = copy.deepcopy(dict(document))
    preview = Preview(None)
    for _ in range(rounds):
        try:
            load_definition(doc)
        except DefinitionError as exc:
            problems = exc.errors
        else:
            preview.document = doc
            return preview
        if not _repair(doc, problems, preview):
            return preview
    return preview


def _repair(doc: dict[str, Any], problems: Sequence[DefinitionProblem], preview: Preview) -> bool:
    """One round of leaving out what has problems; False when nothing more can be done."""
    pages = doc.get("pages")
    if not isinstance(pages, list):
        return False
    drop: set[tuple[int, int, int | None]] = set()
    drop_pages: set[int] = set()
    progress = False
    for problem in problems:
        match = _PATH_RE.match(problem.path or "")
        if match is None:
            name = (problem.path or "").split(".", 1)[0].split("[", 1)[0]
            if name == "title":
                doc["title"] = "Untitled form"
                progress = True
            elif name and name not in ("pages", "schema_version") and name in doc:
                doc.pop(name)
                progress = True
            continue
        page_s, index_s, sub_s, rest = match.groups()
        page = int(page_s)
        if page >= len(pages) or not isinstance(pages[page], dict):
            continue
        prop = re.split(r"[.\[]", rest or "", maxsplit=1)[0]
        if index_s is None:
            if prop == "title":
                pages[page]["title"] = f"Page {page + 1}"
            elif prop == "key":
                pages[page]["key"] = f"page_{page + 1}"
            elif prop == "fields":
                drop_pages.add(page)
            elif prop:
                pages[page].pop(prop, None)
            progress = True
            continue
        index, sub = int(index_s), int(sub_s) if sub_s is not None else None
        node = _at(doc, page, index, sub)
        if prop in CONDITIONS and isinstance(node, dict) and prop in node:
            node.pop(prop)
            preview.ignored_conditions.append(_label(node))
            progress = True
        elif node is not None:
            drop.add((page, index, sub))
    for page, index, sub in sorted(drop, reverse=True):
        container = pages[page]["fields"] if sub is None else pages[page]["fields"][index]["fields"]
        position = index if sub is None else sub
        preview.omitted.append(_label(container[position]))
        del container[position]
        progress = True
    for page in sorted(drop_pages, reverse=True):
        if len(pages) > 1:
            del pages[page]
            progress = True
    if not pages:
        return False
    return progress


# --- the condition builder ---------------------------------------------------------------------


@dataclass(frozen=True)
class CondField:
    """A field a condition may test, as the builder's pickers show it."""

    key: str
    label: str
    family: str
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) of a choice field's options."""


def operators_for(family: str | None) -> list[tuple[str, str]]:
    """(operator, words) that fit a family, in the builder's order."""
    if family is None or family not in _OPERATOR_ORDER:
        return []
    words = {**_OPERATOR_WORDS, **_FAMILY_WORDS.get(family, {})}
    return [(op, words[op]) for op in _OPERATOR_ORDER[family] if op in FAMILY_OPERATORS[family]]


def _family(node: Mapping[str, Any]) -> str | None:
    ftype = FIELD_TYPES.get(str(node.get("type")))
    return ftype.family if ftype is not None else None


def _cond_field(node: Mapping[str, Any]) -> CondField | None:
    family, key = _family(node), node.get("key")
    if family is None or not isinstance(key, str):
        return None
    options = node.get("options")
    pairs = tuple(
        (str(o.get("value")), str(o.get("label") or o.get("value")))
        for o in (options if isinstance(options, list) else [])
        if isinstance(o, dict) and isinstance(o.get("value"), str) and o.get("value")
    )
    return CondField(key, _label(node), family, pairs)


def condition_fields(document: Mapping[str, Any], key: str) -> list[CondField]:
    """The fields a condition of field ``key`` may test: those on its page or earlier (and its row's)."""
    place = place_of(document, key)
    if place is None:
        return []
    out: list[CondField] = []
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        if not isinstance(page, dict):
            continue
        fields = page.get("fields")
        for node in fields if isinstance(fields, list) else []:
            if not isinstance(node, dict) or node.get("key") in (key, place.group):
                continue
            found = _cond_field(node)
            if found is not None:
                out.append(found)
        if page.get("key") == place.page:
            break
    if place.group is not None:
        group = next((n for n in _nodes(document) if n.get("key") == place.group), None)
        subs = group.get("fields") if group is not None else None
        for node in subs if isinstance(subs, list) else []:
            if isinstance(node, dict) and node.get("key") != key:
                found = _cond_field(node)
                if found is not None:
                    out.append(found)
    return out


def _nodes(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        fields = page.get("fields") if isinstance(page, dict) else None
        for node in fields if isinstance(fields, list) else []:
            if isinstance(node, dict):
                out.append(node)
                subs = node.get("fields")
                out.extend(s for s in (subs if isinstance(subs, list) else []) if isinstance(s, dict))
    return out


@dataclass
class BuilderRow:
    """One ``field operator value`` row of pickers, values as the inputs hold them (text)."""

    field: str = ""
    op: str = ""
    values: list[str] = dc_field(default_factory=list)
    low: str = ""
    high: str = ""

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""


@dataclass
class BuilderState:
    """The builder of one condition: off (always), or rows joined by all / any."""

    enabled: bool = False
    mode: str = "all"
    rows: list[BuilderRow] = dc_field(default_factory=list)
    complex: bool = False
    """The stored condition is nested deeper than the builder shows (it came from an import)."""


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _row(node: Mapping[str, Any]) -> BuilderRow:
    op = str(node.get("op") or "")
    value = node.get("value")
    row = BuilderRow(field=str(node.get("field") or ""), op=op)
    arity = OPERATORS[op].arity if op in OPERATORS else "one"
    if arity == "pair" and isinstance(value, list) and len(value) == 2:
        row.low, row.high = _text(value[0]), _text(value[1])
    elif arity == "list" and isinstance(value, list):
        row.values = [_text(v) for v in value]
    elif arity != "none":
        row.values = [_text(value)]
    return row


def state_from_condition(condition: Any) -> BuilderState:
    """The builder's rows for a stored condition (or an empty, switched-off builder)."""
    if condition is None:
        return BuilderState()
    if isinstance(condition, dict) and "field" in condition:
        return BuilderState(True, "all", [_row(condition)])
    if isinstance(condition, dict) and len(condition) == 1:
        mode = next(iter(condition))
        items = condition[mode]
        if mode in ("all", "any") and isinstance(items, list) and all(
                isinstance(i, dict) and "field" in i for i in items):
            return BuilderState(True, mode, [_row(i) for i in items])
    return BuilderState(True, "all", [], complex=True)


def builder_from_post(post: Post, fields: Sequence[CondField]) -> BuilderState:
    """The builder as posted; ``action`` adds or removes a row, and operators are kept fitting their field.

    Rows are posted as ``field-<i>``, ``op-<i>``, ``value-<i>`` (several for a list), ``low-<i>``,
    ``high-<i>``; ``rows`` says how many.
    """
    families = {f.key: f.family for f in fields}
    try:
        count = max(0, min(int(post.get("rows") or 0), 50))
    except (TypeError, ValueError):
        count = 0
    state = BuilderState(enabled=post.get("enabled") == "1", mode="any" if post.get("mode") == "any" else "all")
    for i in range(count):
        row = BuilderRow(
            field=str(post.get(f"field-{i}") or ""),
            op=str(post.get(f"op-{i}") or ""),
            values=[str(v) for v in post.getlist(f"value-{i}")],
            low=str(post.get(f"low-{i}") or ""),
            high=str(post.get(f"high-{i}") or ""),
        )
        allowed = [op for op, _ in operators_for(families.get(row.field))]
        if row.field in families and row.op not in allowed:
            row.op, row.values, row.low, row.high = allowed[0], [], "", ""
        state.rows.append(row)
    action = str(post.get("action") or "")
    if action == "add":
        state.rows.append(_fresh_row(fields))
    elif action.startswith("remove-"):
        index = action.removeprefix("remove-")
        if index.isdigit() and int(index) < len(state.rows):
            del state.rows[int(index)]
    if state.enabled and not state.rows and not state.complex:
        state.rows.append(_fresh_row(fields))
    return state


def _fresh_row(fields: Sequence[CondField]) -> BuilderRow:
    if not fields:
        return BuilderRow()
    first = fields[0]
    return BuilderRow(field=first.key, op=operators_for(first.family)[0][0])


def _number(text: str) -> Any:
    text = text.strip()
    return int(text) if re.fullmatch(r"[+-]?\d{1,18}", text) else text


def _datetime(text: str) -> str:
    text = text.strip()
    # The picker gives local wall-clock time without an offset; the builder says these times are UTC.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text):
        return f"{text}:00+00:00"
    return text


def _scalar(family: str | None, text: str) -> Any:
    if family == "number":
        return _number(text)
    if family == "datetime":
        return _datetime(text)
    return text.strip() if family in ("date", "choice", "multi") else text


def _lines(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(line.strip() for line in value.replace("\r", "\n").split("\n") if line.strip())
    return out


def _clause(row: BuilderRow, family: str | None) -> dict[str, Any]:
    clause: dict[str, Any] = {"field": row.field, "op": row.op}
    arity = OPERATORS[row.op].arity if row.op in OPERATORS else "one"
    if arity == "none":
        return clause
    if arity == "pair":
        clause["value"] = [_scalar(family, row.low), _scalar(family, row.high)]
    elif arity == "list":
        items = [v for v in row.values if v.strip()] if family == "choice" else _lines(row.values)
        clause["value"] = [_scalar(family, v) for v in items]
    else:
        clause["value"] = _scalar(family, row.value)
    return clause


def condition_from_builder(state: BuilderState, fields: Sequence[CondField]) -> dict[str, Any] | None:
    """The condition JSON the rows describe (None: always). Incomplete rows are kept, so the draft shows
    what is missing where it is missing."""
    if not state.enabled or not state.rows:
        return None
    families = {f.key: f.family for f in fields}
    clauses = [_clause(row, families.get(row.field)) for row in state.rows]
    if len(clauses) == 1:
        return clauses[0]
    return {state.mode: clauses}


def condition_summary(document: Mapping[str, Any], condition: Any) -> str:
    """A condition in words, with the draft's labels: "Category is Other"."""
    nodes = _nodes(document)
    labels = {str(n.get("key")): _label(n) for n in nodes}
    options = {
        str(n.get("key")): {str(o.get("value")): str(o.get("label")) for o in n["options"] if isinstance(o, dict)}
        for n in nodes if isinstance(n.get("options"), list)
    }
    families = {str(n.get("key")): f for n in nodes if (f := _family(n)) is not None}
    try:
        return describe(condition, labels, options, families=families)
    except (TypeError, ValueError, AttributeError, RecursionError):
        return "(a condition that cannot be read)"


# --- the side panel ----------------------------------------------------------------------------

_TEXT_PROPS = ("label", "help", "placeholder", "text", "pattern", "pattern_message", "expression")
_WHOLE_PROPS = ("min_length", "max_length", "max_count", "decimals", "min_rows", "max_rows")
_NO_DEFAULT = {"width": "full", "display": "dropdown"}
MEGABYTE = 1024 * 1024


def _whole(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    return int(text) if re.fullmatch(r"\d{1,12}", text) else text


def _megabytes(text: str) -> Any:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    if value != value or value in (float("inf"), float("-inf")):
        return text
    return max(1, round(value * MEGABYTE))


def _default(family: str | None, post: Post) -> Any:
    if family == "multi":
        values = [str(v) for v in post.getlist("default") if str(v).strip()]
        return values or None
    raw = str(post.get("default") or "").strip()
    if not raw:
        return None
    if family == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    if family == "number":
        return _number(raw)
    if family == "datetime":
        return _datetime(raw)
    return raw


def _one_prop(name: str, family: str | None, post: Post) -> Any:
    """One property's value from the post; None removes it."""
    if name == "required":
        return True if post.get("required") in ("1", "on", "true", "y") else None
    if name == "default":
        return _default(family, post)
    if name == "options":
        labels = [str(v) for v in post.getlist("option_label")]
        values = [str(v) for v in post.getlist("option_value")]
        return [{"label": label, "value": values[i] if i < len(values) else ""} for i, label in enumerate(labels)]
    if name == "allowed_types":
        chosen = [str(v) for v in post.getlist("allowed_types") if str(v) in KNOWN_FILE_TYPES]
        return chosen or None
    if name == "max_size":
        return _megabytes(str(post.get("max_size_mb") or ""))
    raw = str(post.get(name) or "")
    if name in _TEXT_PROPS:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
        return raw if raw.strip() else None
    if name in _WHOLE_PROPS:
        return _whole(raw)
    if name in ("min", "max"):
        raw = raw.strip()
        return None if not raw else (_number(raw) if family == "number" else raw)
    if name == "currency":
        return raw.strip().upper() or None
    if name in _NO_DEFAULT:
        return None if raw.strip() in ("", _NO_DEFAULT[name]) else raw.strip()
    return raw.strip() or None


def props_from_post(type_name: str, post: Post) -> dict[str, Any]:
    """The properties the side panel posted for a field of this type (``present`` lists which it showed).

    Empty inputs remove their property; values that do not fit are kept as typed, so the draft shows the
    problem at the input. ``key`` is included when posted (a rename).
    """
    ftype = FIELD_TYPES.get(type_name)
    if ftype is None:
        return {}
    allowed = ftype.allowed_properties - {"type", "key", "fields", *CONDITIONS}
    present = {str(p) for p in post.getlist("present")}
    props: dict[str, Any] = {}
    for name in sorted(allowed & present):
        props[name] = _one_prop(name, ftype.family, post)
    key = post.get("key")
    if isinstance(key, str) and key.strip():
        props["key"] = key.strip()
    return props


def field_type_title(type_name: str) -> str:
    """ "Short text" for "short_text"."""
    ftype = FIELD_TYPES.get(type_name)
    title = ftype.title if ftype is not None else type_name
    return title[:1].upper() + title[1:]


def uses(document: Mapping[str, Any], key: str) -> list[str]:
    """Labels of the fields whose conditions or calculation use field ``key``."""
    out: list[str] = []
    for node in _nodes(document):
        refs: set[str] = set()
        for name in CONDITIONS:
            if name in node:
                refs |= referenced_fields(node[name])
        expression = node.get("expression")
        if isinstance(expression, str):
            refs |= set(re.findall(r"[a-z][a-z0-9_]*", expression))
        if key in refs and node.get("key") != key:
            out.append(_label(node))
    return out



# --- words and places for the designer's messages ----------------------------------------------


def label_of(document: Mapping[str, Any], key: str) -> str:
    """A field's label, or its key when it has none."""
    return _label(find_field(document, key) or {"key": key})


def where(document: Mapping[str, Any], key: str) -> str:
    """ "position 3 of 9 on page “Details”", for announcing where a field now is."""
    place = place_of(document, key)
    if place is None:
        return "its place"
    if place.group is not None:
        group = find_field(document, place.group) or {}
        count = len(group.get("fields") or [])
        return f"position {place.index + 1} of {count} in “{label_of(document, place.group)}”"
    page = find_page(document, place.page) or {}
    count = len(page.get("fields") or [])
    return f"position {place.index + 1} of {count} on page “{page.get('title') or place.page}”"


def add_target(document: Mapping[str, Any], *, field: str | None = None, page: str | None = None) -> dict[str, Any]:
    """Where a click on the palette adds a field: right after the selected field (after its group, for a
    sub-field), else at the end of the selected page, else at the end of the last page."""
    place = place_of(document, field) if field else None
    if place is not None and place.group is not None:
        place = place_of(document, place.group)
    page_key = place.page if place is not None else page
    found = find_page(document, page_key) if page_key else None
    if found is None:
        pages = [p for p in document.get("pages") or [] if isinstance(p, dict)]
        found = pages[-1] if pages else {}
        place = None
    return {"page": found.get("key", ""), "title": found.get("title") or found.get("key", ""),
            "index": place.index + 1 if place is not None else None}
