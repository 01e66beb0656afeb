"""Replay: seeds into the database through the real pipelines, in process (tests/inprocess.py)."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlite_utils import Database

from crawler.spiders.replay import ReplaySpider
from pipelines.runs import run_counts
from tests.conftest import SEEDS
from tests.inprocess import exit_status, run_spider

SEED_000 = SEEDS / "000_cb3248bbcccbdf52.txt"
SEED_002 = SEEDS / "002_290e18c0390ff467.txt"


async def replay(db: Path, *paths: Path | str, **settings):
    """The crawler of a replay of ``paths`` (default: the seeds) into ``db``."""
    return await run_spider(ReplaySpider, db, settings, paths=[str(path) for path in paths or [SEEDS]])


def articles(db: Path) -> list[dict]:
    return list(Database(db)["articles"].rows_where(order_by="id"))


def test_seed_files_are_the_shared_seed_documents(shared_data):
    shared_seeds = shared_data.parent / "seeds"
    for shared in shared_seeds.iterdir():
        assert (SEEDS / shared.name).read_bytes() == shared.read_bytes()


@deferred_f_from_coro_f
async def test_replay_seeds_gives_two_clean_articles(db_path):
    crawler = await replay(db_path)
    assert exit_status(crawler) == 0
    assert crawler.stats.get_value("replay/files") == 2 and run_counts(crawler.stats)["new"] == 2
    first, second = articles(db_path)

    assert first["url"] == "seed:000_cb3248bbcccbdf52.txt"
    assert first["title"] == (
        "Năm 2022, Đảng ủy Tổng cục Kỹ thuật đã lãnh đạo triển khai toàn diện các mặt công tác, đạt kết quả tốt"
    )
    assert first["author"] == "Sơn Bình"
    assert "leftcenterrightdel" not in first["text"]
    assert "Tin, ảnh" not in first["text"]
    assert "Thượng tướng Lê Huy Vịnh phát biểu chỉ đạo tại hội nghị." in first["text"].split("\n")
    assert "Trung tướng Trần Duy Hưng, Bí thư Đảng ủy, Chính ủy Tổng cục Kỹ thuật chủ trì hội nghị." in first["text"]

    assert second["title"] == "Tổng cục Kỹ thuật tập trung vào khâu then chốt để thực hiện thắng lợi mọi nhiệm vụ"
    assert second["author"] == "Trần Duy Hưng"
    for junk in ("Rate this post", "Leave a Reply", "Your email address", "TRẦN DUY HƯNG"):
        assert junk not in second["text"]
    assert second["text"].startswith("Đảng ủy Tổng cục Tài chính")

    for article in (first, second):
        assert article["language"] == "vi"
        assert article["word_count"] == len(article["text"].split())
        assert unicodedata.is_normalized("NFC", article["text"])
        assert "  " not in article["text"] and "\n\n" not in article["text"]

    db = Database(db_path)
    assert db["article_urls"].count == 2
    run = next(db["crawl_runs"].rows)
    assert (run["command"], run["status"], run["new"], run["failed"]) == ("replay", "finished", 2, 0)
    assert run["finished"] >= run["started"]


@deferred_f_from_coro_f
async def test_second_replay_adds_nothing(db_path):
    assert exit_status(await replay(db_path)) == 0
    crawler = await replay(db_path)
    assert exit_status(crawler) == 0
    counts = run_counts(crawler.stats)
    assert (counts["new"], counts["unchanged"]) == (0, 2)
    db = Database(db_path)
    assert (db["articles"].count, db["article_urls"].count, db["crawl_runs"].count) == (2, 2, 2)


def variants(folder: Path) -> dict[str, str]:
    text_000 = SEED_000.read_text(encoding="utf-8")
    text_002 = SEED_002.read_text(encoding="utf-8")
    files = {
        "nfd.txt": unicodedata.normalize("NFD", text_000),
        "crlf.txt": text_000.replace("\n", "\r\n"),
        "spaces.txt": text_000.replace(" ", "  ").replace("\n\n", "\n \t\n\n"),
        "wordpress.txt": text_002.replace(
            "Rate this post", "Rate this post\n\n(No Ratings Yet)\n\nChia sẻ bài viết:\n\nFacebook Twitter Zalo"
        )
        + "\nSave my name, email, and website in this browser for the next time I comment.\n\nPost Comment\n",
        "with-bom.txt": "\ufeff" + text_002,
    }
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    return files


@deferred_f_from_coro_f
async def test_copies_of_a_seed_become_aliases(db_path, tmp_path):
    copies = tmp_path / "copies"
    copies.mkdir()
    files = variants(copies)
    assert exit_status(await replay(db_path)) == 0
    crawler = await replay(db_path, copies)
    assert exit_status(crawler) == 0
    counts = run_counts(crawler.stats)
    assert (counts["duplicate"], counts["new"]) == (len(files), 0)

    db = Database(db_path)
    assert db["articles"].count == 2
    by_url = {row["url"]: row["article_id"] for row in db["article_urls"].rows}
    assert {by_url[f"seed:{name}"] for name in ("nfd.txt", "crlf.txt", "spaces.txt")} == {1}
    assert {by_url[f"seed:{name}"] for name in ("wordpress.txt", "with-bom.txt")} == {2}
    run = list(db["crawl_runs"].rows)[-1]
    assert run["duplicate"] == len(files)


@deferred_f_from_coro_f
async def test_bad_seed_files_are_reported_and_the_rest_go_in(db_path, tmp_path, caplog):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SEED_000, folder / "good.txt")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (folder / "latin1.txt").write_bytes("Tiêu đề bài báo\n\nNội dung".encode("utf-16"))
    (folder / "big.txt").write_bytes(b"a " * 3000)
    (folder / "ignored.md").write_text("not a seed")

    crawler = await replay(db_path, folder, tmp_path / "missing.txt", SEEDS_MAX_BYTES=5000)
    assert exit_status(crawler) == 1
    log = caplog.text
    assert "empty.txt: empty file" in log
    assert "binary.txt: binary file" in log
    assert "latin1.txt: " in log and ("not UTF-8" in log or "binary file" in log)
    assert "big.txt: too large: 6000 bytes, over SEEDS_MAX_BYTES=5000" in log
    assert "missing.txt: no such file or folder" in log
    counts = run_counts(crawler.stats)
    assert (counts["new"], counts["failed"]) == (1, 5)

    db = Database(db_path)
    assert db["articles"].count == 1
    failures = {Path(row["url"]).name: row["reason"] for row in db["failures"].rows}
    assert set(failures) == {"empty.txt", "binary.txt", "latin1.txt", "big.txt", "missing.txt"}
    run = next(db["crawl_runs"].rows)
    assert (run["new"], run["failed"]) == (1, 5)


@deferred_f_from_coro_f
async def test_seed_headers_give_url_site_and_date(db_path, tmp_path):
    seed = tmp_path / "with-url.txt"
    seed.write_text(
        "URL: https://www.qdnd.vn/quoc-phong/bai-viet-123\nPublished: 2023-01-10T08:30:00+07:00\n\n"
        "Tiêu đề có đường dẫn\n\nĐoạn đầu tiên của bài báo nói về hội nghị tổng kết công tác kỹ thuật năm 2022.\n",
        encoding="utf-8",
    )
    assert exit_status(await replay(db_path, seed)) == 0
    (article,) = articles(db_path)
    assert article["url"] == "https://www.qdnd.vn/quoc-phong/bai-viet-123"
    assert article["site"] == "qdnd.vn"
    assert article["published"] == "2023-01-10T08:30:00+07:00"
    assert article["title"] == "Tiêu đề có đường dẫn"


@pytest.mark.parametrize("header", ["URL: ftp://example.com/x", "URL: qdnd.vn/bai"])
@deferred_f_from_coro_f
async def test_bad_url_header_is_refused(db_path, tmp_path, header, caplog):
    seed = tmp_path / "bad-url.txt"
    seed.write_text(f"{header}\n\nMột đoạn văn bản đủ dài để làm bài báo.\n", encoding="utf-8")
    assert exit_status(await replay(db_path, seed)) == 1
    assert "bad-url.txt: URL header must start with http:// or https://" in caplog.text


def rglob_seed_paths(folder: Path) -> list[tuple[Path, str | None]]:
    """What iter_seed_paths gave before it read folders with os.scandir: the reference order and refusals."""
    from crawler.seeds import reader_for

    found = []
    for child in sorted(folder.rglob("*")):
        if any(p.startswith(".") for p in child.relative_to(folder).parts):
            continue
        if child.is_symlink() and child.is_dir():
            found.append((child, "folder link"))
        elif child.is_file() and reader_for(child):
            outside = child.is_symlink() and not child.resolve().is_relative_to(folder.resolve())
            found.append((child, "outside" if outside else None))
    return found


def test_folder_seeds_come_in_the_order_and_with_the_refusals_of_a_sorted_rglob(tmp_path: Path) -> None:
    from crawler.seeds import iter_seed_paths

    folder, outside = tmp_path / "seeds", tmp_path / "outside"
    for name in ["a.txt", "a b/x.txt", "a-b/y.html", "a/z.txt", "a/b/c.htm", "B.txt", "b.html.gz", "Z/1.txt",
                 ".hidden/h.txt", "a/.h.txt", "notes.md", "a/b/d.txt"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x")
    outside.mkdir()
    (outside / "o.txt").write_text("x")
    (folder / "a" / "in.txt").symlink_to(folder / "a.txt")
    (folder / "out.txt").symlink_to(outside / "o.txt")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / "broken.txt").symlink_to(tmp_path / "gone.txt")
    got = [(path, None if why is None else "folder link" if "link to the folder" in why else "outside")
           for path, why in iter_seed_paths([folder])]
    assert got == rglob_seed_paths(folder) and len(got) == 12
