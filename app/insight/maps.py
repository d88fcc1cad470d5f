"""The process map: the directly-follows graph of a case type drawn by Graphviz, coloured by time.

Each arrow is "cases that went from this state straight to that one": its width grows with how many did,
its colour with how long they took (median, from green through amber to red against the slowest arrow
of the map), its label says both. Cases enter at "Filed" and leave at "Closed" (when the domain gives
those ends as states named None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from app import graphviz

START, END = "\x00start", "\x00end"
SLOW = ("#1e7b34", "#5f7d12", "#8a5a00", "#b45309", "#b3261e")  # fast to slow; each readable on white


@dataclass(frozen=True)
class MapEdge:
    """One directly-follows relation with its numbers (seconds)."""

    source: str | None
    target: str | None
    count: int
    median_s: float | None
    p90_s: float | None


def duration(seconds: float | None) -> str:
    """A duration as people say it: 45 s, 12 min, 3 h 20 min, 4 d 6 h."""
    if seconds is None:
        return "\u2013"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 >= 60 else f"{s // 3600} h"
    return f"{s // 86400} d {s % 86400 // 3600} h" if s % 86400 >= 3600 else f"{s // 86400} d"


def _colour(median: float | None, slowest: float) -> str:
    if median is None or slowest <= 0:
        return SLOW[0]
    return SLOW[min(int(len(SLOW) * median / slowest), len(SLOW) - 1)]


def describe(edges: Sequence[MapEdge], labels: Mapping[str, str]) -> str:
    """The map in words (its text alternative)."""
    if not edges:
        return "No cases in this period."

    def name(key: str | None, end: str) -> str:
        return end if key is None else labels.get(key, key)

    return " ".join(f"{name(e.source, 'Filed')} to {name(e.target, 'Closed')}: {e.count} cases, median "
                    f"{duration(e.median_s)}, p90 {duration(e.p90_s)}." for e in edges)


def process_map(edges: Sequence[MapEdge], labels: Mapping[str, str], *, title: str,
                id_prefix: str = "map") -> Markup | None:
    """The inline SVG of the map, or None when Graphviz cannot draw it (the page then shows the table)."""
    states = dict.fromkeys(k for e in edges for k in (e.source, e.target) if k is not None)
    nodes = [graphviz.Node(key, (labels.get(key, key),), fill="#e1ebfa", stroke="#1f5fbf", title=labels.get(key, key),
                           data=(("state", key),)) for key in states]
    if any(e.source is None for e in edges):
        nodes.insert(0, graphviz.Node(START, ("Filed",), fill="#ffffff", bold=True, title="Filed",
                                      data=(("state", "(filed)"),)))
    if any(e.target is None for e in edges):
        nodes.append(graphviz.Node(END, ("Closed",), fill="#ffffff", double=True, title="Closed",
                                   data=(("state", "(closed)"),)))
    busiest = max((e.count for e in edges), default=1)
    slowest = max((e.median_s or 0 for e in edges), default=0)
    arrows = []
    for edge in edges:
        source, target = edge.source or START, edge.target or END
        arrows.append(graphviz.Edge(
            source, target, label=f"{edge.count} · {duration(edge.median_s)}", color=_colour(edge.median_s, slowest),
            width=1 + 5 * edge.count / busiest,
            title=f"{labels.get(source, 'Filed') if edge.source else 'Filed'} → "
                  f"{labels.get(target, 'Closed') if edge.target else 'Closed'}: {edge.count} cases, median "
                  f"{duration(edge.median_s)}, p90 {duration(edge.p90_s)}",
            data=(("from", edge.source or ""), ("to", edge.target or ""), ("count", str(edge.count)))))
    return graphviz.render(graphviz.Graph(nodes, arrows, title=title, desc=describe(edges, labels),
                                          id_prefix=id_prefix, css="process-map"))
