"""Datasette pages for the news archive: the front page, the database name, the articles list, the
article page, and the Atom feeds.

- The one database file served is always called ``news`` (whatever the file's name), so that
  ``metadata.yml`` (``databases: news:``) applies to ``make browse NEWS_DB=/tmp/other.db`` too.
- ``/news/articles`` shows short columns unless the user picks columns (``_col``/``_nocol``)
  or asks for all of them (``_allcols=1``).
- The article page (``row-news-articles.html``) gets the article, its URLs and its other copies.
- The table page, when searching, gets the best matches (canned query ``search``) and snippets.
- The front page (``index.html``) shows the first rows of the canned queries ``latest_articles``,
  ``site_counts``, ``recent_stories`` and ``crawl_health``: the same SQL as their own pages.
- Feeds follow datasette-atom's conventions: a canned query whose rows have ``atom_*`` columns
  has a ``.atom`` form. ``:_url_articles`` (a magic parameter) is the absolute URL of the articles
  table, for the entries' links; ``/news/articles.atom`` redirects to the feed of the same search.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape as xml_escape

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response
from markupsafe import Markup

from pipelines.vietnamese.dates import VIETNAM

DATABASE = "news"
ARTICLE_LIST_COLUMNS = ("title", "site", "author", "published", "word_count")
COLUMN_CHOICE_ARGS = {"_col", "_nocol", "_allcols"}
BEST_MATCHES = 5
# The front page's panels: canned query -> rows shown (each panel links to its query's page).
FRONT_PAGE = {"latest_articles": 12, "site_counts": 30, "recent_stories": 8, "crawl_health": 30}
# A feed entry's summary: the lead, at most this many characters.
LEAD_CHARS = 600


@hookimpl
def startup(datasette):
    """Serve a single database file as ``news`` when no database has that name already."""
    if DATABASE in datasette.databases:
        return
    files = [name for name, db in datasette.databases.items() if not db.is_memory]
    if len(files) == 1:
        db = datasette.databases[files[0]]
        datasette.remove_database(files[0])
        datasette.add_database(db, name=DATABASE)


def with_short_columns(scope: dict[str, Any]) -> dict[str, Any]:
    """The request for the articles page, with the short columns unless columns were chosen."""
    query = scope.get("query_string", b"").decode("latin-1")
    if {name for name, _ in parse_qsl(query, keep_blank_values=True)} & COLUMN_CHOICE_ARGS:
        return scope
    columns = urlencode([("_col", column) for column in ARTICLE_LIST_COLUMNS])
    return {**scope, "query_string": (f"{query}&{columns}" if query else columns).encode("latin-1")}


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def short_article_columns(scope, receive, send):
            # Only the HTML page: /news/articles.json and .csv keep every column.
            if scope.get("type") == "http" and scope.get("path") == f"/{DATABASE}/articles":
                scope = with_short_columns(scope)
            if scope.get("type") == "http" and scope.get("path") == f"/{DATABASE}/articles.atom":
                await send_redirect(send, feed_for_table(scope))
                return
            await app(scope, receive, send)

        return short_article_columns

    return wrap


def feed_for_table(scope: dict[str, Any]) -> str:
    """The feed of the articles table's search (``_search``), else the latest articles' feed."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    search = query.get("_search", "").strip()
    if search:
        return f"/{DATABASE}/search_feed.atom?{urlencode({'q': search})}"
    return f"/{DATABASE}/latest_articles.atom"


async def send_redirect(send, location: str) -> None:
    await send({"type": "http.response.start", "status": 302, "headers": [(b"location", location.encode("latin-1"))]})
    await send({"type": "http.response.body", "body": b""})


def moment_of(value: str | None) -> datetime | None:
    """An ISO 8601 date or time as an aware datetime; a date or time without zone is Vietnam's."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=VIETNAM)


def vietnam_time(value: str | None) -> str | None:
    """An ISO 8601 time as Vietnam time (UTC+7), e.g. ``10/01/2023 08:30``; a time without zone is local."""
    moment = moment_of(value)
    if moment is None:
        return value or None
    if len(value) <= 10:  # a date alone
        return moment.strftime("%d/%m/%Y")
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def iso_time(*values: str | None) -> str | None:
    """SQL ``vn_iso_time(published, first_seen)``: the first value that is an ISO 8601 date or time, with
    its zone (Vietnam's when it has none), as feeds need."""
    moments = (moment_of(value) for value in values)
    return next((moment.isoformat() for moment in moments if moment is not None), None)


def lead(description: str | None, text: str | None) -> str:
    """SQL ``vn_lead``: the article's lead (sapo), else its first paragraph, as plain text, cut at a word."""
    first = (description or "").strip() or next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    if len(first) <= LEAD_CHARS:
        return first
    return first[:LEAD_CHARS].rsplit(" ", 1)[0] + " …"


def feed_author(author: str | None, site: str | None) -> str | None:
    """SQL ``vn_feed_author``: who wrote it and where, ``Sơn Bình (qdnd.vn)``, for a feed entry's author."""
    if author and site:
        return f"{author} ({site})"
    return author or site


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    conn.create_function("vn_iso_time", -1, iso_time, deterministic=True)
    conn.create_function("vn_lead", 2, lead, deterministic=True)
    conn.create_function("vn_feed_author", 2, feed_author, deterministic=True)


def table_url(datasette, request, table: str) -> str:
    """The absolute URL of a table of ``news`` as the request reached Datasette."""
    return datasette.absolute_url(request, datasette.urls.table(DATABASE, table))


def feed_title(title: str, request: Any) -> str:
    """A feed's title, with the words of its search: a feed reader lists a person's searches by it."""
    words = " ".join((request.args.get("q") or "").split())
    return f"{title}: {words}" if words else title


@hookimpl(trylast=True)
def register_output_renderer(datasette):
    """datasette-atom's ``.atom``, but a query without rows is an empty feed, not an error.

    datasette-atom 0.9 dates the feed by its newest entry, so a search nothing matches yet (a new
    subscription) fails. Registered after it (``trylast``), this renderer takes the extension and
    hands every feed with entries to datasette-atom unchanged.
    """
    try:
        import datasette_atom
        from feedgen.feed import FeedGenerator
    except ImportError:  # the plugin is not installed: no feeds
        return None

    def render(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
        queries = (datasette.metadata(database=database) or {}).get("queries") or {}
        configured = (queries.get(query_name) or {}).get("title")
        title = feed_title(configured or query_name or table or "Datasette", request)
        if rows:
            response = datasette_atom.render_atom(
                datasette, request, sql, columns, rows, database, table, query_name, view_name, data
            )
            if configured and title != configured:  # datasette-atom titles a canned query's feed by its title
                old, new = (f"<title>{xml_escape(text)}</title>".encode() for text in (configured, title))
                body = response.body
                response.body = (body if isinstance(body, bytes) else body.encode()).replace(old, new, 1)
            return response
        feed = FeedGenerator()
        feed.id(request.url)
        feed.link(href=request.url, rel="self")
        feed.title(title)
        feed.updated(datetime.now(VIETNAM))
        return Response(feed.atom_str(pretty=True), content_type="application/xml; charset=utf-8")

    return {"extension": "atom", "render": render, "can_render": datasette_atom.can_render_atom}


@hookimpl
def register_magic_parameters(datasette):
    # :_url_articles in a canned query: the absolute URL of the articles table (feed entries link to rows).
    return [("url", lambda table, request: table_url(datasette, request, table))]


@hookimpl
def prepare_jinja2_environment(env) -> None:
    env.filters["vietnam_time"] = vietnam_time


async def story_copies(db, article: dict[str, Any]) -> list[dict[str, Any]]:
    """The other stored copies of the article's story: same ``story_id``, or a ``near_duplicates`` pair.

    Both come from the near-duplicate stage; a database without them has no copies to show.
    """
    copies: dict[int, dict[str, Any]] = {}
    article_id = article["id"]
    if article.get("story_id") is not None:
        rows = await db.execute(
            "select id, title, site, published, url, id = story_id as first_copy from articles"
            " where story_id = ? and id != ? order by coalesce(published, first_seen)",
            [article["story_id"], article_id],
        )
        copies.update({row["id"]: dict(row) for row in rows})
    if await db.table_exists("near_duplicates"):
        rows = await db.execute(
            "select a.id, a.title, a.site, a.published, a.url, n.jaccard, n.containment, n.method"
            " from near_duplicates n join articles a"
            " on a.id = case when n.article_id = :id then n.similar_id else n.article_id end"
            " where (n.article_id = :id or n.similar_id = :id) and a.id != :id",
            {"id": article_id},
        )
        for row in rows:
            copies.setdefault(row["id"], {}).update(dict(row))
    for copy in copies.values():
        copy["published_vn"] = vietnam_time(copy.get("published"))
    return sorted(copies.values(), key=lambda copy: (-(copy.get("jaccard") or 0), copy.get("published") or ""))


async def article_context(datasette, database: str, request) -> dict[str, Any]:
    db = datasette.get_database(database)
    rows = (await db.execute("select * from articles where id = ?", [tilde_decode(request.url_vars["pks"])])).rows
    if not rows:
        return {}
    article = dict(rows[0])
    urls = await db.execute(
        "select url, via, first_seen from article_urls where article_id = ? order by url = ? desc, first_seen",
        [article["id"], article["url"]],
    )
    return {
        "article": article,
        "paragraphs": [line.strip() for line in (article["text"] or "").splitlines() if line.strip()],
        "published_vn": vietnam_time(article["published"]),
        "first_seen_vn": vietnam_time(article["first_seen"]),
        "aliases": [dict(row) for row in urls if row["url"] != article["url"]],
        "copies": await story_copies(db, article),
    }


async def search_context(datasette, database: str, request) -> dict[str, Any]:
    search = request.args.get("_search", "").strip()

    async def snippets_for(rows) -> dict[int, str]:
        ids = [row["id"] for row in rows]
        if not search or not ids:
            return {}
        try:
            results = await db.execute(
                f"select id, vn_snippet(text, ?) from articles where id in ({', '.join('?' * len(ids))})",
                [search, *ids],
            )
        except QueryInterrupted:  # the rows show without snippets
            return {}
        return {row[0]: row[1] for row in results}

    db = datasette.get_database(database)
    best: list[dict[str, Any]] = []
    timed_out = False
    query = await datasette.get_canned_query(database, "search", request.actor)
    if search and query:
        # An extra on top of Datasette's own table: when it takes too long, the page still shows.
        try:
            # Only the rows shown: SQLite then makes their snippets only, not the canned query's 50.
            sql = f"select * from ({query['sql']}) limit {BEST_MATCHES}"
            best = [dict(row) for row in (await db.execute(sql, {"q": search})).rows]
        except QueryInterrupted:
            timed_out = True
    return {
        "best_matches": best,
        "best_matches_timed_out": timed_out,
        "snippets_for": snippets_for,
        "short_columns": ARTICLE_LIST_COLUMNS,
    }


async def front_page_context(datasette, request) -> dict[str, Any]:
    """The front page's panels: the first rows of their canned queries, and the dates their links filter by."""
    db = datasette.get_database(DATABASE)
    params = {"_url_articles": table_url(datasette, request, "articles"), "days": "", "id": "", "q": ""}
    panels: dict[str, Any] = {}
    for name, size in FRONT_PAGE.items():
        query = await datasette.get_canned_query(DATABASE, name, request.actor)
        if query is None:
            continue
        try:
            panels[name] = [dict(row) for row in (await db.execute(query["sql"], params)).rows[:size]]
        except QueryInterrupted:
            panels[name] = None  # the panel says it took too long and links to its page
    runs = await db.execute("select distinct site from crawl_runs where site is not null")
    today = datetime.now(VIETNAM).date()
    return {
        "front": panels,
        "front_sizes": FRONT_PAGE,
        "crawled_sites": {row[0] for row in runs},
        "today": today.isoformat(),
        "week_start": (today - timedelta(days=6)).isoformat(),
    }


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name == "index" and request is not None and DATABASE in datasette.databases:
        return lambda: front_page_context(datasette, request)
    if database != DATABASE or table != "articles" or request is None:
        return None

    async def context() -> dict[str, Any]:
        if view_name == "row":
            return await article_context(datasette, database, request)
        if view_name == "table":
            return await search_context(datasette, database, request)
        return {}

    return context


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Titles link to the article page, in the articles table and in queries that select the id."""
    if database != DATABASE or column != "title" or table not in ("articles", None):
        return None
    if "id" not in row.keys() or row["id"] is None:  # noqa: SIM118 (a sqlite3.Row: `in` looks at values)
        return None
    href = datasette.urls.row(DATABASE, "articles", str(row["id"]))
    return Markup('<a href="{}">{}</a>').format(href, value or "(untitled)")
