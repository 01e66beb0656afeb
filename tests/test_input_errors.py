"""Every mistake in the input gives one line naming the file or field and the fix: the rows of the table
in docs/input-errors.md are the tests (its `case` column names the maker of each mistake below)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.checks import SettingError, check_settings
from crawler.sites import SitesError, load_sites
from crawler.spiders.news import NewsSpider
from crawler.spiders.replay import ReplaySpider
from tests.conftest import ROOT, run_scrapy
from tests.inprocess import exit_status, logged, run_spider_blocking

DOC = ROOT / "docs" / "input-errors.md"
ROW = re.compile(r"^\| `(?P<case>[a-z0-9-]+)` \| [^|]+ \| [^|]+ \| `(?P<line>.+)` \|$", re.MULTILINE)
ROWS = {match["case"]: match["line"] for match in ROW.finditer(DOC.read_text(encoding="utf-8"))}

SITE = "  - name: x.vn\n    home: https://x.vn/\n"
GOOD_SITES = f"sites:\n{SITE}"
# Sites files, by case: the text (or bytes) of the file.
SITES_FILES: dict[str, str | bytes] = {
    "sites-yaml": "sites:\n\t- name: x.vn\n",
    "sites-empty": "",
    "sites-no-sites": "sites: []\n",
    "sites-not-utf8": "sites:\n  - name: x.vn\n    home: https://x.vn/\n    cleanup: ['Xem thêm']\n".encode("latin-1", "replace")
    .replace(b"?", b"\xea"),
    "sites-unknown-field": f"sites:\n{SITE}    colour: red\n",
    "sites-defaults-field": f"defaults:\n  home: https://x.vn/\n{GOOD_SITES}",
    "sites-missing-home": "sites:\n  - name: x.vn\n",
    "sites-bad-name": "sites:\n  - name: X VN\n    home: https://x.vn/\n",
    "sites-duplicate-name": f"sites:\n{SITE}{SITE}",
    "sites-bad-url": "sites:\n  - name: x.vn\n    home: x.vn\n",
    "sites-relative-feed": f"sites:\n{SITE}    feeds: [/rss]\n",
    "sites-wrong-type": f"sites:\n{SITE}    max_pages: lots\n",
    "sites-negative-delay": f"sites:\n{SITE}    delay: -1\n",
    "sites-nan-delay": f"sites:\n{SITE}    delay: .nan\n",
    "sites-bad-allow": f"sites:\n{SITE}    allow: ['(unclosed']\n",
    "sites-bad-deny": f"sites:\n{SITE}    deny: ['[a-']\n",
    "sites-bad-cleanup": f"sites:\n{SITE}    cleanup: ['*Xem thêm']\n",
    "sites-bad-schedule": f"sites:\n{SITE}    schedule: hourly\n",
    "sites-bad-cron": f"sites:\n{SITE}    schedule: '61 * * * *'\n",
}
# Spider arguments (-a), checked against a good sites file.
ARGS = {
    "arg-since": {"since": "garbage"},
    "arg-max-pages": {"max_pages": "-1"},
    "arg-delay": {"delay": "abc"},
    "arg-allow": {"url": "https://x.vn/", "allow": "[0-9"},
    "arg-unknown-site": {"site": "nope.vn"},
    "arg-url": {"url": "ftp://x.vn/"},
    "arg-unknown": {"max_page": "5"},
}
SETTINGS = {
    "setting-not-a-number": {"STORE_BATCH_SIZE": "abc"},
    "setting-too-small": {"SEEDS_MAX_BYTES": "-5"},
    "setting-not-a-bool": {"STORE_PAGES": "maybe"},
}
ARTICLE = "Hà Nội mưa lớn.\n\n" + "Mưa lớn kéo dài từ đêm qua khiến nhiều tuyến phố ngập sâu. " * 8
# Seed files and saved pages put in one folder and replayed together: name -> bytes.
SEED_FILES = {
    "seed-empty": ("empty.txt", b""),
    "seed-blank": ("blank.txt", b"  \n\n \n"),
    "seed-binary": ("binary.txt", b"\x00\x01\x02 not text"),
    "seed-huge": ("huge.txt", b"a" * 6000),
    "seed-not-utf8": ("latin1.txt", "Ha Noi mua lon. Tr\xean".encode("latin-1") * 20),
    "seed-utf16": ("utf16.txt", ARTICLE.encode("utf-16")),
    "seed-bad-url-header": ("header.txt", f"URL: ftp://x.vn/a\n\n{ARTICLE}".encode()),
    "page-empty": ("empty.html", b""),
    "page-binary": ("binary.html", b"\x00\x01<html>"),
    "page-no-markup": ("plain.html", ARTICLE.encode()),
    "page-bad-gzip": ("page.html.gz", b"not gzip at all"),
    "page-no-url": ("no-url.html", (
        '<html lang="vi"><head><meta charset="utf-8"><title>Mưa lớn</title>'
        '<meta property="og:type" content="article"></head><body><article><h1>Mưa lớn ở Hà Nội</h1>'
        + "".join(f"<p>{ARTICLE}</p>" for _ in range(3)) + "</article></body></html>").encode()),
}


def says(line: str, expected: str, file: Path | str = "") -> bool:
    """``line`` is one line and holds ``expected`` (``{file}`` put in, each ``…`` any text), in order."""
    if "\n" in line:
        return False
    position = 0
    for part in expected.replace("{file}", str(file)).split("…"):
        found = line.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """One replay of a folder of every bad seed (plus a good one) and the files named apart:
    each case's file and the lines logged about it."""
    base = tmp_path_factory.mktemp("input-errors")
    folder = base / "seeds"
    folder.mkdir()
    files = {case: folder / name for case, (name, _) in SEED_FILES.items()}
    for case, (name, data) in SEED_FILES.items():
        files[case].write_bytes(data)
    (folder / "good.txt").write_text(ARTICLE, encoding="utf-8")
    files["seed-folder-loop"] = folder / "loop"
    files["seed-folder-loop"].symlink_to(folder, target_is_directory=True)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(ARTICLE, encoding="utf-8")
    files["seed-outside-link"] = folder / "outside.txt"
    files["seed-outside-link"].symlink_to(elsewhere / "secret.txt")
    files["seed-missing"] = base / "missing.txt"
    files["seed-unsupported"] = base / "report.pdf"
    files["seed-unsupported"].write_bytes(b"%PDF-1.4")
    with logged() as messages:
        crawler = run_spider_blocking(
            ReplaySpider, base / "news.db", {"SEEDS_MAX_BYTES": 5000},
            paths=[str(folder), str(files["seed-missing"]), str(files["seed-unsupported"])],
        )
    assert exit_status(crawler) == 1
    assert crawler.stats.get_value("store/new") == 1, messages  # the good seed, and not the linked one
    return {case: (path, [m for m in messages if m.startswith(f"Skipped seed {path}:")]) for case, path in files.items()}


def sites_error(tmp_path: Path, case: str) -> tuple[str, Path]:
    path = tmp_path / "sites.yml"
    if case != "sites-missing":
        content = SITES_FILES[case]
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(SitesError) as error:
        load_sites(path)
    return str(error.value), path


def arg_error(tmp_path: Path, case: str) -> tuple[str, Path]:
    path = tmp_path / "sites.yml"
    path.write_text(GOOD_SITES, encoding="utf-8")
    with pytest.raises(ValueError) as error:  # as `scrapy crawl` prints it (crawler/commands/crawl.py)
        NewsSpider.check_arguments(Settings({"SITES_FILE": str(path)}), **ARGS[case])
    return f"Error: {error.value}", path


def setting_error(tmp_path: Path, case: str) -> tuple[str, Path]:
    with pytest.raises(SettingError) as error:
        check_settings(Settings(SETTINGS[case]))
    return f"Error: {error.value}", tmp_path


MAKERS: dict[str, Callable[[Path, str], tuple[str, Path]]] = {
    **dict.fromkeys(SITES_FILES, sites_error), "sites-missing": sites_error,
    **dict.fromkeys(ARGS, arg_error), **dict.fromkeys(SETTINGS, setting_error),
}
SEED_CASES = {*SEED_FILES, "seed-folder-loop", "seed-outside-link", "seed-missing", "seed-unsupported"}


def test_every_row_has_a_test_and_every_test_a_row():
    assert sorted(ROWS) == sorted({*MAKERS, *SEED_CASES})


@pytest.mark.parametrize("case", [case for case in ROWS if case in MAKERS])
def test_a_mistake_in_the_sites_file_arguments_or_settings(tmp_path, case):
    line, path = MAKERS[case](tmp_path, case)
    assert says(line, ROWS[case], path), f"{case}: got {line!r}"


@pytest.mark.parametrize("case", [case for case in ROWS if case in SEED_CASES])
def test_a_bad_seed_or_saved_page(replayed, case):
    path, lines = replayed[case]
    assert len(lines) == 1 and says(lines[0], ROWS[case], path), f"{case}: got {lines!r}"


def test_a_bad_setting_stops_a_command_with_one_line(tmp_path):
    """As a user sees it: `scrapy replay -s STORE_BATCH_SIZE=abc` prints one Error line, exit status 1."""
    result = run_scrapy("replay", "-s", "STORE_BATCH_SIZE=abc", str(tmp_path), db=tmp_path / "news.db")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == ROWS["setting-not-a-number"]
    assert "Traceback" not in result.stderr and not (tmp_path / "news.db").exists()


def test_an_argument_that_is_not_yaml_stops_the_crawl_with_one_line(tmp_path):
    """`-a allow=[0-9` ended `scrapy crawl` in PyYAML's traceback; now the field's own check judges it."""
    result = run_scrapy("crawl", "news", "-a", "url=https://x.vn/", "-a", "allow=[0-9", db=tmp_path / "news.db")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Error: spider arguments (-a), field 'allow': '[0-9' is not a regular expression" in result.stderr

