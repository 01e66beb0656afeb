"""A site's own boilerplate lines (``cleanup`` in the sites file), applied to that site's articles only:
in the crawl, in replay and in reextract, in the worker processes as in the engine's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.spiders.news import NewsSpider
from crawler.spiders.reextract import ReextractSpider
from crawler.spiders.replay import ReplaySpider
from pipelines.page import Fetched, PageOptions, SiteRules, process_page
from pipelines.vietnamese.normalize import normalize_text
from pipelines.vietnamese.text import site_lines
from tests.articlepage import PARAGRAPHS, URL, article_html
from tests.inprocess import exit_status, run_spider
from tests.newsite import ARTICLES, SHARED_PARAGRAPHS, NewsSite

# A line of our own site's footer, and the pattern its sites-file entry gives for it.
FOOTER = "Mời quý vị đón xem bản tin thời sự lúc 19 giờ hằng ngày trên kênh Mẫu TV."
PATTERN = r"Mời quý vị đón xem bản tin .{0,60} trên kênh Mẫu TV\.?"
OTHER_SITE = "https://khac.example.vn/thoi-su/bai-khac-1052548"


def test_a_site_pattern_removes_whole_lines_in_any_case():
    text = "\n".join([PARAGRAPHS[0], FOOTER, FOOTER.upper(), f"Trích: {FOOTER}", PARAGRAPHS[1]])
    cleaned, _ = normalize_text(text, (PATTERN,))
    # Whole lines only: the line quoting it inside a sentence stays.
    assert cleaned.split("\n") == [PARAGRAPHS[0], f"Trích: {FOOTER}", PARAGRAPHS[1]]
    assert normalize_text(text)[0] == text  # no pattern, nothing removed


def test_patterns_are_compiled_once_per_process():
    patterns = (PATTERN, r"Quảng cáo")
    before = site_lines.cache_info()
    for _ in range(3):
        normalize_text(FOOTER, patterns)
    after = site_lines.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 2


@pytest.mark.parametrize(("url", "removed"), [(URL, True), (OTHER_SITE, False)])
def test_the_rules_follow_the_article_url(url, removed):
    options = PageOptions(neardup=None, sites=(SiteRules("baomau.example.vn", cleanup=(PATTERN,)),
                                               SiteRules("khac.example.vn", cleanup=(r"Không có dòng này",))))
    page = article_html(end=f"<p>{FOOTER}</p>").encode("utf-8")
    result = process_page(Fetched(url, page, domain=url.split("/")[2]), options)
    assert (FOOTER in result.fields["text"]) is not removed


def write_sites(path: Path, home: str, cleanup: list[str]) -> Path:
    site = {"name": "mau.vn", "home": home, "allow": [r"-\d{5}\.html$"], "max_depth": 1, "delay": 0}
    if cleanup:
        site["cleanup"] = cleanup
    path.write_text(yaml.safe_dump({"sites": [site]}, allow_unicode=True), encoding="utf-8")
    return path


@deferred_f_from_coro_f
async def test_a_crawl_applies_its_site_cleanup(tmp_path: Path, db_path: Path) -> None:
    dropped = SHARED_PARAGRAPHS[1]  # in every article of the fixture site
    with NewsSite() as site:
        sites = write_sites(tmp_path / "sites.yml", site.url("/"), [dropped[:40] + ".*"])
        await run_spider(NewsSpider, db_path, {"SITES_FILE": str(sites)}, site="mau.vn")
    texts = [row["text"] for row in Database(db_path)["articles"].rows]
    assert len(texts) == len(ARTICLES)
    assert all(dropped not in text and SHARED_PARAGRAPHS[0] in text for text in texts)


@deferred_f_from_coro_f
async def test_replay_and_reextract_apply_the_site_cleanup(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    ours = article_html(end=f"<p>{FOOTER}</p>", head=f'<link rel="canonical" href="{URL}">')
    theirs = ours.replace(URL, OTHER_SITE).replace("Sáng 10-1", "Chiều 12-1")  # another site, another text
    (folder / "ours.html").write_text(ours, encoding="utf-8")
    (folder / "theirs.html").write_text(theirs, encoding="utf-8")
    without = write_sites(tmp_path / "without.yml", "https://baomau.example.vn/", [])
    assert exit_status(await run_spider(ReplaySpider, db_path, {"SITES_FILE": str(without)}, paths=[str(folder)])) == 0
    db = Database(db_path)
    assert all(FOOTER in row["text"] for row in db["articles"].rows)  # no rule yet

    # The site's rule comes: reextract takes the line out of that site's stored article only.
    with_rule = write_sites(tmp_path / "with.yml", "https://baomau.example.vn/", [PATTERN])
    crawler = await run_spider(ReextractSpider, db_path, {"SITES_FILE": str(with_rule)})
    assert exit_status(crawler) == 0 and crawler.stats.get_value("store/updated") == 1
    texts = {row["url"]: row["text"] for row in db["articles"].rows}
    assert FOOTER not in texts[URL] and texts[URL].split("\n") == PARAGRAPHS
    assert FOOTER in texts[OTHER_SITE]

    # And a replay with the rule gives the same record as the reextract.
    again = tmp_path / "again.db"
    assert exit_status(await run_spider(ReplaySpider, again, {"SITES_FILE": str(with_rule)}, paths=[str(folder)])) == 0
    assert {row["url"]: row["text"] for row in Database(again)["articles"].rows} == texts
