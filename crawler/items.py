"""The item every source produces and every pipeline stage passes on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArticleItem:
    """One article on its way to the database.

    A source fills ``url`` and either ``html`` (a fetched or saved page, to be
    extracted) or ``text`` (already extracted, as in a text seed). The stages
    fill the rest; the names of the stored fields are the columns of
    ``articles``.
    """

    url: str
    via: str = "crawl"  # how the URL came: "crawl", "seed", "page" or "reextract"
    site: str | None = None
    html: str | None = None
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
    # Set by the store: the row id of the stored (or existing) article.
    article_id: int | None = None
    # Set by the near-duplicate stage: the id of the first stored article of its story.
    story_id: int | None = None
