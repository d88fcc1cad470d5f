"""The requester's form wizard: pages with back and next, uploads kept between pages, rows added and
removed, validation per page and again in full when the form is filed.

State lives in the page itself: answers of the other pages travel as hidden inputs and stored uploads
as their ids (checked against their uploader when filed), so nothing half-filed is ever stored. The post
is read here and only here: validation and filing get plain values (``values_from_formdata``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.uploads import file_store
from case_types.errors import ValidationFailed
from cases import form_tokens, submissions
from cases.inputs import parse_count, parse_id
from cases.submissions import Uploader
from forms.errors import SubmissionInvalid
from forms.schema import FieldSpec, FormSchema
from forms.validation import defaults, hidden_fields, validate_submission
from forms.wtf import build_form_class, initial_form_data

META = {"csrf_token", "_page", "_nav", "website", "_once"}
ONCE = "_once"  # the rendered form's one-time token (cases/form_tokens.py)
FILES_PREFIX = "_files-"
HONEYPOT = "website"


@dataclass
class WizardPage:
    """What the template needs to show one page."""

    schema: FormSchema
    page_key: str
    form: Any
    carried: list[tuple[str, str]]
    files: dict[str, list[dict[str, Any]]]
    hidden: set[str]
    problem: str | None = None
    status: int = 200
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self) -> int:
        return [p.key for p in self.schema.pages].index(self.page_key)

    @property
    def is_first(self) -> bool:
        return self.index == 0

    @property
    def is_last(self) -> bool:
        return self.index == len(self.schema.pages) - 1


def _top_key(name: str) -> str:
    return name.split("-", 1)[0]


def _answers(form_data: MultiDict[str, str]) -> MultiDict[str, str]:
    return MultiDict([(k, v) for k, vs in form_data.lists() if k not in META and not k.startswith(FILES_PREFIX)
                      for v in vs])


_ROW_NAME = re.compile(r"(?P<group>[a-z][a-z0-9_]*)-(?P<index>\d{1,6})-(?P<field>[a-z][a-z0-9_]*)")


def rows_from_formdata(formdata: MultiDict[str, str], group: FieldSpec) -> list[dict[str, Any]]:
    """Rows of a group posted as ``items-0-amount`` names, in index order (a list for a multiple choice)."""
    subs = {sub.key: sub for sub in group.fields}
    by_index: dict[int, dict[str, Any]] = {}
    for name in formdata:
        match = _ROW_NAME.fullmatch(name)
        if match is None or match["group"] != group.key or match["field"] not in subs:
            continue
        sub = subs[match["field"]]
        value = formdata.getlist(name) if sub.family == "multi" else formdata[name]
        by_index.setdefault(int(match["index"]), {})[sub.key] = value
    return [by_index[i] for i in sorted(by_index)]


def values_from_formdata(schema: FormSchema, formdata: MultiDict[str, str]) -> dict[str, Any]:
    """A post's answers to the form's fields as plain values, the way the API sends them: a list for a
    multiple choice, a list of row dicts for a group, the text of any other field."""
    values: dict[str, Any] = {}
    for spec in schema.fields:
        if spec.family == "group" and not formdata.get(spec.key, "").strip():
            rows = rows_from_formdata(formdata, spec)
            if rows:
                values[spec.key] = rows
                continue
        if spec.key in formdata:
            values[spec.key] = formdata.getlist(spec.key) if spec.family == "multi" else formdata[spec.key]
    return values


def _drop_row(raw: MultiDict[str, str], group: str, index: int) -> MultiDict[str, str]:
    """Remove row `index` of a repeating group and renumber the rows after it."""
    out: MultiDict[str, str] = MultiDict()
    for name, values in raw.lists():
        parts = name.split("-", 2)
        row = parse_count(parts[1]) if len(parts) == 3 and parts[0] == group else None
        if row is not None:
            if row == index:
                continue
            if row > index:
                name = f"{group}-{row - 1}-{parts[2]}"
        for value in values:
            out.add(name, value)
    return out


class Wizard:
    """One filing of one form by one uploader."""

    def __init__(self, schema: FormSchema, uploader: Uploader) -> None:
        self.schema = schema
        self.uploader = uploader
        self.pages = [p.key for p in schema.pages]
        self.token: str | None = None

    def _file_fields(self, page: str) -> list[str]:
        return [s.key for s in self.schema.page(page).fields if s.family == "file"]

    def _refs(self, file_ids: dict[str, list[int]]) -> dict[str, list[dict[str, Any]]]:
        return {key: [f.ref() for f in submissions.pending_files(db.session, ids, self.uploader)]
                for key, ids in file_ids.items()}

    def _render(self, page: str, raw: MultiDict[str, str], file_ids: dict[str, list[int]], *,
                errors: dict[str, list[str]] | None = None, fresh: bool = False, problem: str | None = None,
                add_row: str | None = None, status: int = 200) -> WizardPage:
        form_class = build_form_class(self.schema, page=page, base=FlaskForm)
        on_page = {s.key for s in self.schema.page(page).fields}
        if fresh:
            form = form_class(formdata=None, data=initial_form_data(self.schema, defaults(self.schema)))
        else:
            page_data = MultiDict([(k, v) for k, vs in raw.lists() if _top_key(k) in on_page for v in vs])
            form = form_class(formdata=page_data or None,
                              data=None if page_data else initial_form_data(self.schema, defaults(self.schema)))
        if add_row and add_row in form._fields:
            form[add_row].append_entry()
        if errors:
            form.apply_errors(errors)
        refs = self._refs(file_ids)
        carried = [(k, v) for k, vs in raw.lists() if _top_key(k) not in on_page for v in vs]
        carried += [(f"{FILES_PREFIX}{key}", str(ref["id"])) for key, rs in refs.items()
                    if key not in on_page for ref in rs]
        hidden = hidden_fields(self.schema, values_from_formdata(self.schema, raw), files=refs)
        if self.token:
            carried.append((ONCE, self.token))
        return WizardPage(self.schema, page, form, carried, refs, hidden, problem=problem, status=status)

    def start(self) -> WizardPage:
        self.token = form_tokens.new_token()
        return self._render(self.pages[0], MultiDict(), {}, fresh=True)

    def step(self, on_complete: Callable[[dict[str, Any], dict[str, list[int]]], Any]) -> WizardPage | Any:
        """Handle one POST: navigate, keep uploads, validate; call `on_complete` with the answers (plain
        values) and the stored uploads' ids when the last page is valid.

        `on_complete` raises ValidationFailed to send the requester back to the page of the first error.
        """
        form_data = request.form
        self.token = form_data.get(ONCE) or None
        page = form_data.get("_page") if form_data.get("_page") in self.pages else self.pages[0]
        nav = form_data.get("_nav") or "next"
        raw = _answers(form_data)
        file_ids: dict[str, list[int]] = {}
        for name in form_data:
            if name.startswith(FILES_PREFIX):
                # An id that is not one stays in the list as 0, so filing refuses it with a field error.
                ids = [parse_id(v) or 0 for v in form_data.getlist(name)]
                file_ids[name[len(FILES_PREFIX):]] = ids
        upload_errors = self._store_uploads(page, file_ids)
        if nav.startswith("unfile:"):
            key, _, raw_id = nav.removeprefix("unfile:").partition(":")
            file_ids[key] = [i for i in file_ids.get(key, []) if str(i) != raw_id]
            return self._render(page, raw, file_ids)
        if nav.startswith("add:"):
            return self._render(page, raw, file_ids, add_row=nav[4:])
        if nav.startswith("remove:"):
            key, _, index = nav.removeprefix("remove:").partition(":")
            row = parse_count(index)
            if row is not None:
                raw = _drop_row(raw, key, row)
            return self._render(page, raw, file_ids)
        if nav == "back":
            target = self.pages[max(0, self.pages.index(page) - 1)]
            return self._render(target, raw, file_ids)
        refs = self._refs(file_ids)
        answers = values_from_formdata(self.schema, raw)
        try:
            validate_submission(self.schema, answers, page=page, files=refs)
            if upload_errors:
                raise SubmissionInvalid(upload_errors)
        except SubmissionInvalid as exc:
            return self._render(page, raw, file_ids, errors={**exc.errors, **upload_errors}, status=422,
                                problem="Some answers need your attention.")
        index = self.pages.index(page)
        if index < len(self.pages) - 1:
            return self._render(self.pages[index + 1], raw, file_ids)
        try:
            return on_complete(answers, file_ids)
        except ValidationFailed as exc:
            first = self._page_of_first_error(exc.fields) or page
            return self._render(first, raw, file_ids, errors=exc.fields, status=422, problem=exc.message)

    def _store_uploads(self, page: str, file_ids: dict[str, list[int]]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        store = file_store(current_app)
        for key in self._file_fields(page):
            for upload in request.files.getlist(key):
                if not upload or not upload.filename:
                    continue
                try:
                    stored = submissions.store_upload(
                        db.session, store, schema=self.schema, field_key=key, filename=upload.filename,
                        stream=upload.stream, uploader=self.uploader,
                        existing_count=len(file_ids.get(key, [])))
                except ValidationFailed as exc:
                    errors.setdefault(key, []).extend(exc.fields.get(key, [exc.message]))
                else:
                    file_ids.setdefault(key, []).append(stored.id)
        return errors

    def _page_of_first_error(self, errors: dict[str, list[str]]) -> str | None:
        for page in self.schema.pages:
            keys = {s.key for s in page.fields}
            if any(_top_key(k.replace(".", "-")) in keys for k in errors):
                return page.key
        return None
