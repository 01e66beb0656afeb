"""A loopback news site of many small articles, for the distributed-crawl tests.

Our own generated pages: ``/robots.txt`` names ``/sitemap.xml``, which lists every article
``/bai/<n>.html`` (and, with ``aliases``, short URLs ``/r/<n>`` redirecting to the first ones); each
article is a short Vietnamese text of its own (its numbers, its place,
its sentences drawn by its number), with ``og:type=article`` and a publication time. Every
request is logged with its arrival time, so a test can count how often each URL was fetched
and how fast the site was hit.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler

from pipelines.vietnamese.dates import VIETNAM
from tests.loopback import LoopbackServer, send

PLACES = ["Hà Nội", "Đà Nẵng", "Huế", "Cần Thơ", "Hải Phòng", "Nghệ An", "Quảng Ninh", "Lâm Đồng"]
SUBJECTS = ["Bộ Y tế", "Ủy ban nhân dân tỉnh", "Sở Giáo dục", "Công an thành phố", "Ngân hàng Nhà nước",
            "Tổng cục Thống kê", "Bộ Nông nghiệp", "Sở Giao thông vận tải"]
SENTENCES = [
    "{subject} cho biết kế hoạch năm nay gồm {n} dự án tại {place}, với tổng vốn {m} tỷ đồng.",
    "Theo báo cáo, trong {k} tháng qua đã có {m} hộ dân tại {place} được hỗ trợ kịp thời.",
    "Ông Nguyễn Văn {name}, đại diện {subject}, nhấn mạnh việc hoàn thành {n} công trình trước tháng {k}.",
    "Người dân {place} phản ánh tình trạng ùn tắc kéo dài trên tuyến đường số {n} vào giờ cao điểm.",
    "Cơ quan chức năng đã kiểm tra {m} cơ sở kinh doanh và xử phạt {k} trường hợp vi phạm.",
    "Dự kiến đến cuối năm {year}, tỷ lệ hoàn thành đạt {n} phần trăm so với kế hoạch đề ra.",
    "Hội nghị có sự tham dự của {m} đại biểu đến từ {k} tỉnh, thành phố trong cả nước.",
    "Bà Trần Thị {name} cho rằng cần thêm {n} ngày để đánh giá đầy đủ kết quả tại {place}.",
]
NAMES = ["An", "Bình", "Cường", "Dũng", "Giang", "Hùng", "Lan", "Minh", "Nam", "Phương", "Quang", "Thảo"]


def article(n: int, base: str, salt: str = "") -> bytes:
    rng = random.Random(f"{salt}{n}")
    place, subject = rng.choice(PLACES), rng.choice(SUBJECTS)
    published = (datetime(2026, 11, 1, 8, 0, tzinfo=VIETNAM) + timedelta(minutes=17 * n)).isoformat()
    paragraphs = []
    for _ in range(4):
        words = {"subject": subject, "place": place, "n": n, "m": rng.randint(10, 9999), "k": rng.randint(2, 12),
                 "name": rng.choice(NAMES), "year": 2026}
        paragraphs.append(" ".join(rng.choice(SENTENCES).format(**words) for _ in range(3)))
    title = f"{subject} công bố kết quả số {n}{salt} tại {place}"
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:type" content="article"><meta property="og:title" content="{title}">'
        f'<meta property="article:published_time" content="{published}">'
        f'<link rel="canonical" href="{base}/bai/{n}.html"></head>'
        f'<body><header><a href="/">Trang chủ</a></header><article><h1>{title}</h1>{body}</article></body></html>'
    ).encode("utf-8")


class ManySite:
    """``count`` articles on 127.0.0.1; :attr:`hits` (path, arrival time) of every request. Sites of
    different ``salt`` have different texts (the same salt: the same texts, as copies)."""

    def __init__(self, count: int, salt: str = "", aliases: int = 0) -> None:
        self.count, self.salt, self.aliases = count, salt, aliases
        self.hits: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._handle)
        self.base = self.server.base

    def article_urls(self) -> list[str]:
        return [f"{self.base}/bai/{n}.html" for n in range(1, self.count + 1)]

    def alias_urls(self) -> dict[str, str]:
        """The short URLs (``/r/<n>``, in the sitemap too) that redirect to the first ``aliases``
        articles: each must end up an alias of its article."""
        return {f"{self.base}/r/{n}": f"{self.base}/bai/{n}.html" for n in range(1, self.aliases + 1)}

    def respond(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 200, "text/plain", f"User-agent: *\nAllow: /\nSitemap: {self.base}/sitemap.xml\n".encode()
        if path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{url}</loc></url>" for url in [*self.article_urls(), *self.alias_urls()])
            body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            return 200, "application/xml", body.encode()
        if path == "/":
            return 200, "text/html; charset=utf-8", b'<html lang="vi"><body><a href="/sitemap.xml">Sitemap</a></body></html>'
        if path.startswith("/r/") and f"{self.base}{path}" in self.alias_urls():
            return 301, self.alias_urls()[f"{self.base}{path}"], b""
        if path.startswith("/bai/") and path.endswith(".html"):
            number = path[5:-5]
            if number.isdigit() and 1 <= int(number) <= self.count:
                return 200, "text/html; charset=utf-8", article(int(number), self.base, self.salt)
        return 404, "text/html", b"<html><body>404</body></html>"

    def fetched(self) -> Counter[str]:
        """How many times each path was requested."""
        with self.lock:
            return Counter(path for path, _ in self.hits)

    def times(self) -> list[float]:
        with self.lock:
            return sorted(at for _, at in self.hits)

    def __enter__(self) -> ManySite:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.hits.append((request.path, time.monotonic()))
        status, kind, body = self.respond(request.path)
        send(request, status, {"Location" if status == 301 else "Content-Type": kind}, body)
