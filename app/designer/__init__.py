"""The designers admins build definitions with: one sub-package per designer, each with its routes and its
view models (forms, case types, rules, documents). What the four share is `drafts`, and the four-eyes
review of what they publish is `reviews`."""

from __future__ import annotations

from flask import Flask


def register_designers(app: Flask) -> None:
    """Register the designers' blueprints (the designer home page is app.blueprints.homes)."""
    from app.designer import reviews
    from app.designer.case_types import migration  # noqa: F401 - adds the migration page to the case-type designer
    from app.designer.case_types import routes as case_type_designer
    from app.designer.documents import routes as document_designer
    from app.designer.forms import routes as form_designer
    from app.designer.forms import versions  # noqa: F401 - adds the list and version pages to the form designer
    from app.designer.rules import routes as rule_designer

    app.register_blueprint(document_designer.bp)
    app.register_blueprint(case_type_designer.bp)
    app.register_blueprint(form_designer.bp)
    app.register_blueprint(rule_designer.bp)
    app.register_blueprint(reviews.bp)
