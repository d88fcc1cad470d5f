"""Response headers that every page carries (OWASP ASVS V3.4)."""

from __future__ import annotations

from flask import Response, g, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")  # /track pages tighten it to no-referrer
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def no_store_when_authenticated(response: Response) -> Response:
    """Nothing a signed-in person or an API client receives may be kept by a browser or proxy cache:
    pages, partials, JSON and downloads alike (send_file's own "no-cache" still allows storing).
    Validators (ETag) stay: a client that keeps its own copy may still ask "changed since?" (the API's
    If-None-Match and If-Match name the case version by its ETag)."""
    if request.endpoint == "static":
        return response
    if getattr(g, "user", None) is not None or getattr(g, "api_user", None) is not None \
            or request.path.startswith("/api/") or "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response
