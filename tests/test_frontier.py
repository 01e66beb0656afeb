"""The frontier: discovered URLs wait in the spider until Scrapy's scheduler has room."""

from __future__ import annotations

from collections import deque

from scrapy import Request
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from crawler.frontier import Frontier
from crawler.spiders.news import NewsSpider
from tests.inprocess import run_spider
from tests.newsite import ARTICLES, NewsSite


def test_sites_take_turns():
    made = []
    frontier = Frontier(get_crawler(), lambda site, url: made.append((site, url)), limit=10)
    for number in range(3):
        frontier.lines.setdefault("a", deque()).append(("a", f"a{number}"))
    frontier.lines.setdefault("b", deque()).append(("b", "b0"))
    order = [frontier._next() for _ in range(len(frontier))]
    assert order == [("a", "a0"), ("b", "b0"), ("a", "a1"), ("a", "a2")]
    assert not frontier.lines


def test_nothing_scheduled_without_an_engine():
    """Before the engine opens, or after it closed, entries wait: nothing is lost or crawled."""
    frontier = Frontier(get_crawler(), lambda site, url: Request(url), limit=10)
    frontier.add("a", "a", "https://x.vn/a-1.html")
    assert len(frontier) == 1 and frontier.top_up() == 0


@deferred_f_from_coro_f
async def test_a_crawl_through_a_one_request_scheduler_stores_every_article(tmp_path):
    """With room for one request in the scheduler, the sitemaps' URLs wait in the frontier, and
    every article still gets fetched and stored, the spider kept open while any wait."""
    with NewsSite() as site:
        crawler = await run_spider(NewsSpider, tmp_path / "news.db", {"NEWS_SCHEDULER_MAX": 1},
                                   url=site.url("/"), delay="0")
    assert crawler.stats.get_value("frontier/waiting_max", 0) >= 2
    stored = {row["url"] for row in Database(tmp_path / "news.db")["articles"].rows}
    assert stored == {site.url(f"/{slug}") for slug in ARTICLES}
