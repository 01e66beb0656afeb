"""Our own article page, with the parts a test varies: headline, byline, closing lines, head tags.

The text is ours (no publisher's copy). :func:`in_form` writes the page in the forms pages come
in: NFC or NFD UTF-8, NFD with its tone marks as character references, windows-1258.
"""

from __future__ import annotations

import re
import unicodedata

from pipelines.page import Fetched, PageOptions, PageResult, process_page
from tests.newsite import windows_1258

URL = "https://baomau.example.vn/quoc-phong/hoi-nghi-trien-khai-nhiem-vu-1052548"
TITLE = "Đảng ủy Tổng cục Kỹ thuật triển khai nhiệm vụ năm 2023"
PARAGRAPHS = [
    "Sáng 10-1, tại Hà Nội, Đảng ủy Tổng cục Kỹ thuật tổ chức hội nghị triển khai nhiệm vụ năm 2023 với sự "
    "tham dự của đông đảo cán bộ, chiến sĩ trong toàn Tổng cục và các đơn vị trực thuộc trên địa bàn cả nước.",
    "Năm qua, các cơ quan, đơn vị đã hoàn thành tốt nhiệm vụ bảo đảm kỹ thuật cho huấn luyện, sẵn sàng chiến "
    "đấu, diễn tập và các nhiệm vụ đột xuất; nhiều sáng kiến cải tiến kỹ thuật được áp dụng hiệu quả vào thực tế.",
    "Phát biểu kết luận hội nghị, đồng chí Bí thư Đảng ủy yêu cầu các cấp ủy, tổ chức đảng tiếp tục quán triệt "
    "nghiêm các nghị quyết, chỉ thị của cấp trên, tập trung lãnh đạo hoàn thành toàn diện các chỉ tiêu đã đề ra.",
]


def article_html(h1: str = TITLE, byline: str = "", end: str = "", head: str = "", body: bool = True) -> str:
    """The page: ``byline`` above the text, ``end`` after its last paragraph (inside the body container
    ``<div itemprop="articleBody">`` when ``body``, else in a plain ``<div>``), ``head`` in ``<head>``."""
    text = "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    container = 'itemprop="articleBody"' if body else 'class="noi-dung"'
    return (
        f'<html lang="vi"><head><meta charset="utf-8"><title>{TITLE} - Báo Mẫu</title>'
        f'<meta property="og:type" content="article">{head}</head><body>'
        f'<nav><a href="/">Trang chủ</a></nav><article><h1>{h1}</h1>{byline}'
        f"<div {container}>{text}{end}</div></article><footer>Báo Mẫu, 1 Phố Mẫu, Hà Nội</footer></body></html>"
    )


def in_form(page: str, form: str) -> bytes:
    """``page`` as bytes: ``nfc``, ``nfd``, ``nfd-references`` (every combining mark as ``&#NNN;``, which
    only the HTML parser turns back into characters) or ``windows-1258`` (tone marks as combining bytes)."""
    if form == "nfc":
        return unicodedata.normalize("NFC", page).encode("utf-8")
    decomposed = unicodedata.normalize("NFD", page)
    if form == "nfd":
        return decomposed.encode("utf-8")
    if form == "nfd-references":
        references = re.sub("[\u0300-\u036f]", lambda mark: f"&#{ord(mark[0])};", decomposed)
        return references.encode("ascii", "xmlcharrefreplace")
    if form == "windows-1258":
        return windows_1258(page.replace('charset="utf-8"', 'charset="windows-1258"'))
    raise ValueError(form)


FORMS = ("nfc", "nfd", "nfd-references", "windows-1258")


def process(page: str | bytes, url: str = URL) -> PageResult:
    """The page through the per-page function, fetched from ``url``."""
    body = page.encode("utf-8") if isinstance(page, str) else page
    result = process_page(Fetched(url, body, "text/html", domain="baomau.example.vn"), PageOptions(neardup=None))
    assert result.kind == "article", result
    return result
