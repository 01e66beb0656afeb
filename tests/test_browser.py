"""The archive in a real browser: headless Chromium (Debian's package) driven by Selenium.

`make test` installs `chromium` and `chromium-driver` when they are missing (`make browser`);
CHROMIUM and CHROMEDRIVER point elsewhere. Selenium is given the driver's path, so it never
tries to download one.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browse_support import FAILING_SITE, FRONT_SITES, HEALTHY_SITE, SCRIPT_ARTICLE, SEED_000, article_ids

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: run `make browser` (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def screenshot(driver, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot at {path}"
    return path


def test_search_from_the_home_page_and_read_the_article(browser, browse_url, browse_db, tmp_path):
    browser.get(browse_url + "/")
    box = browser.find_element(By.ID, "vn-search-input")
    box.send_keys("dang uy tong cuc ky thuat")
    screenshot(browser, tmp_path, "home")
    box.submit()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".best-matches")))
    screenshot(browser, tmp_path, "search")
    first = browser.find_elements(By.CSS_SELECTOR, ".best-matches li")[0]
    assert first.find_element(By.CSS_SELECTOR, ".headline").text.startswith("Năm 2022, Đảng ủy Tổng cục Kỹ thuật")
    marks = [mark.text for mark in first.find_elements(By.TAG_NAME, "mark")]
    assert {"Đảng", "ủy", "Tổng", "cục", "Kỹ", "thuật"} <= set(marks)

    first.find_element(By.CSS_SELECTOR, ".headline").click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "article")))
    screenshot(browser, tmp_path, "article")
    assert browser.current_url.endswith(f"/news/articles/{article_ids(browse_db)[SEED_000]}")
    assert browser.find_element(By.CSS_SELECTOR, "h1.headline").text.startswith("Năm 2022, Đảng ủy Tổng cục Kỹ thuật")
    assert browser.find_element(By.CSS_SELECTOR, ".byline .author").text == "Sơn Bình"
    paragraphs = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".article-text p")]
    assert len(paragraphs) >= 5 and all(paragraphs)
    assert any(p.startswith("Phát biểu chỉ đạo hội nghị, Thượng tướng Lê Huy Vịnh") for p in paragraphs)
    assert "Năm 2022" in browser.title


def test_crawl_health_page(browser, browse_url, tmp_path):
    browser.get(browse_url + "/news/crawl_health")
    screenshot(browser, tmp_path, "crawl_health")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Crawl health per site"
    cells = {cell.get_attribute("class").split()[0]: cell.text for cell in browser.find_elements(
        By.CSS_SELECTOR, "table.rows-and-columns tbody tr:first-child td")}
    assert {"col-site", "col-last_run", "col-new_articles", "col-failures", "col-extraction_failure_pct"} <= set(cells)
    sites = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.rows-and-columns td.col-site")]
    assert sites == ["baomau.example.vn", "replay", "tinmau.example.vn"]  # failing sites first, then by name


def test_script_in_an_article_is_shown_and_not_run(browser, browse_url, browse_db, tmp_path):
    browser.get(f"{browse_url}/news/articles/{article_ids(browse_db)[SCRIPT_ARTICLE]}")
    screenshot(browser, tmp_path, "script_article")
    text = browser.find_element(By.CSS_SELECTOR, ".article-text").text
    assert '<script>document.title = "PWNED"; window.vnPwned = 1;</script>' in text
    assert '<img src="x" onerror="window.vnPwned = 2">' in text
    assert browser.find_element(By.CSS_SELECTOR, "h1.headline").text == "Bài viết có mã <script> trong nội dung"
    assert browser.title == "Bài viết có mã <script> trong nội dung"
    assert browser.execute_script("return typeof window.vnPwned") == "undefined"
    assert not browser.find_elements(By.CSS_SELECTOR, ".article-text script, .article-text img, .article-text b")
    # The same text in the articles list (every column) runs nothing either.
    browser.get(f"{browse_url}/news/articles?_allcols=1")
    assert browser.execute_script("return typeof window.vnPwned") == "undefined"
    assert "PWNED" not in browser.title


def test_front_page_marks_the_failing_site_in_red(browser, front_url, tmp_path):
    browser.get(front_url + "/")
    screenshot(browser, tmp_path, "front")
    inputs = browser.find_elements(By.TAG_NAME, "input")
    assert inputs[0].get_attribute("id") == "vn-search-input"  # the search box first
    rows = {row.find_element(By.CSS_SELECTOR, ".col-site a").text: row
            for row in browser.find_elements(By.CSS_SELECTOR, "table.crawl-health tbody tr")}
    failing, healthy = rows[FAILING_SITE], rows[HEALTHY_SITE]
    alarm = failing.find_element(By.CSS_SELECTOR, ".alarm")
    assert alarm.is_displayed() and alarm.value_of_css_property("color") == "rgba(221, 0, 0, 1)"
    assert failing.find_element(By.CSS_SELECTOR, "td").value_of_css_property("background-color") == "rgba(253, 232, 232, 1)"
    assert not healthy.find_elements(By.CSS_SELECTOR, ".alarm")
    assert healthy.find_element(By.CSS_SELECTOR, "td").value_of_css_property("background-color") == "rgba(0, 0, 0, 0)"


def chart_marks(driver, chart: str) -> list[str]:
    """The aria-labels of a rendered vega-lite chart's marks (its SVG paths), once they are drawn.
    ``chart`` is the chart's name on a dashboard, the dashboard's on a chart's own page."""
    selector = f"#chart-{chart} svg g.role-mark path[aria-label]"
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, selector))
    return [mark.get_attribute("aria-label") for mark in driver.find_elements(By.CSS_SELECTOR, selector)]


def sites_in(labels: list[str]) -> set[str]:
    return {match.group(1) for label in labels if (match := re.search(r"site: ([^;]+)", label))}


def test_charts_draw_marks_for_each_site(browser, front_url, front_db, tmp_path):
    browser.get(front_url + "/-/dashboards/archive")
    articles = chart_marks(browser, "articles-per-day")
    runs = chart_marks(browser, "crawl-runs")
    screenshot(browser, tmp_path, "charts")
    with sqlite3.connect(front_db) as db:
        recent = db.execute("select count(distinct site), count(distinct day || site) from articles "
                            "where day >= date('now', '+7 hours', '-29 days')").fetchone()
        crawled = {row[0] for row in db.execute("select distinct coalesce(site, command) from crawl_runs")}
    assert sites_in(articles) == set(FRONT_SITES) and len(sites_in(articles)) == recent[0]
    assert len(articles) == recent[1]  # a bar for each day and site
    assert sites_in(runs) == crawled and {HEALTHY_SITE, FAILING_SITE} <= crawled
    # The front page shows the same charts.
    browser.get(front_url + "/")
    frames = browser.find_elements(By.CSS_SELECTOR, "#charts iframe")
    assert len(frames) == 2
    browser.switch_to.frame(frames[0])
    try:
        assert sites_in(chart_marks(browser, "archive")) == set(FRONT_SITES)
    finally:
        browser.switch_to.default_content()
