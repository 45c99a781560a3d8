"""RSS, Atom and RDF through feedparser, after the document is made safe to give it.

Before feedparser sees a byte, two things are removed that it handles badly:

* DOCTYPE internal subsets and ENTITY declarations: its fallback parser expands large
  plain entities without limit (a 110 KB feed can become a 1 GB title);
* the text of over-long author elements (author, dc:creator, managingEditor, Atom
  name/email, ...): it runs a backtracking e-mail regex over every author, which is
  quadratic in the text's length. They are cut to AUTHOR_BYTES.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import feedparser
from feedparser.exceptions import ThingsNobodyCaresAboutButMe

from monitor.feeds.common import (
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_SUMMARY,
    MAX_TITLE,
    NotReadable,
    ParsedFeed,
    collapse,
    entry_key,
    link,
    newest_first,
    plain,
    ttl_minutes,
    utc_datetime,
)
from monitor.feeds.fastpath import Unsure, parse_plain_feed
from monitor.models import Entry

AUTHOR_BYTES = 2 * MAX_AUTHOR  # longer author texts are cut to this before parsing

_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_SUBSET_END = re.compile(rb"\]\s*>")
_ENTITY_DECL = re.compile(rb"<!ENTITY\b(?:\"[^\"]*\"|'[^']*'|[^>\"'])*>", re.IGNORECASE)
_AUTHOR_TAGS = rb"author|creator|managingEditor|webMaster|publisher|contributor|name|email|owner"
_LONG_AUTHOR = re.compile(
    rb"(<(?:[A-Za-z_][\w.-]*:)?(?:" + _AUTHOR_TAGS + rb")\b[^<>]*(?<!/)>)"  # an opening tag
    rb"(<!\[CDATA\[|[^<]{%d})" % AUTHOR_BYTES,  # CDATA, or more plain text than allowed
    re.IGNORECASE,
)
_PARTIAL_ENTITY = re.compile(rb"&[#\w]*$")
_ITEM = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:item|entry))\b[^>]*>.*?</\1\s*>", re.DOTALL)
_ITEM_TITLE = re.compile(rb"<(?:[\w.-]+:)?title\b[^>]*>(.*?)</", re.DOTALL)


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


def cut_long_authors(body: bytes) -> bytes:
    """The document with the text of each author-like element cut to AUTHOR_BYTES."""
    if _LONG_AUTHOR.search(body) is None:  # the common case: nothing to copy
        return body
    out: list[bytes] = []
    position = 0
    for match in _LONG_AUTHOR.finditer(body):
        if match.start() < position:
            continue
        text_start = match.end(1)
        if match.group(2) == b"<![CDATA[":
            close = body.find(b"]]>", text_start)
            text_end = len(body) if close == -1 else close + 3
            inner = body[text_start + 9 : text_end - 3 if close != -1 else text_end]
            if len(inner) <= AUTHOR_BYTES:
                continue
            kept = b"<![CDATA[" + _cut(inner) + b"]]>"
        else:
            following = body.find(b"<", text_start)
            text_end = len(body) if following == -1 else following
            kept = _PARTIAL_ENTITY.sub(b"", _cut(body[text_start:text_end]))
        out += [body[position:text_start], kept]
        position = text_end
    out.append(body[position:])
    return b"".join(out)


def _cut(text: bytes) -> bytes:
    """The first AUTHOR_BYTES bytes, without a UTF-8 sequence cut in the middle."""
    head = text[:AUTHOR_BYTES]
    tail = 0  # continuation bytes (10xxxxxx) at the end
    while tail < 3 and tail < len(head) and 0x80 <= head[-1 - tail] <= 0xBF:
        tail += 1
    lead = len(head) - tail - 1
    if lead >= 0 and head[lead] >= 0xC0:
        needed = 2 if head[lead] < 0xE0 else 3 if head[lead] < 0xF0 else 4
        if tail + 1 < needed:
            return head[:lead]
    return head


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


def parse_xml_feed(
    body: bytes, *, url: str, headers: dict[str, str], max_entries: int, fast: bool = True
) -> ParsedFeed:
    """An RSS, Atom or RDF document as a ParsedFeed; NotReadable when it gives nothing.

    Plain RSS 2.0 and Atom documents take lxml (fastpath.py, the same result); the rest, and
    all of them with `fast=False`, take feedparser.
    """
    response_headers = {k: v for k, v in headers.items() if k != "content-encoding"}
    response_headers["content-location"] = url
    safe = cut_long_authors(strip_entity_declarations(body))
    if fast:
        try:
            return parse_plain_feed(
                safe, url=url, headers=response_headers, max_entries=max_entries
            )
        except Unsure:
            pass
        except Exception:  # feedparser's helpers it borrows crash on some bytes: feedparser decides
            pass
    skipped: list[str] = []
    try:
        parsed = feedparser.parse(io.BytesIO(safe), response_headers=response_headers)
        raw_entries: list[Any] = list(parsed.get("entries", []))
    except Exception:  # feedparser crashes on some input (a charref beyond Unicode): per item
        parsed, raw_entries, skipped = _item_by_item(safe, response_headers)
    if not parsed.get("version") and not raw_entries:
        raise NotReadable(f"{looks_like(body)}, not a feed", not_a_feed=True)
    warnings = []
    exc = parsed.get("bozo_exception")
    # Content-type and charset complaints are not malformation: the document parsed strictly.
    if parsed.get("bozo") and not isinstance(exc, ThingsNobodyCaresAboutButMe):
        if not raw_entries:
            raise NotReadable(f"malformed feed with no entries ({_describe(exc)})")
        warnings.append(f"malformed feed: {_describe(exc)}")
    # dict.get: FeedParserDict's own lookup maps updated→published with a DeprecationWarning.
    dates = [
        utc_datetime(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed"))
        for raw in raw_entries
    ]
    entries = []
    for i in newest_first(dates, max_entries):
        try:
            entries.append(_xml_entry(raw_entries[i], dates[i], url))
        except Exception as failure:  # one odd entry costs that entry, not the feed
            skipped.append(f"entry {i + 1} ({_describe(failure)})")
    if skipped:
        warnings.append(f"skipped {len(skipped)} bad item(s): " + "; ".join(skipped)[:1000])
    feed: Any = parsed.get("feed", {})
    title = _text_field(feed, "title", MAX_TITLE) or None
    return ParsedFeed(
        title=title,
        entries=tuple(entries),
        ttl=_ttl(feed.get("ttl")),
        warning="; ".join(warnings) or None,
    )


def _item_by_item(safe: bytes, headers: dict[str, str]) -> tuple[Any, list[Any], list[str]]:
    """feedparser over each <item>/<entry> alone (in the document's head and tail).

    Returns the parse of the feed without items (for its title and version), the entries
    of the items that parsed, and a description of each item that did not.
    """
    items = list(_ITEM.finditer(safe))
    head = safe[: items[0].start()] if items else safe
    tail = safe[items[-1].end() :] if items else b""
    try:
        parsed = feedparser.parse(io.BytesIO(head + tail), response_headers=headers)
    except Exception as exc:
        raise NotReadable(f"feed could not be parsed ({_describe(exc)})") from None
    entries: list[Any] = []
    skipped: list[str] = []
    for number, item in enumerate(items, 1):
        try:
            one = feedparser.parse(
                io.BytesIO(head + item.group(0) + tail), response_headers=headers
            )
            entries += list(one.get("entries", []))
        except Exception as exc:
            title = _ITEM_TITLE.search(item.group(0))
            named = title.group(1).decode("utf-8", "replace").strip()[:80] if title else "untitled"
            skipped.append(f"item {number} {named!r} ({_describe(exc)})")
    return parsed, entries, skipped


def _xml_entry(raw: Any, published: datetime | None, feed_url: str) -> Entry:
    title = _text_field(raw, "title", MAX_TITLE)
    summary = _text_field(raw, "summary", MAX_SUMMARY)
    content = None
    for part in raw.get("content") or []:
        text = plain(part.get("value") or "", html=_is_html(part), paragraphs=True)
        if text:
            content = text[:MAX_CONTENT]
            break
    if not summary and content:
        summary = collapse(content)[:MAX_SUMMARY]
    resolved = link(raw.get("link"), feed_url)
    guid = raw.get("id")
    author = collapse(str(raw.get("author") or ""))[:MAX_AUTHOR] or None
    return Entry(
        feed_url=feed_url,
        key=entry_key(guid if isinstance(guid, str) else None, resolved, title, summary),
        title=title,
        link=resolved,
        summary=summary,
        published=published,
        author=author,
        content=content,
    )


def _text_field(obj: Any, name: str, cap: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        return ""
    detail = obj.get(f"{name}_detail") or {}
    return plain(value, html=_is_html(detail))[:cap]


def _is_html(detail: Any) -> bool:
    return str(detail.get("type") or "text/html").lower() != "text/plain"


def _ttl(value: object) -> int | None:
    return ttl_minutes(value) if isinstance(value, str) else None


def _describe(exc: object) -> str:
    text = str(exc) if exc is not None else "unknown error"
    return f"{type(exc).__name__}: {text}"[:300] if exc is not None else text


def looks_like(body: bytes) -> str:
    """A few words on what a document that is not a feed seems to be."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<html" in head or head.startswith(b"<!doctype html"):
        return "an HTML page"
    if head.startswith(b"<"):
        root = re.search(rb"<([a-z_][\w:.-]*)", head)
        name = root.group(1).decode("ascii", "replace") if root else "?"
        return f"an XML document with root <{name}>" if root else "XML without a root element"
    return "neither XML nor JSON"
