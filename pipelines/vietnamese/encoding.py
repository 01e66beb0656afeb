"""Turn a page's bytes into correct Vietnamese text, NFC.

Vietnamese pages come in UTF-8 (almost all today), in windows-1258 (older
sites: tone marks are separate combining characters, so the text must be
composed to NFC) and, now and then, with a wrong label: a page that says
``iso-8859-1`` or ``windows-1252`` but is UTF-8 or windows-1258.

:func:`decode_html` is what every source should use for page bytes: the
per-page function (:func:`pipelines.page.process_page`) decodes fetched, saved
and stored pages alike with it, in the workers; the engine decodes no page.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from pipelines.vietnamese.text import VI_LETTERS

__all__ = ["decode_html", "decode_page", "declared_encoding", "vietnamese_score"]

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

# A decoding is scored by the Vietnamese letters it gives (VI_LETTERS) against what a wrong
# single-byte guess leaves behind.
# What a wrong single-byte guess leaves behind: UTF-8 lead bytes read as Latin-1/1252
# (Ã, Â, Ä, Æ, á» ...) and C1 control characters.
_MOJIBAKE = re.compile("[\u0080-\u009f]|[ÃÄÆ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|á»|áº")

# Encodings a Vietnamese page may carry, tried when the bytes are not UTF-8.
_LEGACY = ("cp1258", "cp1252", "latin-1")


def _codec(name: str | None) -> str | None:
    """Python's name for an encoding label, or None when unknown."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def declared_encoding(body: bytes, declared: str | bytes | None = None) -> str | None:
    """The encoding a page claims: a ``Content-Type`` header value or label, else its ``<meta charset>``."""
    if isinstance(declared, bytes):
        declared = declared.decode("latin-1")
    if declared:
        match = _HEADER_CHARSET.search(declared)
        codec = _codec(match.group(1) if match else declared)
        if codec:
            return codec
    match = _META_CHARSET.search(body[:4096])
    return _codec(match.group(1).decode("ascii")) if match else None


def vietnamese_score(text: str) -> int:
    """Vietnamese letters minus mojibake marks: higher means a better decoding."""
    sample = unicodedata.normalize("NFC", text[:200_000])
    return sum(1 for ch in sample if ch in VI_LETTERS) - 3 * len(_MOJIBAKE.findall(sample))


def decode_html(body: bytes, declared: str | bytes | None = None) -> str:
    """The page's text, NFC (see :func:`decode_page`)."""
    return decode_page(body, declared)[0]


def decode_page(body: bytes, declared: str | bytes | None = None) -> tuple[str, str | None]:
    """The page's text, NFC, and the codec when the bytes alone say how to read them (``utf-8``,
    or the codec of their BOM): then the same bytes read again, without the header, give the same
    text. None when the codec was guessed.

    Args:
        body: the page's bytes as fetched or saved.
        declared: the HTTP ``Content-Type`` header (or just a charset label), if any.

    Valid UTF-8 wins whatever the label says (legacy Vietnamese text almost never
    is valid UTF-8 by chance). Otherwise the declared or ``<meta>`` encoding and
    the legacy candidates are tried, and the decoding that reads most like
    Vietnamese is kept, so a windows-1258 page labelled ``iso-8859-1`` is read right.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return unicodedata.normalize("NFC", body.decode(codec, errors="replace")), codec
    try:
        return unicodedata.normalize("NFC", body.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    label = declared_encoding(body, declared)
    candidates = [label] if label and label != "utf-8" else []
    candidates += [codec for codec in _LEGACY if codec not in candidates]
    # Mostly-UTF-8 pages with a few broken bytes: each U+FFFD costs like mojibake.
    candidates.append("utf-8")
    best_text, best_score = "", None
    for codec in candidates:
        try:
            text = body.decode(codec, errors="replace" if codec == "utf-8" else "strict")
        except UnicodeDecodeError:
            continue
        score = vietnamese_score(text) - 3 * text.count("\ufffd")
        if best_score is None or score > best_score:  # ties keep the earlier (declared) one
            best_text, best_score = text, score
    return unicodedata.normalize("NFC", best_text), None
