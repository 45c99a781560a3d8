"""What every feed format shares: the result type, field caps, entry keys and text cleaning."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from monitor.models import Entry
from monitor.urls import canonical_url

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 100_000
MAX_AUTHOR = 500
MAX_LINK = 4_096
MAX_GUID = 1_024
MAX_ENTRIES = 500  # the default of fetch.max_entries
MAX_TTL = 525_600  # an RSS <ttl> above a year (in minutes) is read as a year


def ttl_minutes(text: str) -> int | None:
    """An RSS <ttl> as minutes: ASCII digits only, at most MAX_TTL (a huge one is not an error)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return MAX_TTL if len(text) > 6 else min(int(text), MAX_TTL)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document told us (plain, frozen, picklable: it crosses process bounds)."""

    title: str | None
    entries: tuple[Entry, ...]
    ttl: int | None  # RSS <ttl> in minutes, if any
    warning: str | None  # set when the feed was malformed but still gave entries (bozo)


class NotReadable(Exception):
    """Raised by the format parsers; `parse_feed` turns it into ParseError with the URL."""

    def __init__(self, message: str, *, not_a_feed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_a_feed = not_a_feed


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


def utc_datetime(value: object) -> datetime | None:
    """feedparser's UTC time.struct_time as an aware datetime (None when absent or absurd)."""
    if not value or not isinstance(value, tuple):
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in value[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def newest_first(dates: Sequence[datetime | None], cap: int) -> list[int]:
    """Indexes, in document order, of the `cap` newest items; undated ones rank last."""
    if len(dates) <= cap:
        return list(range(len(dates)))

    def rank(i: int) -> tuple[bool, float, int]:
        moment = dates[i]
        return (moment is None, -moment.timestamp() if moment else 0.0, i)

    return sorted(sorted(range(len(dates)), key=rank)[:cap])


def link(value: object, feed_url: str) -> str | None:
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


def storable(text: str) -> str:
    """`text` without NUL characters and lone surrogates, which no store can keep."""
    if "\x00" in text or not text.isascii():
        return text.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
    return text


def collapse(text: str) -> str:
    return _WS.sub(" ", storable(text)).strip()


def plain(value: str, *, html: bool, paragraphs: bool = False) -> str:
    """Plain text: tags dropped (with script/style bodies), entities decoded, whitespace collapsed.

    With `paragraphs`, block boundaries become blank lines ("\\n\\n") instead of spaces.
    NUL characters and lone surrogates (which no store can keep) are dropped.
    """
    value = storable(value)
    if html:
        stripper = _TextOnly(paragraphs=paragraphs)
        stripper.feed(value)
        stripper.close()
        value = "".join(stripper.parts)
    if not paragraphs:
        return collapse(value)
    blocks = _BLANK_LINES.split(value.replace("\r", "\n"))
    return "\n\n".join(b for b in (collapse(block) for block in blocks) if b)


BLOCK_TAGS = frozenset(
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
        elif tag in BLOCK_TAGS:
            self.parts.append(self._sep)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in BLOCK_TAGS:
            self.parts.append(self._sep)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append(self._sep)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)
