"""A case type's states and transitions as an inline SVG diagram, laid out in plain Python.

Columns are the distance from the initial state (the waiting state for requests for information sits
next to the work it interrupts; states nothing leads to come last, drawn dashed). Nodes take the
state's colour, final states get a double border, arrows carry the transition's label. Drafts may be
broken: whatever cannot be drawn is left out rather than failing. Everything admin-written is
escaped, and only SVG presentation attributes are used (the CSP forbids style attributes).
The output depends only on the document, so the same draft always gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

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
NODE_W, NODE_H = 164, 50
GAP_X, GAP_Y = 112, 46
MARGIN = 34
FONT = 13
LABEL_FONT = 12
KIND_WORDS = {"initial": "start", "working": "working", "waiting": "waiting", "final": "closed"}
ANY = "*"


@dataclass
class _Node:
    key: str
    label: str
    kind: str
    color: str
    col: int = 0
    row: int = 0
    x: float = 0
    y: float = 0
    reached: bool = True
    note: str = ""

    @property
    def center(self) -> tuple[float, float]:
        return self.x + NODE_W / 2, self.y + NODE_H / 2


@dataclass
class _Arrow:
    source: _Node
    target: _Node
    bend: float = 0.0


@dataclass
class _Edge:
    key: str
    label: str
    arrows: list[_Arrow]


def _text(value: Any) -> str:
    return escape(str(value), quote=True)


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _read(document: Mapping[str, Any]) -> tuple[list[_Node], list[_Edge], _Node | None]:
    nodes: dict[str, _Node] = {}
    for state in document.get("states") or []:
        if not isinstance(state, Mapping) or not isinstance(state.get("key"), str) or state["key"] in nodes:
            continue
        kind = state.get("kind") if state.get("kind") in KIND_WORDS else "working"
        color = state.get("color") if state.get("color") in PALETTE else "grey"
        nodes[state["key"]] = _Node(state["key"], str(state.get("label") or state["key"]), str(kind), str(color))
    any_node: _Node | None = None
    edges: list[_Edge] = []
    for transition in document.get("transitions") or []:
        if not isinstance(transition, Mapping) or not isinstance(transition.get("key"), str):
            continue
        to = transition.get("to")
        target = nodes.get(to) if isinstance(to, str) else None
        sources = transition.get("from")
        sources = [sources] if isinstance(sources, str) else sources if isinstance(sources, list) else []
        if target is None:
            continue
        arrows = []
        for source in dict.fromkeys(s for s in sources if isinstance(s, str)):
            if source == ANY:
                any_node = any_node or _Node(ANY, "Any state", "any", "grey")
                arrows.append(_Arrow(any_node, target))
            elif source in nodes:
                arrows.append(_Arrow(nodes[source], target))
        if arrows:
            edges.append(_Edge(transition["key"], str(transition.get("label") or transition["key"]), arrows))
    return list(nodes.values()), edges, any_node


def _columns(nodes: list[_Node], edges: list[_Edge], info_state: Any) -> None:
    """Breadth-first distance from the initial state; a transition from any state leaves every state."""
    if not nodes:
        return
    start = next((n for n in nodes if n.kind == "initial"), nodes[0])
    out: dict[str, list[str]] = {n.key: [] for n in nodes}
    from_any: list[str] = []
    for edge in edges:
        for arrow in edge.arrows:
            if arrow.source.key == ANY:
                from_any.append(arrow.target.key)
            else:
                out[arrow.source.key].append(arrow.target.key)
    dist = {start.key: 0}
    queue = [start.key]

    def walk() -> None:
        while queue:
            key = queue.pop(0)
            for nxt in [*out[key], *from_any]:
                if nxt not in dist:
                    dist[nxt] = dist[key] + 1
                    queue.append(nxt)

    walk()
    if isinstance(info_state, str) and info_state in out and info_state not in dist:
        dist[info_state] = 1 if len(nodes) > 1 else 0
        queue.append(info_state)
        walk()
    last = max(dist.values()) + 1
    for node in nodes:
        node.reached = node.key in dist
        node.col = dist.get(node.key, last)


def _place(nodes: list[_Node], any_node: _Node | None) -> tuple[float, float]:
    by_col: dict[int, list[_Node]] = {}
    for node in nodes:
        by_col.setdefault(node.col, []).append(node)
    if any_node is not None:
        by_col.setdefault(0, []).append(any_node)
    cols = sorted(by_col)
    tallest = max((len(v) for v in by_col.values()), default=1)
    step_y = NODE_H + GAP_Y
    for position, col in enumerate(cols):
        column = by_col[col]
        top = MARGIN + (tallest - len(column)) * step_y / 2
        for row, node in enumerate(column):
            node.col, node.row = position, row
            node.x = MARGIN + position * (NODE_W + GAP_X)
            node.y = top + row * step_y
    width = MARGIN * 2 + len(cols) * NODE_W + max(len(cols) - 1, 0) * GAP_X
    height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y
    return max(width, 320), max(height, NODE_H + 2 * MARGIN)


def _border_point(node: _Node, toward: tuple[float, float], gap: float = 3.0) -> tuple[float, float]:
    """Where the line from the node's centre toward `toward` leaves its box (a little outside it)."""
    cx, cy = node.center
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    half_w, half_h = NODE_W / 2 + gap, NODE_H / 2 + gap
    scale = min(half_w / abs(dx) if dx else math.inf, half_h / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def _curve(arrow: _Arrow, bend: float) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    (ax, ay), (bx, by) = arrow.source.center, arrow.target.center
    length = math.hypot(bx - ax, by - ay) or 1.0
    nx, ny = -(by - ay) / length, (bx - ax) / length
    control = ((ax + bx) / 2 + nx * bend, (ay + by) / 2 + ny * bend)
    return _border_point(arrow.source, control), control, _border_point(arrow.target, control)


def _point(curve: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2) = curve
    u = 1 - t
    return u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2


_PAD = 8
_SAMPLES = [step / 24 for step in range(1, 24)]
_CELL_W, _CELL_H = NODE_W + GAP_X, NODE_H + GAP_Y


class _Obstacles:
    """The boxes arrows should not cross, bucketed by grid cell: a point meets at most a few candidates,
    so routing stays linear in the number of arrows (it was arrows x boxes: 36 s for 1,000 states)."""

    def __init__(self, nodes: list[_Node]) -> None:
        self.cells: dict[tuple[int, int], list[_Node]] = {}
        for node in nodes:
            for cx in range(math.floor((node.x - _PAD) / _CELL_W), math.floor((node.x + NODE_W + _PAD) / _CELL_W) + 1):
                for cy in range(math.floor((node.y - _PAD) / _CELL_H),
                                math.floor((node.y + NODE_H + _PAD) / _CELL_H) + 1):
                    self.cells.setdefault((cx, cy), []).append(node)

    def hit(self, x: float, y: float, arrow: _Arrow) -> bool:
        for node in self.cells.get((math.floor(x / _CELL_W), math.floor(y / _CELL_H)), ()):
            if node is arrow.source or node is arrow.target:
                continue
            if node.x - _PAD <= x <= node.x + NODE_W + _PAD and node.y - _PAD <= y <= node.y + NODE_H + _PAD:
                return True
        return False


def _crosses(curve: tuple[tuple[float, float], ...], arrow: _Arrow, obstacles: _Obstacles) -> bool:
    return any(obstacles.hit(*_point(curve, t), arrow) for t in _SAMPLES)


def _route(edges: list[_Edge], nodes: list[_Node]) -> None:
    """Bend arrows apart when two join the same states, and around boxes in their way."""
    obstacles = _Obstacles(nodes)
    seen: dict[tuple[str, str], int] = {}
    pairs = {(a.source.key, a.target.key) for e in edges for a in e.arrows}
    for edge in edges:
        for arrow in edge.arrows:
            if arrow.source is arrow.target:
                continue
            pair = (arrow.source.key, arrow.target.key)
            nth = seen.get(pair, 0)
            seen[pair] = nth + 1
            base = (26.0 if (pair[1], pair[0]) in pairs else 0.0) + 30.0 * nth
            arrow.bend = base
            for extra in (0, 40, -40, 80, -80, 120, -120, 170, -170):
                if not _crosses(_curve(arrow, base + extra), arrow, obstacles):
                    arrow.bend = base + extra
                    break


def _node_svg(node: _Node, info_state: Any) -> str:
    fill, stroke = PALETTE.get(node.color, PALETTE["grey"])
    x, y = node.x, node.y
    dashed = node.key == ANY or not node.reached
    kind = KIND_WORDS.get(node.kind, "")
    if node.key == info_state:
        kind = "waiting · for answers"
    if not node.reached and node.key != ANY:
        kind = f"{kind} · unreachable"
    title = node.label if node.key == ANY else f"{node.label} ({kind})"
    parts = [
        f'<g class="node" data-state="{_text(node.key)}" data-kind="{_text(node.kind)}">',
        f"<title>{_text(title)}</title>",
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{NODE_W}" height="{NODE_H}" rx="10" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{2 if node.kind != "final" else 1.5}"'
        + (' stroke-dasharray="5 4"' if dashed else "") + "/>",
    ]
    if node.kind == "final":
        parts.append(f'<rect x="{_num(x + 4)}" y="{_num(y + 4)}" width="{NODE_W - 8}" height="{NODE_H - 8}" '
                     f'rx="7" fill="none" stroke="{stroke}" stroke-width="1.5"/>')
    label_y = y + (NODE_H / 2 + 4 if node.key == ANY else 22)
    parts.append(f'<text x="{_num(x + NODE_W / 2)}" y="{_num(label_y)}" text-anchor="middle" fill="{INK}" '
                 f'font-weight="600">{_text(_fit(node.label, 20))}</text>')
    if node.key != ANY:
        parts.append(f'<text x="{_num(x + NODE_W / 2)}" y="{_num(y + 39)}" text-anchor="middle" fill="{INK}" '
                     f'font-size="11">{_text(_fit(kind, 27))}</text>')
    parts.append("</g>")
    return "".join(parts)


def _edge_svg(edge: _Edge, labels: list[str], prefix: str) -> str:
    parts = [f'<g class="edge" data-transition="{_text(edge.key)}">']
    sources = ", ".join(a.source.label for a in edge.arrows)
    parts.append(f"<title>{_text(f'{edge.label}: {sources} → {edge.arrows[0].target.label}')}</title>")
    label_at: tuple[float, float] | None = None
    for arrow in edge.arrows:
        if arrow.source is arrow.target:
            x, y = arrow.source.x, arrow.source.y
            sx, ex = x + NODE_W * 0.62, x + NODE_W * 0.86
            d = (f"M{_num(sx)},{_num(y - 3)} C{_num(sx - 6)},{_num(y - 46)} {_num(ex + 6)},{_num(y - 46)} "
                 f"{_num(ex)},{_num(y - 3)}")
            at = ((sx + ex) / 2, y - 38)
        else:
            curve = _curve(arrow, arrow.bend)
            (x0, y0), (x1, y1), (x2, y2) = curve
            d = f"M{_num(x0)},{_num(y0)} Q{_num(x1)},{_num(y1)} {_num(x2)},{_num(y2)}"
            at = _point(curve, 0.5)
        label_at = label_at or at
        parts.append(f'<path d="{d}" fill="none" stroke="{EDGE}" stroke-width="1.5" '
                     f'marker-end="url(#{prefix}-arrow)"/>')
    parts.append("</g>")
    if label_at is not None:
        text = _fit(edge.label, 24)
        width = len(text) * LABEL_FONT * 0.58 + 10
        lx, ly = label_at
        labels.append(
            f'<g class="edge-label" data-transition="{_text(edge.key)}" aria-hidden="true">'
            f'<rect x="{_num(lx - width / 2)}" y="{_num(ly - 9)}" width="{_num(width)}" height="18" rx="4" '
            f'fill="#ffffff" fill-opacity="0.92"/>'
            f'<text x="{_num(lx)}" y="{_num(ly + 4)}" text-anchor="middle" fill="{INK}" '
            f'font-size="{LABEL_FONT}">{_text(text)}</text></g>')
    return "".join(parts)


def describe(document: Mapping[str, Any]) -> str:
    """The diagram in words (its text alternative)."""
    nodes, edges, _any = _read(document)
    if not nodes:
        return "No states yet."
    lines = [f"{len(nodes)} states: " + ", ".join(f"{n.label} ({KIND_WORDS.get(n.kind, n.kind)})" for n in nodes)
             + "."]
    for edge in edges:
        sources = ", ".join(a.source.label for a in edge.arrows)
        lines.append(f"{edge.label}: from {sources} to {edge.arrows[0].target.label}.")
    return " ".join(lines)


def case_type_svg(document: Mapping[str, Any], *, id_prefix: str = "ct", title: str = "") -> Markup:
    """The inline SVG of a case-type document (a draft may be incomplete or broken)."""
    prefix = re.sub(r"[^a-z0-9-]", "", id_prefix.lower()) or "ct"
    nodes, edges, any_node = _read(document)
    info_state = document.get("request_info_state")
    _columns(nodes, edges, info_state)
    all_nodes = [*nodes, *([any_node] if any_node else [])]
    width, height = _place(nodes, any_node)
    _route(edges, all_nodes)
    has_loop = any(a.source is a.target and a.source.row == 0 for e in edges for a in e.arrows)
    top = -40 if has_loop else 0
    name = title or str(document.get("name") or "the case type")
    labels: list[str] = []
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ct-diagram" viewBox="0 {top} {_num(width)} '
        f'{_num(height - top)}" width="{_num(width)}" height="{_num(height - top)}" role="img" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" font-family="system-ui, \'DejaVu Sans\', sans-serif" '
        f'font-size="{FONT}">',
        f'<title id="{prefix}-title">States and transitions of {_text(name)}</title>',
        f'<desc id="{prefix}-desc">{_text(describe(document))}</desc>',
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker></defs>',
    ]
    if not nodes:
        body.append(f'<text x="{MARGIN}" y="{MARGIN + 20}" fill="{INK}">No states yet: add the first one below.'
                    "</text>")
    body.append('<g class="edges">' + "".join(_edge_svg(e, labels, prefix) for e in edges) + "</g>")
    body.append('<g class="nodes">' + "".join(_node_svg(n, info_state) for n in all_nodes) + "</g>")
    body.append('<g class="labels">' + "".join(labels) + "</g>")
    body.append("</svg>")
    return Markup("".join(body))  # noqa: S704 - every interpolated value above is escaped by _text()


def swatch(color: str) -> Markup:
    """A small square in a palette colour, for the colour choices of the state form."""
    fill, stroke = PALETTE.get(color, PALETTE["grey"])
    return Markup(  # noqa: S704 - constant palette values only
        f'<svg class="swatch" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
        f'<rect x="1" y="1" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="2"/></svg>')
