"""Persistence: feed state, entries seen, matches, stories, digests and their deliveries.

SQLAlchemy Core over SQLite by default (WAL, synchronous=NORMAL, a checkpoint
before a digest is first sent), or PostgreSQL (psycopg 3) where several replicas
share the work. Schema changes are the ordered, named migrations of `schema.py`;
`Store.migrate()` applies the missing ones. Every method is one short transaction
and returns plain models (`rows.py`), never rows.

Replicas never talk to each other, only to the database: a feed or a delivery is
*claimed* (`claim_feeds`, `claim_deliveries`: `FOR UPDATE SKIP LOCKED` and a lease)
before it is worked on, and the claim is released when its outcome is saved; a
process that dies frees its claims when their lease runs out. A digest takes its
queued stories only if no other process took them first (`save_digest`).
"""

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from monitor.errors import MonitorError, redact_url
from monitor.models import (
    Delivery,
    DeliveryStatus,
    Entry,
    FeedState,
    Match,
    RenderedDigest,
)
from monitor.store.rows import (
    ClaimedFeed,
    OutboxCounts,
    Queued,
    SeenEntry,
    _delivery,
    _feed_state,
    _hint,
    _match,
    _match_values,
)
from monitor.store.schema import (
    MIGRATIONS,
    deliveries,
    digests,
    entries,
    feeds,
    matches,
    queue,
    schema_migrations,
    stopped_channels,
    story_records,
)

__all__ = [
    "MIGRATIONS",
    "ClaimedFeed",
    "DigestTaken",
    "OutboxCounts",
    "Queued",
    "SeenEntry",
    "Store",
    "StoreError",
    "schema_migrations",
]

# Advisory lock keys: replicas starting together migrate once; place stories in turn.
_MIGRATION_LOCK = 0x6E6D_0001
_STORY_LOCK = 0x6E6D_0002


class StoreError(MonitorError):
    """The store cannot be opened or used as asked."""


class DigestTaken(Exception):
    """This digest was saved already, or another digest took some of its stories first."""


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL to connect with; plain postgresql:// means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"store.url {redact_url(url)!r} is not a database URL",
            hint="use e.g. sqlite:///data/monitor.db or postgresql://user@host/dbname",
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `status` read while the service writes; busy_timeout waits instead of
    # failing with "database is locked". synchronous=NORMAL: in WAL mode a commit
    # survives a crash of the process (and never corrupts the file); only a power cut
    # can drop the last commits, and the WAL is synced in commit order. So a lost
    # "entry seen" means the entry is processed again, a lost "sent" means one repeat
    # with the same id; and `make_durable()` syncs a digest before it is first sent.
    # FULL would fsync every commit: 5 ms each, most of a first poll of 1,000 feeds.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """The pipeline's state. Open with a SQLAlchemy URL; call migrate() once at start."""

    def __init__(self, url: str) -> None:
        parsed = engine_url(url)
        self.path: Path | None = None  # the SQLite file, if that is the backend
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self.path = Path(parsed.database)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        try:
            self.engine: Engine = create_engine(parsed, pool_pre_ping=True)
        except ImportError as exc:  # e.g. a driver that is not installed
            raise StoreError(f"store.url {redact_url(url)!r}: {exc}") from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._state_upsert: Any = None

    @property
    def shared(self) -> bool:
        """Whether several processes may use this store at once (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()

    def make_durable(self) -> None:
        """Force what is committed onto the disk (SQLite: a WAL checkpoint, which syncs)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    # -- schema ---------------------------------------------------------------

    def check_connection(self) -> None:
        """Raise a StoreError that says what to do when the database cannot be reached."""
        try:
            with self.engine.connect():
                pass
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(
                f"cannot open the store {redact_url(self.url)}: {reason}",
                hint="check store.url, and that the database server is running",
            ) from None

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; return their names."""
        applied: list[str] = []
        self.check_connection()
        with self.engine.begin() as conn:
            if self.shared:  # replicas starting together: one migrates, the others wait
                conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            schema_migrations.create(conn, checkfirst=True)
            done = set(conn.scalars(select(schema_migrations.c.name)))
            for name, step in MIGRATIONS:
                if name in done:
                    continue
                step(conn)
                conn.execute(
                    insert(schema_migrations).values(name=name, applied_at=datetime.now(UTC))
                )
                applied.append(name)
        return applied

    # -- feeds ----------------------------------------------------------------

    def feed_state(self, url: str) -> FeedState:
        return self.feed_schedule(url)[0]

    def feed_schedule(self, url: str) -> tuple[FeedState, timedelta | None]:
        """The feed's state and the interval its last document asked for (None: nothing)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(feeds).where(feeds.c.url == url)).mappings().first()
        if not row:
            return FeedState(url=url), None
        return _feed_state(row), _hint(row)

    def feed_states(self) -> list[FeedState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(feeds).order_by(feeds.c.url)).mappings().all()
        return [_feed_state(row) for row in rows]

    def release_claims(self) -> None:
        """Drop every claim: for a process that knows no other can hold one (SQLite's lock)."""
        with self.engine.begin() as conn:
            for table in (feeds, deliveries):
                conn.execute(
                    update(table)
                    .where(table.c.claimed_by.is_not(None))
                    .values(claimed_by=None, claim_until=None)
                )

    def sync_feeds(self, urls: Sequence[str]) -> None:
        """Give every configured feed a row, so it can be claimed before its first poll."""
        if not urls:
            return
        with self.engine.begin() as conn:
            conn.execute(
                self._insert_ignoring_duplicates(feeds),
                [{"url": url, "consecutive_failures": 0} for url in urls],
            )

    def claim_feeds(
        self,
        owner: str,
        urls: Sequence[str],
        now: datetime,
        lease: timedelta,
        *,
        limit: int | None = None,
        only_due: bool = True,
        due_by: datetime | None = None,
    ) -> list[ClaimedFeed]:
        """Claim up to `limit` of `urls` that are due and not claimed; return them, latest first.

        A claim lasts until the feed's state is saved, or until `now + lease` if the
        process dies first. Rows another process is claiming right now are skipped,
        not waited for, so replicas never poll the same feed in the same interval.
        """
        if not urls:
            return []
        wanted = [
            feeds.c.url.in_(urls),
            or_(feeds.c.claim_until.is_(None), feeds.c.claim_until <= now),
        ]
        if only_due:  # due by `due_by` (default: now), e.g. the start of the cycle
            due = due_by or now
            wanted.append(or_(feeds.c.next_check.is_(None), feeds.c.next_check <= due))
        order = (feeds.c.next_check.is_not(None), feeds.c.next_check, feeds.c.url)
        rows = self._claim(feeds.c.url, wanted, order, limit, owner, now + lease)
        never = datetime.min.replace(tzinfo=UTC)  # never polled: first
        claimed = [ClaimedFeed(_feed_state(row), _hint(row)) for row in rows]
        return sorted(claimed, key=lambda c: (c.state.next_check or never, c.url))

    def _claim(
        self,
        key: Any,
        wanted: Sequence[Any],
        order: Sequence[Any],
        limit: int | None,
        owner: str,
        until: datetime,
    ) -> Sequence[Any]:
        """Mark the rows of `key`'s table that match `wanted` as `owner`'s until `until`.

        Rows another transaction has locked are skipped, not waited for (PostgreSQL's
        SKIP LOCKED; SQLite, with one writer, ignores it). Returns the claimed rows.
        """
        table = key.table
        chosen = (
            select(key)
            .where(and_(*wanted))
            .order_by(*order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(table)
            .where(key.in_(chosen.scalar_subquery()))
            .values(claimed_by=owner, claim_until=until)
            .returning(*table.c)
        )
        with self.engine.begin() as conn:
            return conn.execute(claim).mappings().all()

    def save_feed_state(
        self, state: FeedState, *, title: str | None = None, hint: timedelta | None = None
    ) -> None:
        """Save the state; `title` and `hint` only when given (a 304 keeps the last ones)."""
        with self.engine.begin() as conn:
            self._save_feed_state(conn, state, title, hint)

    def _save_feed_state(
        self, conn: Connection, state: FeedState, title: str | None, hint: timedelta | None
    ) -> None:
        conn.execute(
            self._feed_state_upsert(),
            {
                "url": state.url,
                "etag": state.etag,
                "last_modified": state.last_modified,
                "last_checked": state.last_checked,
                "last_success": state.last_success,
                "last_error": state.last_error,
                "last_error_class": state.last_error_class,
                "consecutive_failures": state.consecutive_failures,
                "next_check": state.next_check,
                "title": title,
                "hint_seconds": None if hint is None else hint.total_seconds(),
                "claimed_by": None,  # the poll is over: its claim ends with its outcome
                "claim_until": None,
            },
        )

    def _feed_state_upsert(self) -> Any:
        """One statement for every state saved, so it is compiled once (a 304 costs little).

        A title or hint not given (None) keeps the stored one: a 304 carries no document.
        """
        if self._state_upsert is None:
            upsert = self._upsert(feeds)
            new = upsert.excluded
            kept = {"title": func.coalesce(new.title, feeds.c.title)}
            kept["hint_seconds"] = func.coalesce(new.hint_seconds, feeds.c.hint_seconds)
            fields = [c.name for c in feeds.c if c.name not in ("url", "title", "hint_seconds")]
            self._state_upsert = upsert.on_conflict_do_update(
                index_elements=["url"], set_={**{f: new[f] for f in fields}, **kept}
            )
        return self._state_upsert

    # -- entries and matches ----------------------------------------------------

    def unseen(
        self, feed_url: str, batch: Sequence[Entry], *, first_read: bool = False
    ) -> list[Entry]:
        """The entries of `batch` this feed has not delivered before, in feed order, once each.

        `first_read`: the feed was never read, so nothing needs looking up.
        """
        keys = [] if first_read else [entry.key for entry in batch]
        seen: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):  # stay under SQLite's variable limit
                chunk = keys[start : start + 500]
                seen.update(
                    conn.scalars(
                        select(entries.c.key).where(
                            entries.c.feed_url == feed_url, entries.c.key.in_(chunk)
                        )
                    )
                )
        fresh: dict[str, Entry] = {}
        for entry in batch:
            if entry.key not in seen:
                fresh.setdefault(entry.key, entry)
        return list(fresh.values())

    def record_entries(
        self,
        new: Iterable[Entry],
        found: Iterable[Match],
        now: datetime,
        routes: Mapping[str, Sequence[str]] | None = None,
        *,
        feed: tuple[FeedState, str | None, timedelta | None] | None = None,
    ) -> int:
        """Store matches, queue them, mark entries seen and save `feed` state: one transaction.

        A match whose story (topic + canonical URL) is already known is skipped.
        Returns the number of matches added.
        """
        added = 0
        with self.engine.begin() as conn:
            for match in found:
                exists = conn.scalar(
                    select(func.count())
                    .select_from(matches)
                    .where(matches.c.topic == match.topic, matches.c.url == match.url)
                )
                if exists:
                    continue
                inserted = conn.execute(
                    insert(matches).values(**_match_values(match), created=now)
                ).inserted_primary_key
                assert inserted is not None
                match_id = inserted[0]
                if not match.alert:
                    continue  # folded into its story ("also reported by"): no digest
                for channel in (routes or {}).get(match.topic, ()):
                    conn.execute(
                        insert(queue).values(
                            match_id=match_id, topic=match.topic, channel=channel, created=now
                        )
                    )
                added += 1
            rows = [
                {
                    "feed_url": entry.feed_url,
                    "key": entry.key,
                    "first_seen": now,
                    "title": entry.title,
                    "summary": entry.summary,
                    "link": entry.link,
                }
                for entry in new
            ]
            if rows:  # one statement; an entry a concurrent poll stored first is skipped
                conn.execute(self._insert_ignoring_duplicates(entries), rows)
            if feed is not None:  # (state, title, hint): the poll's outcome, same transaction
                self._save_feed_state(conn, *feed)
        return added

    def _upsert(self, table: Table) -> Any:
        """An INSERT that takes ON CONFLICT clauses, in this backend's dialect."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def _insert_ignoring_duplicates(self, table: Table) -> Any:
        """INSERT … ON CONFLICT DO NOTHING in this backend's dialect."""
        return self._upsert(table).on_conflict_do_nothing()

    def waiting(self, channel: str) -> dict[str, list[Queued]]:
        """Stories waiting for `channel`'s next digest, by topic, oldest first."""
        query = (
            select(queue.c.id.label("queue_id"), queue.c.created.label("queued"), matches)
            .join(matches, matches.c.id == queue.c.match_id)
            .where(queue.c.channel == channel, queue.c.digest_key.is_(None))
            .order_by(queue.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out: dict[str, list[Queued]] = {}
        for row in rows:
            out.setdefault(row["topic"], []).append(
                Queued(row["queue_id"], _match(row), row["queued"])
            )
        return out

    def last_digest_time(self, topic: str, channel: str) -> datetime | None:
        """When `topic` last went out on `channel`."""
        with self.engine.connect() as conn:
            value: datetime | None = conn.scalar(
                select(func.max(digests.c.created))
                .join(queue, queue.c.digest_key == digests.c.key)
                .where(queue.c.topic == topic, queue.c.channel == channel)
            )
        return value

    def recent_matches(self, topic: str, limit: int) -> list[tuple[int, Match, datetime]]:
        """The topic's latest stories, newest first: (id, match, when found)."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(matches)
                    .where(matches.c.topic == topic)
                    .order_by(matches.c.id.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [(row["id"], _match(row), row["created"]) for row in rows]

    def entries_since(self, since: datetime) -> list[SeenEntry]:
        """Entries first seen since `since`, with the text of their article when one was kept."""
        query = (
            select(entries, matches.c.text, matches.c.story_id, matches.c.story_reason)
            .outerjoin(
                matches,
                (matches.c.entry_key == entries.c.key) & (matches.c.feed_url == entries.c.feed_url),
            )
            .where(entries.c.first_seen >= since)
            .order_by(entries.c.id)
        )
        seen: dict[int, SeenEntry] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                seen.setdefault(
                    row["id"],
                    SeenEntry(
                        feed_url=row["feed_url"],
                        title=row["title"] or "",
                        summary=row["summary"] or "",
                        link=row["link"],
                        first_seen=row["first_seen"],
                        article_text=row["text"],
                        story_id=row["story_id"],
                        story_reason=row["story_reason"],
                    ),
                )
        return list(seen.values())

    def story_reports(self, story_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """Every (source, url) recorded for each story, in the order they were found."""
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(matches.c.story_id, matches.c.source, matches.c.url)
                .where(matches.c.story_id.in_(ids))
                .order_by(matches.c.id)
            ).all()
        out: dict[str, list[tuple[str, str]]] = {}
        for story_id, source, url in rows:
            if (source, url) not in out.setdefault(story_id, []):
                out[story_id].append((source, url))
        return out

    def earlier_digests(self, story_id: str, topic: str, channel: str) -> list[str]:
        """Keys of digests that already carried this story on this topic and channel."""
        with self.engine.connect() as conn:
            keys = conn.scalars(
                select(queue.c.digest_key)
                .join(matches, matches.c.id == queue.c.match_id)
                .where(
                    matches.c.story_id == story_id,
                    queue.c.topic == topic,
                    queue.c.channel == channel,
                    queue.c.digest_key.is_not(None),
                )
                .order_by(queue.c.id)
            ).all()
        return list(dict.fromkeys(keys))

    @contextmanager
    def story_lock(self) -> Iterator[None]:
        """Held while the story book is brought up to date, changed and saved.

        PostgreSQL: a session advisory lock, so replicas place articles one at a time
        (a process that dies releases it with its connection). SQLite has one process.
        """
        if not self.shared:
            yield
            return
        with self.engine.connect() as conn:
            conn.execute(select(func.pg_advisory_lock(_STORY_LOCK)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(_STORY_LOCK)))
                conn.commit()

    def story_changes_since(self, revision: int) -> tuple[list[dict[str, Any]], list[str], int]:
        """Story records saved after `revision` (0: all), ids removed since, newest revision."""
        query = select(story_records.c.id, story_records.c.type, story_records.c.record)
        if revision:
            query = query.where(story_records.c.revision > revision)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            latest = conn.scalar(select(func.max(story_records.c.revision))) or 0
        records = [json.loads(record) for _, kind, record in rows if kind != "removed"]
        removed = [story_id for story_id, kind, _ in rows if kind == "removed" and revision]
        return records, removed, max(latest, revision)

    def save_story_changes(
        self,
        records: Sequence[dict[str, Any]],
        removed: Sequence[str],
        now: datetime,
        keep_removed: timedelta,
        renamed: Mapping[str, str] | None = None,
    ) -> int:
        """Upsert changed records and mark removed stories, as one new revision; return it.

        `renamed` maps stories merged away to the story that took them: their stored
        matches follow, so "also reported by" and threading see one story.
        "removed" rows older than `keep_removed` are deleted: every replica has read them.
        """
        with self.engine.begin() as conn:
            for old, new in (renamed or {}).items():
                conn.execute(update(matches).where(matches.c.story_id == old).values(story_id=new))
            revision = (conn.scalar(select(func.max(story_records.c.revision))) or 0) + 1
            rows = [
                {
                    "id": r["id"],
                    "type": r.get("type", "story"),
                    "last": datetime.fromisoformat(r["last"]) if r.get("last") else None,
                    "record": json.dumps(r, ensure_ascii=False),
                    "revision": revision,
                }
                for r in records
            ]
            rows += [
                {"id": i, "type": "removed", "last": now, "record": "", "revision": revision}
                for i in removed
            ]
            if rows:
                upsert = self._upsert(story_records)
                newer = {c: upsert.excluded[c] for c in ("type", "last", "record", "revision")}
                conn.execute(upsert.on_conflict_do_update(index_elements=["id"], set_=newer), rows)
            conn.execute(
                story_records.delete().where(
                    story_records.c.type == "removed", story_records.c.last < now - keep_removed
                )
            )
        return revision

    def match_counts(self, since: datetime) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(matches.c.topic, func.count())
                .where(matches.c.created >= since)
                .group_by(matches.c.topic)
            ).all()
        return {topic: count for topic, count in rows}

    # -- digests and the outbox -------------------------------------------------

    def save_digest(
        self,
        rendered: RenderedDigest,
        *,
        channel: str,
        topics: Sequence[str],
        queued: Sequence[int],
        now: datetime,
    ) -> None:
        """Store a rendered digest, attach its queued stories and queue its delivery.

        All in one transaction: the digest is either queued whole or not at all. Raises
        DigestTaken (and stores nothing) when another process's digest took any of the
        `queued` stories first.
        """
        with self.engine.begin() as conn:
            try:
                conn.execute(self._digest_row(rendered, channel, topics))
            except IntegrityError:  # the same digest, saved by another process (or before)
                raise DigestTaken(rendered.key) from None
            taken = conn.execute(
                update(queue)
                .where(queue.c.id.in_(queued), queue.c.digest_key.is_(None))
                .values(digest_key=rendered.key)
            ).rowcount
            if taken != len(queued):  # raising rolls the whole digest back
                raise DigestTaken(rendered.key)
            conn.execute(
                insert(deliveries).values(
                    digest_key=rendered.key,
                    channel=channel,
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt=now,
                    created=now,
                )
            )

    @staticmethod
    def _digest_row(rendered: RenderedDigest, channel: str, topics: Sequence[str]) -> Any:
        return insert(digests).values(
            key=rendered.key,
            channel=channel,
            topic=",".join(topics),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            json=rendered.json,
            headers=json.dumps(dict(rendered.headers)),
            replies_to=json.dumps(list(rendered.replies_to)),
            created=rendered.created,
        )

    def rendered_digest(self, key: str) -> RenderedDigest:
        with self.engine.connect() as conn:
            row = conn.execute(select(digests).where(digests.c.key == key)).mappings().one()
        return RenderedDigest(
            key=row["key"],
            subject=row["subject"],
            text=row["text"],
            html=row["html"],
            json=row["json"],
            created=row["created"],
            headers=json.loads(row["headers"]),
            replies_to=tuple(json.loads(row["replies_to"] or "[]")),
        )

    def claim_deliveries(
        self, owner: str, now: datetime, lease: timedelta, *, ignore_backoff: bool = False
    ) -> list[Delivery]:
        """Claim the pending deliveries that are due, on channels not stopped, oldest first.

        Like `claim_feeds`: rows another process holds are skipped; the claim ends
        when the outcome is marked, or at `now + lease` if this process dies first.
        """
        wanted = [
            deliveries.c.status == DeliveryStatus.PENDING.value,
            or_(deliveries.c.claim_until.is_(None), deliveries.c.claim_until <= now),
            deliveries.c.channel.not_in(select(stopped_channels.c.channel)),
        ]
        if not ignore_backoff:
            wanted.append(deliveries.c.next_attempt <= now)
        rows = self._claim(deliveries.c.id, wanted, (deliveries.c.id,), None, owner, now + lease)
        return sorted((_delivery(row) for row in rows), key=lambda d: d.id)

    def deliveries(self, status: DeliveryStatus | None = None) -> list[Delivery]:
        query = select(deliveries).order_by(deliveries.c.id)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_delivery(row) for row in rows]

    def release_delivery(self, delivery_id: int) -> None:
        """Give up a claimed delivery untried: it stays pending for the next drain."""
        self._update_delivery(delivery_id)

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        self._update_delivery(
            delivery_id,
            status=DeliveryStatus.SENT.value,
            sent_at=now,
            last_error=None,
            next_attempt=None,
            attempts=deliveries.c.attempts + 1,
        )

    def mark_retry(self, delivery_id: int, error: str, next_attempt: datetime) -> None:
        self._update_delivery(
            delivery_id,
            last_error=error,
            next_attempt=next_attempt,
            attempts=deliveries.c.attempts + 1,
        )

    def mark_failed(self, delivery_id: int, error: str) -> None:
        self._update_delivery(
            delivery_id,
            status=DeliveryStatus.FAILED.value,
            last_error=error,
            next_attempt=None,
            attempts=deliveries.c.attempts + 1,
        )

    def stop_channel(self, channel: str, reason: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(stopped_channels.delete().where(stopped_channels.c.channel == channel))
            conn.execute(
                insert(stopped_channels).values(channel=channel, reason=reason, stopped_at=now)
            )

    def stopped(self) -> dict[str, tuple[str, datetime]]:
        """Stopped channels: name -> (reason, since when)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(stopped_channels)).mappings().all()
        return {row["channel"]: (row["reason"], row["stopped_at"]) for row in rows}

    def retry_failed(self, now: datetime, *, channel: str | None = None) -> int:
        """Put failed deliveries back in the queue and resume stopped channels; return how many."""
        query = update(deliveries).where(deliveries.c.status == DeliveryStatus.FAILED.value)
        resume = stopped_channels.delete()
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
            resume = resume.where(stopped_channels.c.channel == channel)
        with self.engine.begin() as conn:
            count = conn.execute(
                query.values(status=DeliveryStatus.PENDING.value, next_attempt=now)
            ).rowcount
            conn.execute(resume)
        return int(count)

    def outbox_counts(self) -> OutboxCounts:
        with self.engine.connect() as conn:
            result = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            rows: dict[str, int] = {status: count for status, count in result}
        return OutboxCounts(
            pending=rows.get(DeliveryStatus.PENDING.value, 0),
            sent=rows.get(DeliveryStatus.SENT.value, 0),
            failed=rows.get(DeliveryStatus.FAILED.value, 0),
        )

    def _update_delivery(self, delivery_id: int, **values: Any) -> None:
        values.update(claimed_by=None, claim_until=None)  # an outcome ends the claim
        with self.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
