"""What each part of news-monitor needs from the store, one small interface per need.

`Store` implements every one of them; a stage is typed against its own, so reading
a stage's signature says which records it reads and writes, and a test double for
a stage needs only these few methods. The methods are synchronous (one short
transaction each): async code calls them through `asyncio.to_thread`, never on the
event loop (see ARCHITECTURE.md, "Processes and replicas").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.models import Delivery, Entry, FeedState, Match, RenderedDigest
from monitor.store.console_reads import DeliveryRow, Report, Sent
from monitor.store.rows import OutboxCounts, Queued, SeenEntry


class PollRecords(Protocol):
    """Polling (`pipeline.Pipeline`): a feed's state, which entries are new, what they made."""

    def feed_schedule(self, url: str) -> tuple[FeedState, timedelta | None]: ...

    def save_feed_state(
        self, state: FeedState, *, title: str | None = None, hint: timedelta | None = None
    ) -> None: ...

    def save_feed_states(self, states: Sequence[FeedState]) -> None: ...

    def unseen(
        self, feed_url: str, batch: Sequence[Entry], *, first_read: bool = False
    ) -> list[Entry]: ...

    def record_entries(
        self,
        new: Iterable[Entry],
        found: Iterable[Match],
        now: datetime,
        routes: Mapping[str, Sequence[str]] | None = None,
        *,
        feed: tuple[FeedState, str | None, timedelta | None] | None = None,
    ) -> int: ...


class StoryRevisions(Protocol):
    """Story placement (`story_sync.SharedStories`): the shared book's lock and changes."""

    @property
    def shared(self) -> bool: ...

    def story_lock(self) -> AbstractContextManager[None]: ...

    def story_changes_since(self, revision: int) -> tuple[list[dict[str, Any]], list[str], int]: ...

    def save_story_changes(
        self,
        records: Sequence[dict[str, Any]],
        removed: Sequence[str],
        now: datetime,
        keep_removed: timedelta,
        renamed: Mapping[str, str] | None = None,
    ) -> int: ...

    def expire_stories(self, cutoff: datetime, now: datetime, keep_removed: timedelta) -> int: ...


class DigestRecords(Protocol):
    """Queuing digests (`delivery.outbox.queue_due_digests`, `delivery.source_health`)."""

    def waiting(self, channel: str) -> dict[str, list[Queued]]: ...

    def last_digest_time(self, topic: str, channel: str) -> datetime | None: ...

    def save_digest(
        self,
        rendered: RenderedDigest,
        *,
        channel: str,
        topics: Sequence[str],
        queued: Sequence[int],
        now: datetime,
    ) -> None: ...

    def folded_copies(
        self, topic: str, story_ids: Iterable[str]
    ) -> dict[str, list[tuple[str, str]]]: ...

    def earlier_digests(self, story_id: str, topic: str, channel: str) -> list[str]: ...


class DeliveryRecords(Protocol):
    """Sending (`delivery.outbox.drain`): claim what is due, record each outcome."""

    def claim_deliveries(
        self, owner: str, now: datetime, lease: timedelta, *, ignore_backoff: bool = False
    ) -> list[Delivery]: ...

    def make_durable(self) -> None: ...

    def rendered_digest(self, key: str) -> RenderedDigest: ...

    def release_delivery(self, delivery_id: int) -> None: ...

    def mark_sent(self, delivery_id: int, now: datetime) -> None: ...

    def mark_retry(self, delivery_id: int, error: str, next_attempt: datetime) -> None: ...

    def mark_failed(self, delivery_id: int, error: str) -> None: ...

    def stop_channel(self, channel: str, reason: str, now: datetime) -> None: ...


class HealthRecords(DigestRecords, Protocol):
    """The alert when no feed can be read (`delivery.source_health`)."""

    def feed_states(self) -> list[FeedState]: ...


class MatchHistory(Protocol):
    """Each topic's Atom file (`delivery.atom_files`)."""

    def recent_matches(self, topic: str, limit: int) -> list[tuple[int, Match, datetime]]: ...


class PastEntries(Protocol):
    """A query tried on past entries (`topic_trial`, the console's backtest)."""

    def entries_since(self, since: datetime) -> list[SeenEntry]: ...

    def feed_titles(self) -> dict[str, str]: ...

    def entries_after(self, after_id: int, since: datetime) -> list[tuple[int, SeenEntry]]: ...

    def entries_by_id(self, ids: Sequence[int]) -> dict[int, SeenEntry]: ...


class StoryMutes(Protocol):
    """`stories mute` and `unmute`, from the command line or the console."""

    def mute_story(self, story_id: str, title: str | None, now: datetime) -> bool: ...

    def unmute_story(self, story_id: str) -> bool: ...

    def story_title(self, story_id: str) -> str | None: ...


class ConsoleRecords(StoryMutes, PastEntries, Protocol):
    """What the console's pages read and the few things its forms change."""

    def feed_states(self) -> list[FeedState]: ...

    def feed_hints(self) -> dict[str, timedelta | None]: ...

    def paused_feeds(self) -> dict[str, datetime]: ...

    def match_counts(self, since: datetime) -> dict[str, int]: ...

    def outbox_counts(self) -> OutboxCounts: ...

    def stopped(self) -> dict[str, tuple[str, datetime]]: ...

    def story_timeline(self, topic: str, stories: int) -> list[tuple[str, list[Report]]]: ...

    def sent_digests(self, keys: Sequence[str]) -> dict[str, list[Sent]]: ...

    def muted_stories(self) -> dict[str, tuple[str | None, datetime]]: ...

    def latest_deliveries(self, status: str | None, limit: int) -> list[DeliveryRow]: ...

    def retry_delivery(self, delivery_id: int, now: datetime) -> bool: ...

    def rendered_digest(self, key: str) -> RenderedDigest: ...
