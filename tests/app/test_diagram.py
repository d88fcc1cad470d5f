"""The case-type diagram: inline SVG laid out in Python, escaped, deterministic, tolerant of broken drafts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from app.designer.case_types.diagram import PALETTE, case_type_svg, describe, swatch
from case_types.workflow import starter_case_type

SVG = "{http://www.w3.org/2000/svg}"


def document() -> dict[str, Any]:
    return starter_case_type("Customer complaint", form="complaint", form_version=1, queue="general")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-state", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def edges(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-transition", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}


def test_a_node_per_state_and_an_arrow_per_transition() -> None:
    root = parse(case_type_svg(document()))
    assert list(nodes(root)) == ["new", "in_progress", "waiting", "resolved", "rejected"]
    assert list(edges(root)) == ["start", "resolve", "reject"]
    # "reject" leaves two states: one arrow from each, one label.
    assert len(edges(root)["reject"].findall(f"{SVG}path")) == 2
    labels = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "edge-label" for t in g.iter(f"{SVG}text")]
    assert labels == ["Start work", "Resolve", "Reject"]
    for path in root.iter(f"{SVG}path"):
        if path.get("marker-end"):
            assert path.get("marker-end") == "url(#ct-arrow)"


def test_colours_kinds_and_final_states_double_bordered() -> None:
    root = parse(case_type_svg(document()))
    by_key = nodes(root)
    new_rect = by_key["new"].find(f"{SVG}rect")
    assert new_rect is not None and (new_rect.get("fill"), new_rect.get("stroke")) == PALETTE["blue"]
    assert len(by_key["resolved"].findall(f"{SVG}rect")) == 2
    assert len(by_key["new"].findall(f"{SVG}rect")) == 1
    texts = ["".join(t.itertext()) for t in by_key["waiting"].iter(f"{SVG}text")]
    assert texts == ["Waiting for request…", "waiting · for answers"]


def test_columns_follow_the_distance_from_the_initial_state() -> None:
    root = parse(case_type_svg(document()))
    x = {key: float(g.find(f"{SVG}rect").get("x")) for key, g in nodes(root).items()}  # type: ignore[union-attr]
    assert x["new"] < x["in_progress"] == x["rejected"] == x["waiting"] < x["resolved"]


def test_admin_text_is_escaped() -> None:
    doc = document()
    doc["name"] = "</title><script>alert(1)</script>"
    doc["states"][0]["label"] = "<script>alert('x')</script>"
    doc["states"][1]["key"] = 'in"progress'
    doc["transitions"][0]["label"] = '"><img src=x onerror=alert(1)>'
    svg = str(case_type_svg(doc))
    assert "<script" not in svg and "<img" not in svg and "onerror=alert(1)>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)  # still well-formed
    assert 'in"progress' in nodes(root)
    assert "style=" not in svg  # the CSP forbids style attributes


def test_the_same_draft_always_gives_the_same_bytes() -> None:
    first = case_type_svg(document())
    assert case_type_svg(document()) == first
    assert case_type_svg(document(), id_prefix="v2") != first
    assert 'id="v2-arrow"' in case_type_svg(document(), id_prefix="v2")
    assert 'id="xscript-arrow"' in case_type_svg(document(), id_prefix="x\"><script>")


def test_any_state_self_loops_and_unreachable_states() -> None:
    doc = document()
    doc["states"].append({"key": "limbo", "label": "Limbo", "kind": "working", "color": "purple"})
    doc["transitions"].append({"key": "cancel", "label": "Cancel", "from": ["*"], "to": "rejected"})
    doc["transitions"].append({"key": "nudge", "label": "Nudge", "from": ["in_progress"], "to": "in_progress"})
    root = parse(case_type_svg(doc))
    assert "*" in nodes(root)  # the "Any state" box the arrow starts from
    assert "Any state" in "".join(nodes(root)["*"].itertext())
    limbo_rect = nodes(root)["limbo"].find(f"{SVG}rect")
    assert limbo_rect is not None and limbo_rect.get("stroke-dasharray")
    assert "unreachable" in "".join(nodes(root)["limbo"].itertext())
    assert edges(root)["nudge"].find(f"{SVG}path") is not None


def test_broken_drafts_draw_what_they_can() -> None:
    broken = {"states": ["junk", {"key": "a", "label": "A", "kind": "weird", "color": "neon"},
                         {"key": "a", "label": "dup"}, {"label": "no key"}],
              "transitions": [{"key": "t", "from": "a", "to": "ghost"}, "junk", {"key": "u", "from": "a", "to": "a"}]}
    root = parse(case_type_svg(broken))
    assert list(nodes(root)) == ["a"]
    assert list(edges(root)) == ["u"]
    empty = str(case_type_svg({}))
    assert "No states yet" in empty
    parse(empty)


def test_text_alternative_and_swatch() -> None:
    text = describe(document())
    assert text.startswith("5 states: New (start), In progress (working)")
    assert "Reject: from New, In progress to Rejected." in text
    assert re.search(r'<desc id="ct-desc">5 states', str(case_type_svg(document())))
    assert 'fill="#e1ebfa"' in swatch("blue") and swatch("nope") == swatch("grey")
