"""A small Vietnamese news site served on 127.0.0.1, for end-to-end crawl tests.

Our own pages (no publisher's copy), generated with the server's address and
dates relative to today:

- ``/robots.txt``: disallows ``/noi-bo/``, announces ``/sitemap.xml``;
- ``/sitemap.xml``: a sitemap index of a gzip sitemap, a Google News sitemap
  and an old sitemap (``lastmod`` 60 days ago: never fetched);
- ``/`` announces the RSS feed with ``<link rel="alternate">`` and links to
  categories, articles, a short link redirecting to an article, a syndicated copy
  under a tracking URL, a page disallowed
  by robots.txt, a PDF, a calendar trap and a paging trap;
- ``/thoi-su`` with ``?trang=2`` pagination; a link to a deleted page (404);
- articles in four templates (og:type + JSON-LD, JSON-LD only, plain HTML, and
  windows-1258 bytes labelled iso-8859-1); a video page without text (extraction fails);
- old articles announced only with old dates: never fetched.

Every response carries an ``ETag`` and ``Last-Modified`` and answers a
matching conditional request with 304. :attr:`NewsSite.log` records each request.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from pipelines.vietnamese.dates import VIETNAM
from tests.loopback import LoopbackServer, send

LAST_MODIFIED = "Mon, 02 Nov 2026 01:00:00 GMT"

# slug -> (template, section, title, first paragraph). The other paragraphs are shared.
ARTICLES = {
    "thoi-su/bo-doi-giup-dan-vuot-lu-10001.html": (
        "og", "Thời sự", "Bộ đội giúp dân vượt lũ ở miền Trung",
        "Hàng trăm cán bộ, chiến sĩ đã có mặt từ sáng sớm để giúp người dân các xã ven sông di chuyển tài sản, "
        "gia súc lên vùng cao, gia cố đê bao và dựng lại những mái nhà bị gió quật đổ sau trận lũ lịch sử.",
    ),
    "kinh-te/gia-lua-tang-manh-vu-dong-xuan-10002.html": (
        "ld", "Kinh tế", "Giá lúa tăng mạnh trong vụ đông xuân",
        "Nông dân đồng bằng sông Cửu Long phấn khởi khi giá lúa tươi tại ruộng tăng thêm bốn trăm đồng mỗi "
        "ki-lô-gam so với tháng trước, thương lái tìm về tận ruộng để đặt cọc cho những cánh đồng sắp thu hoạch.",
    ),
    "the-thao/doi-tuyen-viet-nam-thang-dam-10003.html": (
        "og", "Thể thao", "Đội tuyển Việt Nam thắng đậm trong trận ra quân",
        "Trên sân Mỹ Đình chật kín khán giả, các cầu thủ áo đỏ đã chơi một trận đấu đầy tự tin, ghi ba bàn thắng "
        "đẹp mắt trong hiệp hai và khép lại buổi tối bằng màn cảm ơn người hâm mộ kéo dài nhiều phút.",
    ),
    "giao-duc/hoc-sinh-mien-nui-den-truong-10004.html": (
        "plain", "Giáo dục", "Học sinh miền núi vượt suối đến trường",
        "Mỗi sáng, các em nhỏ ở bản Nà Hẩu lại nắm tay nhau lội qua con suối lạnh buốt, đi bộ gần mười cây số "
        "đường đèo để kịp giờ vào lớp, mang theo nắm cơm và ước mơ được học tiếp lên cấp ba ở thị trấn.",
    ),
    "thoi-su/khanh-thanh-cau-moi-noi-hai-bo-song-10005.html": (
        "ld", "Thời sự", "Khánh thành cây cầu mới nối hai bờ sông",
        "Cây cầu dài gần một ki-lô-mét được khánh thành sau hai năm thi công, giúp hàng vạn người dân hai bên bờ "
        "không còn phải đi đò mỗi ngày, rút ngắn thời gian chở nông sản ra chợ huyện chỉ còn mười lăm phút.",
    ),
    "thoi-su/thanh-nien-tinh-nguyen-don-rac-bai-bien-10006.html": (
        "plain", "Thời sự", "Thanh niên tình nguyện dọn rác bãi biển",
        "Gần năm trăm đoàn viên thanh niên cùng người dân địa phương đã thu gom hơn hai tấn rác thải nhựa dọc "
        "bãi biển sau kỳ nghỉ lễ, đồng thời treo biển nhắc nhở du khách giữ gìn vệ sinh môi trường chung.",
    ),
    "van-hoa/le-hoi-lang-ven-song-10015.html": (
        "legacy", "Văn hóa", "Lễ hội làng ven sông",
        "Tiếng trống hội rộn ràng từ sáng sớm, những chiếc thuyền rồng được sơn mới rẽ sóng trên dòng sông quê, "
        "cả làng đổ ra hai bờ cổ vũ, các cụ cao niên kể cho con cháu nghe sự tích về vị thành hoàng của làng.",
    ),
    "thoi-su/mua-xuan-tren-cao-nguyen-da-10007.html": (
        "og", "Thời sự", "Mùa xuân trên cao nguyên đá",
        "Hoa đào, hoa mận nở trắng các sườn đồi, đồng bào Mông rộn ràng chuẩn bị đón năm mới với những phiên "
        "chợ đông vui, tiếng khèn vang khắp thung lũng và các đội văn nghệ của bản luyện tập suốt đêm.",
    ),
}
# Articles announced only with old dates, or only in the old sitemap: a crawl with since_days 7 never fetches them.
OLD_ARTICLES = {
    "thoi-su/tin-cu-trong-sitemap-nen-10008.html": 30,
    "thoi-su/tin-cu-trong-rss-10009.html": 20,
    "thoi-su/tin-trong-sitemap-cu-10014.html": 60,
}
SHARED_PARAGRAPHS = [
    "Theo chính quyền địa phương, công việc sẽ tiếp tục được triển khai trong những ngày tới với sự tham gia "
    "của các đoàn thể, lực lượng vũ trang và người dân, bảo đảm an toàn và đúng tiến độ đã đề ra từ đầu năm.",
    "Nhiều người dân bày tỏ sự vui mừng và mong muốn những hoạt động thiết thực như vậy sẽ được duy trì thường "
    "xuyên, góp phần nâng cao đời sống vật chất và tinh thần của bà con ở vùng sâu, vùng xa.",
]
# An old short link that redirects to an article: it becomes one of the article's URLs.
REDIRECTS = {"/tin/10005": "/thoi-su/khanh-thanh-cau-moi-noi-hai-bo-song-10005.html"}
SYNDICATED = "doi-tac/bo-doi-giup-dan-vuot-lu-10001.html"
DISALLOWED = "noi-bo/bao-cao-mat-noi-bo-10010.html"
DELETED = "thoi-su/bai-da-bi-xoa-10011.html"
# An article page without any text (a video): extraction fails and is recorded.
VIDEO = "video/clip-hay-ve-le-hoi-10013.html"
VIDEO_PAGE = ('<html><head><meta property="og:type" content="article"><title>Clip hay</title></head>'
              '<body><h1>Clip hay về lễ hội</h1><video src="/clip.mp4"></video></body></html>')
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
PDF_PATHS = ("tai-lieu/bao-cao-nam.pdf", "tai-lieu/van-ban-so-10012")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def days_ago(days: float) -> datetime:
    return datetime.now(VIETNAM).replace(microsecond=0) - timedelta(days=days)


def windows_1258(text: str) -> bytes:
    """``text`` in windows-1258, whose tone marks are combining characters after the letter."""
    out = []
    for char in text:
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out.append((base + "".join(c for c in parts if c in TONE_MARKS)).encode("cp1258"))
    return b"".join(out)


def article_page(base: str, slug: str) -> str:
    template, section, title, lead = ARTICLES[slug]
    published = days_ago(1).isoformat()
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in [lead, *SHARED_PARAGRAPHS])
    head = f'<link rel="canonical" href="{base}/{slug}">'
    if template in ("og", "legacy"):
        head += f'<meta property="og:type" content="article"><meta property="og:title" content="{title}">'
    if template in ("og", "ld"):
        head += ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
                 f'"headline": "{title}", "datePublished": "{published}"}}</script>')
    links = '<nav><a href="/">Trang chủ</a> <a href="/thoi-su">Thời sự</a></nav>'
    if template == "plain":
        return (f"<html><head><title>{title}</title>{head}</head><body>{links}<h1>{title}</h1>"
                f"<div class='content'>{body}</div></body></html>")
    charset = "iso-8859-1" if template == "legacy" else "utf-8"  # legacy: windows-1258 bytes, mislabelled
    return (f'<html lang="vi"><head><meta charset="{charset}"><title>{title} | Báo Mẫu</title>{head}</head>'
            f"<body>{links}<article><p class='section'>{section}</p><h1>{title}</h1>"
            f"<p class='date'>{published}</p>{body}</article><footer>Báo Mẫu</footer></body></html>")


def listing(title: str, links: list[str], head: str = "") -> str:
    anchors = "\n".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f'<html lang="vi"><head><meta charset="utf-8"><meta property="og:type" content="website">'
            f"<title>{title}</title>{head}</head><body><h1>{title}</h1><ul>{anchors}</ul></body></html>")


def pages(base: str) -> dict[str, tuple[str, bytes]]:
    """path (with query) -> (content type, body) of the static part of the site."""
    slugs = list(ARTICLES)
    rss_items = [(slugs[1], 1), (slugs[3], 2), ("thoi-su/tin-cu-trong-rss-10009.html", 20)]
    rss = "".join(
        f"<item><title>{ARTICLES.get(s, ('', '', 'Tin cũ'))[2]}</title><link>{base}/{s}</link>"
        f"<pubDate>{format_datetime(days_ago(d))}</pubDate></item>" for s, d in rss_items
    )
    urlset = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>'
    html_type, xml_type = "text/html; charset=utf-8", "application/xml"
    site = {
        "/robots.txt": ("text/plain", f"User-agent: *\nDisallow: /noi-bo/\n\nSitemap: {base}/sitemap.xml\n"),
        "/sitemap.xml": (xml_type, '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                         f"<sitemap><loc>{base}/sitemap-bai-viet.xml.gz</loc><lastmod>{days_ago(1).date()}</lastmod></sitemap>"
                         f"<sitemap><loc>{base}/sitemap-tin-tuc.xml</loc></sitemap>"
                         f"<sitemap><loc>{base}/sitemap-2025.xml</loc><lastmod>{days_ago(60).date()}</lastmod></sitemap>"
                         "</sitemapindex>"),
        "/sitemap-bai-viet.xml": (xml_type, urlset.format(
            f"<url><loc>{base}/{slugs[0]}</loc><lastmod>{days_ago(1).isoformat()}</lastmod></url>"
            f"<url><loc>{base}/thoi-su/tin-cu-trong-sitemap-nen-10008.html</loc>"
            f"<lastmod>{days_ago(30).isoformat()}</lastmod></url>")),
        "/sitemap-tin-tuc.xml": (xml_type, '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                                 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                                 f"<url><loc>{base}/{slugs[2]}</loc><news:news><news:publication>"
                                 "<news:name>Báo Mẫu</news:name><news:language>vi</news:language></news:publication>"
                                 f"<news:publication_date>{days_ago(0.5).isoformat()}</news:publication_date>"
                                 f"<news:title>{ARTICLES[slugs[2]][2]}</news:title></news:news></url></urlset>"),
        "/sitemap-2025.xml": (xml_type, urlset.format(f"<url><loc>{base}/thoi-su/tin-trong-sitemap-cu-10014.html</loc></url>")),
        "/rss/tin-moi-nhat.rss": ("application/rss+xml", f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">'
                                  f"<channel><title>Báo Mẫu</title><link>{base}/</link>{rss}</channel></rss>"),
        "/": (html_type, listing("Báo Mẫu", [
            "/thoi-su", "/kinh-te", f"/{slugs[0]}", f"/{SYNDICATED}?utm_source=zalo&fbclid=abc123#binh-luan",
            f"/{DISALLOWED}", f"/{PDF_PATHS[0]}", f"/{PDF_PATHS[1]}", "/lich/2026-11-20", "/tag/tin-nong",
            f"/{VIDEO}", "/van-hoa/le-hoi-lang-ven-song-10015.html", *REDIRECTS,
            "https://othersite.example/khong-theo-10099.html",
        ], head='<link rel="alternate" type="application/rss+xml" title="Tin mới" href="/rss/tin-moi-nhat.rss">')),
        "/thoi-su": (html_type, listing("Thời sự", [f"/{slugs[4]}", f"/{slugs[5]}", f"/{DELETED}", "/thoi-su?trang=2"],
                                        head='<link rel="next" href="/thoi-su?trang=2">')),
        "/thoi-su?trang=2": (html_type, listing("Thời sự - trang 2", ["/thoi-su/mua-xuan-tren-cao-nguyen-da-10007.html", "/thoi-su"])),
        "/kinh-te": (html_type, listing("Kinh tế", [f"/{slugs[1]}"])),
        f"/{SYNDICATED}": (html_type, article_page(base, slugs[0])),
        f"/{DISALLOWED}": (html_type, article_page(base, slugs[0])),
    }
    for slug, (template, *_) in ARTICLES.items():
        if template == "legacy":
            site[f"/{slug}"] = ("text/html; charset=iso-8859-1", windows_1258(article_page(base, slug)))
        else:
            site[f"/{slug}"] = (html_type, article_page(base, slug))
    site[f"/{VIDEO}"] = (html_type, VIDEO_PAGE)
    for path in PDF_PATHS:
        site[f"/{path}"] = ("application/pdf", PDF)
    return {path: (kind, body if isinstance(body, bytes) else body.encode("utf-8")) for path, (kind, body) in site.items()}


def trap(path: str, query: dict[str, list[str]]) -> str | None:
    """Endless pages: a calendar (one page per day) and a tag with ever more pages, none with articles."""
    if path.startswith("/lich/"):
        try:
            day = datetime.strptime(path[6:], "%Y-%m-%d")
        except ValueError:
            return None
        return listing(f"Lịch {day.date()}", [f"/lich/{(day + timedelta(days=d)).date()}" for d in (-1, 1)])
    if path == "/tag/tin-nong":
        page = int(query.get("trang", ["1"])[0])
        return listing(f"Tin nóng - trang {page}", ["/", f"/tag/tin-nong?trang={page + 1}"],
                       head=f'<link rel="next" href="/tag/tin-nong?trang={page + 1}">')
    return None


@dataclass
class Hit:
    path: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class NewsSite:
    """The running site: :meth:`url`, :attr:`log` of :class:`Hit`, :meth:`paths` fetched."""

    def __init__(self, article_delay: float = 0.0) -> None:
        self.article_delay = article_delay  # seconds before answering an article page
        # path -> how many more times to answer 503 with Retry-After: 1 (a busy server)
        self.busy: dict[str, int] = {}
        self.log: list[Hit] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._handle)
        self.base = self.server.base
        self.pages = pages(self.base)

    def url(self, path: str = "/") -> str:
        return self.base + path

    def paths(self, since: int = 0) -> list[str]:
        """The paths requested (with query) since log position ``since``, in order."""
        with self.lock:
            return [hit.path for hit in self.log[since:]]

    def __enter__(self) -> NewsSite:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def respond(self, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in REDIRECTS:
            return 301, {"Location": self.base + REDIRECTS[path], "Content-Type": "text/html"}, b""
        if self.busy.get(path):
            self.busy[path] -= 1
            return 503, {"Retry-After": "1", "Content-Type": "text/html"}, b"<html><body>Busy</body></html>"
        if self.article_delay and path.lstrip("/") in ARTICLES:
            time.sleep(self.article_delay)
        kind_body = self.pages.get(path)
        gzipped = path.endswith(".gz") and self.pages.get(path[:-3])
        if gzipped:
            kind_body = ("application/gzip", gzip.compress(gzipped[1], mtime=0))
        if kind_body is None:
            page = trap(parts.path, parse_qs(parts.query))
            kind_body = ("text/html; charset=utf-8", page.encode("utf-8")) if page else None
        if kind_body is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body><h1>404 Not Found</h1></body></html>"
        kind, body = kind_body
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        meta = {"Content-Type": kind, "ETag": etag, "Last-Modified": LAST_MODIFIED}
        if headers.get("if-none-match") == etag or (
            "if-none-match" not in headers and headers.get("if-modified-since") == LAST_MODIFIED
        ):
            return 304, meta, b""
        return 200, meta, body

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, meta, body = self.respond(request.path, headers)
        with self.lock:
            self.log.append(Hit(request.path, status, headers))
        send(request, status, meta, body)
