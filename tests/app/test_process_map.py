"""The process map: an arrow per directly-follows relation, width by count, colour by time, all escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.insight.maps import SLOW, MapEdge, duration, process_map

SVG = "{http://www.w3.org/2000/svg}"
EDGES = [MapEdge(None, "new", 10, 0, 0), MapEdge("new", "triage", 10, 3600, 7200),
         MapEdge("triage", "new", 2, 36000, 40000), MapEdge("triage", None, 8, 600, 900)]
LABELS = {"new": "New", "triage": '<script>"]; x -> y'}


def test_an_arrow_per_relation_with_its_numbers_and_colour_by_time() -> None:
    svg = process_map(EDGES, LABELS, title="Process map of complaints")
    assert svg is not None
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output
    arrows = {(g.get("data-from"), g.get("data-to")): g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}
    assert set(arrows) == {("", "new"), ("new", "triage"), ("triage", "new"), ("triage", "")}
    slow = arrows[("triage", "new")].find(f"{SVG}path")
    fast = arrows[("new", "triage")].find(f"{SVG}path")
    assert slow is not None and fast is not None
    assert slow.get("stroke") == SLOW[-1] and fast.get("stroke") != SLOW[-1]  # the slowest arrow is red
    assert float(fast.get("stroke-width", 0)) > float(slow.get("stroke-width", 0))  # more cases, wider
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert '<script>"]; x -> y' in texts and "Filed" in texts and "Closed" in texts and "2 · 10 h" in texts
    assert "<script" not in str(svg)


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (None, 5, 600, 3600, 12000, 86400, 200000)] == \
        ["\u2013", "5 s", "10 min", "1 h", "3 h 20 min", "1 d", "2 d 7 h"]
