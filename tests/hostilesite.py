"""A misbehaving news site on loopback, for the fault-injection tests (tests/test_faults_site.py).

Four sites, each a ``ThreadingHTTPServer`` on its own loopback address (``127.0.0.1`` to
``127.0.0.4``, random ports), so that each has its own robots.txt:

- ``main`` (127.0.0.1): robots.txt answers 500; the home page links to one page per fault of
  :data:`FAULTS`; its feed is invalid XML (a raw ``&``, a wrong declared encoding) with
  duplicate GUIDs, and its sitemap index names itself;
- ``hang`` (127.0.0.2): robots.txt drips a byte at a time, longer than ``DOWNLOAD_TIMEOUT``;
- ``huge`` (127.0.0.3): robots.txt is 5 MB;
- ``big`` (127.0.0.4): one sitemap of 50,000 URLs (crawled with a small ``max_pages``).

Each site's home also links to a good article, which the crawl must store whatever the rest does.
The articles are our own generated text (:func:`tests.manysite.article`), each unique.
:attr:`HostileSite.log` records each request as (host, path).
"""

from __future__ import annotations

import gzip
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from functools import cached_property, partial
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer
from tests.manysite import article
from tests.newsite import PDF, windows_1258

HOSTS = {"main": "127.0.0.1", "hang": "127.0.0.2", "huge": "127.0.0.3", "big": "127.0.0.4"}
# Bytes: robots.txt of the `huge` site, the oversized pages (over the test's DOWNLOAD_MAXSIZE).
HUGE_ROBOTS = 5 * 1024 * 1024
OVERSIZE = 7 * 1024 * 1024
SITEMAP_URLS = 50_000
# Seconds a dripping response keeps going (one byte each DRIP_EVERY): longer than the test's timeout.
DRIP_FOR, DRIP_EVERY = 3.0, 0.2

# Fault name -> path on the main site. Every path looks like an article's (a 5-digit id).
FAULTS = {
    "good": "/f/bai-tot-binh-thuong-20001.html",
    "reset_mid_body": "/f/ngat-ket-noi-giua-chung-20002.html",
    "truncated_gzip": "/f/gzip-bi-cat-cut-20003.html",
    "gzip_without_trailer": "/f/gzip-thieu-phan-duoi-20025.html",
    "drip": "/f/nho-giot-tung-byte-20004.html",
    "429_storm": "/f/qua-nhieu-yeu-cau-20005.html",
    "429_retry_after_seconds": "/f/qua-nhieu-yeu-cau-giay-20006.html",
    "503_retry_after_date": "/f/may-chu-ban-ngay-gio-20007.html",
    "503_storm": "/f/may-chu-ban-mai-20008.html",
    "500_then_200": "/f/loi-roi-lai-duoc-20009.html",
    "redirect_loop": "/f/chuyen-huong-vong-tron-20010.html",
    "redirect_other_host": "/f/chuyen-sang-trang-khac-20011.html",
    "redirect_file": "/f/chuyen-huong-tep-file-20012.html",
    "redirect_ftp": "/f/chuyen-huong-tep-ftp-20013.html",
    "redirect_data": "/f/chuyen-huong-du-lieu-data-20014.html",
    "oversize_with_length": "/f/trang-qua-lon-co-do-dai-20015.html",
    "oversize_without_length": "/f/trang-qua-lon-khong-do-dai-20016.html",
    "article_as_octet_stream": "/f/bai-viet-kieu-nhi-phan-20017.html",
    "pdf_as_html": "/f/tai-lieu-pdf-gia-html-20018.html",
    "charset_mismatch": "/f/bang-ma-khai-sai-20019.html",
    "unclosed_tags": "/f/the-khong-dong-lai-20020.html",
    "deep_nesting": "/f/long-nhau-muoi-nghin-tang-20021.html",
    "nul_byte": "/f/co-byte-rong-nul-20022.html",
    "pdf_as_pdf": "/f/tai-lieu-pdf-that-20024.html",
    "canonical_javascript": "/f/dia-chi-goc-javascript-20026.html",
    "gzip_whole": "/f/gzip-nguyen-ven-20027.html",
    "gzip_bomb": "/f/gzip-bung-no-20028.html",
    "gzip_legacy_charset": "/f/gzip-bang-ma-cu-20029.html",
    "feed_item": "/f/bai-trong-rss-hong-20023.html",
}
# Fault pages the home page does not link to (the feed announces them).
UNLINKED = ("feed_item",)
FEED = "/rss/hong.rss"
SELF_INDEX = "/sitemap-tu-tro.xml"
BIG_SITEMAP = "/sitemap-50000.xml"
OTHER_HOST_ARTICLE = "/f/bai-tren-trang-khac-20030.html"
# Links of the main home page to other schemes, article-shaped: never followed.
OTHER_SCHEMES = ["javascript:alert(1)//bai-20050.html", "file:///etc/passwd-20051.html", "ftp://127.0.0.1/bai-20052.html",
                 "data:text/html,bai-20053.html", "mailto:toa-soan@example.vn?bai-20054.html"]
# On the `huge` site, disallowed by its 5 MB robots.txt.
ROBOTS_DISALLOWED = "/khong-co/bai-bi-cam-20043.html"
# The good article of each other site.
GOOD = {"hang": "/f/bai-tot-trang-treo-20040.html", "huge": "/f/bai-tot-trang-lon-20041.html",
        "big": "/f/bai-tot-trang-so-do-20042.html"}


class HostileSite:
    """The four running servers: :meth:`url` of a path on a site, :attr:`log` of (site, path)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        # Daemon threads: a dripping answer never holds up the stop.
        self.servers = {name: LoopbackServer(partial(self._handle, name), address, daemon_threads=True, poll_seconds=0.05)
                        for name, address in HOSTS.items()}
        self.bases = {name: server.base for name, server in self.servers.items()}

    def url(self, path: str = "/", site: str = "main") -> str:
        return self.bases[site] + path

    def __enter__(self) -> HostileSite:
        assert self.big_sitemap
        for server in self.servers.values():
            server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            server.stop()

    def hits(self, path: str, site: str = "main") -> int:
        with self.lock:
            return self.log.count((site, path))

    def page(self, path: str, site: str = "main", number: int | None = None) -> bytes:
        """A unique article whose canonical URL is its own."""
        n = number if number is not None else int(re.search(r"(\d{5})\.html$", path)[1])
        return article(n, self.bases[site]).replace(f"{self.bases[site]}/bai/{n}.html".encode(), self.url(path, site).encode())

    def _count(self, path: str) -> int:
        with self.lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            return self.counts[path]

    # --- answers ---------------------------------------------------------------------

    def home(self, site: str) -> bytes:
        links = [p for f, p in FAULTS.items() if f not in UNLINKED] if site == "main" else [GOOD[site]]
        if site == "huge":
            links.append(ROBOTS_DISALLOWED)
        if site == "main":
            links += OTHER_SCHEMES
        anchors = "".join(f'<li><a href="{path}">{path}</a></li>' for path in links)
        return (f'<html lang="vi"><head><meta charset="utf-8"><meta property="og:type" content="website">'
                f"<title>Trang thử lỗi</title></head><body><h1>Trang thử lỗi</h1><ul>{anchors}</ul></body></html>"
                ).encode("utf-8")

    def feed(self) -> bytes:
        # Declared ISO-8859-1, written in UTF-8, a raw & in a title, the same GUID twice.
        item = (f"<item><title>Tin hỏng & lỗi</title><link>{self.url(FAULTS['feed_item'])}</link>"
                f"<guid>tin-20023</guid></item>")
        return (f'<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>Báo & lỗi</title>'
                f"{item}{item}<item><title>Không có link</title><guid>tin-20023</guid></item></channel></rss>").encode()

    def self_index(self) -> bytes:
        return ('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{self.url(SELF_INDEX)}</loc></sitemap></sitemapindex>").encode()

    @cached_property
    def big_sitemap(self) -> bytes:
        """Its 2 MB gzip-compressed, as large sitemaps are sent, and made before the site serves: built on
        each request, or sent whole, it took long enough on a loaded machine for the tests' 1 s
        download timeout to fetch it twice."""
        base = self.bases["big"]
        urls = "".join(f"<url><loc>{base}/t/{n}</loc></url>" for n in range(SITEMAP_URLS))
        return gzip.compress(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode())

    def respond(self, site: str, path: str, handler: BaseHTTPRequestHandler) -> None:  # noqa: C901 (one table)
        send = _Sender(handler)
        html = "text/html; charset=utf-8"
        if path == "/":
            return send(200, html, self.home(site))
        if site == "hang":
            if path == "/robots.txt":
                return send.drip(200, "text/plain", b"User-agent: *\nAllow: /\n" * 100)
        if site == "huge" and path == "/robots.txt":
            line = b"User-agent: *\nDisallow: /khong-co/\n"
            return send(200, "text/plain", line * (HUGE_ROBOTS // len(line)))
        if site == "big":
            if path == "/robots.txt":
                return send(200, "text/plain", f"User-agent: *\nSitemap: {self.url(BIG_SITEMAP, 'big')}\n".encode())
            if path == BIG_SITEMAP:
                return send(200, "application/xml", self.big_sitemap, {"Content-Encoding": "gzip"})
            if path.startswith("/t/"):
                return send(200, html, self.page(path, site, number=30_000 + int(path[3:])))
        if site != "main":
            if path in GOOD.values() or path == OTHER_HOST_ARTICLE:
                return send(200, html, self.page(path, site))
            return send(404, html, b"<html><body>404</body></html>")
        if path == "/robots.txt":
            return send(500, "text/plain", b"Internal Server Error")
        if path == FEED:
            return send(200, "application/rss+xml", self.feed())
        if path == SELF_INDEX:
            return send(200, "application/xml", self.self_index())
        fault = next((name for name, p in FAULTS.items() if p == path), None)
        if fault is None:
            return send(404, html, b"<html><body>404</body></html>")
        page = self.page(path)
        answer: Callable[[], None] | None = {
            "reset_mid_body": lambda: send.reset(html, page),
            "truncated_gzip": lambda: send(200, html, gzip.compress(page)[: len(gzip.compress(page)) // 2],
                                           {"Content-Encoding": "gzip"}),
            # The whole compressed page, without the 8-byte trailer (CRC and size) that ends a gzip file.
            "gzip_without_trailer": lambda: send(200, html, gzip.compress(page)[:-8], {"Content-Encoding": "gzip"}),
            "gzip_whole": lambda: send(200, html, gzip.compress(page, mtime=0), {"Content-Encoding": "gzip"}),
            # A few KB that become 7 MB of spaces: over the size limit only once decompressed.
            "gzip_bomb": lambda: send(200, html, gzip.compress(page.replace(b"</body>", b" " * OVERSIZE + b"</body>")),
                                      {"Content-Encoding": "gzip"}),
            # The charset in the header only: the stored page cannot be the bytes that came.
            "gzip_legacy_charset": lambda: send(200, "text/html; charset=windows-1258",
                                                gzip.compress(windows_1258(page.decode("utf-8"))),
                                                {"Content-Encoding": "gzip"}),
            "drip": lambda: send.drip(200, html, page),
            "429_storm": lambda: send(429, html, b"Too many"),
            "429_retry_after_seconds": lambda: send(429, html, b"Too many", {"Retry-After": "1"}),
            "503_retry_after_date": lambda: send(503, html, b"Busy", {"Retry-After": formatdate(time.time() + 1, usegmt=True)}),
            "503_storm": lambda: send(503, html, b"Busy"),
            "redirect_loop": lambda: send(302, html, b"", {"Location": path}),
            "redirect_other_host": lambda: send(301, html, b"", {"Location": self.url(OTHER_HOST_ARTICLE, "hang")}),
            "redirect_file": lambda: send(302, html, b"", {"Location": "file:///etc/passwd"}),
            "redirect_ftp": lambda: send(302, html, b"", {"Location": "ftp://127.0.0.1/bai.html"}),
            "redirect_data": lambda: send(302, html, b"", {"Location": "data:text/html,<h1>hi</h1>"}),
            "oversize_with_length": lambda: send(200, html, page + b" " * OVERSIZE),
            "oversize_without_length": lambda: send(200, html, page + b" " * OVERSIZE, length=False),
            "article_as_octet_stream": lambda: send(200, "application/octet-stream", page),
            "pdf_as_html": lambda: send(200, html, PDF),
            "pdf_as_pdf": lambda: send(200, "application/pdf", PDF),
            "canonical_javascript": lambda: send(200, html, page.replace(self.url(path).encode(), b"javascript:alert(1)")),
            # Declared UTF-8 (header and meta), sent as windows-1258.
            "charset_mismatch": lambda: send(200, html, windows_1258(page.decode("utf-8"))),
            "unclosed_tags": lambda: send(200, html, page.replace(b"</p>", b"").replace(b"</article>", b"")
                                          .replace(b"</body></html>", b"<div><span><b>")),
            "deep_nesting": lambda: send(200, html, page.replace(b"<article>", b"<article>" + b"<div>" * 10_000)),
            "nul_byte": lambda: send(200, html, page.replace(b"</h1>", b"</h1>\x00", 1).replace(b"<p>", b"<p>\x00", 1)),
        }.get(fault)
        if fault == "500_then_200" and self._count(path) == 1:
            return send(500, html, b"Oops")
        if answer is not None:
            return answer()
        return send(200, html, page)

    def _handle(self, site: str, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.log.append((site, request.path))
        try:
            self.respond(site, request.path, request)
        except OSError:  # the crawler gave up on this answer (a timeout, a size limit)
            pass


class _Sender:
    """Ways to answer: whole, without a length, reset halfway, or a byte at a time."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler

    def head(self, status: int, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)

    def __call__(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None,
                 length: bool = True) -> None:
        self.head(status, content_type, headers)
        if length:
            self.handler.send_header("Content-Length", str(len(body)))
        self.handler.end_headers()  # HTTP/1.0: without a length, the body ends when the connection closes
        self.handler.wfile.write(body)

    def reset(self, content_type: str, body: bytes) -> None:
        """Announce the whole body, send half, then reset the connection (RST, not FIN)."""
        self.head(200, content_type)
        self.handler.send_header("Content-Length", str(len(body)))
        self.handler.end_headers()
        self.handler.wfile.write(body[: len(body) // 2])
        self.handler.wfile.flush()
        sock = self.handler.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def drip(self, status: int, content_type: str, body: bytes) -> None:
        self.head(status, content_type)
        self.handler.send_header("Content-Length", str(len(body)))
        self.handler.end_headers()
        self.handler.wfile.flush()
        end = time.monotonic() + DRIP_FOR
        for byte in body:
            if time.monotonic() > end:
                break
            self.handler.wfile.write(bytes([byte]))
            self.handler.wfile.flush()
            time.sleep(DRIP_EVERY)
