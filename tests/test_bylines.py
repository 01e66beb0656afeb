"""Authors: one set of rules for credit lines, byline blocks, meta tags, JSON-LD and signatures.

Why a credit line closing the body gave no author: trafilatura takes an element of class ``author``
out of the text (so the normalize step never sees it) and offers it as its author with the colon
dropped (``Bài và ảnh ĐỖ NGỌC ANH``), while our byline reader found the ``<p class="author">`` but
split ``Bài và ảnh`` at its ``và`` before any credit rule could read the roles. Now every source is
read by :func:`pipelines.vietnamese.bylines.person_names`, credit roles first.
"""

from __future__ import annotations

import json

import pytest

from pipelines.vietnamese.bylines import extract_byline, person_names
from tests.articlepage import PARAGRAPHS, article_html, process

BODY = "Nội bộ Tổng cục Kỹ thuật ổn định, đoàn kết, thống nhất, hoàn thành tốt nhiệm vụ."

CREDIT_LINES = [
    ("Tin, ảnh: SƠN BÌNH", "Sơn Bình"),
    ("TIN, ẢNH: SƠN BÌNH", "Sơn Bình"),
    ("tin, ảnh: Sơn Bình", "Sơn Bình"),
    ("Bài và ảnh: ĐỖ NGỌC ANH", "Đỗ Ngọc Anh"),
    ("BÀI VÀ ẢNH: ĐỖ NGỌC ANH.", "Đỗ Ngọc Anh"),
    ("Bài, ảnh: Trần Minh (TTXVN)", "Trần Minh"),
    ("Tin - ảnh: LÊ VĂN BÌNH - HOÀNG ANH", "Lê Văn Bình, Hoàng Anh"),
    ("Nhóm PV: Minh Anh, Hồng Phúc và Quang Huy", "Minh Anh, Hồng Phúc, Quang Huy"),
    ("Nhóm phóng viên: THU HÀ; QUANG HUY", "Thu Hà, Quang Huy"),
    ("Thực hiện: Thu Hà - Quang Huy", "Thu Hà, Quang Huy"),
    ("Ảnh, clip: NGUYỄN HƯỞNG", "Nguyễn Hưởng"),
    ("Bài viết: Đại tá NGUYỄN VĂN HẢI", "Nguyễn Văn Hải"),
    ("PV: Hồng Phúc", "Hồng Phúc"),
    ("Tin: Minh Anh/Báo Mẫu", "Minh Anh"),
]
# Photo and clip credits, a desk, and lines that only look like credits: no author.
NOT_AUTHORS = [
    "Ảnh: SƠN BÌNH",
    "ẢNH: Sơn Bình",
    "Video: Hồng Phúc",
    "Đồ họa: Quang Huy",
    "Nhóm PV",
    "Tin: Báo Mẫu",
    "Thực hiện: Nghị quyết số 12 của Đảng ủy",
    "PV: Ông đánh giá thế nào về kết quả năm qua?",
]


@pytest.mark.parametrize(("line", "author"), CREDIT_LINES)
def test_a_credit_line_closing_the_body_is_the_author(line, author):
    assert extract_byline([BODY, line]) == ([BODY], author)


@pytest.mark.parametrize(("line", "author"), CREDIT_LINES[:4])
def test_a_credit_line_among_the_last_paragraphs(line, author):
    """A photo credit, a note or a source may follow the credit line; only the credit line leaves."""
    after = ["Ảnh: Quang Huy", "(Còn nữa)"]
    assert extract_byline([BODY, line, *after]) == ([BODY, *after], author)
    # Before a paragraph of text it is not a closing credit.
    long = BODY * 3
    assert extract_byline([BODY, line, long]) == ([BODY, line, long], None)


@pytest.mark.parametrize("line", NOT_AUTHORS)
def test_other_closing_lines_name_no_author(line):
    assert extract_byline([BODY, line]) == ([BODY, line], None)
    assert person_names(line, "https://baomau.vn/a") == []


@pytest.mark.parametrize(("line", "author"), CREDIT_LINES)
def test_the_same_credit_as_an_author_value(line, author):
    """In a byline block, a meta tag or JSON-LD; and as trafilatura gives it, without the colon."""
    assert ", ".join(person_names(line, "https://baomau.vn/a")) == author
    assert ", ".join(person_names(line.replace(":", "", 1), "https://baomau.vn/a")) == author


CLOSING = {
    "author paragraph, bold": '<p class="author"><strong>{}</strong></p>',
    "author paragraph": '<p class="author">{}</p>',
    "bold paragraph": "<p><strong>{}</strong></p>",
    "right-aligned paragraph": '<p style="text-align: right;">{}</p>',
    "plain paragraph": "<p>{}</p>",
    "author div": '<div class="author">{}</div>',
}


@pytest.mark.parametrize("body", [True, False], ids=["body container", "no known container"])
@pytest.mark.parametrize("markup", CLOSING.values(), ids=CLOSING.keys())
@pytest.mark.parametrize(("line", "author"), [CREDIT_LINES[3], CREDIT_LINES[0], CREDIT_LINES[7], CREDIT_LINES[10]])
def test_a_credit_line_at_the_end_of_the_article(line, author, markup, body):
    fields = process(article_html(end=markup.format(line), body=body)).fields
    assert fields["author"] == author
    assert fields["text"].split("\n") == PARAGRAPHS


@pytest.mark.parametrize("markup", CLOSING.values(), ids=CLOSING.keys())
def test_a_photo_credit_at_the_end_gives_no_author(markup):
    fields = process(article_html(end=markup.format("Ảnh: SƠN BÌNH"))).fields
    assert fields["author"] is None


def ld(author) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", "author": author})}</script>'


SOURCES = {
    "byline span": ('<span class="author">Bài và ảnh: Đỗ Ngọc Anh</span>', "", ""),
    "byline link": ('<a class="author" href="/tac-gia/do-ngoc-anh">ĐỖ NGỌC ANH</a>', "", ""),
    "meta author": ("", '<meta name="author" content="Đỗ Ngọc Anh">', ""),
    "meta author, credit": ("", '<meta name="author" content="Tin, ảnh: ĐỖ NGỌC ANH">', ""),
    "JSON-LD object": ("", ld({"@type": "Person", "name": "Đỗ Ngọc Anh"}), ""),
    "JSON-LD list": ("", ld([{"@type": "Organization", "name": "Báo Mẫu"}, {"@type": "Person", "name": "ĐỖ NGỌC ANH"}]),
                     ""),
    "JSON-LD string with the outlet": ("", ld("Đỗ Ngọc Anh - Báo Mẫu"), ""),
    # An outlet names nobody: the next source does.
    "outlet span, then meta": ('<span class="author">Báo Mẫu</span>', '<meta name="author" content="Đỗ Ngọc Anh">', ""),
    "outlet JSON-LD, then meta": ("", ld({"@type": "Organization", "name": "Báo Mẫu"})
                                  + '<meta name="author" content="Đỗ Ngọc Anh">', ""),
    "outlets, then the credit line": ('<span class="author">baomau.example.vn</span>',
                                      '<meta name="author" content="Báo Mẫu">', "<p>Bài và ảnh: ĐỖ NGỌC ANH</p>"),
}


@pytest.mark.parametrize(("byline", "head", "end"), SOURCES.values(), ids=SOURCES.keys())
def test_each_author_source_by_the_same_rules(byline, head, end):
    assert process(article_html(byline=byline, head=head, end=end)).fields["author"] == "Đỗ Ngọc Anh"


def test_outlet_names_are_never_authors():
    head = '<meta name="author" content="BAO MAU ONLINE">' + ld({"@type": "Organization", "name": "Báo Mẫu"})
    fields = process(article_html(byline='<span class="author">Báo điện tử Mẫu</span>', head=head)).fields
    assert fields["author"] is None


ORDER = {
    "byline shown, then meta": ('<span class="author">Minh Anh</span>',
                                '<meta name="author" content="Lê Văn Bình">', ""),
    "meta, then JSON-LD": ("", '<meta name="author" content="Minh Anh">' + ld("Lê Văn Bình"), ""),
    "JSON-LD, then the closing credit": ("", ld({"@type": "Person", "name": "Minh Anh"}), "<p>Tin: LÊ VĂN BÌNH</p>"),
}


@pytest.mark.parametrize(("byline", "head", "end"), ORDER.values(), ids=ORDER.keys())
def test_the_first_source_naming_people_wins(byline, head, end):
    fields = process(article_html(byline=byline, head=head, end=end)).fields
    assert fields["author"] == "Minh Anh"
    assert fields["text"].split("\n") == PARAGRAPHS  # a closing credit leaves the text all the same
