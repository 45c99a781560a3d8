"""One page in the current process: bytes → a plain-strings result. trafilatura's only home.

Runs inside the pool's worker processes (trafilatura is not thread-safe). Nothing but str
and None crosses back to the parent; failures come back as a result with an `error` reason
rather than an exception, so the parent can tell "no article" from "worker broke".

The settings were chosen on the development corpus with `bench/extraction.py` and
`bench/extraction_table.py`: `favor_precision=True` with `fast=True` first; when that pass
is implausible (`recover.implausible`: under `min_chars`, shorter than the feed's summary,
or under half the prose the page shows) a second pass with balanced settings and the
fallback extractors, the longer text kept, or the body the page declares in its JSON-LD
when it is about as long or longer and holds that text (`structured`). Then prose of the article's
container that trafilatura skipped is put back (`recover.missed`) and promotions,
related-story rails, captions and the repeated headline are dropped (`promotions.strip`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from trafilatura.settings import set_date_params
from trafilatura.utils import load_html

from monitor.extract import blocks, charset, detect, promotions, recover, structured
from monitor.extract.jobs import Result

Tree = Any  # lxml.html.HtmlElement (lxml ships no type stubs)

_WS = re.compile(r"\s+")
_LANG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$")


def failure(reason: str, detail: str) -> Result:
    return {"error": reason, "detail": detail}


def extract_sync(
    body: bytes | str,
    url: str,
    content_type: str | None = None,
    *,
    min_chars: int = 200,
    summary: str | None = None,
    date_search: bool = True,
) -> Result:
    """Extract one page; plain strings out. A result with `error` set names why there is no
    article: "not html", "consent wall", "paywall", "javascript required", "too little text",
    "no main text", "failed". Paragraphs of `text` are separated by a blank line.
    """
    if isinstance(body, str):
        html = body
    else:
        sniffed = charset.sniff(body, content_type)
        if sniffed.kind == "other":
            return failure("not html", f"not an HTML page: {sniffed.what}")
        html, _ = charset.decode(body, content_type)
        if sniffed.kind == "text":
            return _plain_text(html, min_chars)
    html = charset.strip_xml_declaration(html)
    try:
        return _extract_html(html, url, min_chars, summary, date_search)
    except Exception as exc:  # returned as plain strings: trafilatura's errors do not pickle
        return failure("failed", f"trafilatura failed: {type(exc).__name__}: {exc}"[:500])


def _plain_text(text: str, min_chars: int) -> Result:
    paragraphs = [_WS.sub(" ", p).strip() for p in re.split(r"\n\s*\n", text)]
    joined = "\n\n".join(p for p in paragraphs if p)
    if len(joined) < min_chars:
        return failure("not html", f"not an HTML page: plain text of {len(joined)} characters")
    return {"text": joined}


def _extract_html(
    html: str, url: str, min_chars: int, summary: str | None, date_search: bool
) -> Result:
    tree = load_html(html)
    if tree is None:
        return failure("no main text", "not parseable as HTML")
    meta = page_metadata(tree, url)
    page = blocks.lines(tree)
    # htmldate's search of the whole text for a date is half of a page's time when the
    # markup gives none; a feed that dates its entries makes it needless
    dates = set_date_params(date_search)
    data, text, declared = _main_text(tree, html, url, dates, page, summary, min_chars)
    wall = _wall(tree, html, text, min_chars)
    if wall:
        return failure(wall, f"the page is a {wall}" if wall != "javascript required" else wall)
    if data is None or not text:
        return failure("no main text", "no main text")
    if not declared:  # the page's own statement of its body is whole: nothing to put back
        text = recover.missed(text, page)
    labels = blocks.image_labels(tree) | blocks.headlines(tree, _string(data.get("title")))
    text = promotions.strip(text, page, labels)
    if len(text) < min_chars:
        return failure("too little text", f"too little text ({len(text)} characters)")
    return {
        "title": _string(data.get("title")),
        "text": text,
        "author": _string(data.get("author")),
        "date": _string(data.get("date")),
        "site_name": _string(data.get("sitename")),
        **meta,
    }


def _main_text(
    tree: Tree,
    html: str,
    url: str,
    dates: dict[str, Any],
    page: list[blocks.Line],
    summary: str | None,
    min_chars: int,
) -> tuple[dict[str, Any] | None, str, bool]:
    """trafilatura's result and text, and whether the text is the page's declared body
    (JSON-LD `articleBody`), taken when the first pass is implausible and it holds the
    better pass's text."""
    data = _bare(tree, url, dates, favor_precision=True, fast=True)
    text = clean_text(data, _string(data.get("title")) if data else None)
    if not recover.implausible(text, page, summary=summary, min_chars=min_chars):
        return data, text, False
    # second pass: balanced settings with the fallback extractors
    second = _bare(tree, url, dates, favor_precision=False, fast=False)
    second_text = clean_text(second, _string(second.get("title")) if second else None)
    if len(second_text) > len(text):
        data, text = second, second_text
    body = structured.article_body(tree)
    if detect.not_free(html) or not structured.instead_of(text, body, min_chars=min_chars):
        return data, text, False
    if data is None:  # nothing extracted: the title, date and author from the metadata alone
        data = dict(trafilatura.extract_metadata(tree, default_url=url).as_dict())
    return data, body, True


def _bare(
    tree: Tree, url: str, dates: dict[str, Any], *, favor_precision: bool, fast: bool
) -> dict[str, Any] | None:
    doc: Any = trafilatura.bare_extraction(
        tree,  # copied by trafilatura before it prunes
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=favor_precision,
        fast=fast,
        deduplicate=False,
        date_extraction_params=dates,
    )
    if doc is None:
        return None
    return doc if isinstance(doc, dict) else dict(doc.as_dict())


def clean_text(data: dict[str, Any] | None, title: str | None, *, furniture: bool = True) -> str:
    """trafilatura's text as paragraphs: whitespace collapsed, no title line, no promotions
    (`furniture=False` keeps them, for the benchmark's comparison)."""
    if not data:
        return ""
    lines = (_WS.sub(" ", line).strip() for line in (data.get("text") or "").split("\n"))
    paragraphs = [p for p in lines if p and not (furniture and promotions.rule_for(p))]
    if paragraphs and title and paragraphs[0] == _WS.sub(" ", title).strip():
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def _wall(tree: Tree, html: str, text: str, min_chars: int) -> str | None:
    if len(text) >= detect.WALL_MAX_CHARS:
        return None
    return detect.classify(
        text, visible_text(tree), min_chars=min_chars, marked_not_free=detect.not_free(html)
    )


def visible_text(tree: Tree, limit: int = 100_000) -> str:
    """The page's text as a reader without JavaScript sees it (<noscript> included)."""
    parts: list[str] = []
    size = 0
    for node in tree.xpath(
        "//body//text()[not(ancestor::script or ancestor::style or ancestor::template)]"
        " | //title/text()"
    ):
        piece = str(node).strip()
        if piece:
            parts.append(piece)
            size += len(piece)
            if size > limit:
                break
    return " ".join(parts)


def page_metadata(tree: Tree, url: str) -> Result:
    """Language, canonical URL and lead image from the page's own markup."""
    base = url
    for href in tree.xpath("//base/@href")[:1]:
        base = urljoin(url, str(href).strip())
    canonical = _first(
        tree,
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONIL', 'canonil')), ' '),"
        " ' canonical ')]/@href",
        "//meta[@property='og:url' or @name='og:url']/@content",
    )
    image = _first(
        tree,
        "//meta[@property='og:image' or @name='og:image']/@content",
        "//meta[@property='og:image:url' or @property='og:image:secure_url']/@content",
        "//meta[@name='twitter:image' or @property='twitter:image']/@content",
        "//meta[@name='twitter:image:src']/@content",
    )
    return {
        "language": page_language(tree),
        "canonical_url": absolute_http(base, canonical),
        "image": absolute_http(base, image),
    }


def page_language(tree: Tree) -> str | None:
    """ISO 639 code from <html lang>, Content-Language or og:locale ("en-GB" → "en")."""
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _first(
            tree,
            "//meta[translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')"
            "='content-language']/@content",
        ),
        _first(tree, "//meta[@property='og:locale']/@content"),
    ):
        if value:
            match = _LANG.match(value.strip().split(",")[0].strip().lower())
            if match:
                return match.group(1)
    return None


def _first(tree: Tree, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for value in tree.xpath(xpath):
            text = str(value).strip()
            if text:
                return text
    return None


def absolute_http(base: str, href: str | None) -> str | None:
    """`href` resolved against `base`, when the result is an http(s) URL with a host."""
    if not href:
        return None
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _string(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
