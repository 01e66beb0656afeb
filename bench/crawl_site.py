"""The loopback news site of the crawl benchmark (bench/bench_crawl.py).

Copies of the real article pages of ../shared/data/tracking-news-mcp-fixtures, each
under its own URL, written to a folder with ``/robots.txt``, a sitemap index, its
child sitemaps and a small home page; then served from that folder by a
``ThreadingHTTPServer`` on 127.0.0.1 in a process of its own, so that its CPU is not
counted in the benchmark's process (it still shares the machine's cores).

As a news site does, it sends the pages gzip-compressed to a client that accepts it (each
compressed once, at level 6, when the site is written: ``PAGE.html.gz`` beside
``PAGE.html``), unless the site was written with ``compress=False``.

Every response carries an ``ETag`` and a ``Last-Modified`` and answers a matching
conditional request with 304, as a news site's sitemaps do: a second crawl of an
unchanged site can learn that nothing changed. ``GET /_hits`` returns the requests
counted so far per path kind (``article`` or ``other``) and status, as JSON.

Run as ``python bench/crawl_site.py FOLDER``: prints the port, then serves FOLDER
(which may still be empty: files are read at request time) until its standard input
closes, so that it ends with the benchmark however the benchmark ends.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

FIXTURES = "tracking-news-mcp-fixtures"
SITEMAP_MAX_URLS = 5000  # what the sitemaps protocol allows is 50,000; news sites split far sooner
ARTICLE_PATH = re.compile(r"^/p\d+/")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".txt": "text/plain; charset=utf-8"}
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p\s*>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<[^>]+>")
SENTENCE_MARK = "\x00sentence\x00"
URL_MARK = "\x00url\x00"


@dataclass
class BasePage:
    """One real article page and where to add each copy's own sentence."""

    name: str
    html: str
    url: str  # the publisher's URL, as in the page's canonical link and og:url
    insert_at: int = -1  # offset in ``html`` of the end of the paragraph that gets the sentence

    @property
    def slug(self) -> str:
        """The words of the publisher's URL, without its id: ``gia-vang-giam-van-cao``."""
        last = urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"-?[a-z]?\d+(\.\w+)?$", "", last)[:80]

    def template(self) -> str:
        """The page with marks where a copy's sentence and URL go (see :func:`render`)."""
        marked = self.html[: self.insert_at] + SENTENCE_MARK + self.html[self.insert_at :]
        return marked.replace(self.url, URL_MARK)


def load_bases(shared: Path) -> list[BasePage]:
    """The article pages of the fixtures (ground_truth.json's ``articles``; the list pages are left out)."""
    folder = shared / FIXTURES
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    bases = []
    for entry in truth["articles"]:
        page = BasePage(entry["file"], (folder / entry["file"]).read_text(encoding="utf-8"), entry["url"])
        if page.html.count(page.url) < 2:  # the canonical link and og:url, at least
            raise ValueError(f"{entry['file']}: its URL {page.url} is not in its canonical link and og:url")
        bases.append(page)
    return bases


def paragraph_ends(html: str) -> list[int]:
    """Where each ``<p>``'s content ends, the paragraph with the longest text first."""
    found = PARAGRAPH.finditer(html)
    return [m.end(1) for m in sorted(found, key=lambda m: len(TAG.sub("", m.group(1))), reverse=True)]


def copy_sentence(copy: int) -> str:
    """The sentence that makes copy number ``copy`` of a page a text of its own."""
    return f" Thông tin được cập nhật lần thứ {copy + 1} lúc {8 + copy % 12} giờ {copy % 60:02d} phút."


def render(template: str, url: str, copy: int) -> str:
    return template.replace(URL_MARK, url).replace(SENTENCE_MARK, copy_sentence(copy))


def copy_path(bases: list[BasePage], index: int) -> str:
    """The path of copy ``index``: copies go round the base pages, so any run of them has the same mix.

    Article-like: a section, a slug of words, a numeric id of 8 digits, ``.html``.
    """
    page, copy = index % len(bases), index // len(bases)
    return f"/p{page}/ban-{copy}-{bases[page].slug}-{10_000_000 + index}.html"


def write_site(folder: Path, base_url: str, bases: list[BasePage], count: int, compress: bool = True) -> list[str]:
    """Write ``count`` copies (and their gzip files, with ``compress``), the sitemaps, robots.txt and the
    home page; return the copies' URLs in order."""
    templates = [base.template() for base in bases]
    urls = []
    for index in range(count):
        path = copy_path(bases, index)
        url = base_url + path
        (folder / path[1:]).parent.mkdir(parents=True, exist_ok=True)
        (folder / path[1:]).write_text(render(templates[index % len(bases)], url, index // len(bases)), "utf-8")
        urls.append(url)
    if compress:
        with ProcessPoolExecutor() as pool:  # a few ms a page: on every core
            list(pool.map(gzip_file, [folder / url.split("/", 3)[3] for url in urls], chunksize=64))
    write_sitemaps(folder, base_url, urls, len(bases))
    (folder / "robots.txt").write_text(f"User-agent: *\nAllow: /\n\nSitemap: {base_url}/sitemap.xml\n", "utf-8")
    links = "".join(f'<li><a href="{escape(url)}">{escape(url)}</a></li>' for url in urls[: len(bases)])
    (folder / "index.html").write_text(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta property="og:type" content="website">'
        f"<title>Báo Thử Tốc Độ</title></head><body><h1>Báo Thử Tốc Độ</h1><ul>{links}</ul></body></html>", "utf-8")
    return urls


def gzip_file(path: Path) -> None:
    """``PAGE.html.gz`` beside ``PAGE.html``, as a web server's usual level 6."""
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), 6, mtime=0))


def write_sitemaps(folder: Path, base_url: str, urls: list[str], sections: int) -> None:
    """A sitemap index of one child sitemap per section and per 5,000 URLs, as large news sites have."""
    today = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    (folder / "sitemaps").mkdir(exist_ok=True)
    children = []
    for section in range(sections):
        in_section = urls[section::sections]
        for start in range(0, len(in_section), SITEMAP_MAX_URLS):
            name = f"sitemaps/p{section}-{start // SITEMAP_MAX_URLS + 1}.xml"
            entries = "".join(f"<url><loc>{escape(url)}</loc><lastmod>{today}</lastmod></url>"
                              for url in in_section[start : start + SITEMAP_MAX_URLS])
            (folder / name).write_text(f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{SITEMAP_NS}">'
                                       f"{entries}</urlset>", "utf-8")
            children.append(f"<sitemap><loc>{base_url}/{name}</loc><lastmod>{today}</lastmod></sitemap>")
    (folder / "sitemap.xml").write_text(f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{SITEMAP_NS}">'
                                        f"{''.join(children)}</sitemapindex>", "utf-8")


# --- serving ----------------------------------------------------------------------------


def handler_for(folder: Path) -> type[BaseHTTPRequestHandler]:
    """A handler serving ``folder`` with validators, 304s and a count of the hits."""
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server: no new connection per page
        # TCP_NODELAY, as web servers set on keep-alive connections: without it, the end of an answer
        # waited for the client's delayed ACK (some 30 ms a page for gzip answers to urllib3).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            if path == "/_hits":
                with lock:
                    self.send(200, {"Content-Type": "application/json"}, json.dumps(hits).encode())
                return
            status, headers, body = respond(folder, path, self.headers)
            with lock:
                hits[f"{'article' if ARTICLE_PATH.match(path) else 'other'} {status}"] += 1
            self.send(status, headers, body)

        def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def respond(folder: Path, path: str, request_headers: Message) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for ``path``: the file (its gzip file to a client that accepts gzip),
    a 304 when the client's validators match, or a 404."""
    file = folder / ("index.html" if path == "/" else path.lstrip("/"))
    if ".." in path or not file.is_file():
        return 404, {"Content-Type": "text/plain"}, b"not found"
    headers = {"Content-Type": CONTENT_TYPES.get(file.suffix, "application/octet-stream")}
    compressed = file.with_name(file.name + ".gz")
    if "gzip" in request_headers.get("Accept-Encoding", "") and compressed.is_file():
        file = compressed
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    stat = file.stat()
    headers.update({
        "ETag": f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"',
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
    })
    if (request_headers.get("If-None-Match") == headers["ETag"]
            or request_headers.get("If-Modified-Since") == headers["Last-Modified"]):
        return 304, headers, b""
    return 200, headers, file.read_bytes()


class SiteProcess:
    """The site served from ``folder`` by a child process; ``base`` is its address, :meth:`hits` its counts."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, str(folder)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        port = self.process.stdout.readline().strip() if self.process.stdout else ""
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError(f"the benchmark site did not start (it printed {port!r})")
        self.base = f"http://127.0.0.1:{port}"

    def hits(self) -> Counter[str]:
        """Requests so far, by ``"<kind> <status>"`` (``"article 200"``, ``"other 304"``...)."""
        with urlopen(f"{self.base}/_hits", timeout=10) as response:  # noqa: S310 (our own loopback server)
            return Counter(json.loads(response.read()))

    def __enter__(self) -> SiteProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.communicate(timeout=10)  # closes its standard input: it stops


class Server(ThreadingHTTPServer):
    # A web server's backlog of connections (socketserver's is 5): a crawl opens a dozen at once, and
    # a connection beyond the fifth had its SYN dropped and sent again a second later.
    request_queue_size = 128


def serve(folder: Path) -> None:
    server = Server(("127.0.0.1", 0), handler_for(folder))
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: crawl_site.py FOLDER")
    serve(Path(sys.argv[1]))
