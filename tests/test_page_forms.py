"""Every field is read normalized, whatever the page's form: NFC, one line, before any rule sees it.

A page in decomposed Unicode, with tone marks as character references, or in windows-1258, and with
line breaks and runs of spaces inside its headline, lead, section, tags and credit line, gives the
same record as the clean page (our own fixture page, tests/articlepage.py).
"""

from __future__ import annotations

import json
import unicodedata

import pytest

from tests.articlepage import FORMS, PARAGRAPHS, TITLE, article_html, in_form, process

LEAD = "Hội nghị đánh giá kết quả thực hiện nhiệm vụ năm 2022 và triển khai phương hướng năm 2023."
MESSY_HEAD = '<meta name="keywords" content="biên\n   giới,  huấn\tluyện">'
MESSY_BYLINE = (
    "<div class='breadcrumb'><a href='/'>Trang chủ</a> <a href='/qp'>Quốc\n   phòng   an ninh</a></div>"
    "<p class='sapo'>Hội nghị   đánh giá kết quả\n thực hiện nhiệm vụ năm 2022 và triển khai\n"
    "   phương hướng năm 2023.</p>"
)
CREDITS = {
    "closing paragraph": "<p>Tin,   ảnh:\n   SƠN   BÌNH</p>",
    # trafilatura takes this one out of the text (class "author") and offers "Tin, Ảnh SƠN BÌNH" as author.
    "closing author paragraph": "<p class='author'><strong>Tin,\n ảnh: SƠN  BÌNH</strong></p>",
}


def one_line_nfc(value: str) -> bool:
    return unicodedata.is_normalized("NFC", value) and "\n" not in value and "  " not in value


@pytest.mark.parametrize("credit", CREDITS.values(), ids=CREDITS.keys())
@pytest.mark.parametrize("form", FORMS)
def test_fields_and_rules_see_normalized_text(form, credit):
    h1 = "Đảng ủy Tổng cục Kỹ thuật triển khai nhiệm\n   vụ  năm\t2023"
    page = article_html(h1=h1, byline=MESSY_BYLINE, end=credit, head=MESSY_HEAD)
    fields = process(in_form(page, form)).fields
    assert fields["title"] == TITLE
    assert fields["author"] == "Sơn Bình"  # not "Ảnh Sơn Bình": the roles never reach the name
    assert fields["description"] == LEAD
    assert fields["category"] == "Quốc phòng an ninh"
    assert fields["tags"] == "biên giới, huấn luyện"
    for name in ("title", "author", "description", "category", "tags"):
        assert one_line_nfc(fields[name]), (name, fields[name])
    lines = fields["text"].split("\n")
    assert lines == PARAGRAPHS  # headline, lead and credit line out of the text, every line NFC
    assert fields["title_folded"] == "dang uy tong cuc ky thuat trien khai nhiem vu nam 2023"


@pytest.mark.parametrize("form", FORMS)
def test_json_ld_and_meta_values_are_normalized_before_the_name_rules(form):
    # JSON-LD strings decomposed by \\u escapes (no HTML parser composes them), with a line break.
    author = json.dumps({"@type": "NewsArticle", "author": {"@type": "Person", "name": unicodedata.normalize(
        "NFD", "Bài và ảnh:\n ĐỖ   NGỌC ANH")}})
    head = f'<script type="application/ld+json">{author}</script><meta name="author" content="Báo Mẫu">'
    fields = process(in_form(article_html(head=head), form)).fields
    assert fields["author"] == "Đỗ Ngọc Anh"


def test_a_line_break_in_the_headline_reads_as_a_space():
    page = article_html(h1="Đảng ủy Tổng cục Kỹ thuật<br>triển khai nhiệm vụ năm 2023")
    assert process(page).fields["title"] == TITLE


@pytest.mark.parametrize(
    ("h1", "head", "title"),
    [
        # The <h1> as shown, even when a part of it looks like an outlet's name.
        ("Hà Nội - Báo động đỏ về ô nhiễm không khí", "", "Hà Nội - Báo động đỏ về ô nhiễm không khí"),
        ("Xuân về trên cao nguyên - Báo Mẫu", "", "Xuân về trên cao nguyên - Báo Mẫu"),
        # Without an <h1>, og:title and <title> lose the site's suffix.
        ("", '<meta property="og:title" content="Xuân về trên cao nguyên | Báo Mẫu">', "Xuân về trên cao nguyên"),
        ("", "", TITLE),
    ],
    ids=["h1 with a dash", "h1 with the outlet", "og:title", "title"],
)
def test_titles_lose_a_site_suffix_only_in_fallbacks(h1, head, title):
    page = article_html(h1=h1, head=head)
    if not h1:
        page = page.replace("<h1></h1>", "")
    assert process(page).fields["title"] == title
