"""A local "tracking pixel" server: records every image a browser fetched from it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Pixel:
    """Where the pixel is served, and the paths requested so far."""

    url: str
    hits: list[str] = field(default_factory=list)


@contextmanager
def pixel_server() -> Iterator[Pixel]:
    """Serve a 1×1 GIF on a free port for the duration of the block."""
    pixel = Pixel(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            pixel.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    pixel.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield pixel
    finally:
        server.shutdown()
        server.server_close()
