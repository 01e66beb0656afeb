"""The real pages of ../shared/data, replayed through `scrapy replay` and every stage, against expectations.

``tests/extraction_expectations.json`` holds the expected values per page and
field and the list of those met today (``met``). The rate can only go up: the
test fails when a recorded expectation stops holding, and when the recorded
list is shorter than ``MET_AT_LEAST``. After an improvement, record the new
list with ``.venv/bin/python tests/test_extract_real.py --record`` and raise
``MET_AT_LEAST`` to the count it prints.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from sqlite_utils import Database

if __name__ == "__main__":  # run as a script from the project root: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import SHARED_DATA, run_scrapy

EXPECTATIONS = Path(__file__).parent / "extraction_expectations.json"
MET_AT_LEAST = 207
QDND_BODIES = "qdnd-crawler-bodies/articles.json"


def _qdnd_url(index: int) -> str:
    return f"https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/qdnd-crawler-bodies-{index}-{1000000 + index}"


def _paragraphs(fragment: str) -> list[str]:
    tree = lxml_html.fromstring(fragment)
    texts = (" ".join(p.text_content().split()) for p in tree.xpath(".//p"))
    return [text for text in texts if text]


def _captions(fragment: str) -> list[str]:
    """The caption rows of qdnd's photo tables (the rows without the image)."""
    tree = lxml_html.fromstring(fragment)
    rows = tree.xpath("//table[.//img]//tr[not(.//img)]")
    return [text for text in (" ".join(row.text_content().split()) for row in rows) if text]


def _qdnd_page(record: dict[str, Any], index: int) -> str:
    """A minimal qdnd page (our own skeleton) around one real body fragment."""
    summary = "" if record["summary"] == "No Summary Found" else f"<p class='logo-online'>{record['summary']}</p>"
    return (
        f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>{record['title']}</title>"
        f"<link rel='canonical' href='{_qdnd_url(index)}'></head><body>"
        f"<h1 class='post-title'>{record['title']}</h1>{summary}{record['article_text']}</body></html>"
    )


def _page_urls(shared: Path) -> dict[str, str]:
    truth = json.loads((shared / "tracking-news-mcp-fixtures/ground_truth.json").read_text(encoding="utf-8"))
    urls = {f"tracking-news-mcp-fixtures/{a['file']}": a["url"] for a in truth["articles"]}
    fundus = json.loads((shared / "fundus/vn/meta.info").read_text(encoding="utf-8"))
    urls.update({f"fundus/vn/{name}": info["url"] for name, info in fundus.items()})
    htmldate = json.loads((shared / "htmldate-vnexpress/eval_default.vnexpress_subset.json").read_text("utf-8"))
    urls.update({f"htmldate-vnexpress/{entry['file']}": url for url, entry in htmldate.items()})
    return urls


def replay_real_pages(shared: Path, workdir: Path) -> dict[str, dict[str, Any]]:
    """Replay every page the expectations name; page key -> stored article (plus ``_source`` for qdnd)."""
    expected = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))["pages"]
    urls = _page_urls(shared)
    records = json.loads((shared / QDND_BODIES).read_text(encoding="utf-8"))
    files, sources = [], {}
    for key in expected:
        if key.startswith(QDND_BODIES):
            index = int(key.split("#")[1])
            page = workdir / f"qdnd-{index}.html"
            page.write_text(_qdnd_page(records[index], index), encoding="utf-8")
            files.append(page)
            urls[key] = _qdnd_url(index)
            sources[key] = records[index]["article_text"]
        else:
            files.append(shared / key)
    db_path = workdir / "real.db"
    result = run_scrapy("replay", *map(str, files), db=db_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    db = Database(db_path)
    found = {}
    for key in expected:
        rows = list(db.query(
            "SELECT a.* FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = ?", [urls[key]]
        ))
        assert rows, f"{key}: no article stored under {urls[key]}"
        found[key] = {**rows[0], "_source": sources.get(key)}
    return found


def holds(check: str, expected: Any, article: dict[str, Any], shared: Path) -> bool:
    """Whether one expectation holds for the stored article."""
    text = article["text"] or ""
    content = f"{article['description'] or ''}\n{text}"  # the lead is kept as the description
    source = article["_source"]
    if check in ("title", "author", "published", "modified", "category", "description", "tags"):
        return article[check] == expected
    if check == "title_startswith":
        return (article["title"] or "").startswith(expected)
    if check == "title_nonempty":
        return bool(article["title"])
    if check == "published_minute":
        return (article["published"] or "")[:16] == expected and article["published"].endswith("+07:00")
    if check == "published_date":
        return (article["published"] or "")[:10] == expected
    if check == "content_contains":
        return all(snippet in content for snippet in expected)
    if check == "content_contains_lower":
        return all(snippet in content.lower() for snippet in expected)
    if check == "text_excludes":
        return not any(snippet in text for snippet in expected)
    if check == "text_not_starting_with":
        return not text.startswith(expected)
    if check == "text_not_ending_with":
        return not text.endswith(expected)
    if check == "paragraphs_from":
        truth = json.loads((shared / expected).read_text(encoding="utf-8"))["V1"]["body"]["sections"]
        return text.split("\n") == [p for section in truth for p in section["paragraphs"]]
    if check == "qdnd_footer_removed":
        return "Mời bạn đọc" not in text and "Chuyên mục Quân sự thế giới hôm nay trên" not in text
    if check == "qdnd_byline_removed":
        byline = _paragraphs(source)[-2]
        return byline not in text.split("\n")
    if check == "qdnd_captions_kept":
        return all(caption in text for caption in _captions(source))
    if check == "no_table_pipes":
        return "|" not in text
    raise ValueError(f"unknown check {check!r} in {EXPECTATIONS.name}")


def evaluate(shared: Path, workdir: Path) -> dict[str, bool]:
    """``page:check`` -> whether it holds, for every expectation in the file."""
    expected = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))["pages"]
    articles = replay_real_pages(shared, workdir)
    return {
        f"{key}:{check}": holds(check, value, articles[key], shared)
        for key, checks in expected.items()
        for check, value in checks.items()
    }


@pytest.fixture(scope="module")
def results(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    return evaluate(shared_data, tmp_path_factory.mktemp("real"))


def test_recorded_expectations_still_hold(results: dict[str, bool]) -> None:
    met = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))["met"]
    unknown = [key for key in met if key not in results]
    assert not unknown, f"recorded as met but not an expectation: {unknown}"
    broken = [key for key in met if not results[key]]
    assert not broken, f"expectations met before and not now: {broken}"
    rate = sum(results.values())
    print(f"extraction expectations met: {rate}/{len(results)}")


def test_recorded_list_does_not_shrink() -> None:
    met = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))["met"]
    assert len(set(met)) == len(met), "duplicate keys in 'met'"
    assert len(met) >= MET_AT_LEAST, (
        f"{EXPECTATIONS.name} records {len(met)} met expectations, fewer than MET_AT_LEAST={MET_AT_LEAST}"
    )


def _record() -> None:
    if not SHARED_DATA.is_dir():
        sys.exit(f"{SHARED_DATA} is absent")
    with tempfile.TemporaryDirectory() as workdir:
        outcome = evaluate(SHARED_DATA, Path(workdir))
    document = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))
    before = set(document["met"])
    lost = sorted(before - {key for key, ok in outcome.items() if ok})
    document["met"] = [key for key, ok in outcome.items() if ok]
    EXPECTATIONS.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"met {len(document['met'])}/{len(outcome)}; set MET_AT_LEAST = {len(document['met'])}")
    for key in lost:
        print("no longer met:", key)
    for key, ok in outcome.items():
        if not ok:
            print("not met:", key)


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_extract_real.py --record")
    _record()
