"""The form designer in a real Chromium, used as a new admin would: build, reorder, preview, publish."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def admin_page(page: Page) -> Iterator[Page]:
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in m.text else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.get_by_label("E-mail address").fill("admin@example.com")
    page.get_by_label("Password").fill("casework-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/designer/$"))
    yield page
    assert dialogs == [], f"a dialog fired: {dialogs}"
    # A refused edit (409, 422) is an answer the page shows, not an error; anything else is.
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def panel(page: Page) -> Locator:
    return page.locator("#panel")


def set_text(page: Page, label: str, value: str, *, within: Locator | None = None) -> None:
    """Type into a side-panel input and leave it, which saves it."""
    box = (within or panel(page)).get_by_label(label, exact=True)
    if box.input_value() == value:
        return  # unchanged: the browser sends nothing
    with page.expect_response(lambda r: r.request.method == "POST" and "/fields/" in r.url):
        box.fill(value)
        box.press("Tab")


def add(page: Page, type_title: str, label: str) -> str:
    """Add a field from the palette and give it a label; returns its key."""
    with page.expect_response(lambda r: r.url.endswith("/fields") and r.request.method == "POST"):
        page.locator(".dz-palette").get_by_role("button", name=type_title, exact=True).click()
    label_box = panel(page).get_by_label("Label", exact=True)
    expect(label_box).to_be_focused()  # ready to type the question straight away
    key = (label_box.get_attribute("id") or "").removeprefix("fp-").removesuffix("-label")
    set_text(page, "Label", label)
    expect(page.locator(f"#card-{key} .dz-card-label")).to_have_text(label)
    return key


def set_options(page: Page, labels: list[str]) -> None:
    """Rename the two starter options and add the rest, through the options editor."""
    for i, label in enumerate(labels, 1):
        if i > 2:
            with page.expect_response(lambda r: r.url.endswith("/options")):
                panel(page).get_by_role("button", name="Add an option").click()
        set_text(page, f"Option {i}", label)


def order(page: Page) -> list[str]:
    return page.locator(".dz-page .dz-list > .dz-card").evaluate_all("cards => cards.map(c => c.dataset.key)")


def expect_order_starts(page: Page, keys: list[str]) -> None:
    """Wait until the first cards are `keys`: the move's response arrives before htmx swaps the list in."""
    cards = page.locator(".dz-page .dz-list > .dz-card")
    for position, key in enumerate(keys):
        expect(cards.nth(position)).to_have_attribute("data-key", key)


def drag(page: Page, source: Locator, target: Locator, *, above: bool = True) -> None:
    """A real mouse drag: press on the source card's grip, move over the target card, release.

    Both ends are scrolled into view first (the target, then the grip if it is not visible then): a grip
    above the viewport has a negative box, and a press there starts no drag.
    """
    grip = source.locator(".dz-grip").first
    target.scroll_into_view_if_needed()
    grip.scroll_into_view_if_needed()
    start = grip.bounding_box()
    end = target.bounding_box()
    viewport = page.viewport_size
    assert start and end and viewport
    for box in (start, end):
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], f"not in view: {box}"
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    y = end["y"] + (end["height"] * 0.25 if above else end["height"] * 0.75)
    page.mouse.move(end["x"] + end["width"] / 2, y, steps=12)
    with page.expect_response(lambda r: r.url.endswith("/move")):
        page.mouse.up()


def test_a_new_admin_builds_the_customer_complaint_form(admin_page: Page, browser: Browser, base_url: str) -> None:
    page = admin_page
    page.get_by_role("link", name="Design forms").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forms")
    new_form = page.get_by_role("region", name="New form")
    new_form.get_by_label("Title").fill("Customer complaint")
    expect(new_form.get_by_label("Short name")).to_have_value("customer-complaint")  # suggested from the title
    new_form.get_by_role("button", name="Create form").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customer complaint")

    # The starter question becomes "Your name".
    with page.expect_response(lambda r: "field=subject" in r.url):
        page.locator("#sel-subject").click()
    set_text(page, "Label", "Your name")
    add(page, "Email", "Email address")
    order_key = add(page, "Short text", "Order number")
    set_text(page, "Format the answer must have (pattern)", "ORD-[0-9]{6}")
    set_text(page, "Message when the format is wrong", "Enter the order number as ORD- and 6 digits.")
    add(page, "Single choice", "Severity")
    set_options(page, ["Low", "Medium", "High", "Critical"])
    add(page, "Single choice", "Customer tier")
    set_options(page, ["Standard", "Silver", "Gold"])
    add(page, "Single choice", "Category")
    set_options(page, ["Late delivery", "Damaged item", "Other"])
    other = add(page, "Short text", "Other category")

    # "Other category" is shown only when Category is Other: built with pickers, never typed.
    builder = page.locator(f"#cb-{other}-visible_if")
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_label("Only when…").check()
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_label("Field").select_option(label="Category")
    expect(builder.get_by_label("Condition")).to_have_value("eq")
    builder.get_by_label("Value").select_option(label="Other")
    with page.expect_response(lambda r: r.url.endswith("/condition")):
        builder.get_by_role("button", name="Apply").click()
    expect(page.locator(f"#card-{other}-info")).to_contain_text("shown only when Category is Other")

    add(page, "Long text", "Description")
    add(page, "File upload", "Attachment")
    expect(page.locator("#card-attachment .dz-type")).to_have_text("File upload")
    expect(page.locator(".dz-card.has-problems")).to_have_count(0)

    # The order number's format, as a requester would meet it in the preview.
    preview = page.locator("#preview-form")
    expect(preview.get_by_label("Order number", exact=True)).to_be_visible()
    assert order_key in order(page)

    # Reorder by dragging with the mouse: Email goes above "Your name"; the order is stored.
    drag(page, page.locator("#card-email"), page.locator("#card-subject"))
    expect(page.locator("#designer-status")).to_contain_text("“Email address” moved to position 1")
    page.reload()
    expect_order_starts(page, ["email", "subject"])

    # And by keyboard: Alt+ArrowDown on the focused card, announced in the live region.
    page.locator("#sel-email").focus()
    with page.expect_response(lambda r: r.url.endswith("/move")):
        page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#designer-status")).to_contain_text("“Email address” moved to position 2")
    expect(page.locator("#sel-email")).to_be_focused()
    expect_order_starts(page, ["subject", "email"])
    with page.expect_response(lambda r: r.url.endswith("/move")):
        page.locator("#card-subject").get_by_role("button", name="Move “Your name” down").click()
    expect_order_starts(page, ["email", "subject"])

    # The preview shows "Other category" only once Other is picked.
    other_wrap = preview.locator(f"#wrap-{other}")
    expect(other_wrap).to_be_hidden()
    preview.get_by_label("Category", exact=True).select_option(label="Other")
    expect(other_wrap).to_be_visible()
    expect(preview.get_by_label("Other category", exact=True)).to_be_visible()
    preview.get_by_label("Category", exact=True).select_option(label="Damaged item")
    expect(other_wrap).to_be_hidden()

    # Publish, then find version 1 in the history.
    page.get_by_label("What changed").fill("First version of the complaint form")
    with page.expect_response(lambda r: r.url.endswith("/publish")):
        page.get_by_role("button", name="Publish version 1").click()
    expect(page.locator("#designer-status")).to_contain_text("Version 1 published.")
    page.get_by_role("link", name="Versions, history and availability").click()
    versions = page.get_by_role("table")
    expect(versions.get_by_role("link", name="Version 1")).to_be_visible()
    expect(versions).to_contain_text("First version of the complaint form")

    # A requester files it: mistakes are shown next to their fields with the input kept, then fixed.
    requester = browser.new_context(base_url=base_url).new_page()
    requester.goto("/login")
    requester.get_by_label("E-mail address").fill("requester@example.com")
    requester.get_by_label("Password").fill("casework-demo")
    requester.get_by_role("button", name="Log in").click()
    requester.get_by_role("link", name="Customer complaint").click()
    requester.get_by_label("Email address").fill("riley@example.com")
    requester.get_by_label("Order number").fill("12345")
    requester.get_by_label("Category", exact=True).select_option(label="Damaged item")
    requester.get_by_label("Description").fill("The parcel arrived crushed.")
    requester.get_by_role("button", name="Submit").click()
    expect(requester.get_by_role("alert").first).to_contain_text("Some answers need your attention.")
    order_input = requester.get_by_label("Order number")
    expect(order_input).to_have_value("12345")
    expect(order_input).to_have_attribute("aria-invalid", "true")
    error_id = order_input.get_attribute("aria-describedby") or ""
    assert error_id.endswith("-error") or "-error" in error_id
    expect(requester.locator(f"#{error_id.split()[-1]}")).to_have_text(
        re.compile("Enter the order number as ORD- and 6 digits."))
    expect(requester.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    expect(requester.get_by_label("Email address")).to_have_value("riley@example.com")
    expect(requester.get_by_label("Description")).to_have_value("The parcel arrived crushed.")
    requester.get_by_label("Your name").fill("Riley Requester")
    order_input.fill("ORD-123456")
    requester.get_by_role("button", name="Submit").click()
    expect(requester.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(requester.get_by_role("status")).to_contain_text("“Customer complaint” form was received")
    expect(requester.locator("dl.data")).to_contain_text("ORD-123456")


def test_delete_with_undo_and_a_stale_page(admin_page: Page) -> None:
    page = admin_page
    page.goto("/designer/forms/")
    page.get_by_label("Title").fill("Undo check")
    page.get_by_role("button", name="Create form").click()
    add(page, "Email", "Email")
    with page.expect_response(lambda r: r.url.endswith("/delete")):
        page.locator("#card-email").get_by_role("button", name="Delete “Email”").click()
    expect(page.locator("#card-email")).to_have_count(0)
    undo = page.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/restore")):
        undo.click()
    expect(page.locator("#card-email")).to_be_visible()
    # Another tab changes the draft: this page's next edit is refused with a reload link.
    other = page.context.new_page()
    other.goto(page.url)
    with other.expect_response(lambda r: r.url.endswith("/fields")):
        other.locator(".dz-palette").get_by_role("button", name="Phone", exact=True).click()
    other.close()
    with page.expect_response(lambda r: r.url.endswith("/fields")) as info:
        page.locator(".dz-palette").get_by_role("button", name="Date", exact=True).click()
    assert info.value.status == 409
    alert = page.locator("#designer-alert")
    expect(alert).to_contain_text("changed by Ada Admin")
    alert.get_by_role("link", name="Reload the draft").click()
    expect(page.locator("#card-phone")).to_be_visible()
    expect(page.locator("#card-date")).to_have_count(0)


def test_admin_written_markup_is_shown_as_text_and_never_runs(admin_page: Page, browser: Browser,
                                                              base_url: str) -> None:
    page = admin_page
    page.goto("/designer/forms/")
    page.get_by_label("Title").fill("Markup check")
    page.get_by_role("button", name="Create form").click()
    key = add(page, "Single choice", XSS)
    set_text(page, "Help text", IMG)
    set_options(page, [XSS, IMG])
    page.goto(page.url.split("?")[0])  # nothing selected: the panel edits the form itself
    form_title = panel(page).get_by_label("Title", exact=True)
    with page.expect_response(lambda r: r.url.endswith("/settings")):
        form_title.fill(IMG)
        form_title.press("Tab")
    for _ in range(2):  # as edited, and after a reload
        expect(page.locator(f"#card-{key} .dz-card-label")).to_have_text(XSS)
        expect(page.get_by_role("heading", level=1)).to_contain_text(IMG)
        preview = page.locator("#preview-form")
        expect(preview.locator(f"#wrap-{key} legend, #wrap-{key} label").first).to_contain_text(XSS)
        expect(preview).to_contain_text(IMG)
        expect(preview.locator(f"#field-{key}")).to_contain_text(XSS)  # the option label in the drop-down
        assert page.locator("#preview-form img, #designer script, .dz-canvas img").count() == 0
        page.reload()
    with page.expect_response(lambda r: r.url.endswith("/publish")):
        page.get_by_role("button", name="Publish version 1").click()
    page.get_by_role("link", name="Versions, history and availability").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(IMG)
    page.get_by_role("link", name="Version 1").first.click()
    expect(page.locator("#preview-title")).to_have_text(IMG)
    assert page.locator("main img, main script").count() == 0

    # The requester's form and the confirmation show it as text too, and nothing runs there either.
    requester = browser.new_context(base_url=base_url).new_page()
    dialogs: list[str] = []
    requester.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    requester.goto("/login")
    requester.get_by_label("E-mail address").fill("requester@example.com")
    requester.get_by_label("Password").fill("casework-demo")
    requester.get_by_role("button", name="Log in").click()
    requester.get_by_role("link", name=IMG).click()
    expect(requester.get_by_role("heading", level=1)).to_have_text(IMG)
    expect(requester.locator(f"#wrap-{key}")).to_contain_text(XSS)
    requester.locator(f"#field-{key}").select_option(index=1)
    requester.get_by_label("Subject").fill(XSS)
    requester.get_by_role("button", name="Submit").click()
    expect(requester.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(requester.locator("dl.data")).to_contain_text(XSS)
    assert requester.locator("main img, main script").count() == 0
    assert dialogs == []


def test_pages_and_dragging_from_the_palette(admin_page: Page) -> None:
    page = admin_page
    page.goto("/designer/forms/")
    page.get_by_label("Title").fill("Two steps")
    page.get_by_role("button", name="Create form").click()
    with page.expect_response(lambda r: r.url.endswith("/pages")):
        page.get_by_role("button", name="Add a page").click()
    title = panel(page).get_by_label("Page title")
    expect(title).to_be_focused()
    with page.expect_response(lambda r: "/pages/" in r.url):
        title.fill("Evidence")
        title.press("Tab")
    second = page.locator(".dz-page").nth(1)
    expect(second).to_contain_text("Add at least one field to this page.")
    # A field type dragged from the palette lands where it is dropped.
    tool = page.locator(".dz-palette").get_by_role("button", name="File upload", exact=True)
    tool.scroll_into_view_if_needed()
    second.scroll_into_view_if_needed()
    start, end = tool.bounding_box(), second.locator(".dz-list").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + 10, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(end["x"] + 30, end["y"] + 10, steps=12)
    with page.expect_response(lambda r: r.url.endswith("/fields")):
        page.mouse.up()
    expect(second.locator(".dz-card")).to_have_count(1)
    expect(second).not_to_contain_text("Add at least one field")
    # The starter question is dragged onto the second page too, above the upload.
    drag(page, page.locator("#card-subject"), page.locator("#card-attachment"))
    expect(second.locator(".dz-card")).to_have_count(2)
    expect(page.locator("#designer-status")).to_contain_text("moved to position 1 of 2 on page “Evidence”")
    expect(page.locator(".dz-page").first).to_contain_text("Add at least one field to this page.")
    preview = page.locator("#preview-form")  # the empty first page is left out of the preview for now
    expect(preview.get_by_label("Subject", exact=True)).to_be_visible()
    expect(preview.get_by_label("File upload", exact=True)).to_be_visible()
