"""Graphviz rendering: admin text cannot break out of DOT strings or into the page, whatever `dot` answers."""

from __future__ import annotations

import os
import re
import stat
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app import graphviz
from app.graphviz import Edge, Graph, Node

SVG = "{http://www.w3.org/2000/svg}"
EVIL = ['<script>alert(1)</script>', '"]; n0 -> n1 [label="owned', 'back\\slash \\N \\G', "line\nbreak",
        "&amp; &lt;b&gt;"]


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    graphviz._cache.clear()
    graphviz._drawn.clear()


def graph(labels: list[str]) -> Graph:
    nodes = [Node(f"k{n}", (label, "second"), title=label, data=(("state", label),)) for n, label in enumerate(labels)]
    edges = [Edge(f"k{n}", f"k{n + 1}", label=label, title=label) for n, label in enumerate(labels[:-1])]
    return Graph(nodes, edges, title='</title><script>t</script>', desc='"><svg onload=alert(1)>', id_prefix="x")


def test_quote_keeps_every_label_inside_its_string() -> None:
    assert graphviz.quote('"]; a -> b') == '"\\"]; a -> b"'
    assert graphviz.quote("a\\N") == '"a\\\\N"'
    assert graphviz.quote("one\ntwo\r") == '"one two "'
    assert graphviz.quote("&amp;") == '"&amp;amp;"'
    source = graphviz.to_dot(graph(EVIL))
    statements = [line for line in source.splitlines() if re.match(r"n\d+ -> n\d+ \[", line)]
    assert len(statements) == len(EVIL) - 1  # the injected edge stays inside its label


def test_a_state_named_script_and_a_dot_injection_come_out_as_text() -> None:
    svg = graphviz.render(graph(EVIL))
    assert svg is not None
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output: it must be well-formed
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for label in EVIL:
        shown = label.replace("\n", " ")
        assert shown in texts, (shown, texts)  # shown literally: no DOT escape (\N, \G) or entity applied
    assert "<script" not in svg and "onload=" not in svg.replace("onload=alert(1)&gt;", "")
    assert root.findtext(f"{SVG}title") == "</title><script>t</script>"
    states = [g.get("data-state") for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert states == [e.replace("\n", " ") for e in EVIL]
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]) == len(EVIL) - 1
    assert "style=" not in svg


def fake_dot(tmp_path: Path, body: str) -> None:
    script = tmp_path / "dot"
    script.write_text("#!/bin/sh\ncat >/dev/null\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_what_a_misbehaving_dot_answers_is_checked_before_it_reaches_a_page(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dot(tmp_path, """cat <<'SVG'
<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" height="10pt"
 onload="alert(1)" style="x"><g id="n0" class="node" onclick="alert(2)"><title>n0</title>
<script>alert(3)</script><a xlink:href="javascript:alert(4)"><text>link</text></a>
<foreignObject><div>html</div></foreignObject><path d="M0,0" fill="url(javascript:alert(5))" stroke="red"/>
<text x="1" y="2">ok</text></g></svg>
SVG
""")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    svg = graphviz.render(Graph([Node("k0", ("a",), data=(("state", "a"),))], [], title="t", desc="d"))
    assert svg is not None
    for bad in ("onload", "onclick", "script", "alert", "javascript", "foreignObject", "<a", "style=", "passwd",
                "url("):
        assert bad not in svg, bad
    assert 'stroke="red"' in svg and ">ok</text>" in svg and 'data-state="a"' in svg


def test_a_dot_that_hangs_is_stopped_and_not_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dot(tmp_path, "sleep 30\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    start = time.monotonic()
    assert graphviz.render(graph(["a", "b"]), timeout=0.5) is None
    assert graphviz.render(graph(["a", "b"]), timeout=0.5) is None
    assert time.monotonic() - start < 5  # once past the time limit, then the remembered failure


def test_dot_failing_or_answering_junk_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dot(tmp_path, "echo '<svg><g>' ; exit 0\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert graphviz.render(graph(["a"])) is None
    fake_dot(tmp_path, "echo broken >&2; exit 1\n")
    assert graphviz.render(graph(["b"])) is None


def test_a_graph_too_large_to_lay_out_quickly_is_not_sent_to_dot() -> None:
    many = [Node(f"k{n}", (f"s{n}",)) for n in range(graphviz.MAX_ITEMS + 1)]
    start = time.monotonic()
    assert graphviz.render(Graph(many, [], title="t", desc="d")) is None
    assert time.monotonic() - start < 1
