"""Feed bytes → entries: RSS, Atom and RDF through feedparser, JSON Feed through our own parser.

This package is feedparser's only home. Its result dicts never leave it: callers get
`ParsedFeed` and `Entry` (plain text, resolved links, aware UTC datetimes, capped field
lengths, at most `max_entries` entries, newest first), and its bozo flag becomes either a
`warning` (the feed still gave entries) or a `ParseError`.

    common.py    ParsedFeed, caps, entry keys, HTML → plain text
    rss.py       RSS/Atom/RDF: hostile-XML defusing, then feedparser
    jsonfeed.py  JSON Feed 1.0/1.1
    document.py  parse_feed: choose the format, translate errors
    parse_pool.py  ParsePool: parse_feed in worker processes (feedparser is pure Python)

The parsers themselves (feedparser, lxml) load on first use of `parse_feed`: the service
parses in its workers, whose forkserver preloads them, and never needs them itself.
"""

from typing import TYPE_CHECKING, Any

from monitor.feeds.common import (
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_ENTRIES,
    MAX_GUID,
    MAX_LINK,
    MAX_SUMMARY,
    MAX_TITLE,
    ParsedFeed,
    entry_key,
)
from monitor.feeds.parse_pool import ParsePool

if TYPE_CHECKING:
    from monitor.feeds.document import parse_feed
    from monitor.feeds.rss import cut_long_authors, strip_entity_declarations

__all__ = [
    "MAX_AUTHOR",
    "MAX_CONTENT",
    "MAX_ENTRIES",
    "MAX_GUID",
    "MAX_LINK",
    "MAX_SUMMARY",
    "MAX_TITLE",
    "ParsePool",
    "ParsedFeed",
    "cut_long_authors",
    "entry_key",
    "parse_feed",
    "strip_entity_declarations",
]

_PARSERS = {
    "parse_feed": "monitor.feeds.document",
    "cut_long_authors": "monitor.feeds.rss",
    "strip_entity_declarations": "monitor.feeds.rss",
}


def __getattr__(name: str) -> Any:
    """The parsers' names, imported on first use (PEP 562)."""
    if name in _PARSERS:
        import importlib

        return getattr(importlib.import_module(_PARSERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
