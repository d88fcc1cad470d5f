"""File types the forms accept, recognised by their content (magic bytes), never by their name."""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ACTIVE_EXTENSIONS", "HEAD_BYTES", "KNOWN_FILE_TYPES", "FileKind", "human_size", "safe_download_name",
    "sniff_content_type",
]

HEAD_BYTES = 8192
"""How much of the start of an upload to pass to the sniffer (enough to see OOXML part names)."""


@dataclass(frozen=True)
class FileKind:
    """A content type an admin may allow, with the name people know it by."""

    content_type: str
    label: str
    zip_based: bool = False


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_ODT = "application/vnd.oasis.opendocument.text"
_ODS = "application/vnd.oasis.opendocument.spreadsheet"
_ODP = "application/vnd.oasis.opendocument.presentation"

KNOWN_FILE_TYPES: Mapping[str, FileKind] = MappingProxyType(
    {
        kind.content_type: kind
        for kind in (
            FileKind("application/pdf", "PDF"),
            FileKind("image/png", "PNG image"),
            FileKind("image/jpeg", "JPEG image"),
            FileKind("image/gif", "GIF image"),
            FileKind("image/webp", "WebP image"),
            FileKind(_DOCX, "Word document (.docx)", zip_based=True),
            FileKind(_XLSX, "Excel workbook (.xlsx)", zip_based=True),
            FileKind(_PPTX, "PowerPoint presentation (.pptx)", zip_based=True),
            FileKind(_ODT, "OpenDocument text (.odt)", zip_based=True),
            FileKind(_ODS, "OpenDocument spreadsheet (.ods)", zip_based=True),
            FileKind(_ODP, "OpenDocument presentation (.odp)", zip_based=True),
            FileKind("application/zip", "ZIP archive", zip_based=True),
            FileKind("text/plain", "plain text"),
            FileKind("text/csv", "CSV"),
        )
    }
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    # Recognised so they are refused by name rather than mistaken for text or zip.
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
)

_OOXML_PARTS = ((b"word/", _DOCX), (b"xl/", _XLSX), (b"ppt/", _PPTX))
# What browsers take for HTML when they sniff (WHATWG MIME Sniffing, "identifying an unknown MIME type"),
# plus SVG and XML (which can script): checked at the start, after white space.
_MARKUP_STARTS = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml", b"<head", b"<body", b"<iframe",
                  b"<!--", b"<h1", b"<div", b"<font", b"<table", b"<a", b"<style", b"<title", b"<b", b"<br",
                  b"<p", b"<object", b"<embed", b"<math", b"<img", b"<meta", b"<link", b"<base", b"<form")
_TAG_END = b" \t\n\f\r>/"
# Active content anywhere in the first bytes makes a "text" file a page: refused whatever its name.
_ACTIVE_ANYWHERE = re.compile(rb"<(?:script|svg|iframe|html|object|embed|body|meta|link|base|form|img|style|"
                              rb"math|frame|frameset|applet|\?xml)[\s/>]|javascript:", re.IGNORECASE)
# Extensions a browser or desktop may open as active content; never kept on a download.
ACTIVE_EXTENSIONS = frozenset({
    ".html", ".htm", ".xhtml", ".xht", ".shtml", ".mht", ".mhtml", ".svg", ".svgz", ".xml", ".xsl", ".xslt",
    ".js", ".mjs", ".cjs", ".hta", ".swf", ".php", ".jsp", ".asp", ".aspx", ".wsf", ".vbs", ".bat", ".cmd",
    ".ps1", ".exe", ".msi", ".scr", ".jar", ".lnk", ".url", ".desktop", ".appcache", ".manifest",
})
_EXTENSION_FOR = {
    "application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
    "image/webp": ".webp", _DOCX: ".docx", _XLSX: ".xlsx", _PPTX: ".pptx", _ODT: ".odt", _ODS: ".ods",
    _ODP: ".odp", "application/zip": ".zip", "text/plain": ".txt", "text/csv": ".csv",
}


def _zip_entries(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, first bytes of stored data) of the local file headers visible in ``head``."""
    entries: list[tuple[bytes, bytes]] = []
    pos = 0
    while pos + 30 <= len(head) and head[pos : pos + 4] == b"PK\x03\x04":
        flags, _method = struct.unpack_from("<HH", head, pos + 6)
        size = struct.unpack_from("<I", head, pos + 18)[0]
        name_len, extra_len = struct.unpack_from("<HH", head, pos + 26)
        name_start = pos + 30
        data_start = name_start + name_len + extra_len
        entries.append((head[name_start : name_start + name_len], head[data_start : data_start + 80]))
        if flags & 0x08:
            break  # sizes follow the data: the next header cannot be found from here
        pos = data_start + size
    return entries


def _sniff_zip(head: bytes) -> str:
    entries = _zip_entries(head)
    if entries and entries[0][0] == b"mimetype":
        declared = entries[0][1].split(b"PK", 1)[0].decode("ascii", "replace").strip()
        if declared in (_ODT, _ODS, _ODP):
            return declared
    names = [name for name, _ in entries]
    for prefix, content_type in _OOXML_PARTS:
        if any(name.startswith(prefix) for name in names):
            return content_type
    if b"[Content_Types].xml" in names:
        # An OOXML package whose telling part lies beyond the head: look for the part name anywhere.
        for prefix, content_type in _OOXML_PARTS:
            if prefix + b"document.xml" in head or prefix + b"workbook.xml" in head or (
                prefix + b"presentation.xml" in head
            ):
                return content_type
    return "application/zip"


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    # The head may end in the middle of a multi-byte character.
    for cut in range(4):
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def sniff_content_type(head: bytes, *, name: str | None = None) -> str | None:
    """The content type recognised from the first bytes of a file, or None when unknown.

    ``name`` only tells CSV from plain text, both being text; it never makes binary content acceptable.
    """
    if not head:
        return None
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _sniff_zip(head)
    text = _as_text(head.removeprefix(b"\xef\xbb\xbf"))
    if text is None:
        return None
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
        return None
    lowered = text.lstrip().lower().encode("utf-8", "replace")
    if any(lowered.startswith(tag) and (tag in (b"<!--", b"<?xml") or lowered[len(tag):len(tag) + 1] in
                                        (b"", *(bytes([c]) for c in _TAG_END)))
           for tag in _MARKUP_STARTS) or _ACTIVE_ANYWHERE.search(lowered):
        return "text/html"
    if name is not None and name.lower().endswith(".csv"):
        return "text/csv"
    return "text/plain"


def human_size(size: int) -> str:
    """5242880 -> "5 MB" for messages."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def safe_download_name(name: str, content_type: str) -> str:
    """The name a file is downloaded under: never with an extension that opens as active content
    (``comment.html`` stored as text comes down as ``comment.html.txt``)."""
    _stem, dot, extension = name.rpartition(".")
    if dot and "." + extension.lower() in ACTIVE_EXTENSIONS:
        return name + _EXTENSION_FOR.get(content_type, ".bin")
    return name
