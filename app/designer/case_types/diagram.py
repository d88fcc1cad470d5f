"""A case type's states and transitions as an inline SVG diagram, laid out by Graphviz (app/graphviz.py).

Nodes take the state's colour, final states get a double border, states nothing leads to (and the
"Any state" box of transitions allowed from every state) are dashed, arrows carry the transition's
label. Drafts may be broken: whatever cannot be drawn is left out rather than failing. Admin-written text
is escaped by the Graphviz module; the same draft always gives the same bytes (layouts are cached by
their DOT source, so the designer's page does not lay out an unchanged diagram again). When Graphviz
cannot draw it (not installed, too slow), the page shows the diagram's text alternative as a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from app import graphviz

# colour name -> (fill, border); the fills keep dark text readable (WCAG AA).
PALETTE: dict[str, tuple[str, str]] = {
    "grey": ("#eceff3", "#5b6475"),
    "blue": ("#e1ebfa", "#1f5fbf"),
    "teal": ("#d9f2ef", "#0f766e"),
    "green": ("#e0f2e4", "#1e7b34"),
    "amber": ("#fcf0d2", "#8a5a00"),
    "orange": ("#fde6d4", "#b45309"),
    "red": ("#fbe3e1", "#b3261e"),
    "purple": ("#eee5f9", "#6b3fa0"),
}
INK = "#1d2330"
EDGE = "#3b4253"
KIND_WORDS = {"initial": "start", "working": "working", "waiting": "waiting", "final": "closed"}
ANY = "*"


@dataclass
class _State:
    key: str
    label: str
    kind: str
    color: str


@dataclass
class _Transition:
    key: str
    label: str
    sources: list[str]
    target: str


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _read(document: Mapping[str, Any]) -> tuple[dict[str, _State], list[_Transition]]:
    """The drawable part of a (possibly broken) draft: states with keys, transitions between them."""
    states: dict[str, _State] = {}
    for state in document.get("states") or []:
        if not isinstance(state, Mapping) or not isinstance(state.get("key"), str) or state["key"] in states:
            continue
        kind = state.get("kind") if state.get("kind") in KIND_WORDS else "working"
        color = state.get("color") if state.get("color") in PALETTE else "grey"
        states[state["key"]] = _State(state["key"], str(state.get("label") or state["key"]), str(kind), str(color))
    transitions: list[_Transition] = []
    for transition in document.get("transitions") or []:
        if not isinstance(transition, Mapping) or not isinstance(transition.get("key"), str):
            continue
        target = transition.get("to")
        raw = transition.get("from")
        raw = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        sources = [s for s in dict.fromkeys(s for s in raw if isinstance(s, str)) if s == ANY or s in states]
        if isinstance(target, str) and target in states and sources:
            transitions.append(_Transition(transition["key"], str(transition.get("label") or transition["key"]),
                                           sources, target))
    return states, transitions


def _reached(states: dict[str, _State], transitions: list[_Transition], info_state: Any) -> set[str]:
    """States a case can get to from the initial one (the information-request state counts as reached)."""
    if not states:
        return set()
    start = next((s.key for s in states.values() if s.kind == "initial"), next(iter(states)))
    from_any = {t.target for t in transitions if ANY in t.sources}
    out: dict[str, set[str]] = {key: set(from_any) for key in states}
    for transition in transitions:
        for source in transition.sources:
            if source != ANY:
                out[source].add(transition.target)
    seen = {start} | ({info_state} if isinstance(info_state, str) and info_state in states else set())
    todo = list(seen)
    while todo:
        for nxt in out[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _label(source: str, states: dict[str, _State]) -> str:
    return "Any state" if source == ANY else states[source].label


def describe(document: Mapping[str, Any]) -> str:
    """The diagram in words (its text alternative)."""
    states, transitions = _read(document)
    if not states:
        return "No states yet."
    lines = [f"{len(states)} states: " + ", ".join(f"{s.label} ({KIND_WORDS.get(s.kind, s.kind)})"
                                                  for s in states.values()) + "."]
    for t in transitions:
        lines.append(f"{t.label}: from {', '.join(_label(s, states) for s in t.sources)} to {states[t.target].label}.")
    return " ".join(lines)


def _graph(document: Mapping[str, Any], id_prefix: str, title: str) -> graphviz.Graph:
    states, transitions = _read(document)
    info_state = document.get("request_info_state")
    reached = _reached(states, transitions, info_state)
    nodes = []
    for state in states.values():
        fill, stroke = PALETTE[state.color]
        kind = "waiting · for answers" if state.key == info_state else KIND_WORDS[state.kind]
        if state.key not in reached:
            kind = f"{kind} · unreachable"
        nodes.append(graphviz.Node(
            state.key, (_fit(state.label, 24), _fit(kind, 27)), fill=fill, stroke=stroke, ink=INK,
            dashed=state.key not in reached, double=state.kind == "final", bold=state.kind == "initial",
            title=f"{state.label} ({kind})", data=(("state", state.key), ("kind", state.kind))))
    if any(ANY in t.sources for t in transitions):
        nodes.append(graphviz.Node(ANY, ("Any state",), dashed=True, title="Any state",
                                   data=(("state", ANY), ("kind", "any"))))
    edges = []
    for t in transitions:
        for source in t.sources:
            edges.append(graphviz.Edge(
                source, t.target, label=_fit(t.label, 28), color=EDGE,
                title=f"{t.label}: {_label(source, states)} → {states[t.target].label}",
                data=(("transition", t.key),)))
    name = title or str(document.get("name") or "the case type")
    return graphviz.Graph(nodes, edges, title=f"States and transitions of {name}", desc=describe(document),
                          id_prefix=id_prefix, css="ct-diagram")


def _as_list(graph: graphviz.Graph) -> Markup:
    """The text alternative on its own, for when Graphviz cannot draw the diagram."""
    items = "".join(f"<li>{escape(line.strip())}.</li>" for line in graph.desc.split(".") if line.strip())
    return Markup(  # noqa: S704 - every value goes through escape()
        f'<div class="ct-diagram-text" role="group" aria-label="{escape(graph.title)}">'
        f"<p>The diagram cannot be drawn right now; here it is in words.</p><ul>{items}</ul></div>")


def case_type_svg(document: Mapping[str, Any], *, id_prefix: str = "ct", title: str = "") -> Markup:
    """The inline SVG of a case-type document (a draft may be incomplete or broken), or its text."""
    graph = _graph(document, id_prefix, title)
    if not graph.nodes:
        return Markup(
            '<p class="ct-diagram-text">No states yet: add the first one below.</p>')
    return graphviz.render(graph) or _as_list(graph)


def swatch(color: str) -> Markup:
    """A small square in a palette colour, for the colour choices of the state form."""
    fill, stroke = PALETTE.get(color, PALETTE["grey"])
    return Markup(  # noqa: S704 - constant palette values only
        f'<svg class="swatch" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
        f'<rect x="1" y="1" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="2"/></svg>')
