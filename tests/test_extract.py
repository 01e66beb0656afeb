"""The extract stage on our own fixture pages: one template per way a page states its metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html
from scrapy.http import HtmlResponse
from trafilatura.settings import use_config

from pipelines.vietnamese.extract import extract_article
from pipelines.vietnamese.normalize import normalize_text
from pipelines.vietnamese.bylines import person_names
from pipelines.vietnamese.metadata import json_ld, json_ld_types, strip_site_suffix

PAGES = Path(__file__).parent / "pages"
CONFIG = use_config()


def extract(name: str, url: str) -> dict:
    fields = extract_article((PAGES / name).read_text(encoding="utf-8"), url, CONFIG)
    assert fields is not None, f"{name}: no article text"
    return fields


@pytest.fixture(scope="module")
def jsonld() -> dict:
    return extract("jsonld_article.html", "https://www.qdnd.vn/xa-hoi/bo-doi-bien-phong-1052001")


@pytest.fixture(scope="module")
def meta_only() -> dict:
    return extract("meta_only_article.html", "https://tuoitre.vn/gia-rau-xanh-20260307101010123.htm")


@pytest.fixture(scope="module")
def dateline() -> dict:
    return extract("dateline_article.html", "https://thoisu.example.vn/ha-noi-xe-buyt-dien-d5001.html")


def test_jsonld_page_metadata(jsonld: dict) -> None:
    # The <h1>, not the truncated og:title / JSON-LD headline.
    assert jsonld["title"] == "Bộ đội biên phòng giúp dân thu hoạch cà phê trước mùa mưa ở xã biên giới Ia Lốp"
    # A naive JSON-LD time is Vietnam time; dateModified kept apart.
    assert jsonld["published"] == "2026-03-05T14:30:00+07:00"
    assert jsonld["modified"] == "2026-03-05T16:02:10+07:00"
    # The JSON-LD author carries an office address after " - "; the meta author is the site.
    assert jsonld["author"] == "Vũ Dung"
    assert jsonld["description"].startswith("Những ngày cuối mùa khô")  # outlet tag "(QĐND) - " stripped
    assert jsonld["category"] == "Xã hội"
    assert jsonld["tags"] == "biên phòng, cà phê, Đắk Lắk"
    assert jsonld["image"] == "https://file3.qdnd.vn/data/images/ca-phe.jpg"
    assert jsonld["language"] == "vi"


def test_jsonld_page_body(jsonld: dict) -> None:
    text, byline = normalize_text(jsonld["text"])
    lines = text.split("\n")
    assert lines[0].startswith("Sáng 5-3, Đồn Biên phòng Ia Lốp")
    # The photo table's caption stays as a paragraph; its toolbar and table pipes go.
    assert "Cán bộ, chiến sĩ Đồn Biên phòng Ia Lốp giúp người dân hái cà phê." in lines
    assert "leftcenterrightdel" not in text and "|" not in text
    # Related box, "Xem thêm", the section footer and the byline leave the body.
    for gone in ("Tin liên quan", "Biên phòng Đắk Lắk giúp dân làm nhà", "Xem thêm", "Mời bạn đọc", "Tin, ảnh"):
        assert gone not in text
    assert lines[-1].startswith("Bà Ksor H'Nhung")
    assert byline == "Vũ Dung"  # the trailing credit agrees with the metadata author


def test_meta_only_page(meta_only: dict) -> None:
    assert meta_only["title"] == "Giá rau xanh tăng mạnh sau đợt mưa lớn ở miền Tây"
    assert meta_only["published"] == "2026-03-07T10:15:30+07:00"
    assert meta_only["modified"] == "2026-03-07T11:00:00+07:00"
    # "TUOI TRE ONLINE" and a Facebook URL are not people; the byline names two.
    assert meta_only["author"] == "Hoài Thương, Ngọc Phượng"
    assert meta_only["category"] == "Kinh doanh"
    assert meta_only["language"] == "vi"
    text = meta_only["text"]
    assert "Rau xanh về chợ Bình Điền giảm mạnh - Ảnh: NGỌC PHƯỢNG" in text  # caption kept
    assert "Giá heo hơi tăng trở lại" not in text  # related box
    assert "Theo Sài Gòn Giải Phóng" not in normalize_text(text)[0]  # another outlet's source line
    assert not text.startswith("Giá nhiều loại rau xanh")  # the sapo is the description, not repeated
    assert meta_only["description"].startswith("Giá nhiều loại rau xanh")


def test_dateline_only_page(dateline: dict) -> None:
    # No JSON-LD, no meta: the visible date line, day first, GMT+7.
    assert dateline["published"] == "2026-03-07T08:47:00+07:00"
    assert dateline["title"] == "Hà Nội mở thêm ba tuyến xe buýt điện nối trung tâm với các khu đô thị mới"
    assert dateline["author"] is None  # "Ảnh: Quang Huy" is a photo credit
    text, byline = normalize_text(dateline["text"])
    assert byline == "Minh Anh"  # the trailing credit line becomes the author in normalize
    assert "Xe buýt điện chạy thử tại Hà Nội" not in text  # a list made only of links


@pytest.mark.parametrize(
    ("value", "url", "people"),
    [
        ("NLD COM VN", "https://nld.com.vn/a", []),
        ("Baochinhphu Vn", "https://baochinhphu.vn/a", []),
        ("VCCorp vn", "https://cafef.vn/a", []),
        ("TUOI TRE ONLINE", "https://tuoitre.vn/a", []),
        ("Baotuoitre", "https://tuoitre.vn/a", []),
        ("Dân Trí", "https://dantri.com.vn/a", []),
        ("Ảnh: Minh Anh", "", []),
        ("https://www.facebook.com/baodantridientu", "", []),
        ("Dương Ngọc; VCCorp vn", "https://cafef.vn/a", ["Dương Ngọc"]),
        ("Theo Hồ Hương", "https://cafef.vn/a", ["Hồ Hương"]),
        ("NHẬT XUÂN;NGHI VŨ", "https://tuoitre.vn/a", ["Nhật Xuân", "Nghi Vũ"]),
        ("VŨ DUNG - Số 7 Phan Đình Phùng, Hà Nội", "https://www.qdnd.vn/a", ["Vũ Dung"]),
        ("Thượng tá Nguyễn Văn Hòa", "", ["Nguyễn Văn Hòa"]),
        ("Hà Thu (tổng hợp)", "https://vnexpress.net/a", ["Hà Thu"]),
        ("Reuters", "", []),
    ],
)
def test_person_names(value: str, url: str, people: list[str]) -> None:
    assert person_names(value, url) == people


@pytest.mark.parametrize(
    ("title", "url", "expected"),
    [
        ("Cách các nước đối phó - Báo VnExpress Kinh doanh", "https://vnexpress.net/a", "Cách các nước đối phó"),
        ("Giá vàng giảm | Báo Dân trí", "https://dantri.com.vn/a", "Giá vàng giảm"),
        ("Chiến sự đẩy giá hoa - Tuổi Trẻ Online", "https://tuoitre.vn/a", "Chiến sự đẩy giá hoa"),
        ("Việt Nam - Australia đi vào chiều sâu", "https://dangcongsan.vn/a", "Việt Nam - Australia đi vào chiều sâu"),
    ],
)
def test_strip_site_suffix(title: str, url: str, expected: str) -> None:
    assert strip_site_suffix(title, url) == expected


JSON_LD_PAGE = """<html><head>
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Top"}</script>
<script type="application/ld+json">{"@context": "https://schema.org",
  "@graph": [{"@type": "WebPage"}, {"@type": "BreadcrumbList", "itemListElement": []}]}</script>
<script type="application/ld+json">[{"@type": ["Article", "reportageNewsArticle"]}, {"@type": null}]</script>
<script type="application/ld+json">{"@type": "Broken",</script>
</head><body><p>x</p></body></html>"""


def test_json_ld_objects_and_types() -> None:
    """Every object, @graph members and list items included, broken blocks skipped; types lower-cased."""
    objects = json_ld(lxml_html.fromstring(JSON_LD_PAGE))
    assert len(objects) == 6  # NewsArticle, the @graph and its 2 members, the 2 list items
    assert json_ld_types(objects) == {"newsarticle", "webpage", "breadcrumblist", "article", "reportagenewsarticle"}
    assert json_ld_types([objects[0]]) == {"newsarticle"}
    # The crawler's pages are Scrapy responses: their lxml root reads the same.
    response = HtmlResponse("https://x.vn/a.html", body=JSON_LD_PAGE.encode(), encoding="utf-8")
    assert json_ld(response.selector.root) == objects


def test_listing_page_gives_no_article() -> None:
    links = "".join(f"<li><a href='/tin-{n}.html'>Tin thứ {n} trong ngày hôm nay</a></li>" for n in range(20))
    assert extract_article(f"<html><body><ul>{links}</ul></body></html>", "https://x.vn/", CONFIG) is None


@pytest.mark.parametrize(
    ("last", "dropped"),
    [
        ("Theo VnExpress", True),
        ("(Theo Reuters)", True),
        ("Nguồn: Tuổi Trẻ", True),
        ("TTXVN", True),
        ("TTXVN/Vietnam+", True),
        ("Theo ông Hòa, mùa cà phê năm nay được giá.", False),
        ("Bà Lan cho biết sẽ tiếp tục bán rau.", False),
    ],
)
def test_source_lines_of_other_outlets(last: str, dropped: bool) -> None:
    text, _ = normalize_text(f"Đoạn đầu của bài báo.\n{last}")
    assert (last not in text.split("\n")) is dropped


SELECTOR_PAGE = ('<html><body><p class="author x">A</p><span class="sapo">B</span><div class="related">'
                 '<a href="/x">C</a></div><figure><figcaption>D</figcaption></figure></body></html>')


def assert_select_is_xpath(pages) -> None:
    """select() leaves out the class tests a page cannot pass: it must select exactly what lxml's XPath does."""
    from trafilatura.utils import load_html

    from pipelines.vietnamese import body, metadata
    from pipelines.vietnamese.encoding import decode_html

    selectors = [*metadata.HEADLINE_XPATHS, *metadata.SAPO_XPATHS, *metadata.BYLINE_XPATHS, *metadata.DATE_LINE_XPATHS,
                 *metadata.BREADCRUMB_XPATHS, *body.BODY_XPATHS, *body.PRUNE_XPATHS, body._CAPTIONS]
    for page in pages:
        tree = load_html(decode_html(page))
        if tree is None:
            continue
        for selector in selectors:
            assert metadata.select(tree, selector) == tree.xpath(selector), selector


def test_select_finds_what_xpath_finds():
    assert_select_is_xpath([*(path.read_bytes() for path in PAGES.glob("*.html")), SELECTOR_PAGE.encode()])


def test_select_finds_what_xpath_finds_on_the_real_pages(shared_data):
    assert_select_is_xpath(path.read_bytes() for path in shared_data.rglob("*.html"))
