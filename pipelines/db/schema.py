"""The database schema, created and upgraded by sqlite-utils migrations.

Each migration is applied once per database, in the order of :data:`MIGRATIONS`
(the list at the end: the order databases have been upgraded in, numbers aside),
inside a transaction. Never edit an applied migration: add a new one, and append
it to the list.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("news")

# Tokenizer for the search index: case-folding and diacritic-stripping (mode 2
# handles the stacked marks of Vietnamese, ệ ở ữ ...). unicode61 keeps đ apart
# from d, so the index also holds a folded copy of title and text (see
# vietnamese.fold) and a query without accents matches that copy.
FTS_TOKENIZER = "unicode61 remove_diacritics 2"
# The newest articles, indexed a second time in ``articles_fts_recent``: the ranked search ranks the
# newest matches there, where bm25's weight of each word (FTS5 counts every row holding it, on
# every query) costs the same at any archive size (migration m130).
RECENT_SEARCH_ARTICLES = 20_000


def m001_initial(db: Database) -> None:
    db["articles"].create(
        {
            "id": int,
            "content_hash": str,
            "url": str,
            "site": str,
            "title": str,
            "author": str,
            "published": str,
            "modified": str,
            "description": str,
            "category": str,
            "tags": str,
            "image": str,
            "language": str,
            "word_count": int,
            "text": str,
            "first_seen": str,
            "updated": str,
        },
        pk="id",
        not_null={"content_hash", "url", "text", "first_seen"},
    )
    db["articles"].create_index(["content_hash"], unique=True)
    db["articles"].create_index(["published"])
    db["articles"].create_index(["site", "published"])
    db["article_urls"].create(
        {"url": str, "article_id": int, "first_seen": str, "via": str},
        pk="url",
        not_null={"article_id", "first_seen"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_urls"].create_index(["article_id"])
    db["crawl_runs"].create(
        {
            "id": int,
            "command": str,
            "site": str,
            "started": str,
            "finished": str,
            "status": str,
            "new": int,
            "duplicate": int,
            "unchanged": int,
            "updated": int,
            "failed": int,
        },
        pk="id",
        not_null={"command", "started", "status"},
    )
    db["failures"].create(
        {"id": int, "run_id": int, "url": str, "stage": str, "reason": str, "at": str},
        pk="id",
        not_null={"url", "reason", "at"},
        foreign_keys=[("run_id", "crawl_runs", "id")],
    )
    db["failures"].create_index(["url"])
    # A standalone FTS5 table (rowid = articles.id), written by the store in the
    # same transaction as the article: sqlite-utils' enable_fts() can only index
    # existing columns, and the folded copies are not columns of articles.
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5("
        f"title, text, title_folded, text_folded, tokenize='{FTS_TOKENIZER}')"
    )


def m010_extract_pages(db: Database) -> None:
    # The raw HTML each article was extracted from, gzipped, so that `scrapy reextract`
    # can run a better extraction again without the network. One page per article.
    db["pages"].create(
        {"article_id": int, "url": str, "fetched": str, "size": int, "html_gz": bytes},
        pk="article_id",
        not_null={"url", "fetched", "html_gz"},
        foreign_keys=[("article_id", "articles", "id")],
    )


def m020_crawl_state(db: Database) -> None:
    # Per-site run counts of the news spider.
    for column in ("pages", "not_modified", "robots_skipped", "http_errors", "extract_failed"):
        db["crawl_runs"].add_column(column, int)
    # Conditional GET state of re-polled URLs (feeds, sitemaps): sent back as
    # If-None-Match / If-Modified-Since on the next run.
    db["fetch_state"].create(
        {"url": str, "etag": str, "last_modified": str, "status": int, "fetched": str},
        pk="url",
        not_null={"fetched"},
    )


def m050_schedule_run_process(db: Database) -> None:
    # `scrapy schedule` runs each crawl in its own process: keep the process id,
    # how it exited and where its log went, to explain a run that crashed.
    db["crawl_runs"].add_column("pid", int)
    db["crawl_runs"].add_column("exit_code", int)
    db["crawl_runs"].add_column("log_file", str)


def m040_datasette_day(db: Database) -> None:
    # The calendar day in Vietnam time, for Datasette's day facet and per-day
    # counts: date() turns a time with a zone into UTC, +7 hours gives Vietnam
    # time; a time without a zone is already local. A VIRTUAL column costs no
    # space and needs no writer to fill it.
    db.execute(
        "ALTER TABLE articles ADD COLUMN day TEXT GENERATED ALWAYS AS ("
        "CASE WHEN published IS NULL THEN date(first_seen, '+7 hours') "
        "WHEN published GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR published GLOB '*Z' "
        "THEN date(published, '+7 hours') "
        "ELSE substr(published, 1, 10) END) VIRTUAL"
    )
    # Facets count by these columns on every table page: indexes keep them fast.
    for column in ("day", "author", "language"):
        db["articles"].create_index([column])


def m030_neardup_index(db: Database) -> None:
    # story_id: the id of the first stored article of the story (its own id when alone).
    db["articles"].add_column("story_id", int)
    db.execute("UPDATE articles SET story_id = id")
    db["articles"].create_index(["story_id"])
    # The MinHash of each article's shingles (uint32 values) and how many shingles it had.
    db["neardup_signatures"].create(
        {"article_id": int, "shingles": int, "signature": bytes, "signed": str},
        pk="article_id",
        not_null={"shingles", "signature", "signed"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    # The LSH buckets: one row per (band key, article); a lookup by bucket finds the candidates.
    # WITHOUT ROWID (no sqlite-utils call for it): one B-tree instead of a table plus its key
    # index, which halves the writes, tens of rows per article.
    db.execute(
        "CREATE TABLE neardup_buckets (bucket INTEGER NOT NULL, article_id INTEGER NOT NULL, "
        "PRIMARY KEY (bucket, article_id)) WITHOUT ROWID"
    )
    db["near_duplicates"].create(
        {"article_id": int, "similar_id": int, "jaccard": float, "containment": float, "method": str, "found": str},
        pk=("article_id", "similar_id"),
        not_null={"jaccard", "containment", "method", "found"},
        foreign_keys=[("article_id", "articles", "id"), ("similar_id", "articles", "id")],
    )
    db["near_duplicates"].create_index(["similar_id"])
    # The parameters the stored signatures and buckets were made with.
    db["neardup_config"].create({"name": str, "value": str}, pk="name")


def m060_neardup_memory_index(db: Database) -> None:
    # The LSH buckets move from a table (42 random B-tree rows per article, whose
    # writes and lookups grew with the archive) to an in-memory index derived from
    # the signatures (pipelines/bucket_index.py). `seq` orders signature writes, so
    # a running crawl can pick up the signatures other processes wrote since it last
    # looked; existing rows take their article id, in the same order.
    db.execute("DROP TABLE IF EXISTS neardup_buckets")
    db["neardup_signatures"].add_column("seq", int)
    db.execute("UPDATE neardup_signatures SET seq = article_id")
    db["neardup_signatures"].create_index(["seq"], unique=True)
    # The saved in-memory index (sorted band keys, their article ids, the signature
    # sketches and sizes), each array in parts, covering the signatures up to
    # neardup_config's `index_seq`.
    db["neardup_index"].create({"name": str, "part": int, "data": bytes}, pk=("name", "part"), not_null={"data"})


def m070_search_index_folded(db: Database) -> None:
    # The search index holds each title and text once, folded to plain letters (vietnamese.fold:
    # tone marks off, đ -> d), instead of twice (as written and folded): every query is folded
    # the same way before MATCH (vn_match, and escape_fts for Datasette's table search), so an
    # accented and an unaccented query match alike, and ranking by the accents typed happens
    # after (vn_exact_score). Half the index to read and write; the same matches for queries.
    db.execute(f"CREATE VIRTUAL TABLE articles_fts_folded USING fts5(title, text, tokenize='{FTS_TOKENIZER}')")
    db.execute(
        "INSERT INTO articles_fts_folded (rowid, title, text) SELECT rowid, title_folded, text_folded FROM articles_fts"
    )
    db.execute("DROP TABLE articles_fts")
    db.execute("ALTER TABLE articles_fts_folded RENAME TO articles_fts")


def m080_run_skipped(db: Database) -> None:
    # Inputs that are not articles at all (a listing page given to `scrapy replay`): counted
    # apart from the failures, and recorded in the failures table with the reason.
    db["crawl_runs"].add_column("skipped", int)


def m100_neardup_spin(db: Database) -> None:
    # The spun-copy signal (pipelines/neardup/spin.py): the MinHash of each article's anchors
    # (numbers, dates, names) and how many it has, beside its shingle signature; the in-memory
    # index bands them with the shingle bands. NULL for articles signed before: `scrapy neardup
    # --rebuild` computes them. `score`: the score of the method that found a link (the Jaccard
    # or containment estimate, or for `spun` the aligned share of the shorter text).
    db["neardup_signatures"].add_column("anchors", bytes)
    db["neardup_signatures"].add_column("anchor_count", int)
    db["near_duplicates"].add_column("score", float)
    db.execute(
        "UPDATE near_duplicates SET score = CASE method WHEN 'containment' THEN containment ELSE jaccard END"
    )


def m110_run_worker(db: Database) -> None:
    # A worker of a distributed crawl (`scrapy crawl news` with REDIS_URL) runs on any machine and
    # its writer (`scrapy ingest`) records its run: which worker (host:pid:random) on which host.
    # Its pid is of that host, so whether the run is over is not asked of this machine's processes.
    db["crawl_runs"].add_column("worker", str)
    db["crawl_runs"].add_column("host", str)


def m120_neardup_anchor_words(db: Database) -> None:
    # The anchors themselves (numbers, dates, names; one a line) beside their MinHash: checking a
    # stored candidate for the same event needs them, and reading them is a short indexed read
    # where finding them again meant reading its whole text and a pass of regular expressions over
    # it (a quarter of the writer's time when a story keeps coming). NULL for articles signed
    # before: their text is read, as before (`scrapy neardup --rebuild` fills them).
    db["neardup_signatures"].add_column("anchor_words", str)


def m130_search_recent(db: Database) -> None:
    # A second, small search index of the newest RECENT_SEARCH_ARTICLES articles (same columns,
    # same folded text, same tokenizer), kept by the store as it writes: ranking by bm25 in the
    # whole index counted every article holding each word on every query (17 ms for one common
    # word, 32 ms for two, at 1,000,000 articles); in this one 2 to 3 ms at any size.
    db.execute(f"CREATE VIRTUAL TABLE articles_fts_recent USING fts5(title, text, tokenize='{FTS_TOKENIZER}')")
    fill_recent_search(db)


def fill_recent_search(db: Database) -> None:
    """Index the newest :data:`RECENT_SEARCH_ARTICLES` rows of ``articles_fts`` in ``articles_fts_recent`` anew."""
    db.execute("DELETE FROM articles_fts_recent")
    db.execute(
        "INSERT INTO articles_fts_recent (rowid, title, text) SELECT rowid, title, text FROM articles_fts"
        " WHERE rowid > (SELECT coalesce(max(id), 0) FROM articles) - ?",
        [RECENT_SEARCH_ARTICLES],
    )


# Every migration, in the order they are applied (a migration's number is its name, not its place).
MIGRATIONS = (
    m001_initial,
    m010_extract_pages,
    m020_crawl_state,
    m050_schedule_run_process,
    m040_datasette_day,
    m030_neardup_index,
    m060_neardup_memory_index,
    m070_search_index_folded,
    m080_run_skipped,
    m100_neardup_spin,
    m110_run_worker,
    m120_neardup_anchor_words,
    m130_search_recent,
)
for migration in MIGRATIONS:
    migrations()(migration)
