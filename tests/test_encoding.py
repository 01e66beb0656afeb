"""Page bytes to Vietnamese text: UTF-8, windows-1258 and mislabelled pages, NFC."""

from __future__ import annotations

import unicodedata

import pytest

from pipelines.vietnamese.encoding import decode_html, declared_encoding
from pipelines.vietnamese.extract import extract_article

TEXT = "Thứ Bảy, 07/03/2026: Quân đội nhân dân Việt Nam, Đảng ủy Tổng cục Kỹ thuật, Trường Sơn, Phước Long"
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode as windows-1258 does it: base letters precomposed, tone marks as separate combining bytes."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out += base.encode("cp1258") + "".join(c for c in parts if c in TONE_MARKS).encode("cp1258")
    return bytes(out)


def test_cp1258_bytes_really_use_combining_marks() -> None:
    raw = to_cp1258(TEXT)
    assert b"\xec" in raw and b"\xd2" in raw  # combining acute and hook above
    assert raw.decode("cp1258") != TEXT  # decoded without composing, it is not NFC


@pytest.mark.parametrize(
    "declared",
    ["text/html; charset=windows-1258", "windows-1258", "iso-8859-1", "text/html; charset=windows-1252", None],
)
def test_windows_1258_declared_or_mislabelled(declared: str | None) -> None:
    assert decode_html(to_cp1258(TEXT), declared) == TEXT


def test_meta_charset_is_read() -> None:
    page = b'<html><head><meta charset="windows-1258"></head><body>' + to_cp1258(TEXT) + b"</body></html>"
    assert declared_encoding(page) == "cp1258"
    assert TEXT in decode_html(page)


def test_utf8_labelled_as_something_else() -> None:
    assert decode_html(TEXT.encode("utf-8"), "text/html; charset=windows-1258") == TEXT
    assert decode_html(TEXT.encode("utf-8"), "iso-8859-1") == TEXT


def test_utf8_with_bom_and_decomposed_text_comes_out_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", TEXT)
    assert decode_html(b"\xef\xbb\xbf" + decomposed.encode("utf-8")) == TEXT


def test_mostly_utf8_with_a_broken_byte_stays_utf8() -> None:
    text = decode_html(TEXT.encode("utf-8") + b"\xff" + TEXT.encode("utf-8"), "iso-8859-1")
    assert text.startswith(TEXT) and text.endswith(TEXT)


def test_cp1258_page_extracts_to_correct_vietnamese() -> None:
    paragraph = (
        "Sáng 7-3, Bộ Chỉ huy Quân sự tỉnh tổ chức lễ giao nhận quân cho các đơn vị, "
        "bảo đảm an toàn, đúng kế hoạch; các tân binh được gia đình và chính quyền địa phương tiễn đưa."
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1258">'
        "<title>Lễ giao nhận quân</title></head><body><h1>Lễ giao nhận quân năm 2026 ở các tỉnh</h1>"
        f"<div itemprop='articleBody'><p>{paragraph}</p><p>{paragraph}</p></div></body></html>"
    )
    fields = extract_article(decode_html(to_cp1258(html), None), "https://www.qdnd.vn/a-1052002")
    assert fields is not None
    assert fields["title"] == "Lễ giao nhận quân năm 2026 ở các tỉnh"
    assert paragraph in fields["text"]
    assert unicodedata.is_normalized("NFC", fields["text"])
