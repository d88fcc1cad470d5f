"""The canonical content of a PDF and its digest: what a reader sees, not how the file encodes it.

Why: the bytes of a rendered document depend on the toolchain as well as on the document (WeasyPrint
subsets fonts with HarfBuzz or with fontTools, and the font streams differ), and a signed file changes
with every signature. What must not change is what it shows and carries. The canonical content is:

- the document information (title, author, subject, keywords, creator, language, PDF/A identification);
- per page: its size; every text run with its position (rounded to 0.1 pt), its font (without the
  subset tag) and its size; every drawing operator (paths, fills, strokes, colours, transforms,
  clipping) with its operands rounded; every image placed, by the SHA-256 of its decoded samples;
- every embedded file: name, relationship, MIME type and the SHA-256 of its bytes.

Its digest is the SHA-256 of that as canonical JSON. Two renderings of the same document have the same
digest whatever subsets their fonts; a changed field value, event or attachment changes it; a signature
(an invisible widget and the signature dictionary) does not. Reading a file that may have been tampered
with is a job for the memory-limited render child (`app.documents.pipeline`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

CONTENT_VERSION = "casework-content/1"
_TEXT_OPS = {b"BT", b"ET", b"Tc", b"Tw", b"Tz", b"TL", b"Tf", b"Tr", b"Ts", b"Td", b"TD", b"Tm", b"T*",
             b"Tj", b"TJ", b"'", b'"'}
# Marked content and compatibility sections say nothing about what is drawn.
_IGNORED_OPS = {b"BMC", b"BDC", b"EMC", b"MP", b"DP", b"BX", b"EX"}
_PDFA_RE = re.compile(rb"pdfaid:(part|conformance)(?:=\"|>)([^\"<]*)")


def content_digest(pdf: bytes) -> str:
    """The SHA-256 of the PDF's canonical content (see the module docstring)."""
    return hashlib.sha256(canonical_content(pdf)).hexdigest()


def canonical_content(pdf: bytes) -> bytes:
    """The canonical content as canonical JSON bytes (sorted keys, no spaces, UTF-8)."""
    reader = PdfReader(io.BytesIO(pdf), strict=False)
    content = {
        "version": CONTENT_VERSION,
        "info": _info(reader),
        "pages": [_page(page) for page in reader.pages],
        "files": sorted(_embedded_files(reader), key=lambda f: f["name"]),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _num(value: Any, places: int = 1) -> Any:
    """Numbers rounded (positions to 0.1 pt) so float noise in the writer does not count; others as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        rounded = round(float(value), places)
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, list | ArrayObject):
        return [_num(item, places) for item in value]
    return str(value)


def _info(reader: PdfReader) -> dict[str, Any]:
    info = reader.metadata or {}
    pdfa: dict[str, str] = {}
    metadata = reader.trailer["/Root"].get("/Metadata")
    if metadata is not None:
        for key, value in _PDFA_RE.findall(metadata.get_object().get_data()):
            pdfa[key.decode()] = value.decode().strip()
    return {
        **{key: str(info.get(f"/{key}", "")) for key in ("Title", "Author", "Subject", "Keywords", "Creator")},
        "lang": str(reader.trailer["/Root"].get("/Lang", "")),
        "pdfa": pdfa,
    }


def _font_name(font: Any) -> str:
    if not isinstance(font, DictionaryObject):
        return ""
    name = str(font.get("/BaseFont", ""))
    return name.split("+", 1)[-1].lstrip("/")


def _page(page: Any) -> dict[str, Any]:
    ops: list[list[Any]] = []
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None

    def on_operator(operator: bytes, operands: list[Any], cm: list[float], tm: list[float]) -> None:
        if operator in _TEXT_OPS or operator in _IGNORED_OPS:
            return
        if operator == b"Do" and operands:
            ops.append(["Do", *_xobject(xobjects, operands[0]), _num(cm)])
            return
        places = 3 if operator in (b"rg", b"RG", b"g", b"G", b"k", b"K", b"sc", b"scn", b"SC", b"SCN") else 1
        ops.append([operator.decode(errors="replace"), *(_num(operand, places) for operand in operands)])

    def on_text(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = (tm[0] * cm[0] + tm[1] * cm[2]) or 1.0
        ops.append(["text", _num(x), _num(y), _font_name(font), _num(size * abs(scale)), text.strip()])

    page.extract_text(visitor_operand_before=on_operator, visitor_text=on_text)
    return {"box": _num(list(page.mediabox)), "ops": ops}


def _xobject(xobjects: Any, name: Any) -> list[Any]:
    """What a `Do` paints: an image by the digest of its decoded samples, a form by its own operators."""
    found = xobjects.get_object().get(str(name)) if xobjects is not None else None
    if found is None:
        return ["missing"]
    stream = found.get_object()
    if not isinstance(stream, StreamObject):
        return ["missing"]
    subtype = str(stream.get("/Subtype", ""))
    if subtype == "/Image":
        return ["image", _num(stream.get("/Width", 0), 0), _num(stream.get("/Height", 0), 0),
                hashlib.sha256(stream.get_data()).hexdigest()]
    # Form XObjects (WeasyPrint's transparency groups, patterns): their content, by digest.
    return ["form", hashlib.sha256(stream.get_data()).hexdigest()]


def _embedded_files(reader: PdfReader) -> Iterator[dict[str, Any]]:
    root = reader.trailer["/Root"]
    names = root.get("/Names")
    tree = names.get_object().get("/EmbeddedFiles") if names is not None else None
    if tree is None:
        return
    for name, spec in _name_tree(tree.get_object()):
        spec = spec.get_object()
        embedded = spec.get("/EF")
        stream = embedded.get_object().get("/F") if embedded is not None else None
        data = stream.get_object().get_data() if stream is not None else b""
        subtype = stream.get_object().get("/Subtype", "") if stream is not None else ""
        yield {"name": str(spec.get("/UF", name)), "relationship": str(spec.get("/AFRelationship", "")),
               "type": str(subtype), "description": str(spec.get("/Desc", "")),
               "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _name_tree(node: DictionaryObject, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > 32:  # a crafted file may loop; no real name tree is this deep
        return
    pairs = node.get("/Names")
    if pairs is not None:
        pairs = pairs.get_object()
        for index in range(0, len(pairs) - 1, 2):
            yield str(pairs[index]), pairs[index + 1]
    for kid in node.get("/Kids", []) or []:
        kid = kid.get_object() if isinstance(kid, IndirectObject) else kid
        if isinstance(kid, DictionaryObject):
            yield from _name_tree(kid, depth + 1)


__all__ = ["CONTENT_VERSION", "canonical_content", "content_digest"]
