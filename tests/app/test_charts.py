"""Server-rendered SVG charts: well-formed, escaped, no style attributes, a data table that says the same."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.charts import Point, Series, bar_chart, histogram, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parts(markup: str) -> tuple[ET.Element, ET.Element]:
    figure = ET.fromstring(markup)  # noqa: S314 - our own output
    svg = figure.find(f"{SVG}svg")
    table = figure.find("table")
    assert svg is not None and table is not None
    return svg, table


def cells(table: ET.Element) -> list[list[str]]:
    return [["".join(c.itertext()) for c in row] for row in table.iter("tr")]


def test_bar_chart_draws_a_bar_per_point_and_links_each_number() -> None:
    points = [Point("general", 12, href="/insight/cases?q=1&queue=general"), Point("<script>", 3)]
    markup = str(bar_chart(points, title="Backlog per queue", id_prefix="backlog", column="open cases"))
    svg, table = parts(markup)
    bars = [r for r in svg.iter(f"{SVG}rect")]
    assert len(bars) == 2 and float(bars[0].get("width", 0)) > float(bars[1].get("width", 0)) > 0
    assert cells(table) == [["", "open cases"], ["general", "12"], ["<script>", "3"]]
    links = [a.get("href") for a in table.iter("a")]
    assert links == ["/insight/cases?q=1&queue=general"]  # the figure links to the cases behind it
    assert "<script>" not in markup and "style=" not in markup
    assert svg.get("role") == "img" and svg.findtext(f"{SVG}desc") == "general: 12; <script>: 3."


def test_line_chart_has_a_line_per_series_and_a_column_per_series() -> None:
    filed = Series("filed", [Point("2026-11-01", 4), Point("2026-11-02", 6), Point("2026-11-03", 0)])
    closed = Series("closed", [Point("2026-11-01", 1), Point("2026-11-02", 2), Point("2026-11-03", 5)])
    svg, table = parts(str(line_chart([filed, closed], title="Volume per day", id_prefix="vol")))
    assert len(list(svg.iter(f"{SVG}polyline"))) == 2
    assert cells(table)[0] == ["", "filed", "closed"] and cells(table)[3] == ["2026-11-03", "0", "5"]


def test_histogram_counts_every_value_once() -> None:
    values = [1.0, 2.0, 2.5, 9.0, 10.0]
    _svg, table = parts(str(histogram(values, title="Cycle time", id_prefix="h", bins=3)))
    counts = [int(row[1]) for row in cells(table)[1:]]
    assert counts == [3, 0, 2] and sum(counts) == len(values)
    empty_svg, _empty = parts(str(histogram([], title="none", id_prefix="e")))
    assert empty_svg.findtext(f"{SVG}title") == "none"


def test_the_same_data_gives_the_same_bytes() -> None:
    points = [Point("a", 1.5), Point("b", 2)]
    assert bar_chart(points, title="t", id_prefix="x") == bar_chart(list(points), title="t", id_prefix="x")
    assert 'id="xscript"' in bar_chart(points, title="t", id_prefix='x"><script>')
