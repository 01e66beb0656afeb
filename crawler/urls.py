"""URL rules of the crawl: canonical forms, article-looking URLs, assets and traps.

Pure functions over strings, testable without Scrapy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "clean_url",
    "is_asset",
    "looks_like_article_url",
    "same_site",
    "url_says_article",
    "url_shape",
]

# Query parameters that say where a reader came from, not what the page is.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gclsrc|msclkid|yclid|igshid|mc_cid|mc_eid|_ga|_gl|zarsrc|gidzl|"
    r"ref|ref_src|cmpid|itm_\w+|vn_source|vn_medium|vn_campaign)$",
    re.IGNORECASE,
)
# Links to files that are never article pages.
ASSET = re.compile(
    r"\.(pdf|docx?|xlsx?|pptx?|zip|rar|7z|gz|jpe?g|png|gif|webp|svg|ico|bmp|tiff?|mp[34]|m4a|avi|mov|"
    r"webm|wav|ogg|css|js|json|xml|rss|atom|txt|apk|exe|dmg|iso)$",
    re.IGNORECASE,
)
# An article URL usually ends in a long id or a slug of several words.
ARTICLE_ID = re.compile(r"\d{5,}(\.html?|\.aspx?|/)?$|-post\d+|/\d{4}/\d{2}/\d{2}/[^/]+$")
ARTICLE_SLUG = re.compile(r"/[a-z0-9]+(?:-[a-z0-9]+){4,}(?:\.html?|\.aspx?|\.php)?/?$", re.IGNORECASE)


def clean_url(url: str) -> str:
    """``url`` without its fragment and tracking parameters; scheme and host lower case.

    >>> clean_url("HTTPS://Example.vn/a?utm_source=fb&id=3#top")
    'https://example.vn/a?id=3'
    """
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    netloc = parts.netloc.lower()
    if (parts.scheme, netloc.rpartition(":")[2]) in (("http", "80"), ("https", "443")):
        netloc = netloc.rpartition(":")[0]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def same_site(url: str, domain: str) -> bool:
    """True when ``url`` is on ``domain`` or one of its subdomains (``www.`` ignored)."""
    return on_domain(host(url), domain)


def on_domain(name: str, domain: str) -> bool:
    """True when the host ``name`` (as :func:`host` gives it) is ``domain`` or one of its subdomains."""
    return name == domain or name.endswith("." + domain)


def is_asset(url: str) -> bool:
    """A link to a document, image, media or script file, never an article page."""
    return bool(ASSET.search(urlsplit(url).path))


def looks_like_article_url(url: str) -> bool:
    """A guess for sites without ``allow`` patterns: a long numeric id or a slug of five words or more."""
    path = urlsplit(url).path
    return bool(ARTICLE_ID.search(path) or ARTICLE_SLUG.search(path))


def url_says_article(url: str, allow: Iterable[str] = ()) -> bool:
    """Whether ``url`` is an article's: by the site's ``allow`` patterns when it has some, else by its shape."""
    patterns = tuple(allow)
    if patterns:
        return any(re.search(pattern, url) for pattern in patterns)
    return looks_like_article_url(url)


def url_shape(url: str) -> str:
    """The pattern of a URL with its numbers and query values blanked out.

    Calendar and paging traps produce endless URLs of one shape
    (``/lich/2026/01/02``, ``/lich/2026/01/03`` ...); counting fetches per
    shape bounds them.
    """
    parts = urlsplit(url)
    path = re.sub(r"\d+", "N", parts.path)
    keys = sorted(k for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.hostname}{path}?{'&'.join(keys)}"
