"""Vietnamese text rules as data plus small pure functions.

Shared by the extract and normalize stages and testable without Scrapy. A new
site's boilerplate is one more :class:`Rule` in :data:`BOILERPLATE_RULES`; every
rule carries a real example that the tests check it removes. (Bylines have their
own module: :mod:`pipelines.vietnamese.bylines`.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "BOILERPLATE_RULES",
    "Rule",
    "VI_LETTERS",
    "clean_line",
    "detect_language",
    "drop_source_lines",
    "fold",
    "lead_title",
    "remove_boilerplate",
    "split_paragraphs",
]


@dataclass(frozen=True)
class Rule:
    """One piece of boilerplate.

    ``scope="line"`` drops a whole line that matches ``pattern`` from start to
    end (case-insensitive); ``scope="token"`` deletes the match wherever it
    stands inside a line. ``example`` is real text the rule was written for.
    """

    name: str
    pattern: str
    example: str
    scope: str = "line"

    def compiled(self) -> re.Pattern[str]:
        if self.scope == "token":
            return re.compile(self.pattern, re.IGNORECASE)
        return whole_lines((self.pattern,))


def whole_lines(patterns: Iterable[str]) -> re.Pattern[str]:
    """One pattern for a line that one of ``patterns`` matches from start to end, in any case."""
    return re.compile(r"^\s*(?:" + "|".join(f"(?:{pattern})" for pattern in patterns) + r")\s*$", re.IGNORECASE)


BOILERPLATE_RULES: tuple[Rule, ...] = (
    # qdnd.vn: text of the image alignment toolbar, left in front of captions.
    Rule("qdnd-image-toolbar", r"\bleftcenterrightdel\b", "leftcenterrightdel", "token"),
    # WordPress kk-star-ratings / wp-postratings widgets.
    Rule("wp-rate-this-post", r"Rate this post", "Rate this post"),
    Rule("wp-ratings-none", r"\(?No Ratings Yet\)?|\(?Noch keine Bewertungen\)?", "(No Ratings Yet)"),
    Rule("wp-ratings-votes", r"\[?Tổng:\s*\d+\s+Trung bình:\s*[\d.,]+\]?", "[Tổng: 0 Trung bình: 0]"),
    # WordPress comment forms.
    Rule("wp-leave-reply", r"Leave a (?:Reply|Comment)(?: Cancel reply)?", "Leave a Reply"),
    Rule(
        "wp-email-notice",
        r"Your email address will not be published\.?(?:\s*Required fields are marked \*)?",
        "Your email address will not be published. Required fields are marked *",
    ),
    Rule("wp-required-fields", r"Required fields are marked \*", "Required fields are marked *"),
    Rule("wp-comment-fields", r"(?:Comment|Name|Email|Website)\s*\*?", "Email *"),
    Rule(
        "wp-save-my-name",
        r"Save my name, email, and website in this browser for the next time I comment\.?",
        "Save my name, email, and website in this browser for the next time I comment.",
    ),
    Rule("wp-post-comment", r"Post Comment", "Post Comment"),
    Rule("vi-comment-form", r"Để lại (?:một )?(?:bình luận|phản hồi)", "Để lại một bình luận"),
    Rule(
        "vi-email-notice",
        r"Email của bạn sẽ không được hiển thị công khai\.?(?:\s*Các trường bắt buộc được đánh dấu \*)?",
        "Email của bạn sẽ không được hiển thị công khai. Các trường bắt buộc được đánh dấu *",
    ),
    # Headings of related-article blocks and links to other articles.
    Rule(
        "related-heading",
        r"(?:Tin liên quan|Bài liên quan|Tin cùng chuyên mục|Tin mới hơn|Tin cũ hơn|Tin khác|Đọc nhiều nhất)\s*:?",
        "Tin liên quan",
    ),
    Rule("see-also", r"(?:Xem thêm|Đọc thêm|>>\s*Xem)\s*:?(?:\s.{0,200})?", "Xem thêm: Giá vàng hôm nay tăng mạnh"),
    # qdnd.vn: the footer pointing to the section's other articles.
    Rule(
        "qdnd-see-section",
        r"\*?\s*Mời (?:bạn đọc|quý độc giả|quý vị) (?:vào|xem|đón đọc) .{0,80}?(?:các )?tin,? bài liên quan\.?",
        "* Mời bạn đọc vào chuyên mục Quốc phòng an ninh xem các tin, bài liên quan.",
    ),
    Rule(
        "qdnd-section-promo",
        r"\*?\s*Chuyên mục .{3,80}? trên Báo Quân đội nhân dân(?: Điện tử)? gửi tới bạn đọc .*",
        "* Chuyên mục Quân sự thế giới hôm nay trên Báo Quân đội nhân dân Điện tử gửi tới bạn đọc thông tin mới nhất.",
    ),
    # App download prompts (baochinhphu.vn and others).
    Rule("app-download", r"Tải ứng dụng\s*:?(?:\s.{0,60})?", "Tải ứng dụng:"),
    # Share prompts and cookie banners.
    Rule("share-prompt", r"(?:Share this|Share|Chia sẻ(?: bài viết)?(?: này)?)\s*:?", "Chia sẻ bài viết:"),
    Rule("share-buttons", r"(?:(?:Facebook|Twitter|Zalo|Email|Print|In bài)\s*){2,}", "Facebook Twitter Zalo"),
    Rule(
        "cookie-banner-en",
        r"(?:This|Our) (?:web)?site uses cookies\b.*",
        "This website uses cookies to improve your experience. Accept",
    ),
    Rule(
        "cookie-banner-vi",
        r"(?:Trang web|Website) này sử dụng cookie\b.*",
        "Website này sử dụng cookie để nâng cao trải nghiệm của bạn.",
    ),
)

_TOKEN_RULES = tuple(r.compiled() for r in BOILERPLATE_RULES if r.scope == "token")
# Every line rule in one pattern: one match per paragraph instead of one per rule.
_ANY_LINE_RULE = whole_lines(r.pattern for r in BOILERPLATE_RULES if r.scope == "line")
# A site's own lines (the sites file's ``cleanup``), compiled once per process: they come with every page.
site_lines = lru_cache(maxsize=64)(whole_lines)

# Zero-width characters, the BOM, soft hyphen and C0/C1 controls except newline and tab.
_INVISIBLE = re.compile("[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
# What the three would change: most lines have none of it, and one search costs less than three passes.
_UNCLEAN = re.compile(f"{_INVISIBLE.pattern}|{_CONTROL.pattern}|[^\\S ]|  ")


def clean_line(line: str) -> str:
    """NFC, no invisible or control characters, single spaces, stripped: one line.

    Every value read from a page (headline, byline, lead, section, tags, meta and
    JSON-LD strings, trafilatura's fields, each body line) goes through here before
    any rule reads it, so that line breaks, runs of spaces and the Unicode form of
    the page's markup never reach a field or change what a rule sees.
    """
    line = unicodedata.normalize("NFC", line)
    if not _UNCLEAN.search(line):
        return line.strip()
    line = _INVISIBLE.sub("", line)
    line = _CONTROL.sub(" ", line)
    return _SPACES.sub(" ", line).strip()


def split_paragraphs(text: str) -> list[str]:
    """Cleaned, non-empty lines of ``text`` (any line ending)."""
    lines = (clean_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return [line for line in lines if line]


def remove_boilerplate(paragraphs: list[str], cleanup: tuple[str, ...] = ()) -> list[str]:
    """Drop boilerplate lines and tokens (:data:`BOILERPLATE_RULES`) from cleaned paragraphs, and the
    lines a site's own ``cleanup`` patterns match from start to end (in any case)."""
    own = site_lines(cleanup) if cleanup else None
    kept = []
    for paragraph in paragraphs:
        for token in _TOKEN_RULES:
            removed = token.sub(" ", paragraph)
            if removed != paragraph:
                paragraph = clean_line(removed)
        if paragraph and not _ANY_LINE_RULE.match(paragraph) and not (own and own.match(paragraph)):
            kept.append(paragraph)
    return kept


# A last line naming where the text came from: "Theo VnExpress", "(Theo Reuters)",
# "Nguồn: Tuổi Trẻ", or a news agency alone ("TTXVN", "TTXVN/Vietnam+").
SOURCE_LINE = re.compile(
    r"^\(?\s*(?:(?:[Tt]heo|[Nn]guồn|NGUỒN|THEO)\s*:?\s+[A-ZÀ-ỸĐ][^.!?,]{1,60}"
    r"|(?:TTXVN|VNA|AFP|Reuters|AP|Xinhua|Sputnik|TASS|Bloomberg)(?:\s*/\s*[\w+.]+)?)\s*\)?\.?$"
)


def drop_source_lines(paragraphs: list[str]) -> list[str]:
    """Drop trailing lines that name another outlet or an agency as the source."""
    while paragraphs and len(paragraphs[-1]) < 80 and SOURCE_LINE.match(paragraphs[-1]):
        paragraphs = paragraphs[:-1]
    return paragraphs


# --- Titles, search folding, language -------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-ỸĐ\"“])")


def lead_title(paragraphs: list[str], limit: int = 120) -> str:
    """A title from the lead sentence, cut at a word boundary within ``limit``."""
    if not paragraphs:
        return ""
    sentence = _SENTENCE_END.split(paragraphs[0], maxsplit=1)[0].rstrip(" .")
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


# The combining diacritical marks blocks: what NFD splits Latin tones and vowel marks into
# (a regex over a few ranges is ten times faster than testing each character).
_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower-case text without diacritics, with đ/Đ as d: the search form.

    >>> fold("Đảng ủy Tổng cục Kỹ thuật")
    'dang uy tong cuc ky thuat'
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", _DIACRITICS.sub("", decomposed)).lower()


# Letters that occur in Vietnamese and in almost no other Latin-script language: ă â đ ê ô ơ ư and
# the precomposed tone-marked vowels of Latin Extended Additional (ạ ả ấ ... ỹ). detect_language
# here and encoding.vietnamese_score both count them.
VI_LETTERS = frozenset("ăâđêôơưĂÂĐÊÔƠƯ") | {chr(c) for c in range(0x1EA0, 0x1EFA)}
_VI_LETTER = re.compile("[" + "".join(sorted(VI_LETTERS)) + "]")


def detect_language(text: str) -> str | None:
    """``"vi"`` when enough words carry Vietnamese letters, else ``None``."""
    words = text.split(maxsplit=400)[:400]
    if len(words) < 5:
        return None
    marked = len(list(filter(None, map(_VI_LETTER.search, words))))  # map(): the loop in C
    return "vi" if marked / len(words) >= 0.15 else None
