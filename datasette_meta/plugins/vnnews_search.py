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

The articles table's own search (``?_search=``, the search box) is this plugin's filter
(``filters_from_request``), not Datasette's: it keeps the newest matches only
(:data:`NEWEST_MATCHES`, by id, the order articles are stored in), which FTS5 finds
without reading the rest, so the page's sort, count and facets cost the same on any archive.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from itertools import islice

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite
from markupsafe import Markup, escape

from pipelines.vietnamese.text import fold

MARK_START, MARK_END = "\x02", "\x03"
# The tables searched by ``?_search=`` and their FTS5 index (rowid = the table's id). Not
# ``fts_table`` in metadata.yml: that would make Datasette add its own, unbounded, search.
SEARCHED = {("news", "articles"): "articles_fts"}
# A table search keeps the newest matches, as many as the ranked search ranks (metadata.yml).
NEWEST_MATCHES = 2000
# Sorts that the newest matches serve as well as all of them: newest first.
NEWEST_FIRST = {None, "published", "id", "first_seen"}
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
    """The passage of ``size`` words holding the most distinct query words, matches marked.

    Of the windows that start four words before each of the first 64 matches, the first with the
    most distinct query words. The text is read only as far as that takes: a window with every
    query word in it cannot be beaten, and it usually comes early (50 snippets a search page).
    """
    if not text:
        return ""
    wanted = {_folded(word) for word in _WORD.findall(unicodedata.normalize("NFC", query or ""))}
    # Folding keeps an NFC word's length: a word of another length cannot be a query word.
    lengths = {len(word) for word in wanted} if unicodedata.is_normalized("NFC", text) else None
    words: list[re.Match[str]] = []
    positions: list[int] = []  # the matches: their places in words, and their folded forms
    folds: list[str] = []
    tokens = _WORD.finditer(text)

    def read_to(count: int) -> bool:
        """Read words until ``count`` are known; False when the text has no more."""
        before = len(words)
        for match in islice(tokens, max(count - before, 0)):
            word = match.group()
            if (lengths is None or len(word) in lengths) and (folded := _folded(word)) in wanted:
                positions.append(len(words))
                folds.append(folded)
            words.append(match)
        return len(words) > before

    start = best = 0
    for hit_number in range(64):  # a window starting a little before each of the first hits
        while hit_number >= len(positions) and read_to(len(words) + 4 * size):
            pass
        if hit_number >= len(positions):
            break
        first = max(positions[hit_number] - 4, 0)
        read_to(first + size)
        covered = len(set(folds[bisect_left(positions, first) : bisect_left(positions, first + size)]))
        if covered > best:
            start, best = first, covered
            if best == len(wanted):
                break
    read_to(start + size)
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
    # The table search (?_search=, table_search below, Datasette's escaped mode) quotes the words
    # with escape_fts; this one folds them too, so that the search matches the folded index.
    # trylast: it replaces the function after Datasette has registered its own.
    conn.create_function("escape_fts", 1, match_expression, deterministic=True)


def matches_sql(fts_table: str, match: str, limit: int | None = None) -> str:
    """The rowids of the matches, the newest ``limit`` (FTS5 stops there) or every one."""
    fts = escape_sqlite(fts_table)
    newest = f" order by rowid desc limit {limit}" if limit else ""
    return f"select rowid from {fts} where {fts} match {match}{newest}"


def table_search(args, fts_table: str, columns: list[str]) -> FilterArguments | None:
    """The WHERE clause of a table search (``args``: the query string), or None without one.

    ``?_search=words`` matches every word folded (``escape_fts``), like Datasette's escaped
    mode, but keeps the :data:`NEWEST_MATCHES` newest matches: FTS5 reads its doclists from
    the newest row down (``order by rowid desc``) and stops there, where Datasette's clause
    makes SQLite collect every match and read each matching row to count, facet and sort
    them (half a second at 100,000 articles for a common word). Asked for a sort other than
    newest first, or with ``_allmatches=1``, every match is kept, as Datasette would.
    ``?_search_<column>=`` searches one column of the index, every match.
    """
    search = (args.get("_search") or "").strip()
    match = ":search" if args.get("_searchmode") == "raw" else "escape_fts(:search)"
    sort = args.get("_sort_desc") if not args.get("_sort") else "(ascending)"
    if search:
        newest = NEWEST_MATCHES if sort in NEWEST_FIRST and not args.get("_allmatches") else None
        clause = f"id in ({matches_sql(fts_table, match, newest)})"
        context = {"search": search, "supports_search": True, "search_newest": newest, "search_match": match}
        return FilterArguments([clause], {"search": search}, [f'search matches "{search}"'], context)
    clauses: list[str] = []
    params: dict[str, str] = {}
    described: list[str] = []
    for i, key in enumerate(key for key in args if key.startswith("_search_") and args.get(key)):
        column = key.removeprefix("_search_")
        if column not in columns:
            continue  # Datasette answers 400 here; an unknown column simply does not filter
        fts, column_match = escape_sqlite(fts_table), match.replace(":search", f":search_{i}")
        clauses.append(f"id in (select rowid from {fts} where {escape_sqlite(column)} match {column_match})")
        params[f"search_{i}"] = args[key]
        described.append(f'search column "{column}" matches "{args[key]}"')
    return FilterArguments(clauses, params, described, {"supports_search": True}) if clauses else None


@hookimpl(trylast=True)  # after Datasette's own filters: its search context (no FTS table) is replaced
def filters_from_request(request, database, table, datasette):
    fts_table = SEARCHED.get((database, table))
    if fts_table is None:
        return None

    async def inner() -> FilterArguments:
        db = datasette.get_database(database)
        found = table_search(request.args, fts_table, await db.table_columns(fts_table))
        if found is None:
            return FilterArguments([], extra_context={"supports_search": True})
        if found.extra_context.get("search_newest"):
            # Say so when the bound leaves matches out: FTS5 counts to one past it, no further.
            probe = matches_sql(fts_table, found.extra_context["search_match"], NEWEST_MATCHES + 1)
            if (await db.execute(f"select count(*) from ({probe})", found.params)).single_value() > NEWEST_MATCHES:
                found.human_descriptions[0] += f" (the newest {NEWEST_MATCHES:,} matches)"
            else:
                found.extra_context["search_newest"] = None
        return found

    return inner


@hookimpl
def render_cell(value, column):
    if column == "snippet" and isinstance(value, str):
        return highlight(value)
    return None


@hookimpl
def prepare_jinja2_environment(env) -> None:
    env.filters["highlight"] = highlight
