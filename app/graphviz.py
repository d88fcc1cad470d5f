"""Graphs drawn by Graphviz (`dot`, Debian package `graphviz`) as inline SVG.

Callers describe nodes and edges in plain data; this module writes the DOT source, runs `dot -Tsvg` in a
time-limited child process and checks what comes back before it reaches a page. Admin-written text only
ever appears inside quoted DOT strings (escaped so no quote, backslash escape or newline can end one), node
names are our own (`n0`, `n1`, ...), and the SVG is parsed and rebuilt from an allow-list of elements and
attributes (no scripts, no links, no event handlers, no style attributes: the CSP forbids them), so even
a misbehaving `dot` cannot put markup on a page. Results are cached by the DOT source: the same graph is
laid out once per process and checked once. When `dot` is missing, too slow or fails, `render` answers None and the
caller shows its text alternative instead.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "DejaVu Sans"
TIMEOUT_S = 5.0
MAX_ITEMS = 2500  # nodes + edges: past this dot needs seconds (1,000 states and 3,000 arrows: over 5 s)
CACHE_SIZE = 256
_ELEMENTS = {"svg", "g", "title", "desc", "path", "polygon", "polyline", "ellipse", "circle", "rect", "line", "text"}
_ATTRIBUTES = {"width", "height", "viewBox", "transform", "fill", "fill-opacity", "stroke", "stroke-width",
               "stroke-dasharray", "stroke-opacity", "d", "points", "cx", "cy", "rx", "ry", "r", "x", "y", "x1",
               "y1", "x2", "y2", "text-anchor", "font-family", "font-size", "font-weight", "font-style", "class",
               "id"}
_SAFE_VALUE = re.compile(r"^(?!.*url\()[#\w\s.,()%+-]*$")  # colours, numbers, paths, transforms, font names


@dataclass(frozen=True)
class Node:
    """One box. `lines` are drawn as given (line breaks are ours); `title` is its tooltip and accessible name."""

    key: str
    lines: tuple[str, ...]
    fill: str = "#eceff3"
    stroke: str = "#5b6475"
    ink: str = "#1d2330"
    dashed: bool = False
    double: bool = False
    bold: bool = False
    title: str = ""
    data: tuple[tuple[str, str], ...] = ()
    css: str = "node"


@dataclass(frozen=True)
class Edge:
    """One arrow between two node keys."""

    source: str
    target: str
    label: str = ""
    color: str = "#3b4253"
    width: float = 1.5
    title: str = ""
    data: tuple[tuple[str, str], ...] = ()
    css: str = "edge"


@dataclass(frozen=True)
class Graph:
    """A directed graph with what screen readers are told about it."""

    nodes: Sequence[Node]
    edges: Sequence[Edge]
    title: str
    desc: str
    id_prefix: str = "g"
    rankdir: str = "LR"
    css: str = "graph"
    extra: dict[str, str] = field(default_factory=dict)


def quote(text: str) -> str:
    """A DOT double-quoted string showing `text` literally: backslashes (Graphviz's own escapes such as
    `\\N`), quotes and line breaks cannot end the string or change its meaning, and `&` cannot start one of
    the HTML entities Graphviz decodes in labels."""
    flat = re.sub(r"[\r\n\t\v\f\x00-\x08\x0e-\x1f\x7f]", " ", str(text)).replace("&", "&amp;")
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(lines: Sequence[str]) -> str:
    """A multi-line label: each line quoted as text, joined by DOT's own centred line break."""
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines) + '"'


def _prefix(value: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", value.lower()) or "g"


def to_dot(graph: Graph) -> str:
    """The DOT source of `graph` (node and edge ids are indexes; no admin text outside quoted strings)."""
    index = {node.key: n for n, node in enumerate(graph.nodes)}
    rankdir = graph.rankdir if graph.rankdir in {"LR", "TB"} else "LR"
    out = [f'digraph casework {{ graph [rankdir={rankdir}, nodesep=0.35, ranksep=0.6, fontname="{FONT}", '
           'bgcolor="transparent", pad=0.15];',
           f'node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=11, margin="0.14,0.06"];',
           f'edge [fontname="{FONT}", fontsize=10, arrowsize=0.7];']
    for n, node in enumerate(graph.nodes):
        style = "rounded,filled" + (",dashed" if node.dashed else "") + (",bold" if node.bold else "")
        out.append(f'n{n} [id="n{n}", label={_label(node.lines)}, fillcolor={quote(node.fill)}, '
                   f'color={quote(node.stroke)}, fontcolor={quote(node.ink)}, style="{style}"'
                   + (", peripheries=2" if node.double else "") + "];")
    for e, edge in enumerate(graph.edges):
        if edge.source not in index or edge.target not in index:
            continue
        out.append(f'n{index[edge.source]} -> n{index[edge.target]} [id="e{e}", label={quote(edge.label)}, '
                   f'color={quote(edge.color)}, fontcolor="#1d2330", penwidth={max(0.5, min(edge.width, 8.0)):.2f}];')
    out.append("}")
    return "\n".join(out)


_cache: OrderedDict[str, str] = OrderedDict()  # DOT source digest -> dot's SVG
_drawn: OrderedDict[str, Markup] = OrderedDict()  # graph digest -> the checked, decorated SVG
_lock = threading.Lock()


def available() -> bool:
    """Whether `dot` is on the PATH."""
    return shutil.which("dot") is not None


def _layout(source: str, timeout: float) -> str | None:
    """Graphviz's SVG for `source`, from the cache or a time-limited `dot`; None when it cannot be had."""
    digest = hashlib.sha256(source.encode()).hexdigest()
    with _lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            return _cache[digest] or None  # "" marks a graph dot could not draw: it is not tried again
    binary = shutil.which("dot")
    if binary is None:
        log.warning("Graphviz dot is not installed: diagrams are shown as text")
        return None
    try:
        done = subprocess.run([binary, "-Tsvg"], input=source.encode(), capture_output=True,  # noqa: S603
                              timeout=timeout, check=False)
        svg = done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""
        if not svg:
            log.warning("Graphviz dot failed: %s", done.stderr.decode(errors="replace")[:500])
    except subprocess.TimeoutExpired:
        log.warning("Graphviz dot took longer than %.1f s: diagram shown as text", timeout)
        svg = ""
    with _lock:
        _cache[digest] = svg
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return svg or None


def _clean(element: ET.Element) -> None:
    """Drop every element and attribute not on the allow-lists, and any attribute value that is not plain."""
    for child in list(element):
        if child.tag.removeprefix(f"{{{SVG_NS}}}") not in _ELEMENTS:
            element.remove(child)
        else:
            _clean(child)
    for name in list(element.attrib):
        if name not in _ATTRIBUTES or not _SAFE_VALUE.match(element.attrib[name]):
            del element.attrib[name]


def _decorate(root: ET.Element, graph: Graph) -> None:
    """Our classes, data attributes and titles on Graphviz's groups (found by the ids we gave them)."""
    prefix = _prefix(graph.id_prefix)
    items: dict[str, Node | Edge] = {f"n{n}": node for n, node in enumerate(graph.nodes)}
    items.update({f"e{e}": edge for e, edge in enumerate(graph.edges)})
    for group in root.iter(f"{{{SVG_NS}}}g"):
        item = items.get(group.get("id", ""))
        if group.get("class") == "graph":
            group.attrib.pop("id", None)
            for heading in group.findall(f"{{{SVG_NS}}}title"):
                group.remove(heading)
            for poly in group.findall(f"{{{SVG_NS}}}polygon"):
                group.remove(poly)  # the white page background Graphviz paints
            continue
        if item is None:
            continue
        group.set("id", f"{prefix}-{group.get('id')}")
        group.set("class", item.css)
        for name, value in item.data:
            group.set(f"data-{name}", value)
        title = group.find(f"{{{SVG_NS}}}title")
        if title is not None:
            title.text = item.title or (" ".join(item.lines) if isinstance(item, Node) else item.label)


def render(graph: Graph, *, timeout: float = TIMEOUT_S) -> Markup | None:
    """The graph as an inline, checked SVG element, or None when Graphviz cannot draw it now."""
    if len(graph.nodes) + len(graph.edges) > MAX_ITEMS:
        return None
    key = hashlib.sha256(repr(graph).encode()).hexdigest()
    with _lock:
        if key in _drawn:
            _drawn.move_to_end(key)
            return _drawn[key]
    raw = _layout(to_dot(graph), timeout)
    if raw is None:
        return None
    body = raw[raw.find("<svg"):] if "<svg" in raw else ""
    try:
        root = ET.fromstring(body)  # noqa: S314 - dot's output; no DOCTYPE left, so no entities to expand
    except ET.ParseError:
        log.warning("Graphviz dot answered SVG that does not parse")
        return None
    if root.tag != f"{{{SVG_NS}}}svg":
        return None
    _clean(root)
    for name in ("class", "id"):
        root.attrib.pop(name, None)
    _decorate(root, graph)
    markup = _wrap(root, graph)
    with _lock:
        _drawn[key] = markup
        while len(_drawn) > CACHE_SIZE:
            _drawn.popitem(last=False)
    return markup


def _serialise(element: ET.Element) -> str:
    """Allow-listed SVG back to text: local tag names, every attribute value and text escaped."""
    tag = element.tag.removeprefix(f"{{{SVG_NS}}}")
    attrs = "".join(f' {name}="{escape(value)}"' for name, value in element.attrib.items())
    inner = escape(element.text.strip()) if element.text and element.text.strip() else ""
    inner += "".join(_serialise(child) + (escape(child.tail.strip()) if child.tail and child.tail.strip() else "")
                     for child in element)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def _wrap(root: ET.Element, graph: Graph) -> Markup:
    prefix = _prefix(graph.id_prefix)
    inner = "".join(_serialise(child) for child in root)
    attrs = " ".join(f'{name}="{escape(value)}"' for name, value in sorted(root.attrib.items()))
    extra = "".join(f' {name}="{escape(value)}"' for name, value in sorted(graph.extra.items())
                    if re.fullmatch(r"data-[a-z-]+", name))
    return Markup(  # noqa: S704 - rebuilt from allow-listed elements by _serialise(), which escapes every value
        f'<svg xmlns="{SVG_NS}" class="{escape(graph.css)}" {attrs} role="img" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" font-family="{FONT}, sans-serif"{extra}>'
        f'<title id="{prefix}-title">{escape(graph.title)}</title><desc id="{prefix}-desc">{escape(graph.desc)}</desc>'
        f"{inner}</svg>")
