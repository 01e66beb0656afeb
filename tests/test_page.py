"""The per-page function, in process: one fetched page in, a finished record (or a listing's links) out."""

from __future__ import annotations

import gzip
import subprocess
from dataclasses import replace
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from pipelines.neardup.minhash import Banding, Signature, Signer
from pipelines.page import Fetched, PageOptions, content_hash, process_page, process_text
from pipelines.vietnamese.text import fold
from tests.conftest import ROOT
from tests.newsite import windows_1258

PAGES = Path(__file__).parent / "pages"
OPTIONS = PageOptions()
CANONICAL = "https://www.qdnd.vn/xa-hoi/bo-doi-bien-phong-giup-dan-thu-hoach-ca-phe-1052001"
LISTING = (
    "<html><head><title>Thời sự</title><link rel='alternate' type='application/rss+xml' href='/rss.xml'></head>"
    "<body><ul><li><a href='/thoi-su/tin-mot-10001.html#binh-luan'>Tin một</a></li>"
    "<li><a href='https://khac.vn/tin-hai-10002.html'>Tin hai</a></li></ul>"
    "<a rel='next' href='/thoi-su?trang=2'>Trang sau</a></body></html>"
)


def article(name: str = "jsonld_article.html", domain: str = "qdnd.vn") -> Fetched:
    return Fetched("https://www.qdnd.vn/tin/1052001?utm_source=zalo", (PAGES / name).read_bytes(),
                   "text/html; charset=utf-8", domain=domain)


def test_an_article_page_becomes_a_finished_record():
    result = process_page(article(), OPTIONS)
    assert (result.kind, result.url) == ("article", CANONICAL)  # the page's own URL, on the site
    fields = result.fields
    assert fields["author"] == "Vũ Dung" and fields["title"].startswith("Bộ đội biên phòng")
    assert fields["text"] == unicodedata.normalize("NFC", fields["text"]) and "\n" in fields["text"]
    assert fields["content_hash"] == content_hash(fields["text"])
    assert fields["word_count"] == len(fields["text"].split())
    assert fields["text_folded"] == fold(fields["text"]) and fields["title_folded"] == fold(fields["title"])
    # The signature and band keys are what the writer would compute from the text.
    signature = Signer().sign(fields["text"])
    assert np.array_equal(Signature.from_blob(fields["signature"], fields["shingles"]).values, signature.values)
    assert fields["shingles"] == signature.size
    keys = Banding(128, 0.25).keys(signature.values[np.newaxis, :])[0]
    assert np.array_equal(np.frombuffer(fields["band_keys"], np.uint64), keys)
    assert gzip.decompress(fields["page_gz"]).decode("utf-8") == (PAGES / "jsonld_article.html").read_text("utf-8")


def test_a_stored_page_gives_the_same_record():
    fetched = process_page(article(), OPTIONS)
    stored = process_page(Fetched(CANONICAL, fetched.fields["page_gz"], kind="article", canonical="never",
                                  gzipped=True), OPTIONS)
    assert stored.fields == fetched.fields


def sent_gzipped(page: Fetched, data: bytes | None = None, max_size: int = 0) -> Fetched:
    """``page`` as a site sends it compressed, passed on by the engine as it came."""
    return Fetched(page.url, gzip.compress(page.body, mtime=0) if data is None else data, page.content_type,
                   domain=page.domain, gzipped=True, max_size=max_size)


def test_a_page_sent_gzipped_is_read_by_the_worker_and_stored_as_it_came():
    plain = process_page(article(), OPTIONS)
    sent = sent_gzipped(article())
    result = process_page(sent, OPTIONS)
    assert result.fields.pop("page_gz") == sent.body  # not compressed again
    assert result.fields == {k: v for k, v in plain.fields.items() if k != "page_gz"}


@pytest.mark.parametrize("damage", ["no trailer", "two members", "legacy charset"])
def test_a_gzipped_page_that_cannot_be_stored_as_it_came_is_compressed_anew(damage):
    page = article()
    data = gzip.compress(page.body, mtime=0)
    if damage == "no trailer":  # its text is whole (Scrapy reads it too); the file is not
        sent = sent_gzipped(page, data[:-8])
    elif damage == "two members":
        half = len(page.body) // 2
        sent = sent_gzipped(page, gzip.compress(page.body[:half]) + gzip.compress(page.body[half:]))
    else:  # read by the header's charset: the stored page must not need the header
        legacy = page.body.decode("utf-8").replace("charset=utf-8", "").replace('charset="utf-8"', "")
        sent = replace(sent_gzipped(page, gzip.compress(windows_1258(legacy))), content_type="text/html; charset=windows-1258")
    result = process_page(sent, OPTIONS)
    assert result.kind == "article" and result.fields["title"].startswith("Bộ đội biên phòng")
    stored = gzip.decompress(result.fields["page_gz"])
    assert result.fields["page_gz"] != sent.body and stored.decode("utf-8")  # UTF-8 now
    again = process_page(Fetched(CANONICAL, result.fields["page_gz"], kind="article", canonical="never",
                                 gzipped=True), OPTIONS)
    assert again.fields["content_hash"] == result.fields["content_hash"]


def test_a_gzipped_page_cut_short_or_too_large_is_a_failed_fetch():
    data = gzip.compress(article().body)
    cut = process_page(sent_gzipped(article(), data[: len(data) // 2]), OPTIONS)
    assert (cut.kind, cut.stage) == ("failed", "fetch")
    assert cut.reason.startswith("truncated: the gzip-compressed page is cut short or corrupt")
    size = len(article().body)
    big = process_page(sent_gzipped(article(), max_size=size - 1), OPTIONS)
    assert (big.kind, big.stage) == ("failed", "fetch")
    assert big.reason.startswith(f"too large: the page is over DOWNLOAD_MAXSIZE={size - 1} bytes once decompressed")
    assert process_page(sent_gzipped(article(), max_size=size), OPTIONS).kind == "article"


def test_a_canonical_url_on_another_site_is_not_taken():
    result = process_page(article(domain="baomoi.vn"), OPTIONS)
    assert result.url == "https://www.qdnd.vn/tin/1052001"  # the fetched URL, cleaned


def test_a_listing_gives_its_links_and_feeds():
    result = process_page(Fetched("https://bao.vn/thoi-su", LISTING.encode(), "text/html"), OPTIONS)
    assert result.kind == "listing" and result.fields == {}
    assert result.links.links == ["https://bao.vn/thoi-su/tin-mot-10001.html", "https://khac.vn/tin-hai-10002.html",
                                  "https://bao.vn/thoi-su?trang=2"]
    assert result.links.next_pages == ["https://bao.vn/thoi-su?trang=2"]
    assert result.links.feeds == ["https://bao.vn/rss.xml"]


def test_a_saved_page_takes_its_own_url_or_fails_saying_how_to_give_one():
    saved = (PAGES / "jsonld_article.html").read_bytes()
    assert process_page(Fetched(None, saved, kind="article", canonical="any"), OPTIONS).url == CANONICAL
    bare = "<html><body><h1>Tin không có địa chỉ</h1><p>...</p></body></html>".encode()
    result = process_page(Fetched(None, bare, kind="article", canonical="any"), OPTIONS)
    assert (result.kind, result.stage) == ("failed", "url") and "--url" in result.reason


def test_a_page_without_text_fails_and_a_text_without_words_is_empty():
    video = b"<html><head><meta property='og:type' content='article'></head><body><h1>Clip</h1></body></html>"
    result = process_page(Fetched("https://bao.vn/clip-10001.html", video, domain="bao.vn"), OPTIONS)
    assert (result.kind, result.reason) == ("failed", "no article text found in the page")
    assert process_text({"text": " \u200b \n "}, OPTIONS).kind == "empty"


def test_options_turn_signing_and_pages_off():
    result = process_page(article(), PageOptions(neardup=None, keep_page=False))
    assert "signature" not in result.fields and "page_gz" not in result.fields


@pytest.mark.parametrize("module", ["pipelines.page", "pipelines.workers"])
def test_the_workers_import_neither_scrapy_nor_scipy(module):
    """What a worker imports is what it costs in memory: the function needs none of these (asyncio
    is the pool's, in the engine)."""
    heavy = ("scrapy", "twisted", "scipy", "datasketch", "asyncio", "rich")
    code = (f"import sys, {module}; from pipelines.page import extraction; extraction(); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("html", [
    *(path.read_text("utf-8") for path in sorted(PAGES.glob("*.html"))),
    "<p>a fragment</p>", "plain text, no markup", "",
    "<!DOCTYPE html/>\n<html/><body><p>a</p></body></html>",
    "<?xml version='1.0' encoding='utf-8'?><html><body><p>a</p></body></html>",
])
def test_a_valid_page_is_parsed_as_trafilatura_parses_it(html):
    """Our parse of a page known to hold no character XML forbids skips only trafilatura's scan for them."""
    from lxml import etree
    from trafilatura.utils import load_html

    from pipelines.page import _parse_valid, _valid_xml_bytes

    assert _valid_xml_bytes(html.encode("utf-8"))
    theirs, ours = load_html(html), _parse_valid(html)
    assert (etree.tostring(ours) if ours is not None else None) == (etree.tostring(theirs) if theirs is not None else None)


@pytest.mark.parametrize("text", ["a\x00b", "a\x08b", "a\x1fb", "a\ufffeb", "a\uffffb"])
def test_characters_xml_forbids_send_a_page_to_trafilatura_s_own_parse(text):
    from pipelines.page import _valid_xml_bytes

    assert not _valid_xml_bytes(text.encode("utf-8")) and _valid_xml_bytes("a\tb\nc\rđ".encode("utf-8"))
    page = process_page(Fetched("https://bao.vn/a", f"<html><body><p>{text}</p></body></html>".encode(), "text/html"), OPTIONS)
    assert page.kind == "listing"  # read (by trafilatura's load_html, which drops the character)
