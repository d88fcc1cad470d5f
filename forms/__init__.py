"""The form language: schemas of admin-designed forms, conditions, validation, WTForms building.

Pure domain code: no Flask, no database. Import the submodules (``forms.schema``,
``forms.validation``, ...) directly; this package init stays empty so importing ``forms.conditions``
(as rules/ does) pulls in nothing else.
"""
