"""Charts as server-rendered SVG (bars, lines, histograms), each with the data table that says the same.

No chart needs JavaScript to be read: the SVG is a picture with a title and a description, the table
beside it carries the numbers (and the links to the cases behind them). Only presentation attributes
are used (the CSP forbids style attributes), every label is escaped, and the same data always gives the
same bytes, so the charts can also be printed into the PDF report by WeasyPrint.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

INK = "#1d2330"
GRID = "#d5d9e0"
COLOURS = ("#1f5fbf", "#b45309", "#0f766e", "#6b3fa0", "#b3261e", "#1e7b34")
FONT = "DejaVu Sans, sans-serif"


@dataclass(frozen=True)
class Point:
    """One value of a chart: its label, the number, how to print it and the cases behind it (a URL)."""

    label: str
    value: float
    shown: str = ""
    href: str | None = None

    @property
    def text(self) -> str:
        return self.shown or _number(self.value)


@dataclass(frozen=True)
class Series:
    """A named line of a line chart."""

    name: str
    points: Sequence[Point]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _prefix(value: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", value.lower()) or "chart"


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _scale(top: float) -> tuple[float, list[float]]:
    """A round maximum for the axis and its grid lines (0 and four steps)."""
    if top <= 0:
        return 1.0, [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step * 4, [step * i for i in range(5)]


def _svg(prefix: str, title: str, desc: str, width: int, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-labelledby="{prefix}-t {prefix}-d" '
            f'font-family="{FONT}" font-size="11" fill="{INK}">'
            f'<title id="{prefix}-t">{escape(title)}</title><desc id="{prefix}-d">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _describe(points: Sequence[Point], unit: str) -> str:
    if not points:
        return "No data."
    return "; ".join(f"{p.label}: {p.text}{unit}" for p in points) + "."


def _table(prefix: str, caption: str, head: Sequence[str], rows: Sequence[Sequence[Point | str]]) -> str:
    def cell(value: Point | str) -> str:
        if isinstance(value, str):
            return f'<th scope="row">{escape(value)}</th>'
        text = escape(value.text)
        if value.href:
            text = Markup('<a href="{}">{}</a>').format(value.href, value.text)
        return f'<td class="num">{text}</td>'
    header = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return (f'<table class="chart-table" id="{prefix}-table"><caption>{escape(caption)}</caption>'
            f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>")


def _figure(prefix: str, svg: str, table: str) -> Markup:
    return Markup(  # noqa: S704 - built from escaped values only
        f'<figure class="chart" id="{prefix}">{svg}{table}</figure>')


def bar_chart(points: Sequence[Point], *, title: str, id_prefix: str, unit: str = "", column: str = "value",
              width: int = 520) -> Markup:
    """Horizontal bars, one per point, with the numbers at their ends and the table beside."""
    prefix = _prefix(id_prefix)
    label_w, row_h, top_pad = 150, 22, 8
    height = top_pad * 2 + max(len(points), 1) * row_h + 16
    top, ticks = _scale(max((p.value for p in points), default=0))
    plot_w = width - label_w - 60
    body = []
    for tick in ticks:
        x = label_w + plot_w * tick / top
        body.append(f'<line x1="{_n(x)}" y1="{top_pad}" x2="{_n(x)}" y2="{height - 16}" stroke="{GRID}"/>'
                    f'<text x="{_n(x)}" y="{height - 4}" text-anchor="middle" font-size="10">{escape(_number(tick))}'
                    "</text>")
    for i, point in enumerate(points):
        y = top_pad + i * row_h
        bar = plot_w * max(point.value, 0) / top
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(_fit(point.label, 24))}</text>'
                    f'<rect x="{label_w}" y="{y + 4}" width="{_n(bar)}" height="{row_h - 8}" fill="{COLOURS[0]}"/>'
                    f'<text x="{_n(label_w + bar + 4)}" y="{y + 15}">{escape(point.text)}{escape(unit)}</text>')
    svg = _svg(prefix, title, _describe(points, unit), width, height, body)
    return _figure(prefix, svg, _table(prefix, title, ["", column], [[p.label, p] for p in points]))


def line_chart(series: Sequence[Series], *, title: str, id_prefix: str, unit: str = "", width: int = 520,
               height: int = 200) -> Markup:
    """Lines over shared x labels (the first series' labels), with a legend and the table beside."""
    prefix = _prefix(id_prefix)
    labels = [p.label for p in series[0].points] if series else []
    left, right, top_pad, bottom = 44, 12, 24, 34
    top, ticks = _scale(max((p.value for s in series for p in s.points), default=0))
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(len(labels) - 1, 1)
    body = []
    for tick in ticks:
        y = top_pad + plot_h * (1 - tick / top)
        body.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" stroke="{GRID}"/>'
                    f'<text x="{left - 4}" y="{_n(y + 3)}" text-anchor="end" font-size="10">{escape(_number(tick))}'
                    "</text>")
    every = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            body.append(f'<text x="{_n(left + i * step)}" y="{height - bottom + 14}" text-anchor="middle" '
                        f'font-size="10">{escape(_fit(label, 10))}</text>')
    for n, line in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        coords = [(left + i * step, top_pad + plot_h * (1 - max(p.value, 0) / top)) for i, p in enumerate(line.points)]
        if coords:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                        + " ".join(f"{_n(x)},{_n(y)}" for x, y in coords) + '"/>')
            body.extend(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.5" fill="{colour}"/>' for x, y in coords)
        body.append(f'<rect x="{left + n * 130}" y="6" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{left + n * 130 + 14}" y="15">{escape(_fit(line.name, 18))}</text>')
    desc = " ".join(f"{s.name}: {_describe(s.points, unit)}" for s in series) or "No data."
    svg = _svg(prefix, title, desc, width, height, body)
    rows: list[list[Point | str]] = [
        [label, *[s.points[i] if i < len(s.points) else Point(label, 0, "\u2013") for s in series]]
        for i, label in enumerate(labels)]
    return _figure(prefix, svg, _table(prefix, title, ["", *[s.name for s in series]], rows))


def histogram(values: Sequence[float], *, title: str, id_prefix: str, bins: int = 8,
              label: Callable[[float], str] = _number, href: Callable[[float, float], str] | None = None,
              width: int = 520) -> Markup:
    """How many values fall in each of `bins` equal ranges, as vertical bars with the table beside."""
    prefix = _prefix(id_prefix)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    size = (high - low) / bins if high > low else 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / size), bins - 1)] += 1
    edges = [(low + i * size, low + (i + 1) * size) for i in range(bins)]
    points = [Point(f"{label(a)} to {label(b)}", c, href=href(a, b) if href and c else None)
              for (a, b), c in zip(edges, counts, strict=True)]
    left, top_pad, bottom, height = 36, 10, 40, 180
    top, ticks = _scale(max(counts, default=0))
    plot_w, plot_h = width - left - 10, height - top_pad - bottom
    col = plot_w / bins
    body = []
    for tick in ticks:
        y = top_pad + plot_h * (1 - tick / top)
        body.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - 10}" y2="{_n(y)}" stroke="{GRID}"/>'
                    f'<text x="{left - 4}" y="{_n(y + 3)}" text-anchor="end" font-size="10">{escape(_number(tick))}'
                    "</text>")
    for i, point in enumerate(points):
        h = plot_h * point.value / top
        x = left + i * col
        body.append(f'<rect x="{_n(x + 2)}" y="{_n(top_pad + plot_h - h)}" width="{_n(col - 4)}" height="{_n(h)}" '
                    f'fill="{COLOURS[2]}"/>')
        if i % 2 == 0:
            body.append(f'<text x="{_n(x + col / 2)}" y="{height - bottom + 14}" text-anchor="middle" '
                        f'font-size="9">{escape(_fit(point.label, 16))}</text>')
    svg = _svg(prefix, title, _describe(points, ""), width, height, body)
    return _figure(prefix, svg, _table(prefix, title, ["range", "cases"], [[p.label, p] for p in points]))
