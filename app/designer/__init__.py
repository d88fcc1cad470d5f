"""The designers admins build definitions with: one sub-package per designer, each with its routes and its
view models (forms, case types, rules, documents). What the four share is `drafts`."""

from __future__ import annotations

from flask import Flask


def register_designers(app: Flask) -> None:
    """Register the designers' blueprints (the designer home page is app.blueprints.homes)."""
    from app.blueprints import designer_case_types, designer_documents, designer_forms, designer_rules

    app.register_blueprint(designer_documents.bp)
    app.register_blueprint(designer_case_types.bp)
    app.register_blueprint(designer_forms.bp)
    app.register_blueprint(designer_rules.bp)
