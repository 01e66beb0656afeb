"""The per-page function, in process: one fetched page in, a finished record (or a listing's links) out."""

from __future__ import annotations

import gzip
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from pipelines.neardup.minhash import Banding, Signature, Signer
from pipelines.page import Fetched, PageOptions, content_hash, process_page, process_text
from pipelines.vietnamese.text import fold
from tests.conftest import ROOT

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
