"""What the tests' loopback sites share: an HTTP server on a loopback address and a random port,
served from a thread while in a ``with`` block, and a plain answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    # A web server's backlog (socketserver's is 5): a crawl opens many connections at once, and one
    # beyond the fifth had its SYN dropped and retried a second later.
    request_queue_size = 128


class LoopbackServer:
    """``handle(request)`` answers each GET; :attr:`base` is ``http://ADDRESS:PORT``.

    ``daemon_threads``: answers still under way (a dripping body) do not hold up the stop.
    """

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler], None], address: str = "127.0.0.1",
                 daemon_threads: bool = False, poll_seconds: float = 0.5) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server((address, 0), Handler)
        self.server.daemon_threads = daemon_threads
        self.base = f"http://{address}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(poll_seconds,), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    """Answer ``request`` with ``status``, ``headers`` and ``body`` (its length given)."""
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
