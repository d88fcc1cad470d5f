"""The API reference page renders the generated document in a real Chromium under the app's CSP."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_the_reference_page_renders_every_operation_without_csp_violations(page: Page) -> None:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto("/api/docs")
    expect(page.get_by_role("heading", name="Casework API")).to_be_visible(timeout=20_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 20
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    page.locator(".opblock-summary-path", has_text="/case-types/{slug}/cases").first.click()
    expect(page.locator(".opblock-body").first).to_contain_text("ORD-123456")
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []
