"""The case-type diagram: inline SVG laid out by Graphviz, escaped, deterministic, tolerant of broken drafts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from app import graphviz
from app.designer.case_types.diagram import PALETTE, case_type_svg, describe, swatch
from case_types.workflow import starter_case_type

SVG = "{http://www.w3.org/2000/svg}"


def document() -> dict[str, Any]:
    return starter_case_type("Customer complaint", form="complaint", form_version=1, queue="general")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-state", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def edges(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]


def shapes(group: ET.Element) -> list[ET.Element]:
    return [e for e in group if e.tag in (f"{SVG}path", f"{SVG}polygon")]


def left(group: ET.Element) -> float:
    """The leftmost x of a node's outline (Graphviz draws rounded boxes as paths)."""
    numbers = re.findall(r"-?\d+(?:\.\d+)?", shapes(group)[0].get("d", ""))
    return min(float(x) for x in numbers[0::2])


def test_a_node_per_state_and_an_arrow_per_source_of_each_transition() -> None:
    root = parse(case_type_svg(document()))
    assert sorted(nodes(root)) == sorted(["new", "in_progress", "waiting", "resolved", "rejected"])
    keys = [g.get("data-transition") for g in edges(root)]
    assert sorted(keys) == sorted(["start", "resolve", "reject", "reject"])  # "reject" leaves two states
    labels = sorted("".join(t.itertext()) for g in edges(root) for t in g.iter(f"{SVG}text"))
    assert labels == ["Reject", "Reject", "Resolve", "Start work"]
    titles = sorted(g.findtext(f"{SVG}title") or "" for g in edges(root))
    assert "Reject: In progress → Rejected" in titles and "Reject: New → Rejected" in titles
    for group in edges(root):  # an arrowhead drawn by the layout engine, no marker to reference
        assert group.find(f"{SVG}path") is not None and group.find(f"{SVG}polygon") is not None


def test_colours_kinds_and_final_states_double_bordered() -> None:
    root = parse(case_type_svg(document()))
    by_key = nodes(root)
    outline = shapes(by_key["new"])[0]
    assert (outline.get("fill"), outline.get("stroke")) == PALETTE["blue"]
    assert len(shapes(by_key["resolved"])) == 2
    assert len(shapes(by_key["new"])) == 1
    texts = ["".join(t.itertext()) for t in by_key["waiting"].iter(f"{SVG}text")]
    assert texts == ["Waiting for requester", "waiting · for answers"]
    assert by_key["waiting"].findtext(f"{SVG}title") == "Waiting for requester (waiting · for answers)"


def test_the_layout_runs_left_to_right_from_the_initial_state() -> None:
    by_key = nodes(parse(case_type_svg(document())))
    assert left(by_key["new"]) < left(by_key["in_progress"]) < left(by_key["resolved"])


def test_admin_text_is_escaped() -> None:
    doc = document()
    doc["name"] = "</title><script>alert(1)</script>"
    doc["states"][0]["label"] = "<script>alert('x')</script>"
    doc["states"][1]["key"] = 'in"progress'
    doc["transitions"][0]["from"] = ['in"progress']
    doc["transitions"][1]["label"] = '"><img src=x onerror=alert(1)>'
    svg = str(case_type_svg(doc))
    assert "<script" not in svg and "<img" not in svg and "onerror=alert(1)>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)  # still well-formed
    assert 'in"progress' in nodes(root)
    assert "style=" not in svg  # the CSP forbids style attributes


def test_the_same_draft_always_gives_the_same_bytes() -> None:
    first = case_type_svg(document())
    graphviz._cache.clear()
    graphviz._drawn.clear()
    assert case_type_svg(document()) == first  # laid out again by dot, not only read from the cache
    assert case_type_svg(document(), id_prefix="v2") != first
    assert 'id="v2-title"' in case_type_svg(document(), id_prefix="v2")
    assert 'id="xscript-title"' in case_type_svg(document(), id_prefix="x\"><script>")
    assert 'id="v2-n0"' in case_type_svg(document(), id_prefix="v2")  # two diagrams on a page never share ids


def test_any_state_self_loops_and_unreachable_states() -> None:
    doc = document()
    doc["states"].append({"key": "limbo", "label": "Limbo", "kind": "working", "color": "purple"})
    doc["transitions"].append({"key": "cancel", "label": "Cancel", "from": ["*"], "to": "rejected"})
    doc["transitions"].append({"key": "nudge", "label": "Nudge", "from": ["in_progress"], "to": "in_progress"})
    root = parse(case_type_svg(doc))
    assert "*" in nodes(root)  # the "Any state" box the arrow starts from
    assert "Any state" in "".join(nodes(root)["*"].itertext())
    assert shapes(nodes(root)["limbo"])[0].get("stroke-dasharray")
    assert "unreachable" in "".join(nodes(root)["limbo"].itertext())
    assert any(g.get("data-transition") == "nudge" for g in edges(root))


def test_broken_drafts_draw_what_they_can() -> None:
    broken = {"states": ["junk", {"key": "a", "label": "A", "kind": "weird", "color": "neon"},
                         {"key": "a", "label": "dup"}, {"label": "no key"}],
              "transitions": [{"key": "t", "from": "a", "to": "ghost"}, "junk", {"key": "u", "from": "a", "to": "a"}]}
    root = parse(case_type_svg(broken))
    assert list(nodes(root)) == ["a"]
    assert [g.get("data-transition") for g in edges(root)] == ["u"]
    assert "No states yet" in str(case_type_svg({}))


def test_text_alternative_and_swatch() -> None:
    text = describe(document())
    assert text.startswith("5 states: New (start), In progress (working)")
    assert "Reject: from New, In progress to Rejected." in text
    assert re.search(r'<desc id="ct-desc">5 states', str(case_type_svg(document())))
    assert 'fill="#e1ebfa"' in swatch("blue") and swatch("nope") == swatch("grey")


def test_without_graphviz_the_diagram_is_its_text_alternative(monkeypatch: pytest.MonkeyPatch) -> None:
    """No `dot` on the machine (or one too slow): the page still says every state and transition."""
    graphviz._cache.clear()
    graphviz._drawn.clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    doc = document()
    doc["states"][0]["label"] = "<script>x</script>"
    html = str(case_type_svg(doc))
    assert "<svg" not in html and "cannot be drawn" in html
    assert "<li>Reject: from &lt;script&gt;x&lt;/script&gt;, In progress to Rejected.</li>" in html
