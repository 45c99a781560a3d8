"""The store's foundation: connecting (SQLite or PostgreSQL), migrating, claiming rows.

The `Store` (monitor/store/__init__.py) is this base with one part per kind of
state: feeds and entries (`polls.py`), stories (`stories.py`), the outbox
(`outbox.py`). Every method is one short transaction and returns plain models.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    and_,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError

from monitor.errors import StoreError, redact_url
from monitor.store.rows import SeenEntry
from monitor.store.schema import (
    MIGRATIONS,
    deliveries,
    entries,
    feeds,
    matches,
    schema_migrations,
)

# Advisory lock keys: replicas starting together migrate once; place stories in turn.
_MIGRATION_LOCK = 0x6E6D_0001
_STORY_LOCK = 0x6E6D_0002


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


def _hint(reason: str) -> str:
    """How to fix the reason a database gave for not opening."""
    if "not a database" in reason:
        return "store.url names a file that is not a news-monitor store; point it at a new file"
    if "readonly" in reason or "read-only" in reason:
        return "the store is read-only: give the service's user write access to it and its folder"
    return "check store.url, and that the database server is running"


class StoreBase:
    """Connection, schema and the claim primitive the parts share."""

    def __init__(self, url: str) -> None:
        parsed = engine_url(url)
        self.path: Path | None = None  # the SQLite file, if that is the backend
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self.path = Path(parsed.database)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                blocked = next((p for p in self.path.parents if p.is_file()), None)
                why = f"{blocked} is a file, not a folder" if blocked else exc.strerror
                raise StoreError(
                    f"cannot create the folder {self.path.parent} of the store "
                    f"{redact_url(url)}: {why}",
                    hint="store.url must name a file whose folder can be created, "
                    "e.g. sqlite:///data/monitor.db",
                ) from None
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

    def check_connection(self) -> None:
        """Raise a StoreError that says what to do when the database cannot be reached."""
        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "sqlite":  # a write, to find a read-only file
                    version = conn.exec_driver_sql("PRAGMA user_version").scalar()
                    conn.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")
        except DatabaseError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(
                f"cannot open the store {redact_url(self.url)}: {reason}", hint=_hint(reason)
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

    def seen_entries(self, *where: Any) -> list[tuple[int, SeenEntry]]:
        """Entries that satisfy `where`, by id in order, with their article text and story."""
        query = (
            select(entries, matches.c.text, matches.c.story_id, matches.c.story_reason)
            .outerjoin(
                matches,
                (matches.c.entry_key == entries.c.key) & (matches.c.feed_url == entries.c.feed_url),
            )
            .where(*where)
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
        return list(seen.items())

    def release_claims(self) -> None:
        """Drop every claim: for a process that knows no other can hold one (SQLite's lock)."""
        with self.engine.begin() as conn:
            for table in (feeds, deliveries):
                conn.execute(
                    update(table)
                    .where(table.c.claimed_by.is_not(None))
                    .values(claimed_by=None, claim_until=None)
                )

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
