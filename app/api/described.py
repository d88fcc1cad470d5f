"""API: the descriptions of the API itself (its OpenAPI document)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from app.api.base import bp
from app.api.openapi import document, operation


@bp.get("/openapi.json")
@operation("This API's OpenAPI 3.1 document", public=True, tags=["meta"])
def openapi_document() -> Any:
    """Generated from the routes and the models they parse and answer with; no token needed."""
    return jsonify(document())
