"""Who wrote an article: one set of rules for every place a page names its authors.

A byline block (``<span class="author">``), a meta ``author``, a JSON-LD ``author``
(a string, an object, a list), trafilatura's author and the credit line that closes
the body all go through :func:`person_names`. A credit line (``Tin, ảnh: SƠN BÌNH``,
``Bài và ảnh: ĐỖ NGỌC ANH``, ``Nhóm PV: A, B``, ``Ảnh, clip: ...``) is read by its
roles first, so that the roles never end up in a name, and a credit for a photo or a
video alone names no author. Then each name is checked: outlets, desks, addresses
and ranks are dropped, and a name in capitals is written in Vietnamese proper case.
:func:`extract_byline` takes a credit line or a signature out of the last paragraphs
of the body.

The values must be clean lines (:func:`pipelines.vietnamese.text.clean_line`: NFC,
single spaces), as every reader of the page gives them.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from pipelines.vietnamese.text import fold

__all__ = ["NAME_SPLIT", "RANKS", "credit", "extract_byline", "is_site_name", "person_names", "proper_case"]

# What a credit line says a person did. Writers' roles name the article's authors; a credit
# for one picture, clip or chart alone (``Ảnh: X`` under a photo) does not.
WRITER_ROLES = ("Tin", "Bài", "Bài viết", "PV", "Nhóm PV", "Phóng viên", "Nhóm phóng viên", "Thực hiện",
                "Nhóm thực hiện", "Tác giả", "Nội dung", "Ghi chép", "Ghi", "Biên soạn")
MEDIA_ROLES = ("Ảnh", "Clip", "Video", "Đồ họa", "Đồ hoạ", "Infographic", "Thiết kế", "Nguồn")
_ROLE = "|".join(re.escape(role) for role in sorted(WRITER_ROLES + MEDIA_ROLES, key=len, reverse=True))
# Roles joined ("Bài và ảnh", "Tin, ảnh", "Bài - ảnh", "Ảnh/Clip"), a colon (optional in an author
# value, where trafilatura drops it), then the names.
_ROLE_JOIN = r"\s*(?:,|;|&|\+|/|[-–]|\bvà\b)\s*"
_ROLES = rf"(?:{_ROLE})(?:{_ROLE_JOIN}(?:{_ROLE}))*"
CREDIT = re.compile(rf"^(?P<roles>{_ROLES})(?P<colon>\s*[:：]\s*|\s+)(?P<names>\S.*?)\.?$", re.IGNORECASE)
_ROLES_ALONE = re.compile(rf"^{_ROLES}$", re.IGNORECASE)  # "Nhóm PV": a desk, not a name
_ROLE_SPLIT = re.compile(_ROLE_JOIN, re.IGNORECASE)
_MEDIA = {fold(role) for role in MEDIA_ROLES}

# Ranks and honorifics that come before a name in a signature; not part of the name.
RANKS = (
    "Đại tướng", "Thượng tướng", "Trung tướng", "Thiếu tướng", "Chuẩn đô đốc", "Phó đô đốc", "Đô đốc",
    "Đại tá", "Thượng tá", "Trung tá", "Thiếu tá", "Đại úy", "Thượng úy", "Trung úy", "Thiếu úy",
    "Đồng chí", "GS.TS", "PGS.TS", "GS", "PGS", "TS", "ThS", "CN", "Nhà báo", "Nhà văn", "Luật sư",
    "Bác sĩ", "BS", "Ông", "Bà",
)
_RANK = "|".join(re.escape(rank) for rank in sorted(RANKS, key=len, reverse=True))
_RANK_PREFIX = re.compile(rf"^(?:(?:{_RANK})\.?,?\s+)+", re.IGNORECASE)
_UPPER_WORD = r"[A-ZÀ-ỸĐ][A-ZÀ-ỸĐ'’.-]*"
# "Trung tướng TRẦN DUY HƯNG, Bí thư Đảng ủy, Chính ủy Tổng cục Kỹ thuật": an
# upper-case name, optionally after ranks, optionally followed by posts.
SIGNATURE_LINE = re.compile(
    rf"^(?:(?:{_RANK})\.?,?\s+)*(?P<name>{_UPPER_WORD}(?:\s+{_UPPER_WORD}){{1,5}})(?:\s*[,(-]\s*(?P<posts>.+))?$"
)
# Between the names of several people: "A, B", "A; B", "A và B", "A & B", "A/B", "A - B", "A – B",
# "A — B" and "TIẾN DŨNG-VĂN CHUNG" (a hyphen between capitals).
NAME_SPLIT = re.compile(r"\s*(?:,|;|\s[-–—]\s|(?<=[A-ZÀ-ỸĐ])[-–](?=[A-ZÀ-ỸĐ])|\bvà\b|&|/)\s*")
# "(tổng hợp)", "(theo Reuters)", "(TTXVN)", "(Báo Lao Động)": beside a name, never part of it.
_ASIDE = re.compile(r"\([^()]*\)")
_SOURCE_PREFIX = re.compile(r"^(?:Theo|Tác giả)\s*:?\s+", re.IGNORECASE)

# Authors that are the site or a desk, not people (folded, no spaces).
NOT_PEOPLE = ("online", "news", "bao", "tapchi", "dientu", "toasoan", "bientap", "vccorp", "admin", "pv", "btv",
              "ctv", "dcsvn", "vietnam+", "vietnamplus", "congannhandan", "nhandan", "quandoinhandan", "ttxvn")
_DOMAIN_WORD = re.compile(r"(?:\b|\.)(?:vn|com|net|org)\s*$", re.IGNORECASE)
# "Báo Dân trí", "Tạp chí Tài chính", "Báo điện tử Chính phủ": an outlet's kind, then its name
# (capitalised: "Báo động ..." is a word, not an outlet).
_OUTLET_WORDS = re.compile(
    r"^(?:Báo|Tạp chí|Đài|Cổng thông tin|Trang tin|Thông tấn xã)(?:\s+điện tử)?\s+(?P<name>\w)", re.IGNORECASE
)


def proper_case(name: str) -> str:
    """``SƠN BÌNH`` -> ``Sơn Bình`` (each syllable capitalised, Vietnamese-aware)."""
    name = unicodedata.normalize("NFC", name)
    return " ".join(word[:1].upper() + word[1:].lower() for word in name.split())


def site_stem(url: str) -> str:
    """``https://www.nld.com.vn/x`` -> ``nld``: the name a site calls itself in bylines."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return host.split(".")[0] if host else ""


def is_site_name(value: str, url: str = "") -> bool:
    """Whether ``value`` names the outlet or a desk rather than a person."""
    folded = fold(value).replace(" ", "").replace(".", "")
    stem = site_stem(url)
    if len(stem) >= 3 and stem in folded:
        return True
    outlet = _OUTLET_WORDS.match(value)
    if outlet and outlet["name"].isupper():
        return True
    return bool(_DOMAIN_WORD.search(value)) or any(word in folded for word in NOT_PEOPLE if len(word) > 3) or (
        folded in NOT_PEOPLE
    )


def credit(line: str, colon: bool = True) -> tuple[bool, str] | None:
    """A credit line read: whether its roles name authors (not a photo or clip alone), and the names.

    ``"Bài và ảnh: ĐỖ NGỌC ANH"`` -> ``(True, "ĐỖ NGỌC ANH")``; ``"Ảnh: Minh Anh"`` -> ``(False, "Minh Anh")``;
    None when ``line`` is not a credit line. ``colon=False`` also reads ``"Tin, Ảnh SƠN BÌNH"``,
    as trafilatura gives an author; body text needs the colon.
    """
    match = CREDIT.match(line)
    if not match or (colon and ":" not in match["colon"] and "：" not in match["colon"]):
        return None
    roles = {fold(role) for role in _ROLE_SPLIT.split(match["roles"])}
    # "Ảnh, clip: X" credits all the reporting on the spot; one picture's or clip's credit does not.
    return len(roles) > 1 or not roles <= _MEDIA, match["names"]


def _looks_like_person(name: str, credited: bool) -> bool:
    words = name.split()
    return (
        1 < len(words) <= 6
        and all(len(word) <= 8 and (credited or word[:1].isupper()) for word in words)
        and not any(ch.isdigit() or ch in "@:()[]|" for ch in name)
    )


def person_names(value: str | None, url: str = "") -> list[str]:
    """The people named in an author value (byline, meta, JSON-LD, credit line); outlets, desks,
    addresses, ranks and photo credits dropped.

    ``"NHẬT XUÂN;NGHI VŨ"`` -> ``["Nhật Xuân", "Nghi Vũ"]``; ``"VŨ DUNG - 7 Lý Nam Đế, Hà Nội"``
    -> ``["Vũ Dung"]``; ``"Tin, ảnh: SƠN BÌNH"`` -> ``["Sơn Bình"]``; ``"NLD COM VN"`` -> ``[]``;
    ``"Ảnh: Minh Anh"`` -> ``[]``.
    """
    if not value or value.startswith(("http://", "https://")):
        return []
    credited = credit(value, colon=False)
    if credited:
        writes, names = credited
        return _people(names, url, credited=True) if writes else []
    return _people(value, url, credited=False)


def _people(value: str, url: str, credited: bool) -> list[str]:
    """The names in ``value`` that are people's; ``credited``: named by a credit line, whatever their case."""
    people = []
    for part in NAME_SPLIT.split(_ASIDE.sub(" ", value)):
        if any(ch.isdigit() for ch in part):
            break  # an office address follows the name (qdnd JSON-LD): the rest is not people
        part = _RANK_PREFIX.sub("", _SOURCE_PREFIX.sub("", part.strip(" .:-"))).strip(" .")
        if not part or is_site_name(part, url) or _ROLES_ALONE.match(part) or not _looks_like_person(part, credited):
            continue
        name = part if part[:1].isupper() and any(ch.islower() for ch in part) else proper_case(part)
        if name not in people:
            people.append(name)
    return people


# Credit lines close the body: the last few paragraphs (a photo credit or a note may follow).
TAIL_PARAGRAPHS = 3
# Longer paragraphs are the article's text: no credit line comes before them.
CREDIT_MAX_CHARS = 160


def extract_byline(paragraphs: list[str], url: str = "") -> tuple[list[str], str | None]:
    """Take the credit line (among the last paragraphs) or the signature (the last one) out of the body.

    Returns the remaining paragraphs and the author (``"A, B"`` for several
    people), or the paragraphs unchanged and ``None``.
    """
    for index in range(len(paragraphs) - 1, max(len(paragraphs) - 1 - TAIL_PARAGRAPHS, -1), -1):
        line = paragraphs[index]
        if len(line) > CREDIT_MAX_CHARS:
            break
        credited = credit(line)
        if credited:
            writes, names = credited
            people = _people(names, url, credited=True) if writes else []
            if people:
                return paragraphs[:index] + paragraphs[index + 1:], ", ".join(people)
            continue
        signature = SIGNATURE_LINE.match(line) if index == len(paragraphs) - 1 else None
        # A bare upper-case line is a name when short; with posts after a comma it must not end like a sentence.
        if signature and not (signature["posts"] or "").rstrip().endswith((".", "!", "?")):
            people = _people(signature["name"], url, credited=False)
            if people:
                return paragraphs[:-1], people[0]
    return paragraphs, None
