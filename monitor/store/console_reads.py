"""What the web console reads (and the one delivery it retries): bounded, indexed queries.

Every page of the console is one or two of these; each returns plain models or
small dataclasses, and none reads more rows than the page shows.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Index, func, select, update

from monitor.models import Delivery, DeliveryStatus, Match
from monitor.store.base import StoreBase
from monitor.store.rows import SeenEntry, _delivery, _match
from monitor.store.schema import deliveries, digests, entries, matches, queue

# an entry's match, looked up by the backtest (console and `topics test`) for its text
entry_index = Index("ix_matches_entry", matches.c.feed_url, matches.c.entry_key)


def create_entry_index(conn: Connection) -> None:
    """Migration 0014."""
    entry_index.create(conn, checkfirst=True)


@dataclass(frozen=True, slots=True)
class Report:
    """One article of a story, as the Stories page lists it."""

    match: Match
    found: datetime
    digest_keys: tuple[str, ...]  # the digests that carried it (one per channel)


@dataclass(frozen=True, slots=True)
class Sent:
    """One delivery of a digest: through which channel, how it went."""

    channel: str
    status: str
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    delivery: Delivery
    subject: str
    topics: str
    created: datetime


class ConsoleReads(StoreBase):
    def entries_after(self, after_id: int, since: datetime) -> list[tuple[int, SeenEntry]]:
        """Entries stored after id `after_id` and first seen since `since`, with their ids."""
        return self.seen_entries(entries.c.id > after_id, entries.c.first_seen >= since)

    def entries_by_id(self, ids: Sequence[int]) -> dict[int, SeenEntry]:
        return dict(self.seen_entries(entries.c.id.in_(list(ids))))

    def story_timeline(self, topic: str, stories: int) -> list[tuple[str, list[Report]]]:
        """The topic's latest `stories` stories, newest first, each with its reports in order."""
        latest = (
            select(matches.c.story_id, func.max(matches.c.id).label("last"))
            .where(matches.c.topic == topic, matches.c.story_id.is_not(None))
            .group_by(matches.c.story_id)
            .order_by(func.max(matches.c.id).desc())
            .limit(stories)
        )
        with self.engine.connect() as conn:
            ids = [row.story_id for row in conn.execute(latest)]
            rows = conn.execute(
                select(matches)
                .where(matches.c.topic == topic, matches.c.story_id.in_(ids))
                .order_by(matches.c.id)
            ).mappings()
            found = list(rows)
            carried: dict[int, list[str]] = {}
            for match_id, key in conn.execute(
                select(queue.c.match_id, queue.c.digest_key).where(
                    queue.c.match_id.in_([row["id"] for row in found]),
                    queue.c.digest_key.is_not(None),
                )
            ):
                carried.setdefault(match_id, []).append(key)
            grouped: dict[str, list[Report]] = {story: [] for story in ids}
            for row in found:
                keys = carried.get(row["id"], [row["digest_key"]] if row["digest_key"] else [])
                grouped[row["story_id"]].append(Report(_match(row), row["created"], tuple(keys)))
        return list(grouped.items())

    def sent_digests(self, keys: Sequence[str]) -> dict[str, list[Sent]]:
        """Deliveries of these digests, by digest key."""
        out: dict[str, list[Sent]] = {}
        if not keys:
            return out
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    deliveries.c.digest_key,
                    deliveries.c.channel,
                    deliveries.c.status,
                    deliveries.c.sent_at,
                ).where(deliveries.c.digest_key.in_(list(keys)))
            )
            for key, channel, status, sent_at in rows:
                out.setdefault(key, []).append(Sent(channel, status, sent_at))
        return out

    def latest_deliveries(self, status: str | None, limit: int) -> list[DeliveryRow]:
        """The newest deliveries (of one status, or all), with their digest's subject."""
        query = (
            select(
                deliveries,
                digests.c.subject,
                digests.c.topic.label("topics"),
                digests.c.created.label("digest_created"),
            )
            .join(digests, digests.c.key == deliveries.c.digest_key)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(deliveries.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            DeliveryRow(_delivery(row), row["subject"], row["topics"], row["digest_created"])
            for row in rows
        ]

    def retry_delivery(self, delivery_id: int, now: datetime) -> bool:
        """Put one failed delivery back in the queue; False if it is not a failed one."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == delivery_id,
                    deliveries.c.status == DeliveryStatus.FAILED.value,
                )
                .values(status=DeliveryStatus.PENDING.value, next_attempt=now)
            )
        return bool(done.rowcount)
