"""Plain, well-formed RSS 2.0 and Atom 1.0 read with lxml: what feedparser would give, faster.

feedparser is pure Python: a 30 KB feed of 35 entries costs it ~10 ms of CPU, and at 1,000
feeds that CPU is the poll's floor. Most feeds are plain: well-formed XML, the usual
elements, simple HTML in their summaries. For those this module builds the very `ParsedFeed`
that rss.parse_xml_feed builds through feedparser, reusing feedparser's own pieces where
its behaviour is subtle (encoding detection, URL joining, date parsing, the HTML guess for
RSS titles, the mojibake and cp1252 repairs) and replaying its rules for GUIDs as links,
authors and summary-from-content. Whatever it is not sure of raises `Unsure` and the
document goes to feedparser unchanged: malformed XML (feedparser's lenient parser and its
bozo warning), RSS 1.0/RDF and older formats, a DOCTYPE, xml:base, any element it does not
know inside an entry, repeated fields, XHTML content, and HTML that feedparser's sanitizer
might change (entities, comments, tags outside a plain formatting set).

The XML parser is hardened like the rest: no entity expansion (an undefined entity is a
syntax error here, so feedparser takes it), no DTD, no network, no huge trees.
tests/test_feeds_fastpath.py compares both paths field by field over every feed we have.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import ThingsNobodyCaresAboutButMe
from feedparser.mixin import _cp1252, _FeedParserMixin
from feedparser.sanitizer import _HTMLSanitizer, replace_doctype
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from monitor.feeds.common import (
    BLOCK_TAGS,
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_SUMMARY,
    MAX_TITLE,
    ParsedFeed,
    collapse,
    entry_key,
    link,
    newest_first,
    plain,
    ttl_minutes,
    utc_datetime,
)
from monitor.models import Entry


class Unsure(Exception):
    """The document is not plain enough for this path: use feedparser."""


_ATOM = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_RSS_1_NAMESPACES = frozenset(
    {"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}
)
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Elements that only fill fields we never read (feed links, images, categories...).
_RSS_CHANNEL_IGNORED = frozenset(
    {
        *("link", "description", "language", "copyright", "managingeditor", "webmaster"),
        *("pubdate", "lastbuilddate", "category", "generator", "docs", "cloud", "rating"),
        *("skiphours", "skipdays", "image", f"{_ATOM}link"),
        *(f"{_SY}updateperiod", f"{_SY}updatefrequency", f"{_SY}updatebase"),
    }
)
_RSS_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
_RSS_SKIP_CHILDREN = frozenset({"hour", "day"})
_RSS_ITEM_IGNORED = frozenset({"category", "comments", "enclosure"})
_ATOM_FEED_IGNORED = frozenset(
    f"{_ATOM}{name}"
    for name in ("id", "link", "updated", "subtitle", "generator", "icon", "logo", "rights")
) | {f"{_ATOM}category"}
_ATOM_ENTRY_IGNORED = frozenset({f"{_ATOM}category"})
_ATOM_PERSON = frozenset({f"{_ATOM}name", f"{_ATOM}email", f"{_ATOM}uri"})

# HTML that feedparser's sanitizer and URI resolver pass through with the same text: these
# tags only (feedparser keeps them; our text extraction neither skips them nor treats them
# differently), double-quoted or single-quoted attribute values, and no '&' anywhere.
_PLAIN_HTML_TAGS = frozenset(
    {
        *("a", "abbr", "acronym", "address", "b", "big", "blockquote", "br", "caption"),
        *("center", "cite", "code", "dd", "del", "dfn", "div", "dl", "dt", "em", "font"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p"),
        *("pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup"),
        *("table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var"),
    }
) & frozenset(_HTMLSanitizer.acceptable_elements)
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:\s+[a-zA-Z_][-a-zA-Z0-9_]*(?:\s*=\s*(?:\"[^\"<>&]*\"|'[^'<>&]*'))?)*)\s*(/?)>"
)
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
_RELATIVE = frozenset(_FeedParserMixin.can_be_relative_uri)
_SANITIZED = frozenset(_FeedParserMixin.can_contain_dangerous_markup) | frozenset(
    _FeedParserMixin.can_contain_relative_uris
)


@dataclass(slots=True)
class _Text:
    value: str
    html: bool  # the type feedparser settled on is not text/plain


@dataclass(slots=True)
class _Raw:
    """One entry as feedparser's dict would hold it, for the fields we read."""

    title: _Text | None = None
    summary: _Text | None = None
    content: _Text | None = None
    link: str | None = None
    guid: str | None = None
    author: str | None = None
    published: Any = None
    updated: Any = None


def parse_plain_feed(
    body: bytes, *, url: str, headers: dict[str, str], max_entries: int
) -> ParsedFeed:
    """`body` (already defused by rss.py) as feedparser would read it; Unsure if in doubt.

    `headers` are the response headers as given to feedparser (lower-case names, with
    content-location set to `url`).
    """
    result: dict[str, Any] = {}
    data = convert_to_utf8(headers, body, result)
    exc = result.get("bozo_exception")
    if not result.get("encoding") or (exc is not None and not _harmless(exc)):
        raise Unsure("encoding")  # feedparser's lenient parser would read it
    version, data, _ = replace_doctype(data)
    if version or re.search(rb"<!DOCTYPE", data, re.IGNORECASE):
        raise Unsure("doctype")
    base = make_safe_absolute_uri("", url) or make_safe_absolute_uri(url)
    if base and make_safe_absolute_uri(base, base) != base:
        raise Unsure("base")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise Unsure("not well-formed") from None
    if len(parser.error_log):
        raise Unsure("parser warnings")
    reader = _Reader(base)
    if _name(root) == "rss":
        title, ttl, items = reader.rss(root)
    elif root.tag == f"{_ATOM}feed" and not _RSS_1_NAMESPACES & set(root.nsmap.values()):
        title, ttl, items = reader.atom(root)
    else:
        raise Unsure("format")
    dates = [utc_datetime(raw.published or raw.updated) for raw in items]
    kept = newest_first(dates, max_entries)
    entries = tuple(_entry(items[i], dates[i], url) for i in kept)
    feed_title = _plain_text(title.value, html=title.html)[:MAX_TITLE] if title else ""
    return ParsedFeed(title=feed_title or None, entries=entries, ttl=ttl, warning=None)


def _harmless(exc: object) -> bool:
    return isinstance(exc, ThingsNobodyCaresAboutButMe)


def _name(element: Any) -> str:
    """The tag as feedparser matches it: namespace kept, local name lower-cased."""
    tag = element.tag
    if not isinstance(tag, str):
        raise Unsure("entity")
    namespace, brace, local = tag.rpartition("}")
    return f"{namespace}{brace}{local.lower()}"


def _attributes(element: Any) -> dict[str, str]:
    """Attributes with feedparser's lower-cased names (and rel/type values); no xml:base."""
    found: dict[str, str] = {}
    for key, value in element.attrib.items():
        if key == _XML_BASE or key.lower() == "base":
            raise Unsure("xml:base")
        name = key.lower()
        found[name] = value.lower() if name in ("rel", "type") else value
    return found


def _children(element: Any) -> list[Any]:
    """Child elements; comments and processing instructions are skipped, as feedparser does."""
    kids = []
    for child in element:
        if isinstance(child.tag, str):
            kids.append(child)
        elif not isinstance(child, (etree._Comment, etree._ProcessingInstruction)):
            raise Unsure("entity reference")
    return kids


def _text(element: Any) -> str:
    if len(element):
        raise Unsure("markup inside a text element")
    return element.text or ""


def _content_type(value: str) -> str:
    """feedparser's map_content_type."""
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
        value, "application/xhtml+xml" if value == "xhtml" else value
    )


def _repaired(output: str) -> str:
    """feedparser's last steps for every text it keeps: UTF-8 read as Latin-1, cp1252 codes."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        output = output.encode("iso-8859-1").decode("utf-8")
    return output.translate(_cp1252)


def _plain_html(value: str) -> bool:
    """HTML that feedparser's sanitizer and URI resolver leave with the same text."""
    if "&" in value:
        return False
    tags = _TAG.findall(value)
    if value.count("<") != len(tags) or value.count(">") != len(tags):
        return False
    return all(
        name.lower() in _PLAIN_HTML_TAGS and not (end and (attributes or empty))
        for end, name, attributes, empty in tags
    )


def _plain_text(value: str, *, html: bool, paragraphs: bool = False) -> str:
    """common.plain, quicker for HTML that passed _plain_html (where the two agree)."""
    if html:
        separator = "\n\n" if paragraphs else " "

        def replace(tag: re.Match[str]) -> str:
            name = tag.group(2).lower()
            if name == "br":
                return "" if tag.group(1) else "\n"
            return separator if name in BLOCK_TAGS else ""

        value = _TAG.sub(replace, value)
    return plain(value, html=False, paragraphs=paragraphs)


class _Reader:
    """Replays feedparser's handlers for the elements this path accepts."""

    def __init__(self, base: str) -> None:
        self.base = base

    def popped(
        self,
        element: Any,
        name: str,
        *,
        content_type: str | None = None,
        atom: bool = False,
        permalink: bool = False,
    ) -> _Text:
        """An element's text as feedparser's pop() leaves it (see feedparser/mixin.py)."""
        attributes = _attributes(element)
        if content_type is not None:
            content_type = _content_type(attributes.pop("type", content_type))
            if content_type not in ("text/plain", "text/html") or attributes.get("mode"):
                raise Unsure("content type")
        output = _text(element).strip()
        if name in _RELATIVE and output and (name != "id" or permalink):
            output = _urljoin(self.base, output)
        if not atom and content_type == "text/plain" and _looks_like_html(output):
            content_type = "text/html"
        html = (content_type or "text/html") in _HTML_TYPES
        # The sanitizer sees the text before the repairs: they must not depend on it.
        sanitized = html and name in _SANITIZED
        if sanitized and (
            not _plain_html(output) or _repaired(output) != output.translate(_cp1252)
        ):
            raise Unsure("HTML the sanitizer might change")
        return _Text(_repaired(output), html)

    # --- RSS 2.0 ---------------------------------------------------------------------

    def rss(self, root: Any) -> tuple[_Text | None, int | None, list[_Raw]]:
        _attributes(root)
        channels = _children(root)
        if len(channels) != 1 or _name(channels[0]) != "channel":
            raise Unsure("rss layout")
        channel = channels[0]
        _attributes(channel)
        title: _Text | None = None
        ttl: int | None = None
        items: list[_Raw] = []
        for child in _children(channel):
            name = _name(child)
            if name == "item":
                items.append(self._rss_item(child))
            elif name == "title":
                if title is not None:
                    raise Unsure("two titles")
                title = self.popped(child, "title", content_type="text/plain")
            elif name == "ttl":
                ttl = _ttl(child)
            elif name in _RSS_CHANNEL_IGNORED:
                self._ignored(child, name)
            else:
                raise Unsure(f"channel element {name}")
        return title, ttl, items

    def _ignored(self, element: Any, name: str) -> None:
        _attributes(element)
        allowed = frozenset[str]()
        if name == "image":
            allowed = _RSS_IMAGE_CHILDREN
        elif name in ("skiphours", "skipdays"):
            allowed = _RSS_SKIP_CHILDREN
        for child in _children(element):
            if _name(child) not in allowed:
                raise Unsure(f"inside {name}")
            _attributes(child)
            _text(child)

    def _rss_item(self, item: Any) -> _Raw:
        _attributes(item)
        raw = _Raw()
        seen: set[str] = set()
        for child in _children(item):
            name = _name(child)
            if name in _RSS_ITEM_IGNORED:
                _attributes(child)
                _text(child)
                continue
            field = {f"{_DC}creator": "author", f"{_CONTENT}encoded": "content"}.get(name, name)
            if field in seen:
                raise Unsure(f"repeated {field}")
            seen.add(field)
            if field == "title":
                raw.title = self.popped(child, "title", content_type="text/plain")
            elif field == "link":
                self._no_attributes(child)
                value = self.popped(child, "link").value.replace("&amp;", "&")
                raw.link = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value)
            elif field == "guid":
                permalink = _attributes(child).get("ispermalink", "true") == "true"
                raw.guid = self.popped(child, "id", permalink=permalink).value
                if permalink and raw.link is None:
                    raw.link = raw.guid
            elif field == "description":
                raw.summary = self.popped(child, "description", content_type="text/html")
            elif field == "content":
                raw.content = self.popped(child, "content", content_type="text/html")
            elif field == "pubdate":
                self._no_attributes(child)
                raw.published = _parse_date(self.popped(child, "published").value)
            elif field == "author":
                self._no_attributes(child)
                raw.author = self.popped(child, "author").value
            else:
                raise Unsure(f"item element {name}")
        return raw

    def _no_attributes(self, element: Any) -> None:
        if _attributes(element):
            raise Unsure("attributes")

    # --- Atom 1.0 --------------------------------------------------------------------

    def atom(self, root: Any) -> tuple[_Text | None, int | None, list[_Raw]]:
        _attributes(root)
        title: _Text | None = None
        items: list[_Raw] = []
        for child in _children(root):
            name = _name(child)
            if name == f"{_ATOM}entry":
                items.append(self._atom_entry(child))
            elif name == f"{_ATOM}title":
                if title is not None:
                    raise Unsure("two titles")
                title = self.popped(child, "title", content_type="text/plain", atom=True)
            elif name == f"{_ATOM}author":
                self._atom_person(child)
            elif name in _ATOM_FEED_IGNORED:
                _attributes(child)
                _text(child)
            else:
                raise Unsure(f"feed element {name}")
        return title, None, items

    def _atom_entry(self, entry: Any) -> _Raw:
        _attributes(entry)
        raw = _Raw()
        seen: set[str] = set()
        for child in _children(entry):
            name = _name(child)
            if name in _ATOM_ENTRY_IGNORED:
                _attributes(child)
                _text(child)
                continue
            field = name.removeprefix(_ATOM)
            if field == name:
                raise Unsure(f"entry element {name}")
            if field != "link" and field in seen:
                raise Unsure(f"repeated {field}")
            seen.add(field)
            if field == "title":
                raw.title = self.popped(child, "title", content_type="text/plain", atom=True)
            elif field == "link":
                self._atom_link(child, raw)
            elif field == "id":
                permalink = _attributes(child).get("ispermalink", "true") == "true"
                raw.guid = self.popped(child, "id", atom=True, permalink=permalink).value
                if permalink and raw.link is None:
                    raw.link = raw.guid
            elif field == "summary":
                raw.summary = self.popped(child, "summary", content_type="text/plain", atom=True)
            elif field == "content":
                if "src" in _attributes(child):
                    raise Unsure("content by reference")
                raw.content = self.popped(child, "content", content_type="text/plain", atom=True)
            elif field in ("published", "updated"):
                self._no_attributes(child)
                moment = _parse_date(self.popped(child, field, atom=True).value)
                setattr(raw, field, moment)
            elif field == "author":
                raw.author = self._atom_person(child)
            else:
                raise Unsure(f"entry element {name}")
        return raw

    def _atom_link(self, element: Any, raw: _Raw) -> None:
        attributes = _attributes(element)
        if "url" in attributes or "uri" in attributes or "href" not in attributes:
            raise Unsure("link without href")
        _text(element)
        rel = attributes.get("rel", "alternate")
        kind = attributes.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and _content_type(kind) in _HTML_TYPES:
            raw.link = _urljoin(self.base, attributes["href"])

    def _atom_person(self, element: Any) -> str:
        """An Atom author as feedparser names it: 'name (email)', name, email, or ''."""
        self._no_attributes(element)
        if (element.text or "").strip():
            raise Unsure("text in author")
        parts: dict[str, str] = {}
        for child in _children(element):
            name = _name(child)
            if name not in _ATOM_PERSON or name in parts or (child.tail or "").strip():
                raise Unsure("author layout")
            self._no_attributes(child)
            parts[name] = _text(child).strip()
        person, email = parts.get(f"{_ATOM}name"), parts.get(f"{_ATOM}email")
        if person and email:
            return f"{person} ({email})"
        return person or email or ""


def _ttl(element: Any) -> int | None:
    if _attributes(element):
        return None  # feedparser keeps the attributes instead of the text
    return ttl_minutes(_text(element))


def _entry(raw: _Raw, published: datetime | None, feed_url: str) -> Entry:
    """rss._xml_entry over the replayed fields."""
    title = _plain_text(raw.title.value, html=raw.title.html)[:MAX_TITLE] if raw.title else ""
    if raw.summary is not None:
        summary = _plain_text(raw.summary.value, html=raw.summary.html)[:MAX_SUMMARY]
    elif raw.content is not None:  # copied without its type, so read as HTML
        read = _plain_text if raw.content.html else plain  # text/plain content was not checked
        summary = read(raw.content.value, html=True)[:MAX_SUMMARY]
    else:
        summary = ""
    content = None
    if raw.content is not None:
        text = _plain_text(raw.content.value, html=raw.content.html, paragraphs=True)
        content = text[:MAX_CONTENT] or None
    if not summary and content:
        summary = collapse(content)[:MAX_SUMMARY]
    resolved = link(raw.link, feed_url)
    author = collapse(raw.author or "")[:MAX_AUTHOR] or None
    return Entry(
        feed_url=feed_url,
        key=entry_key(raw.guid, resolved, title, summary),
        title=title,
        link=resolved,
        summary=summary,
        published=published,
        author=author,
        content=content,
    )
