"""The API reference page: Swagger UI from the npm package, served by the app itself under its CSP."""

from __future__ import annotations

import re
from typing import Any


def test_the_reference_page_loads_its_assets_locally_without_inline_script(client: Any) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert " style=" not in html and "<style" not in html and "http" not in html.replace("https://", "")
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.data) > 100, asset
    bundle = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").data
    assert b"SwaggerUIBundle" in bundle
