"""Feed bytes → entries: RSS, Atom and RDF through feedparser, JSON Feed through our own parser.

This package is feedparser's only home. Its result dicts never leave it: callers get
`ParsedFeed` and `Entry` (plain text, resolved links, aware UTC datetimes, capped field
lengths, at most `max_entries` entries, newest first), and its bozo flag becomes either a
`warning` (the feed still gave entries) or a `ParseError`.

    common.py    ParsedFeed, caps, entry keys, HTML → plain text
    rss.py       RSS/Atom/RDF: hostile-XML defusing, then feedparser
    jsonfeed.py  JSON Feed 1.0/1.1
    document.py  parse_feed: choose the format, translate errors
    pool.py      ParsePool: parse_feed in worker processes (feedparser is pure Python)
"""

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
from monitor.feeds.document import parse_feed
from monitor.feeds.parse_pool import ParsePool
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
