"""Near-duplicate stage through real replays: links, stories, restarts, rebuilds, Datasette.

The replays run in process (tests/inprocess.py) and rebuilds call :class:`NearDupIndex`; two tests
go through `scrapy replay` and `scrapy neardup` as a user does: the rebuild hint and the summary.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from bench.neardup_eval import edit
from bench.neardup_texts import BASES, SAME_TOPIC
from crawler.spiders.replay import ReplaySpider
from pipelines.db.store import NewsStore
from pipelines.neardup.index import NearDupIndex, NearDupSettings, progress_logger
from pipelines.neardup.minhash import SHINGLE_HASH, shingles
from tests.browse_support import datasette_command
from tests.conftest import SEEDS, run_scrapy
from tests.inprocess import exit_status, project_settings, run_spider, run_spider_blocking

SEED_000 = next(SEEDS.glob("000_*.txt"))
SEED_002 = next(SEEDS.glob("002_*.txt"))
SEED_000_COPIES = ("lead_rewritten", "tail_cut", "reordered", "synonyms_10", "boilerplate", "excerpt")
BRIDGE_COPIES = ("tail_cut", "synonyms_20", "excerpt")


def seed_file(folder: Path, name: str, url: str, published: str, text: str) -> None:
    (folder / name).write_text(f"URL: {url}\nPublished: {published}\n\n{text}\n", encoding="utf-8")


def body(path: Path) -> str:
    """A seed's text without its headline line (so copies differ in body only)."""
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def story_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeds in replay order (sorted names): bases and same-topic articles, then edited copies."""
    folder = tmp_path_factory.mktemp("story_seeds")
    rng = random.Random(7)
    seed_file(folder, "a0_seed000.txt", "https://www.qdnd.vn/tong-cuc-ky-thuat-1", "2023-01-10T08:00:00+07:00",
              body(SEED_000))
    seed_file(folder, "a1_seed002.txt", "https://baomoi.example/tong-cuc-ky-thuat-2", "2023-01-11T08:00:00+07:00",
              body(SEED_002))
    seed_file(folder, "a2_bridge.txt", "https://baotiengiang.example/cau-rach-mieu-2", "2024-03-12T09:00:00+07:00",
              BASES["cau_rach_mieu"])
    seed_file(folder, "a3_bridge_other.txt", "https://baotiengiang.example/kiem-tra-cau", "2024-09-05T15:00:00+07:00",
              SAME_TOPIC["cau_rach_mieu"])
    for number, kind in enumerate(SEED_000_COPIES):
        # The reordered copy claims an earlier time: it is the first publisher, though stored later.
        published = "2023-01-09T20:00:00+07:00" if kind == "reordered" else f"2023-01-1{number}T12:00:00+07:00"
        seed_file(folder, f"b{number}_seed000_{kind}.txt", f"https://site{number}.example/copy-{kind}", published,
                  edit(body(SEED_000), kind, rng))
    for number, kind in enumerate(BRIDGE_COPIES):
        seed_file(folder, f"c{number}_bridge_{kind}.txt", f"https://tin{number}.example/cau-{kind}",
                  "2024-03-13T07:00:00+07:00", edit(BASES["cau_rach_mieu"], kind, rng))
    return folder


@pytest.fixture(scope="session")
def story_db(story_seeds: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("stories") / "news.db"
    crawler = run_spider_blocking(ReplaySpider, db, paths=[str(story_seeds)])
    assert exit_status(crawler) == 0
    assert crawler.stats.get_value("neardup/signed") == 13
    return db


async def replay(db: Path, *paths: Path, **settings):
    """The crawler of a replay of ``paths`` into ``db``, which must succeed."""
    crawler = await run_spider(ReplaySpider, db, settings, paths=[str(path) for path in paths])
    assert exit_status(crawler) == 0
    return crawler


def rebuild(db: Path, **settings) -> int:
    """What `scrapy neardup --rebuild` does with these ``NEARDUP_*`` settings: every signature, link
    and story recomputed in one transaction, with progress in the log. Returns the articles signed."""
    store = NewsStore.open(db)
    try:
        total = store.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        index = NearDupIndex(store, NearDupSettings.from_settings(Settings({**project_settings(), **settings})))
        done = index.rebuild(progress_logger(total))
        store.commit()
    finally:
        store.close()
    return done


def stories(db: Path) -> dict[str, int]:
    """URL -> story_id."""
    return {row["url"]: row["story_id"] for row in Database(db).query("select url, story_id from articles")}


def article_id(db: Path, url: str) -> int:
    return next(Database(db).query("select id from articles where url = ?", [url]))["id"]


def copy_db(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "news.db"
    shutil.copy(db, target)
    return target


def test_edited_copies_join_the_story_of_the_first_stored_article(story_db):
    by_url = stories(story_db)
    seed_id = article_id(story_db, "https://www.qdnd.vn/tong-cuc-ky-thuat-1")
    assert by_url["https://www.qdnd.vn/tong-cuc-ky-thuat-1"] == seed_id
    for number, kind in enumerate(SEED_000_COPIES):
        assert by_url[f"https://site{number}.example/copy-{kind}"] == seed_id, kind
    bridge_id = article_id(story_db, "https://baotiengiang.example/cau-rach-mieu-2")
    for number, kind in enumerate(BRIDGE_COPIES):
        assert by_url[f"https://tin{number}.example/cau-{kind}"] == bridge_id, kind


def test_same_topic_articles_stay_apart(story_db):
    by_url = stories(story_db)
    # The two seeds: same institution, different articles.
    assert by_url["https://baomoi.example/tong-cuc-ky-thuat-2"] == article_id(
        story_db, "https://baomoi.example/tong-cuc-ky-thuat-2"
    )
    # Same bridge, people and places; another event.
    other = "https://baotiengiang.example/kiem-tra-cau"
    assert by_url[other] == article_id(story_db, other)
    linked = {row["article_id"] for row in Database(story_db).query("select article_id from near_duplicates")}
    linked |= {row["similar_id"] for row in Database(story_db).query("select similar_id from near_duplicates")}
    assert article_id(story_db, other) not in linked
    assert article_id(story_db, "https://baomoi.example/tong-cuc-ky-thuat-2") not in linked


def test_links_record_estimates_and_method(story_db):
    rows = list(Database(story_db).query(
        "select a.url, n.* from near_duplicates n join articles a on a.id = n.article_id"
    ))
    assert rows and all(0 < row["jaccard"] <= 1 and 0 < row["containment"] <= 1 and row["found"] for row in rows)
    excerpt = [row for row in rows if row["url"] == "https://site5.example/copy-excerpt"]
    # A part of the source: all its shingles are there (containment 1), half the source's (true Jaccard 0.54).
    assert excerpt and excerpt[0]["containment"] > 0.9 and excerpt[0]["jaccard"] < 0.7
    assert {row["method"] for row in rows} <= {"jaccard", "containment", "spun"}
    # The score of the method that found the link (for spun copies, the aligned share of the shorter text).
    for row in rows:
        assert row["score"] == (row["jaccard"] if row["method"] == "jaccard" else row["containment"]), row


@deferred_f_from_coro_f
async def test_restart_keeps_the_index(story_db, tmp_path):
    db = copy_db(story_db, tmp_path)
    late = tmp_path / "late"
    late.mkdir()
    seed_file(late, "late_copy.txt", "https://late.example/copy", "2023-02-01T08:00:00+07:00",
              edit(body(SEED_000), "synonyms_20", random.Random(11)))
    crawler = await replay(db, late)
    assert crawler.stats.get_value("neardup/caught_up") is None  # the index came from the database, not a re-sign
    assert stories(db)["https://late.example/copy"] == article_id(db, "https://www.qdnd.vn/tong-cuc-ky-thuat-1")


@deferred_f_from_coro_f
async def test_signatures_of_the_old_shingle_hash_are_signed_again_once(story_db, tmp_path, caplog):
    """An archive signed by a version that hashed each shingle with SHA-1 (and kept no
    ``shingle_hash``): the writer signs it again when it opens, links and stories stay, and new
    copies find their story through the new signatures."""
    caplog.set_level(logging.INFO, logger="pipelines.neardup.index")
    db = copy_db(story_db, tmp_path)
    before = stories(db)
    links = Database(db).execute("select count(*) from near_duplicates").fetchone()[0]
    store = NewsStore.open(db)  # made as the old version made it
    index = NearDupIndex(store, NearDupSettings())
    for article, text in list(store.signed_texts()):
        store.replace_shingle_signature(article, index.signer.sign_set(shingles(text, 3)))
    store.db.execute("DELETE FROM neardup_config WHERE name = 'shingle_hash'")
    index.save_snapshot()
    store.commit()
    store.close()
    late = tmp_path / "late"
    late.mkdir()
    seed_file(late, "late_copy.txt", "https://late.example/copy", "2023-02-01T08:00:00+07:00",
              edit(body(SEED_000), "synonyms_10", random.Random(21)))
    await replay(db, late)
    assert "13 signatures in NEWS_DB were made another way (sha1): signing them again" in caplog.text
    after = stories(db)
    assert {url: after[url] for url in before} == before
    assert after["https://late.example/copy"] == article_id(db, "https://www.qdnd.vn/tong-cuc-ky-thuat-1")
    assert Database(db).execute("select count(*) from near_duplicates").fetchone()[0] > links
    assert Database(db)["neardup_config"].get("shingle_hash")["value"] == SHINGLE_HASH
    signer = NearDupIndex(NewsStore.open(db), NearDupSettings()).signer
    for row in Database(db).query("select a.text, s.signature from articles a join neardup_signatures s "
                                  "on s.article_id = a.id"):
        assert row["signature"] == signer.sign(row["text"]).to_blob()
    caplog.clear()
    await replay(db, late)  # once
    assert "signing them again" not in caplog.text


def test_changing_index_settings_needs_a_rebuild(story_db, tmp_path):
    """`scrapy replay` as a user runs it: the exit status and the hint to rebuild."""
    db = copy_db(story_db, tmp_path)
    result = run_scrapy("replay", str(SEED_000), "-s", "NEARDUP_SHINGLE_SIZE=4", db=db)
    assert result.returncode != 0
    assert "shingle_size 3 -> 4" in result.stderr and "scrapy neardup --rebuild" in result.stderr


def test_rebuild_after_a_threshold_change_recomputes(story_db, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pipelines.neardup.index")
    db = copy_db(story_db, tmp_path)
    before = stories(db)
    # The spun-copy signal off too: it would still find the reworded copy (see test_neardup_spin.py).
    rebuild(db, NEARDUP_JACCARD=0.95, NEARDUP_CONTAINMENT=0.99, NEARDUP_SHINGLE_SIZE=4, NEARDUP_SPIN_ENABLED=False)
    assert "articles signed" in caplog.text  # progress in the log
    after = stories(db)
    assert len(set(after.values())) > len(set(before.values()))
    assert after["https://site3.example/copy-synonyms_10"] != after["https://www.qdnd.vn/tong-cuc-ky-thuat-1"]
    assert Database(db)["neardup_config"].get("shingle_size")["value"] == "4"
    assert rebuild(db) == 13
    assert stories(db) == before


@deferred_f_from_coro_f
async def test_articles_stored_without_the_stage_are_signed_later(story_seeds, tmp_path):
    """`scrapy neardup` as a user runs it, after a replay without the stage: its exit status and summary."""
    db = tmp_path / "news.db"
    await replay(db, story_seeds, NEARDUP_ENABLED=False)
    assert len(set(stories(db).values())) == 13  # every article its own story
    caught_up = run_scrapy("neardup", db=db)
    assert caught_up.returncode == 0, caught_up.stderr[-3000:]
    assert "Signed 13 articles" in caught_up.stdout
    assert len(set(stories(db).values())) == 4  # seed 000, seed 002, the bridge, its same-topic twin


def datasette_get(db: Path, path: str) -> str:
    """One page from Datasette served as `make browse` serves it."""
    result = subprocess.run(datasette_command(db, "--get", path), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{path}: {result.stdout[-500:]} {result.stderr[-1500:]}"
    return result.stdout


def test_datasette_stories_query_shows_copies_sites_and_first_publisher(story_db):
    rows = json.loads(datasette_get(story_db, "/news/stories.json?_shape=array"))
    seed_story = next(row for row in rows if row["story_id"] == article_id(story_db, "https://www.qdnd.vn/tong-cuc-ky-thuat-1"))
    assert seed_story["articles"] == 1 + len(SEED_000_COPIES)
    assert "qdnd.vn" in seed_story["sites"] and "site5.example" in seed_story["sites"]
    assert seed_story["first_publisher"] == "site2.example"  # the reordered copy, published earliest
    assert rows[0] == seed_story  # most copied first
    copies = json.loads(datasette_get(
        story_db, f"/news/story_articles.json?_shape=array&id={seed_story['story_id']}"
    ))
    # Newest first (a story's feed), so the first publisher comes last.
    assert len(copies) == seed_story["articles"] and copies[-1]["site"] == "site2.example"


def test_story_id_is_a_facet_of_articles(story_db):
    page = json.loads(datasette_get(story_db, "/news/articles.json?_facet=story_id"))
    assert "story_id" in page["facet_results"]
    assert max(value["count"] for value in page["facet_results"]["story_id"]["results"]) == 7


@deferred_f_from_coro_f
async def test_an_updated_article_is_signed_again(story_db, tmp_path):
    db = copy_db(story_db, tmp_path)
    url = "https://baotiengiang.example/kiem-tra-cau"  # the bridge's same-topic twin, alone in its story
    changed = tmp_path / "changed"
    changed.mkdir()
    # The page now carries a lightly edited copy of the bridge article: it joins that story.
    seed_file(changed, "a3_bridge_other.txt", url, "2024-09-05T15:00:00+07:00",
              edit(BASES["cau_rach_mieu"], "boilerplate", random.Random(3)))
    old = Database(db)["neardup_signatures"].get(article_id(db, url))["signature"]
    crawler = await replay(db, changed)
    assert crawler.stats.get_value("store/updated") == 1
    twin = article_id(db, url)
    assert Database(db)["neardup_signatures"].get(twin)["signature"] != old
    assert stories(db)[url] == article_id(db, "https://baotiengiang.example/cau-rach-mieu-2")
    # The new signature is the latest written: other running crawls pick it up by its sequence number.
    assert Database(db).execute("select max(seq) from neardup_signatures").fetchone()[0] == (
        Database(db)["neardup_signatures"].get(twin)["seq"]
    )
