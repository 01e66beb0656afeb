"""The sites file: the shipped one loads; mistakes name file, site, field and fix."""

import pytest
import yaml

from crawler.sites import SitesError, load_sites, parse_schedule, parse_sites
from tests.conftest import ROOT

SHIPPED = ROOT / "crawler" / "sites.yml"


def test_shipped_sites_load():
    sites = {site.name: site for site in load_sites(SHIPPED)}
    assert {"qdnd.vn", "vnexpress.net", "tuoitre.vn", "dantri.com.vn", "vietnamnet.vn", "baochinhphu.vn",
            "nhandan.vn"} <= set(sites)
    assert sites["qdnd.vn"].domain == "qdnd.vn"
    assert sites["vnexpress.net"].schedule == "every 6h"


@pytest.mark.parametrize(
    "site, message",
    [
        ({"name": "x.vn"}, "site 'x.vn', field 'home': missing"),
        ({"name": "x.vn", "home": "x.vn"}, "site 'x.vn', field 'home': expected an http:// or https:// URL"),
        ({"name": "X VN", "home": "https://x.vn/"}, "field 'name': expected a lower-case name"),
        ({"name": "x.vn", "home": "https://x.vn/", "max_pages": "lots"}, "field 'max_pages': expected a whole number"),
        ({"name": "x.vn", "home": "https://x.vn/", "allow": ["(unclosed"]}, "field 'allow': '(unclosed' is not a regular expression"),
        ({"name": "x.vn", "home": "https://x.vn/", "feeds": ["/rss"]}, "field 'feeds': expected http(s) URLs, got '/rss'"),
        ({"name": "x.vn", "home": "https://x.vn/", "schedule": "hourly"}, "field 'schedule': 'hourly' is not a schedule"),
        ({"name": "x.vn", "home": "https://x.vn/", "colour": "red"}, "site 'x.vn': unknown field 'colour'"),
    ],
)
def test_mistakes_name_site_and_field(tmp_path, site, message):
    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": [site]}), encoding="utf-8")
    with pytest.raises(SitesError) as error:
        load_sites(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_duplicate_names_and_bad_files(tmp_path):
    site = {"name": "x.vn", "home": "https://x.vn/"}
    with pytest.raises(SitesError, match="'x.vn' is used by an earlier site"):
        parse_sites({"sites": [site, site]}, "f.yml")
    with pytest.raises(SitesError, match="cannot read the sites file"):
        load_sites(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("sites: [\n", encoding="utf-8")
    with pytest.raises(SitesError, match="not valid YAML"):
        load_sites(bad)


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
