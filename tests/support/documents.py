"""Looking into rendered PDFs and at what a renderer tried to reach."""

from __future__ import annotations

import io
import socket
import threading
import zlib

import pikepdf

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


class Listener:
    """A TCP listener on a free loopback port that records every connection it gets."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.05)
        self.port = self.server.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.requests.append(conn.recv(4096) or b"(connected)")
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n" + PNG)
                except OSError:
                    self.requests.append(b"(connected)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.server.close()


def all_stream_bytes(pdf: bytes) -> bytes:
    """Every stream of the PDF, decompressed where possible, for searching raw content."""
    chunks = [pdf]
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        for obj in opened.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    chunks.append(obj.read_bytes())
                except pikepdf.PdfError:
                    chunks.append(zlib.decompress(obj.read_raw_bytes()))
    return b"\n".join(chunks)
