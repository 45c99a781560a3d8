"""Rows to plain models and back: nothing outside the store ever sees a row."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.models import (
    Delivery,
    DeliveryStatus,
    FeedState,
    Match,
)


@dataclass(frozen=True, slots=True)
class SeenEntry:
    """An entry as the store keeps it, for trying queries on past news."""

    feed_url: str
    title: str
    summary: str
    link: str | None
    first_seen: datetime
    article_text: str | None  # when the entry matched a topic and its article was kept
    story_id: str | None
    story_reason: str | None = None  # why it joined its story


@dataclass(frozen=True, slots=True)
class Queued:
    """A story waiting in a channel's queue."""

    id: int
    match: Match
    queued: datetime


@dataclass(frozen=True, slots=True)
class ClaimedFeed:
    """A feed this process may now poll: its state and the interval its document asked for."""

    state: FeedState
    hint: timedelta | None

    @property
    def url(self) -> str:
        return self.state.url


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int
    sent: int
    failed: int


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_checked=row["last_checked"],
        last_success=row["last_success"],
        last_error=row["last_error"],
        last_error_class=row["last_error_class"],
        consecutive_failures=row["consecutive_failures"] or 0,
        next_check=row["next_check"],
    )


def _hint(row: Any) -> timedelta | None:
    seconds = row["hint_seconds"]
    return timedelta(seconds=seconds) if seconds else None


def _match_values(match: Match) -> dict[str, Any]:
    return {
        "topic": match.topic,
        "url": match.url,
        "entry_key": match.entry_key,
        "feed_url": match.feed_url,
        "title": match.title,
        "text": match.text,
        "source": match.source,
        "published": match.published,
        "terms": json.dumps(list(match.terms)),
        "note": match.note,
        "author": match.author,
        "image": match.image,
        "site_name": match.site_name,
        "language": match.language,
        "story_id": match.story_id,
        "story_kind": match.story_kind,
        "story_reason": match.story_reason,
        "new_sentences": json.dumps(list(match.new_sentences)),
        "snippet": match.snippet,
        "hits": json.dumps([list(hit) for hit in match.hits]),
    }


def _match(row: Any) -> Match:
    return Match(
        topic=row["topic"],
        entry_key=row["entry_key"],
        feed_url=row["feed_url"],
        url=row["url"],
        title=row["title"],
        text=row["text"],
        source=row["source"],
        published=row["published"],
        terms=tuple(json.loads(row["terms"])),
        note=row["note"],
        author=row["author"],
        image=row["image"],
        site_name=row["site_name"],
        language=row["language"],
        story_id=row["story_id"],
        story_kind=row["story_kind"],
        story_reason=row["story_reason"],
        new_sentences=tuple(json.loads(row["new_sentences"] or "[]")),
        snippet=row["snippet"],
        hits=tuple((t, f, int(c)) for t, f, c in json.loads(row["hits"] or "[]")),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        digest_key=row["digest_key"],
        channel=row["channel"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt=row["next_attempt"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
    )
