"""The Vietnamese rules: boilerplate, bylines, names, folding, titles."""

import random
import re
import unicodedata

import pytest

from pipelines.vietnamese.bylines import extract_byline, proper_case
from pipelines.vietnamese.text import (
    BOILERPLATE_RULES,
    clean_line,
    detect_language,
    fold,
    lead_title,
    remove_boilerplate,
    split_paragraphs,
)

CAPTION = "Thượng tướng Lê Huy Vịnh phát biểu chỉ đạo tại hội nghị."
BODY = "Nội bộ Tổng cục Kỹ thuật ổn định, đoàn kết, thống nhất, hoàn thành tốt nhiệm vụ."


@pytest.mark.parametrize("rule", BOILERPLATE_RULES, ids=lambda rule: rule.name)
def test_each_rule_removes_its_real_example(rule):
    assert rule.example, f"rule {rule.name} needs a real example"
    kept = remove_boilerplate([BODY, rule.example, CAPTION])
    assert kept == [BODY, CAPTION]


@pytest.mark.parametrize(
    "sentence",
    [
        CAPTION,
        "Chia sẻ kinh nghiệm huấn luyện, các đơn vị nêu nhiều cách làm hay.",
        "Người dùng để lại bình luận phản đối trên mạng xã hội về vụ việc.",
        "Rate this post là dòng chữ của một tiện ích đánh giá bài viết.",
    ],
)
def test_real_sentences_are_kept(sentence):
    assert remove_boilerplate([sentence]) == [sentence]


def test_toolbar_token_is_removed_in_front_of_a_caption():
    assert remove_boilerplate(["leftcenterrightdel " + CAPTION]) == [CAPTION]


def test_split_paragraphs_cleans_unicode_and_spacing():
    text = "A\u200b b\r\n\r\n  c\u00a0\u00a0 d \t\n\x07\n" + unicodedata.normalize("NFD", "Đảng ủy")
    assert split_paragraphs(text) == ["A b", "c d", "Đảng ủy"]
    assert unicodedata.is_normalized("NFC", split_paragraphs(text)[-1])


def test_clean_line_skips_its_passes_only_when_they_would_change_nothing():
    """The search that lets a clean line through at once gives what the three passes give, on lines
    drawn from every kind of character they treat (spaces of every sort, invisible, control)."""
    def three_passes(line: str) -> str:
        line = unicodedata.normalize("NFC", line)
        line = re.sub("[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\u00ad]", "", line)
        line = re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f]", " ", line)
        return re.sub(r"\s+", " ", line).strip()

    alphabet = list("aĐệ ,.1") + [" "] * 4 + list("\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u200a\u3000\u202f")
    alphabet += list("\u200b\u200e\u2028\u2029\u202a\u2060\ufeff\u00ad\x00\x07\x7f\x9f") + ["e\u0302\u0323"]
    rng = random.Random(7)
    lines = ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(5000)]
    assert [clean_line(line) for line in lines] == [three_passes(line) for line in lines]


@pytest.mark.parametrize(
    "line, author",
    [
        ("Tin, ảnh: SƠN BÌNH", "Sơn Bình"),
        ("Bài và ảnh: NGUYỄN VĂN AN", "Nguyễn Văn An"),
        ("Tin: Hồng Phúc - Minh Đức", "Hồng Phúc, Minh Đức"),
        ("Trung tướng TRẦN DUY HƯNG, Bí thư Đảng ủy, Chính ủy Tổng cục Kỹ thuật", "Trần Duy Hưng"),
        ("Đại tá, PGS.TS NGUYỄN VĂN HẢI", "Nguyễn Văn Hải"),
        ("MINH ANH", "Minh Anh"),
    ],
)
def test_trailing_byline_becomes_author(line, author):
    paragraphs, found = extract_byline([BODY, line])
    assert (paragraphs, found) == ([BODY], author)


@pytest.mark.parametrize(
    "line",
    [
        "Ảnh: TTXVN",
        CAPTION,
        "Theo kế hoạch, hội nghị kết thúc vào ngày mai.",
        "NATO",
        "Quân đội nhân dân Việt Nam luôn sẵn sàng chiến đấu, bảo vệ Tổ quốc, giữ vững hòa bình.",
    ],
)
def test_other_last_lines_are_not_bylines(line):
    assert extract_byline([BODY, line]) == ([BODY, line], None)


def test_proper_case_is_vietnamese_aware():
    assert proper_case("ĐỖ THỊ ẢNH") == "Đỗ Thị Ảnh"
    assert proper_case(unicodedata.normalize("NFD", "TRẦN DUY HƯNG")) == "Trần Duy Hưng"


def test_fold_strips_marks_and_d_stroke():
    assert fold("Đảng ủy Tổng cục Kỹ thuật") == "dang uy tong cuc ky thuat"
    assert fold(unicodedata.normalize("NFD", "đường Quốc lộ")) == "duong quoc lo"


def test_lead_title_cuts_at_a_word_boundary():
    first = "Năm 2022, Đảng ủy Tổng cục Kỹ thuật đã lãnh đạo triển khai toàn diện các mặt công tác. Nổi bật là ..."
    assert lead_title([first]) == "Năm 2022, Đảng ủy Tổng cục Kỹ thuật đã lãnh đạo triển khai toàn diện các mặt công tác"
    long = "từ " * 100
    title = lead_title([long], limit=50)
    assert title.endswith("…") and len(title) <= 51 and not title[:-1].endswith(" ")


def test_detect_language():
    assert detect_language(BODY + " " + CAPTION) == "vi"
    assert detect_language("The quick brown fox jumps over the lazy dog again") is None
