"""htmx conventions in one place: detection, partial-or-page rendering, redirects.

htmx 4 swaps 4xx/5xx bodies by default; Casework answers validation errors with 422 and the
re-rendered partial, and successes with 303 (or HX-Redirect for htmx requests).
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, redirect, render_template, request


def is_htmx() -> bool:
    """True for requests htmx made (it always sends `HX-Request: true`)."""
    return request.headers.get("HX-Request") == "true"


def render(page_template: str, partial_template: str | None = None, /, *, status: int = 200,
           **context: Any) -> Response:
    """Render the full page, or only its partial when htmx asks for it. Pages include their partials."""
    template = partial_template if partial_template is not None and is_htmx() else page_template
    return make_response(render_template(template, **context), status)


def see_other(url: str) -> Response:
    """Send the browser to `url` after a successful change (303, or HX-Redirect under htmx)."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def add_vary(response: Response) -> Response:
    """Caches must key pages on HX-Request, since one URL answers with a page or a partial."""
    response.vary.add("HX-Request")
    return response
