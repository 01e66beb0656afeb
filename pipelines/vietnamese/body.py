"""The article body of a Vietnamese news page, without what surrounds it.

Before trafilatura reads the page, :func:`focus_body` narrows the tree to the
article's own body container when a known one is there (``BODY_XPATHS``) and
removes related-article boxes, "Tin liên quan" blocks and caption toolbars
(``PRUNE_XPATHS``); photo captions become paragraphs, so they stay with the
text. After it, :func:`clean_body` drops what is left of the page around the
text: the headline and lead repeated, the byline already taken as the author.
(Trailing source lines of other outlets go in the normalize stage, with the
other text rules: :func:`pipelines.vietnamese.text.drop_source_lines`.)

Selectors and patterns are data: a new site's markup is one more line.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from pipelines.vietnamese.text import clean_line, fold
from pipelines.vietnamese.metadata import has_class as _class
from pipelines.vietnamese.metadata import select

__all__ = ["BODY_XPATHS", "PRUNE_XPATHS", "clean_body", "focus_body"]


# The element holding exactly the article text, per site family; first match wins.
BODY_XPATHS = (
    "//*[@itemprop='articleBody']",                           # qdnd, nld, tuoitre, schema.org sites
    f"//article[{_class('fck_detail')}]",                     # vnexpress
    f"//div[{_class('detail-content')}]",                     # VCCorp CMS: baochinhphu, cafef, nld, tuoitre, soha
    "//div[@id='maincontent']",                               # vietnamnet
    "//div[@id='content_detail_news']",                       # baodautu
    f"//div[{_class('singular-content')}]",                   # dantri (older template)
    f"//div[{_class('article__body')}]",                      # nhandan, vietnamplus, cand
    f"//div[{_class('post-content')} or {_class('detail__content')}]",
    "//article[h1]/div[last()]",                              # dantri (2025 template): the div after the h1
)
# Inside the body: boxes that are not the article.
PRUNE_XPATHS = (
    "//*[@type][@type='RelatedOneNews' or @type='RelatedNewsBox' or @type='RelatedNews']",
    "//*[@data-component-type][@data-component-type='tin_xemthem' or @data-component-type='box_tinlienquan']",
    f"//*[@class][{_class('related-news')} or {_class('news-relation')} or {_class('box-tinlienquan')}"
    f" or {_class('tin-lien-quan')} or {_class('related')} or {_class('box-related')} or {_class('xem-them')}"
    f" or {_class('box_embed_video_parent')} or {_class('kbwscwl-relatedbox')} or {_class('link-content-footer')}]",
    f"//*[@class][{_class('toolbar')} or {_class('image-toolbar')} or {_class('photo-toolbar')}]",
    "//*[@id='article-end']/following-sibling::*",
    "//ul[li/a][count(li) = count(li[a]) and not(ancestor::table)]",  # lists made only of links
    "//script | //style | //noscript | //iframe | //form | //button",
)
_CAPTIONS = f"//figcaption | //*[@class][{_class('PhotoCMS_Caption')}] | //p[{_class('Image')}]"



def focus_body(tree: HtmlElement) -> HtmlElement | None:
    """Narrow ``tree`` (in place) to the article body; return the body container, or None when unknown.

    The ``<head>`` stays, so trafilatura's own metadata still works.
    """
    container = None
    for xpath in BODY_XPATHS:
        found = [e for e in select(tree, xpath) if len(clean_line(e.text_content())) >= 200]
        if found:
            container = found[0]
            break
    if container is not None:
        # Narrowed first: the selectors below then look at the head and the body alone, not at
        # the whole page around it (a tenth of its elements), and what they find is the same.
        body = tree.find("body")
        if body is None:
            body = etree.SubElement(tree, "body")
        container.getparent().remove(container)
        for child in list(body):
            body.remove(child)
        body.text = None
        body.append(container)
    for xpath in PRUNE_XPATHS:
        for element in select(tree, xpath):
            if element is not container and element.getparent() is not None:
                element.drop_tree()
    for caption in select(tree, _CAPTIONS):  # captions are text of the article: keep them as paragraphs
        caption.tag = "p"
    for figure in select(tree, "//figure"):
        figure.tag = "div"
    # qdnd and other CMSs lay a photo out as a table: image row, caption row. Not a data table.
    for table in select(tree, "//table[.//img]"):
        for cell in table.xpath(".//td | .//th"):
            cell.tag = "p" if not cell.xpath(".//p | .//h2 | .//h3 | .//div") else "div"
        for element in table.xpath(".//tr | .//tbody | .//thead"):
            element.drop_tag()
        table.tag = "div"
    return container


def _same(a: str, b: str | None) -> bool:
    return bool(b) and fold(a).strip(" .") == fold(b).strip(" .")  # type: ignore[arg-type]


def clean_body(text: str, title: str | None = None, description: str | None = None,
               author: str | None = None) -> str:
    """Paragraphs of ``text`` without the page's leftovers (see the module docstring)."""
    lines = [line for line in (clean_line(line) for line in text.split("\n")) if line]
    while lines and (_same(lines[0], title) or _same(lines[0], description) or (
        description and fold(description).endswith(fold(lines[0])) and len(lines[0]) > 40
    )):
        lines.pop(0)
    if lines and author:
        last = fold(lines[-1])
        first_author = fold(author.split(",")[0])
        if len(lines[-1]) <= 80 and last.startswith(first_author):
            lines.pop()
    return "\n".join(lines)
