"""Gzip-compressed pages, read without Scrapy: the engine passes a page on as the site sent it.

Most sites send their pages gzip-compressed. Scrapy decompresses each one in the
engine process, and the per-page function then compressed it again for the
``pages`` table: two passes over a few hundred KB, about 3 ms a page, and the
engine's one thread held the whole page in memory meanwhile. Now the engine
hands the compressed bytes to a worker (:class:`crawler.middlewares.GzipPageMiddleware`),
which reads them here and stores them as they came when they are a whole gzip
file of UTF-8 text.

Decompression is as lenient as Scrapy's about the 8-byte trailer (a page whose
compressed data ends is whole, even without its CRC), and strict about the data
itself: a stream cut short is refused (:class:`GzipTruncated`), never stored as
half an article. The decompressed size is capped (:class:`GzipTooLarge`).
"""

from __future__ import annotations

import zlib

__all__ = ["GzipTooLarge", "GzipTruncated", "gunzip_head", "gunzip_page", "gzip_complete"]

TRUNCATED = "truncated: the gzip-compressed page is cut short or corrupt"
_STEP = 1 << 16


class GzipTruncated(ValueError):
    """The compressed data does not end: the page was cut short, or is corrupt."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{TRUNCATED} ({size} bytes came); not stored as half an article")


class GzipTooLarge(ValueError):
    """The page is larger than allowed once decompressed."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"too large: the page is over DOWNLOAD_MAXSIZE={max_size} bytes once decompressed "
                         f"({size} bytes compressed)")


def gzip_header_length(data: bytes) -> int | None:
    """The length of the gzip header at the start of ``data`` (RFC 1952); None when it is not one."""
    if len(data) < 10 or data[:2] != b"\x1f\x8b" or data[2] != 8:
        return None
    flags, position = data[3], 10
    if flags & 4:  # FEXTRA
        position += 2 + int.from_bytes(data[position:position + 2], "little")
    for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            end = data.find(b"\0", position)
            if end < 0:
                return None
            position = end + 1
    if flags & 2:  # FHCRC
        position += 2
    return position if position <= len(data) else None


def _inflate(data: bytes, max_size: int | None, keep: bool) -> tuple[bytes, bytes] | None:
    """(the decompressed bytes, or b"" when not ``keep``; what follows the deflate data), or None
    when the data does not end. Raises :class:`GzipTooLarge` past ``max_size`` bytes (None: no cap)."""
    start = gzip_header_length(data)
    if start is None:
        return None
    stream = zlib.decompressobj(-zlib.MAX_WBITS)
    parts, size, chunk = [], 0, data[start:]
    try:
        while True:
            out = stream.decompress(chunk, _STEP)
            size += len(out)
            if max_size is not None and size > max_size:
                raise GzipTooLarge(len(data), max_size)
            if keep:
                parts.append(out)
            chunk = stream.unconsumed_tail
            if stream.eof or not chunk:
                break
    except zlib.error:
        return None  # corrupt: as a cut stream, nothing after the damage can be trusted
    if not stream.eof:
        return None
    return b"".join(parts), stream.unused_data


def gzip_complete(data: bytes) -> bool:
    """Whether ``data`` holds a gzip stream whose compressed data ends (its output is kept nowhere).

    Only the deflate data counts: a stream whose 8-byte trailer (CRC, size) is missing or wrong still
    holds the whole page, which Scrapy's lenient decompression then reads, as it always did.
    """
    return _inflate(data, None, keep=False) is not None


def gunzip_page(data: bytes, max_size: int | None = None) -> tuple[bytes, bool]:
    """(the page, whether ``data`` is a whole gzip file: one member, its trailer right, nothing after it).

    Raises :class:`GzipTruncated` when the compressed data does not end, :class:`GzipTooLarge` when the
    page is over ``max_size`` bytes (0 or None: no cap, as Scrapy's ``DOWNLOAD_MAXSIZE``).
    """
    try:
        return _members(data, max_size or None)
    except GzipTooLarge:
        raise GzipTooLarge(len(data), max_size or 0) from None


def _members(data: bytes, max_size: int | None) -> tuple[bytes, bool]:
    inflated = _inflate(data, max_size, keep=True)
    if inflated is None:
        raise GzipTruncated(len(data))
    page, rest = inflated
    if rest[8:10] == b"\x1f\x8b":  # another member follows (rare): read on, as Scrapy does; stored anew
        more, _ = _members(rest[8:], max_size - len(page) if max_size is not None else None)
        return page + more, False
    whole = (len(rest) == 8 and int.from_bytes(rest[:4], "little") == zlib.crc32(page)
             and int.from_bytes(rest[4:], "little") == len(page) & 0xFFFFFFFF)
    return page, whole


def gunzip_head(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes of a gzip-compressed page, as far as they can be read."""
    start = gzip_header_length(data)
    if start is None:
        return b""
    try:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[start:], size)
    except zlib.error:
        return b""
