"""Read seed files: plain-text articles and saved pages (through READERS, by suffix).

A text seed is UTF-8 text. It may begin with header lines (``URL:``, ``Site:``,
``Published:``, ``Author:``, ``Title:``) and a blank line; then an optional
headline (one short line with no final full stop, followed by a blank line);
then the paragraphs.

A saved page (``.html``, ``.htm``, optionally gzipped as ``.html.gz``) goes
through the per-page function like a fetched one, under the URL it states
(``<link rel="canonical">``, else ``og:url``) or the one given with ``--url``,
and must pass the same "is this an article" test (a listing page is skipped).

Reading a seed does no parsing of HTML: a text seed becomes the fields of an
extracted article (:class:`TextSeed`), a saved page the bytes of a fetched one
(:class:`~pipelines.page.Fetched`); the workers do the rest.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from typing import Any, Union

from crawler.urls import host
from pipelines.page import Fetched, PageOptions, PageResult, process_text

# A text seed: the fields of an extracted article (url, via, site, text, title, author, published).
TextSeed = dict[str, Any]
Seed = Union[TextSeed, Fetched]


class SeedError(ValueError):
    """A seed file cannot be used; the message says why."""


HEADER = re.compile(r"^(?P<key>URL|Site|Published|Author|Title)\s*:\s*(?P<value>\S.*?)\s*$", re.IGNORECASE)
HEADLINE_MAX_CHARS = 200


MISSING = "no such file or folder; check the path"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or :class:`SeedError` for missing, empty or too large files."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise SeedError(MISSING) from exc
    except OSError as exc:
        raise SeedError(f"cannot read: {exc.strerror or exc}") from exc
    if size == 0:
        raise SeedError("empty file: put an article in it, or remove it")
    if size > max_bytes:
        raise SeedError(f"too large: {size} bytes, over SEEDS_MAX_BYTES={max_bytes}; "
                        "split it, or raise the limit with -s SEEDS_MAX_BYTES=N")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read: {exc.strerror or exc}") from exc


def decode_text(data: bytes) -> str:
    """UTF-8 text (a BOM is allowed), or :class:`SeedError` for binary or other encodings."""
    # UTF-16 (what some Windows editors save) is full of NUL bytes: say what it is, not "binary".
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SeedError("UTF-16 text, not UTF-8; save it as UTF-8")
    if b"\x00" in data:
        raise SeedError("binary file (contains NUL bytes), not a text seed; a text seed is UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from exc
    if not text.strip():
        raise SeedError("empty file (whitespace only): put an article in it, or remove it")
    return text


def parse_text_seed(text: str, name: str) -> TextSeed:
    """Split a text seed into headers, headline and body (see the module docstring)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    headers: dict[str, str] = {}
    while lines and (match := HEADER.match(lines[0])):
        headers[match["key"].lower()] = match["value"]
        lines.pop(0)
    if headers and "url" in headers and not headers["url"].startswith(("http://", "https://")):
        raise SeedError(f"URL header must start with http:// or https://, got {headers['url']!r}")
    while lines and not lines[0].strip():
        lines.pop(0)
    title = headers.get("title")
    if (
        not title
        and len(lines) > 2
        and not lines[1].strip()
        and len(lines[0].strip()) <= HEADLINE_MAX_CHARS
        and not lines[0].strip().endswith((".", "!", "?", "…", ":", ";"))
    ):
        title = lines[0].strip()
        lines = lines[2:]
    body = "\n".join(lines).strip()
    if not body:
        raise SeedError("no body text")
    url = headers.get("url") or f"seed:{name}"
    site = headers.get("site") or site_of(url)
    return {"url": url, "via": "seed", "site": site, "text": body, "title": title,
            "author": headers.get("author"), "published": headers.get("published")}


def read_text_seed(path: Path, max_bytes: int, url: str | None = None) -> TextSeed:
    seed = parse_text_seed(decode_text(read_bytes(path, max_bytes)), path.name)
    if url:
        seed.update(url=url, site=site_of(url))
    return seed


@dataclass
class SeedFiles:
    """Text seed files for a worker to read and process (:func:`process_seed_files`), ``url`` as for
    :func:`read_text_seed`: a replay's engine then reads no file of them, it writes."""

    paths: list[str]
    max_bytes: int
    url: str | None = None


def process_seed_files(job: SeedFiles, options: PageOptions) -> list[PageResult]:
    """Each file of ``job`` read and through :func:`pipelines.page.process_text`; a file that cannot be
    a seed gives a failure of stage ``seed`` with the reason."""
    results = []
    for path in job.paths:
        try:
            seed = read_text_seed(Path(path), job.max_bytes, url=job.url)
        except SeedError as exc:
            results.append(PageResult("failed", reason=str(exc), stage="seed"))
            continue
        results.append(process_text(seed, options))
    return results


def site_of(url: str) -> str | None:
    """The site name of a URL: its host without ``www.`` (as in the sites file)."""
    return host(url) or None


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            page = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise SeedError(f"not a readable gzip file ({exc}); gzip the page again, or save it as .html") from exc
    if len(page) > max_bytes:
        raise SeedError(f"too large once decompressed: over SEEDS_MAX_BYTES={max_bytes}")
    return page


def read_saved_page(path: Path, max_bytes: int, url: str | None = None) -> Fetched:
    """A saved HTML page (``.html``, ``.htm``, ``.html.gz``) as a fetched page.

    Its URL is ``url`` when given, else the one the page states (found by the worker). Whether
    it is an article the page says, by the same test as a crawled page's (found by the worker too).
    """
    data = read_bytes(path, max_bytes)
    if path.name.lower().endswith(".gz"):
        data = _gunzip(data, max_bytes)
    if b"\x00" in data[:4096]:
        raise SeedError("binary file (contains NUL bytes), not an HTML page; save the page as HTML")
    if b"<" not in data:
        raise SeedError("not an HTML page (no markup); save plain text as a .txt seed")
    return Fetched(url, data, url_says_article=None, canonical="never" if url else "any")


# File suffix -> reader(path, max_bytes, url=None). Longest suffix wins (".html.gz" before ".gz").
READERS: dict[str, Callable[..., Seed]] = {
    ".txt": read_text_seed,
    ".html": read_saved_page,
    ".htm": read_saved_page,
    ".html.gz": read_saved_page,
    ".htm.gz": read_saved_page,
}


_SUFFIXES = sorted(READERS, key=len, reverse=True)


def reader_for(path: Path) -> Callable[..., Seed] | None:
    name = path.name.lower()
    return next((READERS[suffix] for suffix in _SUFFIXES if name.endswith(suffix)), None)


def iter_seed_paths(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """Files named, and the readable files inside folders named (recursively, sorted, no hidden files),
    each with None, or with why it is not read: a link inside a folder to a folder (never followed: a
    link to a parent would loop) or to a file outside the folder (a replay of a folder reads that
    folder, not whatever its links point to)."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from _folder_seeds(path, path, path.resolve())
        else:
            yield path, None


def _folder_seeds(folder: Path, named: Path, root: Path) -> Iterator[tuple[Path, str | None]]:
    """:func:`iter_seed_paths` inside ``folder``, part of the folder ``named`` (``root``: resolved).

    Its entries by name, a subfolder's in its place (the order of ``sorted(named.rglob("*"))``).
    One directory read per folder gives its entries' types: a ``stat`` or two per file cost more
    than reading a text seed.
    """
    with os.scandir(folder) as listing:
        entries = sorted((entry for entry in listing if not entry.name.startswith(".")), key=lambda e: e.name)
    for entry in entries:
        child = folder / entry.name
        if entry.is_symlink():
            if entry.is_dir():
                yield child, f"a link to the folder {child.resolve()}, not followed; name that folder itself"
            elif entry.is_file() and reader_for(child):
                if child.resolve().is_relative_to(root):
                    yield child, None
                else:
                    yield child, (f"a link to {child.resolve()}, outside the folder {named}, not read; "
                                  "copy the file into the folder, or name it itself")
        elif entry.is_dir():
            yield from _folder_seeds(child, named, root)
        elif entry.is_file() and reader_for(child):
            yield child, None


def read_seed(path: Path, max_bytes: int, url: str | None = None) -> Seed:
    """One seed file (under ``url`` if given), or :class:`SeedError` saying why not."""
    reader = reader_for(path)
    if reader is None:
        if not path.exists():
            raise SeedError(MISSING)
        raise SeedError(f"unsupported file type; expected one of: {', '.join(sorted(READERS))}")
    return reader(path, max_bytes, url=url)
