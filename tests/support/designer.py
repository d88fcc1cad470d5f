"""Driving the designers' pages as the browser does, and reading where in a page something is."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from app.extensions import db
from cases.models import Definition
from tests.conftest import Web
from tests.support.complaint import complaint_case_type_document


class _Grab(HTMLParser):
    """Finds the element with a given id and where it ends (void elements have no end tag)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, wanted: str) -> None:
        super().__init__(convert_charrefs=False)
        self.wanted, self.depth = wanted, 0
        self.start: tuple[int, int] | None = None
        self.end: tuple[int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.start is None and dict(attrs).get("id") == self.wanted:
            self.start, self.depth = self.getpos(), (0 if tag in self.VOID else 1)
        elif self.start is not None and self.end is None and tag not in self.VOID:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.start is None and dict(attrs).get("id") == self.wanted:
            self.start = self.end = self.getpos()

    def handle_endtag(self, tag: str) -> None:
        if self.start is not None and self.end is None and tag not in self.VOID:
            self.depth -= 1
            if self.depth == 0:
                self.end = self.getpos()


def element(html: str, element_id: str) -> str:
    """The markup of the element with this id (up to its end tag), so a test can say *where* text is."""
    grab = _Grab(element_id)
    grab.feed(html)
    assert grab.start is not None, f"no element with id {element_id!r}"
    lines = html.splitlines(keepends=True)

    def offset(pos: tuple[int, int]) -> int:
        return sum(len(line) for line in lines[: pos[0] - 1]) + pos[1]

    end = grab.end or grab.start
    return html[offset(grab.start): html.index(">", offset(end)) + 1]


def draft(app: Any, url: str) -> tuple[dict[str, Any], int]:
    with app.app_context():
        definition = db.session.get(Definition, int(url.rstrip("/").rsplit("/", 1)[1]))
        assert definition is not None
        return json.loads(definition.draft), definition.draft_revision


def edit(web: Web, app: Any, url: str, pfx: str = "", revision: int | None = None, htmx: bool = True,
         **fields: Any) -> Any:
    """Post a designer form the way the page does: prefixed field names plus the draft revision."""
    name = (lambda f: f"{pfx}-{f}") if pfx else (lambda f: f)
    data = {name(k): v for k, v in fields.items()}
    page = url
    for tail in ("/states", "/transitions", "/catalogue", "/general", "/publish"):
        page = page.split(tail)[0]
    data[name("expected_revision")] = draft(app, page)[1] if revision is None else revision
    return web.post(url, data, htmx=htmx)


def case_type_of_size(states: int, transitions: int) -> dict[str, Any]:
    """A valid complaint case type with `states` states in a chain and `transitions` transitions (the chain
    forward, then back, then skipping ahead), every label admin-written text to be escaped."""
    document = complaint_case_type_document()
    agent = document["transitions"][0]["who"]
    keys = ["new", *[f"step_{i}" for i in range(1, states - 1)], "resolved"]
    document["states"] = [{"key": key, "label": f"Step <{i}> & co", "kind": "working", "color": "blue"}
                          for i, key in enumerate(keys)]
    document["states"][0]["kind"], document["states"][-1]["kind"] = "initial", "final"
    moves = [(keys[i], keys[i + 1]) for i in range(len(keys) - 1)]
    moves += [(keys[i + 1], keys[i]) for i in range(1, len(keys) - 2)]
    moves += [(keys[i], keys[i + 2]) for i in range(len(keys) - 2)]
    moves += [(keys[i], keys[i + 3]) for i in range(len(keys) - 3)]
    document["transitions"] = [{"key": f"move_{n}", "label": f"Move \"{n}\" <b>", "from": [a], "to": b, "who": agent}
                               for n, (a, b) in enumerate(moves[:transitions])]
    assert len(document["transitions"]) == transitions, "not enough distinct moves for that many transitions"
    document.update(request_info_state=None, reopen=None, editable_fields={}, sla=[])
    return document
