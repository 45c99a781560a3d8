"""One feed document in, a ParsedFeed out: the format is chosen, errors become ParseError."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.errors import ParseError
from monitor.feeds.common import MAX_ENTRIES, NotReadable, ParsedFeed
from monitor.feeds.jsonfeed import parse_json_feed
from monitor.feeds.rss import parse_xml_feed

_JSON_TYPES = ("application/feed+json", "application/json")


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """Parse one feed document fetched from `url`; raise ParseError if it gives nothing usable.

    At most `max_entries` entries are kept: the newest, by their dates.
    """
    try:
        return parse_document(body, url=url, headers=headers, max_entries=max_entries)
    except NotReadable as exc:
        raise ParseError(exc.message, url=url, not_a_feed=exc.not_a_feed) from None


def parse_document(
    body: bytes, *, url: str, headers: Mapping[str, str] | None, max_entries: int
) -> ParsedFeed:
    """parse_feed without the URL in errors: raises NotReadable (picklable, for workers)."""
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    if not body.strip():
        raise NotReadable("empty body, not a feed", not_a_feed=True)
    content_type = lower.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _JSON_TYPES or body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return parse_json_feed(body, url=url, max_entries=max_entries)
    return parse_xml_feed(body, url=url, headers=lower, max_entries=max_entries)
