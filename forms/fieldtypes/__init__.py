"""The field type registry: one small class per type name, knowing its family and properties.

``FIELD_TYPES`` maps every type name to its (stateless) type object; the types live in the modules of
this package by family, and importing the package registers them all. Adding a type means adding a
class in one of them, nothing else.
"""

from forms.fieldtypes import attachments, choices, dates, numbers, structure, text
from forms.fieldtypes.base import FIELD_TYPES, FieldType

__all__ = ["FIELD_TYPES", "FieldType", "attachments", "choices", "dates", "numbers", "structure", "text"]
