"""The item every source produces and the writer stores: a finished record."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArticleItem:
    """One article on its way to the database, as the per-page function finished it
    (:func:`pipelines.page.process_page`, :func:`~pipelines.page.process_text`).

    The names of the stored fields are the columns of ``articles``; the rest are
    for the writer: the search row's folded text, the near-duplicate signature,
    the gzipped page.
    """

    url: str
    via: str = "crawl"  # how the URL came: "crawl", "seed", "page" or "reextract"
    site: str | None = None
    text: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    modified: str | None = None
    description: str | None = None
    category: str | None = None
    tags: str | None = None
    image: str | None = None
    language: str | None = None
    word_count: int | None = None
    content_hash: str | None = None
    # URLs that led to this article besides ``url`` (redirects, tracking forms).
    aliases: list[str] = field(default_factory=list)
    # For the search row: title and text folded (no diacritics, đ as d).
    title_folded: str | None = None
    text_folded: str | None = None
    # The near-duplicate signature (uint32 MinHash values), its shingle count and LSH band keys (uint64).
    signature: bytes | None = None
    shingles: int | None = None
    band_keys: bytes | None = None
    signed_with: str | None = None  # how (pipelines.neardup.minhash.signing): the writer checks it
    # The spun-copy signal (pipelines/neardup/spin.py): the MinHash of the article's anchors
    # (numbers, dates, names), how many anchors it has, and their LSH band keys (uint64).
    anchors: bytes | None = None
    anchor_count: int | None = None
    spin_keys: bytes | None = None
    anchor_words: str | None = None  # the anchors themselves, one a line: the writer verifies with them
    # The page the article was extracted from, gzipped, for `scrapy reextract` (None for text seeds).
    page_gz: bytes | None = None
    # Set by the writer: the row id of the stored (or existing) article, and of its story.
    article_id: int | None = None
    story_id: int | None = None
