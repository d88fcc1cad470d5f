"""The file upload field type: references to stored files, checked by kind, size and count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from wtforms import fields as wtf_fields

from forms.fieldtypes.base import FieldType, register
from forms.files import KNOWN_FILE_TYPES, human_size

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["FileType", "allowed_labels", "file_type_allowed"]

_FILE_REF_KEYS = ("id", "name", "size", "content_type")
_TEXT_TYPES = frozenset({"text/plain", "text/csv"})
_INVALID_REF = "This attachment reference is not valid; attach the file again."


def _file_ref(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(_INVALID_REF)
    ref_id, name, size, ctype = (raw.get(k) for k in _FILE_REF_KEYS)
    ok = (
        isinstance(ref_id, str | int)
        and not isinstance(ref_id, bool)
        and str(ref_id) != ""
        and isinstance(name, str)
        and 0 < len(name) <= 255
        and isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and isinstance(ctype, str)
        and 0 < len(ctype) <= 255
    )
    if not ok:
        raise ValueError(_INVALID_REF)
    return {"id": ref_id, "name": name, "size": size, "content_type": ctype}


def file_type_allowed(spec: FieldSpec, content_type: str) -> bool:
    """Whether a (sniffed) content type fits the field's allowed types (all known types if none set)."""
    if content_type not in KNOWN_FILE_TYPES:
        return False
    allowed = set(spec.allowed_types) or set(KNOWN_FILE_TYPES)
    if content_type in allowed:
        return True
    if content_type in _TEXT_TYPES and allowed & _TEXT_TYPES:
        return True  # content cannot tell CSV from plain text; both are inert text
    zip_based = KNOWN_FILE_TYPES[content_type].zip_based
    return zip_based and "application/zip" in allowed


@register
class FileType(FieldType):
    name = "file"
    title = "file upload"
    family = "file"
    key_base = "attachment"
    properties = frozenset({"allowed_types", "max_size", "max_count"})
    in_groups = False
    required_message = "Attach a file."
    default_max_count: ClassVar[int] = 1

    def empty_value(self) -> Any:
        return []

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return []
        items = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(items, list | tuple):
            raise ValueError(_INVALID_REF)
        if len(items) > 100:
            raise ValueError("Too many files.")
        return [_file_ref(item) for item in items]

    def max_count(self, spec: FieldSpec) -> int:
        return spec.max_count if spec.max_count is not None else self.default_max_count

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        messages: list[str] = []
        limit = self.max_count(spec)
        if len(value) > limit:
            messages.append("Attach only one file." if limit == 1 else f"Attach at most {limit} files.")
        for ref in value:
            if spec.max_size is not None and ref["size"] > spec.max_size:
                messages.append(f"“{ref['name']}” is larger than {human_size(spec.max_size)}.")
            if not file_type_allowed(spec, ref["content_type"]):
                messages.append(f"“{ref['name']}” is not an allowed type of file ({allowed_labels(spec)}).")
        return messages

    def to_json(self, value: Any) -> Any:
        return [dict(ref) for ref in value] if isinstance(value, list | tuple) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        if self.max_count(spec) > 1:
            return wtf_fields.MultipleFileField(**kw)
        return wtf_fields.FileField(**kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {"accept": ",".join(spec.allowed_types)} if spec.allowed_types else {}


def allowed_labels(spec: FieldSpec) -> str:
    """ "allowed: PDF, PNG image" for messages."""
    types = spec.allowed_types or tuple(KNOWN_FILE_TYPES)
    return "allowed: " + ", ".join(KNOWN_FILE_TYPES[t].label for t in types if t in KNOWN_FILE_TYPES)
