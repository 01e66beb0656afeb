"""Vietnamese search for Datasette: SQL functions for ranking and highlighted snippets.

The index (``articles_fts``) holds folded text (no tone marks, ``d`` for ``đ``) and every
query is folded the same way (``vn_match``, ``escape_fts``), so it matches with or without
diacritics (see ``pipelines.db.schema``). What FTS5 cannot tell is which matches have
the very accents typed, so two SQL functions fill the gap:

- ``vn_exact_score(document, query)``: how well the document matches the query
  *as typed* (accents and all); ranking by it first puts exact-accent matches on top.
- ``vn_snippet(text, query)``: a short passage around the best cluster of matching
  words (matched diacritic-insensitively), each match between ``\\x02`` and ``\\x03``.
  ``render_cell`` escapes the passage and turns the markers into ``<mark>``, so an
  article's own HTML is never interpreted.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from bisect import bisect_left
from functools import lru_cache

from datasette import hookimpl
from markupsafe import Markup, escape

from pipelines.vietnamese.text import fold

MARK_START, MARK_END = "\x02", "\x03"
SNIPPET_WORDS = 32
_WORD = re.compile(r"\w+")


def _nfc_lower(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


@lru_cache(maxsize=4096)
def _folded(word: str) -> str:
    return fold(word)


@lru_cache(maxsize=256)
def _query_words(query: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_nfc_lower(query)))


@lru_cache(maxsize=256)
def _whole(words: tuple[str, ...]) -> re.Pattern[str]:
    """The words in a row as whole words (separated by anything that is not a letter or digit)."""
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(word) for word in words) + r"(?!\w)")


def exact_score(document: str | None, query: str | None) -> int:
    """Query words found with exactly the typed accents; the whole phrase in a row counts once more."""
    if not document or not query:
        return 0
    wanted = _query_words(query)
    text = document.lower() if unicodedata.is_normalized("NFC", document) else _nfc_lower(document)
    # A substring search first (the common miss), a whole-word search only for words it finds.
    distinct = {word for word in wanted if word in text and _whole((word,)).search(text)}
    score = len(distinct)
    if len(wanted) > 1 and score == len(set(wanted)) and _whole(wanted).search(text):
        score += 1
    return score


def snippet(text: str | None, query: str | None, size: int = SNIPPET_WORDS) -> str:
    """The passage of ``size`` words holding the most distinct query words, matches marked."""
    if not text:
        return ""
    wanted = {_folded(word) for word in _WORD.findall(unicodedata.normalize("NFC", query or ""))}
    words = list(_WORD.finditer(text))
    hits = [(i, folded) for i, word in enumerate(words) if (folded := _folded(word.group())) in wanted]
    positions = [i for i, _ in hits]
    start = 0
    best = 0
    for hit in positions[:64]:  # a window starting a little before each of the first hits
        first = max(hit - 4, 0)
        inside = hits[bisect_left(positions, first) : bisect_left(positions, first + size)]
        covered = len({folded for _, folded in inside})
        if covered > best:
            start, best = first, covered
    window = words[start : start + size]
    if not window:
        return ""
    begin, end = window[0].start(), window[-1].end()
    pieces, position = [], begin
    for i in positions[bisect_left(positions, start) : bisect_left(positions, start + size)]:
        match = words[i]
        pieces += [text[position : match.start()], MARK_START, match.group(), MARK_END]
        position = match.end()
    pieces.append(text[position:end])
    passage = " ".join("".join(pieces).split())  # paragraphs (lines) run together
    return ("…" if begin > 0 else "") + passage + ("…" if end < len(text.rstrip()) else "")


def match_expression(query: str | None) -> str:
    """The FTS5 query for what the user typed: every word folded (the index holds folded text) and
    quoted as a term (Datasette's escaped mode). SQL ``vn_match``, and ``escape_fts`` for Datasette's
    own table search.

    An empty query becomes ``""``, which matches nothing instead of raising a syntax error.
    """
    words = _WORD.findall(unicodedata.normalize("NFC", query or ""))
    return " ".join(f'"{_folded(word)}"' for word in words) or '""'


def highlight(value: str) -> Markup:
    """A marked snippet as HTML: everything escaped, then the markers become ``<mark>``."""
    escaped = str(escape(value))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    # Readers wait for a crawl's commit instead of failing with "database is locked".
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.create_function("vn_fold", 1, lambda text: fold(text) if text else text, deterministic=True)
    conn.create_function("vn_exact_score", 2, exact_score, deterministic=True)
    conn.create_function("vn_snippet", 2, snippet, deterministic=True)
    conn.create_function("vn_match", 1, match_expression, deterministic=True)


@hookimpl(specname="prepare_connection", trylast=True)
def fold_table_search(conn: sqlite3.Connection) -> None:
    # Datasette's table search (?_search=, searchmode escaped) quotes the words with its own
    # escape_fts; this one folds them too, so that the table search matches the folded index.
    # trylast: it replaces the function after Datasette has registered its own.
    conn.create_function("escape_fts", 1, match_expression, deterministic=True)


@hookimpl
def render_cell(value, column):
    if column == "snippet" and isinstance(value, str):
        return highlight(value)
    return None


@hookimpl
def prepare_jinja2_environment(env) -> None:
    env.filters["highlight"] = highlight
