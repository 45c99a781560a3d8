"""Feed bytes → entries: RSS, Atom and RDF through feedparser, JSON Feed through our own parser.

This is feedparser's only home. Its result dicts never leave this module: callers get
`ParsedFeed` and `Entry` (plain text, resolved links, aware UTC datetimes), and its bozo
flag becomes either a `warning` (the feed still gave entries) or a `ParseError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.exceptions import ThingsNobodyCaresAboutButMe

from monitor.errors import ParseError
from monitor.models import Entry
from monitor.urls import canonical_url

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 100_000
MAX_AUTHOR = 500
MAX_LINK = 4_096
MAX_GUID = 1_024

JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")
_JSON_TYPES = ("application/feed+json", "application/json")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document told us."""

    title: str | None
    entries: tuple[Entry, ...]
    ttl: int | None  # RSS <ttl> in minutes, if any
    warning: str | None  # set when the feed was malformed but still gave entries (bozo)


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse one feed document fetched from `url`; raise ParseError if it gives nothing usable."""
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    if not body.strip():
        raise ParseError("empty body, not a feed", url=url, not_a_feed=True)
    content_type = lower.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _JSON_TYPES or body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(body, url=url)
    return _parse_xml_feed(body, url=url, headers=lower)


def entry_key(guid: str | None, link: str | None, title: str, summary: str) -> str:
    """The stable identity of an entry: its GUID, else its canonical link, else a content hash.

    GUIDs that are http(s) URLs are canonicalised too, so tracking parameters added to
    permalink GUIDs do not create new entries.
    """
    guid = (guid or "").strip()
    if guid:
        if guid.lower().startswith(("http://", "https://")):
            guid = canonical_url(guid)
        if len(guid) > MAX_GUID:
            guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()
        return f"guid:{guid}"
    if link:
        return f"link:{canonical_url(link)}"
    digest = hashlib.sha256(f"{title}\n{summary}".encode("utf-8", "replace")).hexdigest()
    return f"hash:{digest[:32]}"


# --- RSS / Atom / RDF -------------------------------------------------------------------

_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_SUBSET_END = re.compile(rb"\]\s*>")
_ENTITY_DECL = re.compile(rb"<!ENTITY\b(?:\"[^\"]*\"|'[^']*'|[^>\"'])*>", re.IGNORECASE)


def strip_entity_declarations(body: bytes) -> bytes:
    """The document without a DOCTYPE internal subset or any ENTITY declaration.

    An external DOCTYPE (`<!DOCTYPE rss SYSTEM "...">`) is kept: feedparser uses it to tell
    RSS 0.91 flavours apart and nothing fetches it. Entity references left undefined make the
    feed bozo, which is the point: they are shown literally instead of being expanded.
    """
    body = _to_utf8(body)
    match = _DOCTYPE.search(body)
    first = _FIRST_ELEMENT.search(body)
    if match and (first is None or first.start() > match.start()):
        start = match.end()
        bracket, close = body.find(b"[", start), body.find(b">", start)
        if bracket != -1 and (close == -1 or bracket < close):
            end = _SUBSET_END.search(body, bracket)
            stop = end.end() if end else len(body)
            body = (
                body[: match.start()] + body[match.start() : bracket].rstrip() + b">" + body[stop:]
            )
    return _ENTITY_DECL.sub(b"", body)


def _to_utf8(body: bytes) -> bytes:
    """UTF-16/32 documents (with a BOM) re-encoded as UTF-8, so byte patterns can see them."""
    for bom, codec in (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    ):
        if body.startswith(bom):
            text = body[len(bom) :].decode(codec, "replace")
            text = re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip())
            return b'<?xml version="1.0" encoding="utf-8"?>' + text.encode("utf-8")
    return body


def _parse_xml_feed(body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed:
    response_headers = {k: v for k, v in headers.items() if k != "content-encoding"}
    response_headers["content-location"] = url
    parsed = feedparser.parse(
        io.BytesIO(strip_entity_declarations(body)), response_headers=response_headers
    )
    raw_entries: list[Any] = list(parsed.get("entries", []))
    if not parsed.get("version") and not raw_entries:
        raise ParseError(f"{_looks_like(body)}, not a feed", url=url, not_a_feed=True)
    warning = None
    exc = parsed.get("bozo_exception")
    # Content-type and charset complaints are not malformation: the document parsed strictly.
    if parsed.get("bozo") and not isinstance(exc, ThingsNobodyCaresAboutButMe):
        if not raw_entries:
            raise ParseError(f"malformed feed with no entries ({_describe(exc)})", url=url)
        warning = f"malformed feed: {_describe(exc)}"
    feed: Any = parsed.get("feed", {})
    entries = tuple(_xml_entry(raw, url) for raw in raw_entries)
    title = _text_field(feed, "title", MAX_TITLE) or None
    return ParsedFeed(title=title, entries=entries, ttl=_ttl(feed.get("ttl")), warning=warning)


def _xml_entry(raw: Any, feed_url: str) -> Entry:
    title = _text_field(raw, "title", MAX_TITLE)
    summary = _text_field(raw, "summary", MAX_SUMMARY)
    content = None
    for part in raw.get("content") or []:
        text = _plain(part.get("value") or "", html=_is_html(part), paragraphs=True)
        if text:
            content = text[:MAX_CONTENT]
            break
    if not summary and content:
        summary = _collapse(content)[:MAX_SUMMARY]
    link = _link(raw.get("link"), feed_url)
    guid = raw.get("id")
    author = _collapse(str(raw.get("author") or ""))[:MAX_AUTHOR] or None
    # dict.get: FeedParserDict's own lookup maps updated→published with a DeprecationWarning.
    moment = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    published = _struct_time(moment)
    return Entry(
        feed_url=feed_url,
        key=entry_key(guid if isinstance(guid, str) else None, link, title, summary),
        title=title,
        link=link,
        summary=summary,
        published=published,
        author=author,
        content=content,
    )


def _struct_time(value: Any) -> datetime | None:
    """feedparser's UTC time.struct_time as an aware datetime (None when absent or absurd)."""
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in value[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _text_field(obj: Any, name: str, cap: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        return ""
    detail = obj.get(f"{name}_detail") or {}
    return _plain(value, html=_is_html(detail))[:cap]


def _is_html(detail: Any) -> bool:
    return str(detail.get("type") or "text/html").lower() != "text/plain"


def _ttl(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _describe(exc: object) -> str:
    text = str(exc) if exc is not None else "unknown error"
    return f"{type(exc).__name__}: {text}"[:300] if exc is not None else text


def _looks_like(body: bytes) -> str:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<html" in head or head.startswith(b"<!doctype html"):
        return "an HTML page"
    if head.startswith(b"<"):
        root = re.search(rb"<([a-z_][\w:.-]*)", head)
        name = root.group(1).decode("ascii", "replace") if root else "?"
        return f"an XML document with root <{name}>" if root else "XML without a root element"
    return "neither XML nor JSON"


# --- JSON Feed -------------------------------------------------------------------------


def _parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = f"invalid JSON ({str(exc)[:200]}), not a feed"
        raise ParseError(message, url=url, not_a_feed=True) from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError("JSON that is not a JSON Feed, not a feed", url=url, not_a_feed=True)
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an items list", url=url)
    warning = None if version in JSON_FEED_VERSIONS else f"unknown JSON Feed version {version!r}"
    entries = tuple(_json_entry(item, url) for item in items if isinstance(item, dict))
    title = (
        _plain(doc["title"], html=False)[:MAX_TITLE] if isinstance(doc.get("title"), str) else ""
    )
    return ParsedFeed(title=title or None, entries=entries, ttl=None, warning=warning)


def _json_entry(item: dict[str, Any], feed_url: str) -> Entry:
    def text(name: str) -> str:
        value = item.get(name)
        return value if isinstance(value, str) else ""

    title = _plain(text("title"), html=False)[:MAX_TITLE]
    html, plain = text("content_html"), text("content_text")
    content = (
        _plain(html, html=True, paragraphs=True)
        if html
        else _plain(plain, html=False, paragraphs=True)
    )[:MAX_CONTENT] or None
    summary = _plain(text("summary"), html=False)[:MAX_SUMMARY]
    if not summary and content:
        summary = _collapse(content)[:MAX_SUMMARY]
    raw_id = item.get("id")
    guid = str(raw_id) if isinstance(raw_id, (str, int, float)) and raw_id != "" else None
    link = _link(text("url") or text("external_url") or None, feed_url)
    published = _iso_date(text("date_published")) or _iso_date(text("date_modified"))
    return Entry(
        feed_url=feed_url,
        key=entry_key(guid, link, title, summary),
        title=title,
        link=link,
        summary=summary,
        published=published,
        author=_json_author(item),
        content=content,
    )


def _json_author(item: dict[str, Any]) -> str | None:
    candidates = item.get("authors")
    people = list(candidates) if isinstance(candidates, list) else []
    if isinstance(item.get("author"), dict):  # JSON Feed 1.0
        people.append(item["author"])
    names = [p["name"] for p in people if isinstance(p, dict) and isinstance(p.get("name"), str)]
    return _collapse(", ".join(names))[:MAX_AUTHOR] or None


def _iso_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- shared helpers ----------------------------------------------------------------------


def _link(value: object, feed_url: str) -> str | None:
    """An http(s) link resolved against the feed URL; None for other schemes or junk."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LINK:
        return None
    try:
        resolved = urljoin(feed_url, value.strip())
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:
        return None
    return resolved if scheme in ("http", "https") else None


_WS = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\s*\n\s*\n\s*")


def _collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _plain(value: str, *, html: bool, paragraphs: bool = False) -> str:
    """Plain text: tags dropped (with script/style bodies), entities decoded, whitespace collapsed.

    With `paragraphs`, block boundaries become blank lines ("\\n\\n") instead of spaces.
    """
    if html:
        stripper = _TextOnly(paragraphs=paragraphs)
        stripper.feed(value)
        stripper.close()
        value = "".join(stripper.parts)
    if not paragraphs:
        return _collapse(value)
    blocks = _BLANK_LINES.split(value.replace("\r", "\n"))
    return "\n\n".join(b for b in (_collapse(block) for block in blocks) if b)


_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption"),
        *("figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main"),
        *("nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"),
    }
)
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg"})


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; markup never survives."""

    def __init__(self, *, paragraphs: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._sep = "\n\n" if paragraphs else " "

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append(self._sep)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append(self._sep)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(self._sep)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)
