"""Gzip pages read without Scrapy (pipelines/compression.py), and the engine's way of passing them on."""

from __future__ import annotations

import gzip

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares import GzipPageMiddleware, TruncatedResponse, head_meta_refresh
from pipelines.compression import GzipTooLarge, GzipTruncated, gunzip_head, gunzip_page

PAGE = ('<html><head><meta http-equiv="refresh" content="0; url=/bai-moi-10002.html"></head><body>'
        + "<p>Tin mới nhất hôm nay.</p>" * 2000 + "</body></html>").encode()
DATA = gzip.compress(PAGE, mtime=0)


def test_a_whole_gzip_file_reads_as_itself():
    assert gunzip_page(DATA) == (PAGE, True)
    assert gunzip_page(DATA, len(PAGE)) == (PAGE, True)


def test_the_trailer_is_not_needed_to_read_a_page_but_to_keep_the_file():
    assert gunzip_page(DATA[:-8]) == (PAGE, False)
    assert gunzip_page(DATA[:-4]) == (PAGE, False)


def test_every_member_is_read_and_counts_against_the_size():
    assert gunzip_page(DATA + DATA) == (PAGE + PAGE, False)
    with pytest.raises(GzipTooLarge, match=rf"DOWNLOAD_MAXSIZE={len(PAGE) + 10} bytes once decompressed "
                                           rf"\({2 * len(DATA)} bytes compressed\)"):
        gunzip_page(DATA + DATA, len(PAGE) + 10)


@pytest.mark.parametrize("data", [DATA[: len(DATA) // 2], DATA[:12], DATA[:10] + b"\xff" * 50, b"<html>not gzip</html>"])
def test_a_stream_cut_short_or_corrupt_is_refused(data):
    with pytest.raises(GzipTruncated, match=rf"cut short or corrupt \({len(data)} bytes came\)"):
        gunzip_page(data)


def test_the_head_of_a_page_is_read_alone():
    assert gunzip_head(DATA, 100) == PAGE[:100]
    assert gunzip_head(b"not gzip", 100) == b""


def respond(meta: dict, body: bytes, encoding: str = "gzip", content_type: bytes = b"text/html") -> tuple:
    request = Request("http://127.0.0.1/bai-10001.html", meta=meta)
    response = HtmlResponse(request.url, body=body, request=request,
                            headers={"Content-Encoding": encoding, "Content-Type": content_type})
    return request, GzipPageMiddleware.from_crawler(get_crawler()).process_response(request, response)


def test_a_page_for_the_workers_keeps_its_gzip_body_and_scrapy_leaves_it_alone():
    request, response = respond({"pass_gzip": True}, DATA)
    assert response.body == DATA and b"Content-Encoding" not in response.headers
    assert request.meta["body_gzipped"] is True
    # The meta refresh is read from the head of the compressed page.
    assert head_meta_refresh(response, [], gzipped=True) == (0.0, "http://127.0.0.1/bai-moi-10002.html")


@pytest.mark.parametrize("meta, encoding", [({}, "gzip"), ({"pass_gzip": True}, "br, gzip"), ({"pass_gzip": True}, "br")])
def test_other_bodies_go_through_scrapy_s_decompression(meta, encoding):
    request, response = respond(meta, DATA, encoding)
    assert response.headers[b"Content-Encoding"] == encoding.encode() and "body_gzipped" not in request.meta


def test_a_gzip_body_cut_short_that_scrapy_would_read_is_refused():
    with pytest.raises(TruncatedResponse, match="^truncated: the gzip-compressed page is cut short"):
        respond({}, DATA[: len(DATA) // 2])
