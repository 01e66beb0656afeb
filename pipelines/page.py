"""The work one page needs, as one pure function: what every worker process runs.

:func:`process_page` takes a fetched page (its URL, ``Content-Type`` and body
bytes) and returns a finished record: decoded NFC text, metadata, normalized
body, content hash, near-duplicate signature and band keys, the gzipped page,
or, for a listing, the links it offers. The page is parsed once: one lxml tree
serves the page's kind and links, our Vietnamese layer and trafilatura.
:func:`process_text` is the same after extraction, for text seeds.

No Scrapy, no database, no network: the crawl, ``scrapy replay``, ``scrapy
reextract``, the tests and a worker on another machine all call this.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from crawler.urls import clean_url, host, on_domain, same_site, url_says_article
from pipelines.compression import GzipTooLarge, GzipTruncated, gunzip_page
from pipelines.neardup.minhash import Banding, Signer, signing
from pipelines.neardup.spin import SpinSigner, anchors
from pipelines.pageinfo import Links, canonical_url, classify_page, page_links
from pipelines.vietnamese.encoding import decode_page
from pipelines.vietnamese.normalize import normalize_article
from pipelines.vietnamese.text import fold

__all__ = ["Fetched", "PageOptions", "PageResult", "SiteRules", "content_hash", "process_page", "process_text"]


@dataclass(frozen=True)
class SiteRules:
    """What the per-page function needs of a configured site (``crawler/sites.yml``), as plain strings:
    its domain, the patterns of its article URLs (``allow``) and its own boilerplate lines (``cleanup``)."""

    domain: str
    allow: tuple[str, ...] = ()
    cleanup: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageOptions:
    """The settings the per-page work depends on (sent to each worker once)."""

    min_words: int = 1  # NORMALIZE_MIN_WORDS
    min_article_chars: int = 500  # NEWS_MIN_ARTICLE_CHARS
    keep_page: bool = True  # STORE_PAGES: gzip the page for the pages table
    # (num_perm, shingle_size, candidate_threshold) of NEARDUP_*; None when near-duplicates are off.
    neardup: tuple[int, int, float] | None = (128, 3, 0.25)
    # The configured sites: a page follows the rules of the site its URL is on.
    sites: tuple[SiteRules, ...] = ()

    # Host -> its site's rules, filled as pages come (a crawl sees few hosts): not a parse of the
    # URL for each configured site on every page.
    _by_host: dict[str, SiteRules | None] = field(default_factory=dict, compare=False, repr=False)

    def site(self, url: str | None) -> SiteRules | None:
        """The rules of the configured site ``url`` is on, if any."""
        if not (url and url.startswith(("http://", "https://"))):
            return None
        name = host(url)
        if name not in self._by_host:
            if len(self._by_host) >= 10_000:  # an archive of countless hosts: memory stays bounded
                self._by_host.clear()
            self._by_host[name] = next((rules for rules in self.sites if on_domain(name, rules.domain)), None)
        return self._by_host[name]


@dataclass
class Fetched:
    """A page as fetched, saved or stored.

    ``kind``: what the page must be taken for (``"listing"`` for a home page,
    ``"article"`` for a stored page), or None to let the page say (og:type,
    JSON-LD, else ``url_says_article`` and enough paragraph text). For a saved
    page ``url_says_article`` is None: its article URL (canonical, og:url or the
    one given) is asked, by its site's ``allow`` patterns or its shape.
    ``canonical``: how the article's URL is chosen: ``"site"``, the page's
    canonical URL when it is on ``domain``; ``"any"``, any absolute canonical URL
    (a saved page; ``url`` may then be None); ``"never"``, ``url`` as it is.
    """

    url: str | None
    body: bytes
    content_type: str | None = None
    kind: str | None = None
    url_says_article: bool | None = False
    domain: str | None = None
    canonical: str = "site"
    # ``body`` is gzip-compressed: a stored page (``pages.html_gz``), or a page passed on as the site
    # sent it (:mod:`pipelines.compression`), at most ``max_size`` bytes once decompressed (0: no cap).
    gzipped: bool = False
    max_size: int = 0


@dataclass
class PageResult:
    """``kind``: ``"article"`` (with ``fields``), ``"listing"`` (with ``links``, and in ``reason`` why it is
    not an article), ``"empty"`` (no text left after cleaning) or ``"failed"`` (with ``reason``)."""

    kind: str
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    links: Links | None = None
    reason: str | None = None
    # Where a failure happened: "extract", or "url" (a saved page that names no URL of its own).
    stage: str = "extract"
    byline_author: bool = False  # the author came from a credit line in the text


def content_hash(text: str) -> str:
    """sha256 of the normalized body text, one paragraph a line.

    The text must be normalized (:func:`process_text`), so that Unicode form,
    whitespace and boilerplate do not change the hash.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)
def _signing(neardup: tuple[int, int, float]) -> tuple[Signer, Banding, SpinSigner]:
    num_perm, shingle_size, threshold = neardup
    return Signer(num_perm, shingle_size), Banding(num_perm, threshold), SpinSigner()


@lru_cache(maxsize=1)
def extraction() -> tuple[Callable[..., Any], Callable[..., Any], Any]:
    """trafilatura's HTML loader, our extraction and trafilatura's config (built once; never mutate its
    DEFAULT_CONFIG). Imported on first use: the engine process, which only passes pages on, then never
    loads trafilatura (10 MB); a worker calls this before it says it is ready."""
    from trafilatura.settings import use_config
    from trafilatura.utils import load_html

    from pipelines.vietnamese.extract import extract_article

    return load_html, extract_article, use_config()


# Bytes that UTF-8 text holds only for characters XML does not allow (trafilatura's INVALID_XML_CHARS):
# the controls but tab and line ends; U+FFFE and U+FFFF are EF BF BE and EF BF BF.
_XML_INVALID_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32)])


def _valid_xml_bytes(body: bytes) -> bool:
    """Whether UTF-8 ``body`` holds no character XML forbids (a tenth of a millisecond for a news page)."""
    return (len(body.translate(None, _XML_INVALID_BYTES)) == len(body)
            and b"\xef\xbf\xbe" not in body and b"\xef\xbf\xbf" not in body)


def _parse_valid(html: str) -> Any:
    """trafilatura's ``load_html`` for a page known to hold no character XML forbids, without the regular
    expression that removes them: it scans the whole page, almost a millisecond, and finds nothing.
    The same steps otherwise (its repairs of the first lines, its parser and fallbacks), so the same tree."""
    from lxml.html import fromstring
    from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, HTML_PARSER, fromstring_bytes, is_dubious_html

    beginning = html[:50].lower()
    if "doctype" in beginning:
        first, _, rest = html.partition("\n")
        html = DOCTYPE_TAG.sub("", first, count=1) + "\n" + rest
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = FAULTY_HTML.sub(r"\1>", html, count=1)
            break
    tree, as_bytes = None, False
    try:
        tree = fromstring(html, parser=HTML_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported"
        tree, as_bytes = fromstring_bytes(html), True
    except Exception:  # noqa: BLE001 (as trafilatura: the bytes are tried next)
        pass
    if (tree is None or len(tree) < 1) and not as_bytes:
        tree = fromstring_bytes(html)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not HTML at all
    return tree


def _parse_cut_short() -> bool:
    """Whether trafilatura's HTML parser gave up part of the page it last parsed (a resource limit:
    lxml's depth limit of 256 elements; huge_tree does not lift it for HTML)."""
    from trafilatura.utils import HTML_PARSER

    return any(error.type_name == "ERR_RESOURCE_LIMIT" for error in HTML_PARSER.error_log)


def _article_url(page: Fetched, tree: Any) -> str | None:
    if page.canonical == "never":
        return page.url
    canonical = canonical_url(tree, page.url)
    if page.canonical == "any":
        return page.url or canonical
    if canonical and page.domain and same_site(canonical, page.domain):
        return clean_url(canonical)
    return clean_url(page.url) if page.url else None


def process_page(page: Fetched, options: PageOptions) -> PageResult:
    """The finished record of an article page, or the links of a listing (see the module docstring)."""
    body, whole = page.body, False
    if page.gzipped:
        try:
            body, whole = gunzip_page(page.body, page.max_size)
        except (GzipTruncated, GzipTooLarge) as exc:
            return PageResult("failed", page.url, reason=str(exc), stage="fetch")
    html, codec = decode_page(body, page.content_type)
    load_html, extract_article, config = extraction()
    tree = _parse_valid(html) if codec in ("utf-8", "utf-8-sig") and _valid_xml_bytes(body) else load_html(html)
    if tree is None:
        return PageResult("failed", page.url, reason="not an HTML page")
    cut_short = _parse_cut_short()
    kind, why = page.kind, None
    if kind is None:
        says = page.url_says_article
        if says is None:  # a saved page: is its own URL an article's, as the crawl asks of a link?
            own = _article_url(page, tree)  # (without one, the rest of the test decides; then --url is asked)
            says = url_says_article(own, getattr(options.site(own), "allow", ())) if own else True
        kind, why = classify_page(tree, says, options.min_article_chars)
    if kind != "article":
        return PageResult("listing", page.url, links=page_links(tree, page.url or ""), reason=why)
    url = _article_url(page, tree)
    if cut_short:
        # libxml2 stops building the tree at 256 levels of nesting: the rest of the page is gone,
        # and an article page nested deeper (unclosed tags, a hostile page) was stored as its
        # menu ("Trang chủ") instead of its text. A listing keeps the links read before the cut.
        return PageResult("failed", url or page.url, reason="too deeply nested: over 256 levels of HTML "
                                                            "tags, the page cannot be read whole")
    if not url:
        return PageResult("failed", stage="url", reason='no URL: the page has no <link rel="canonical"> or '
                                                        "og:url; give it with --url URL")
    fields = extract_article(tree, url, config)
    if fields is None:
        return PageResult("failed", url, reason="no article text found in the page")
    result = process_text(fields, options, url)
    result.url = url
    if result.kind == "article" and options.keep_page:
        if whole and codec:  # the gzip file as it came: read again, it gives the same text
            result.fields["page_gz"] = page.body
        else:
            # Level 3: half the time of 6 for pages 10 % larger; mtime 0: the same page gives the same bytes.
            result.fields["page_gz"] = gzip.compress(html.encode("utf-8"), 3, mtime=0)
    return result


def process_text(fields: dict[str, Any], options: PageOptions, url: str | None = None) -> PageResult:
    """An extracted article (or a text seed) normalized by the rules of its site (its ``url``, else
    the seed's), hashed, folded for search and signed."""
    url = url or fields.get("url")
    rules = options.site(url)
    normalized, byline_author = normalize_article(fields, options.min_words, rules.cleanup if rules else (), url or "")
    if normalized is None:
        return PageResult("empty", reason="no article text after cleaning")
    text = normalized["text"]
    normalized["content_hash"] = content_hash(text)
    normalized["title_folded"] = fold(normalized.get("title") or "")
    normalized["text_folded"] = fold(text)
    if options.neardup is not None:
        signer, banding, spin_signer = _signing(options.neardup)
        signature = signer.sign(text)
        normalized["signature"] = signature.to_blob()
        normalized["signed_with"] = signing(*options.neardup)
        normalized["shingles"] = signature.size
        normalized["band_keys"] = banding.keys(signature.values[None, :])[0].tobytes()
        # The spun-copy signal: its anchors' MinHash and bands (none with too few anchors).
        found = anchors(text)
        spun = spin_signer.sign_anchors(found)
        normalized["anchor_words"] = "\n".join(sorted(found))  # for the writer's verifications
        normalized["anchors"] = spun.to_blob()
        normalized["anchor_count"] = spun.anchors
        normalized["spin_keys"] = spin_signer.article_keys(spun).tobytes()
    return PageResult("article", fields=normalized, byline_author=byline_author)
