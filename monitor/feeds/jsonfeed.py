"""JSON Feed 1.0 and 1.1: released feedparser (6.0.x) does not read them, so we do."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

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
)
from monitor.models import Entry

JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


def parse_json_feed(body: bytes, *, url: str, max_entries: int) -> ParsedFeed:
    """A JSON Feed document as a ParsedFeed; NotReadable when it is not one."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotReadable(f"invalid JSON ({str(exc)[:200]}), not a feed", not_a_feed=True) from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise NotReadable("JSON that is not a JSON Feed, not a feed", not_a_feed=True)
    items = doc.get("items")
    if not isinstance(items, list):
        raise NotReadable("JSON Feed without an items list")
    warnings = [] if version in JSON_FEED_VERSIONS else [f"unknown JSON Feed version {version!r}"]
    entries, skipped = [], []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            continue
        try:
            entries.append(_json_entry(item, url))
        except Exception as exc:  # one odd item costs that item, not the feed
            named = str(item.get("title") or item.get("id") or "untitled")[:80]
            skipped.append(f"item {number} {named!r} ({type(exc).__name__}: {exc})"[:300])
    if skipped:
        warnings.append(f"skipped {len(skipped)} bad item(s): " + "; ".join(skipped)[:1000])
    warning = "; ".join(warnings) or None
    kept = newest_first([entry.published for entry in entries], max_entries)
    title = plain(doc["title"], html=False)[:MAX_TITLE] if isinstance(doc.get("title"), str) else ""
    return ParsedFeed(
        title=title or None, entries=tuple(entries[i] for i in kept), ttl=None, warning=warning
    )


def _json_entry(item: dict[str, Any], feed_url: str) -> Entry:
    def text(name: str) -> str:
        value = item.get(name)
        return value if isinstance(value, str) else ""

    title = plain(text("title"), html=False)[:MAX_TITLE]
    html, plain_text = text("content_html"), text("content_text")
    content = (
        plain(html, html=True, paragraphs=True)
        if html
        else plain(plain_text, html=False, paragraphs=True)
    )[:MAX_CONTENT] or None
    summary = plain(text("summary"), html=False)[:MAX_SUMMARY]
    if not summary and content:
        summary = collapse(content)[:MAX_SUMMARY]
    raw_id = item.get("id")
    guid = str(raw_id) if isinstance(raw_id, (str, int, float)) and raw_id != "" else None
    resolved = link(text("url") or text("external_url") or None, feed_url)
    published = _iso_date(text("date_published")) or _iso_date(text("date_modified"))
    return Entry(
        feed_url=feed_url,
        key=entry_key(guid, resolved, title, summary),
        title=title,
        link=resolved,
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
    return collapse(", ".join(names))[:MAX_AUTHOR] or None


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
