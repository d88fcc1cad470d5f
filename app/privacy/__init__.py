"""The privacy admin pages: legal holds, retention previews, erasure and access requests (cases.privacy)."""

from __future__ import annotations

from flask import Flask


def register_privacy(app: Flask) -> None:
    """Register the privacy pages (one blueprint, one route module per topic)."""
    from app.privacy import exports, holds, requests, retention  # noqa: F401 - the route modules add their pages
    from app.privacy.blueprint import bp

    app.register_blueprint(bp)
