"""The sites file: the shipped one loads, defaults apply, schedules parse. Its mistakes (each naming
file, site, field and fix) are rows of docs/input-errors.md, tested by tests/test_input_errors.py."""

import pytest
import yaml

from crawler.sites import load_sites, parse_schedule, parse_sites
from tests.conftest import ROOT

SHIPPED = ROOT / "crawler" / "sites.yml"


def test_shipped_sites_load():
    sites = {site.name: site for site in load_sites(SHIPPED)}
    assert {"qdnd.vn", "vnexpress.net", "tuoitre.vn", "dantri.com.vn", "vietnamnet.vn", "baochinhphu.vn",
            "nhandan.vn"} <= set(sites)
    assert sites["qdnd.vn"].domain == "qdnd.vn"
    assert sites["vnexpress.net"].schedule == "every 6h"


def test_defaults_apply_and_sites_override():
    sites = parse_sites(
        {"defaults": {"delay": 3, "schedule": "every 2s"},
         "sites": [{"name": "a.vn", "home": "https://a.vn/"}, {"name": "b.vn", "home": "https://b.vn/", "delay": 0.5}]},
        "f.yml",
    )
    assert [(s.delay, s.schedule) for s in sites] == [(3.0, "every 2s"), (0.5, "every 2s")]


@pytest.mark.parametrize(
    "text, parsed",
    [("every 30m", ("interval", 1800.0)), ("every 2s", ("interval", 2.0)), ("every 1.5h", ("interval", 5400.0)),
     ("*/15 * * * *", ("cron", "*/15 * * * *"))],
)
def test_parse_schedule(text, parsed):
    assert parse_schedule(text) == parsed


@pytest.mark.parametrize("text", ["every 0s", "daily", "* * *", "every -1m"])
def test_bad_schedules(text):
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_a_url_on_a_configured_site_keeps_its_settings(tmp_path):
    from crawler.spiders.news import NewsSpider

    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": [{
        "name": "x.vn", "home": "https://x.vn/", "feeds": ["https://x.vn/rss"], "deny": ["/video/"],
        "delay": 3, "cleanup": ["^Xem thêm"],
    }]}), encoding="utf-8")
    (site,) = NewsSpider(url="https://www.x.vn/thoi-su/").select_sites(str(path))
    assert (site.name, site.home, site.feeds, site.deny, site.delay, site.cleanup) == (
        "x.vn", "https://www.x.vn/thoi-su/", [], ["/video/"], 3.0, ["^Xem thêm"])
    (site,) = NewsSpider(url="https://x.vn/", delay="5").select_sites(str(path))  # -a FIELD=VALUE still wins
    assert (site.name, site.delay, site.deny) == ("x.vn", 5.0, ["/video/"])
    (other,) = NewsSpider(url="https://y.vn/").select_sites(str(path))  # not configured: discovery alone
    assert (other.name, other.delay, other.deny) == ("y.vn", 1.0, [])
