"""The API reference page: Swagger UI (npm `swagger-ui-dist`, copied by `make assets`) over /api/v1/openapi.json."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def reference() -> ResponseReturnValue:
    """Public, like the document it shows; calls made from it need a token (the page's Authorize button)."""
    return render_template("api/docs.html", spec_url=url_for("api.openapi_document"))
