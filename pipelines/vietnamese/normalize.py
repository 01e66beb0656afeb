"""Normalize an extracted article: Unicode NFC, whitespace, boilerplate, other outlets' source lines, byline.

Pure functions over the article's fields; the per-page function (:mod:`pipelines.page`)
runs them on every page and text seed, after extraction.
"""

from __future__ import annotations

from typing import Any

from pipelines.vietnamese.bylines import extract_byline
from pipelines.vietnamese.text import (
    clean_line,
    detect_language,
    drop_source_lines,
    lead_title,
    remove_boilerplate,
    split_paragraphs,
)

TEXT_FIELDS = ("title", "author", "description", "category", "tags", "site")
# An author that is only a guess (trafilatura's), for when neither the page nor the text names one.
AUTHOR_GUESS = "author_guess"


def normalize_text(text: str, cleanup: tuple[str, ...] = (), url: str = "") -> tuple[str, str | None]:
    """Clean body text; return it (one paragraph a line) and the byline author, if any.

    ``cleanup``: the site's own boilerplate lines (the sites file's ``cleanup``); ``url``: the
    article's, whose site's name is no author.
    """
    paragraphs = drop_source_lines(remove_boilerplate(split_paragraphs(text), cleanup))
    paragraphs, author = extract_byline(paragraphs, url)
    return "\n".join(paragraphs), author


def normalize_article(
    fields: dict[str, Any], min_words: int = 1, cleanup: tuple[str, ...] = (), url: str = ""
) -> tuple[dict[str, Any] | None, bool]:
    """The article's fields cleaned (``cleanup`` and ``url`` as for :func:`normalize_text`), or None when
    fewer than ``min_words`` words are left; and whether the author came from a byline in the text.

    The author is the first source that names people: the page's own (byline shown, meta,
    JSON-LD: ``author``), the credit line or signature closing the text, then a guess
    (``author_guess``). The closing line leaves the text whichever wins.
    """
    text, byline_author = normalize_text(fields.get("text") or "", cleanup, url)
    word_count = len(text.split())
    if word_count < min_words:
        return None, False
    fields = {**fields, "text": text, "word_count": word_count}
    guess = fields.pop(AUTHOR_GUESS, None)
    for name in TEXT_FIELDS:
        if isinstance(fields.get(name), str):
            fields[name] = clean_line(fields[name]) or None
    byline_author = None if fields.get("author") else byline_author
    if not fields.get("author"):
        fields["author"] = byline_author or guess
    if not fields.get("title"):
        fields["title"] = lead_title(text.split("\n"))
    if not fields.get("language"):
        fields["language"] = detect_language(text)
    return fields, bool(byline_author)
