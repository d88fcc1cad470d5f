"""The case-type language: states, transitions, SLA targets, business calendars, document templates and
the edit operations the designers apply to a draft.

Pure domain code like forms/ and rules/: no Flask and no database (an import-linter contract says so).
Publishing and filing under a case type is cases/ (cases.definitions, cases.case_versions). Import the
submodules directly; this package init stays empty.
"""
