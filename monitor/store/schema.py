"""The store's tables and its ordered, named migrations (SQLAlchemy Core, any backend).

`MIGRATIONS` is append-only: a released migration is never edited. 0001 creates
the tables as they are defined today, so the later column additions check for
their columns and do nothing on a new database.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", UTCDateTime, nullable=False),
)

feeds = Table(
    "feeds",
    metadata,
    Column("url", String(2000), primary_key=True),
    Column("title", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_checked", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_class", String(40)),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_check", UTCDateTime),
    # What the last feed document asked for (RSS <ttl>, publishing rate), in seconds;
    # a 304 carries no document, so it is remembered here (see monitor/poll_schedule.py).
    Column("hint_seconds", Float),
    # Which process is polling the feed now, and until when its claim holds (0009):
    # replicas sharing one PostgreSQL split the due feeds this way (see Store.claim_feeds).
    Column("claimed_by", String(200)),
    Column("claim_until", UTCDateTime),
    # In the configuration of the replicas (set at each start) and a fixed shuffle of
    # the URLs, so a batch of feeds never polled spreads over many hosts (0012).
    Column("active", Boolean),
    Column("spread", Integer),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed_url", String(2000), nullable=False),
    Column("key", String(2100), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    # what the feed said, kept so `topics test` can try a query on past news (0008)
    Column("title", Text),
    Column("summary", Text),
    Column("link", String(2000)),
    UniqueConstraint("feed_url", "key", name="uq_entries_feed_key"),
)


digests = Table(
    "digests",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("topic", String(200), nullable=False),  # the topics in it, comma-separated
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("json", Text, nullable=False),
    Column("headers", Text, nullable=False, default="{}"),
    Column("created", UTCDateTime, nullable=False),
    Column("channel", String(200)),  # added by 0003
    Column("replies_to", Text),  # added by 0006: JSON list of digest keys
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("url", String(2000), nullable=False),  # canonical URL: one story per topic once
    Column("entry_key", String(2100), nullable=False),
    Column("feed_url", String(2000), nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("published", UTCDateTime),
    Column("terms", Text, nullable=False),  # JSON list
    Column("note", Text),
    Column("author", Text),
    Column("created", UTCDateTime, nullable=False),
    Column("image", Text),  # added by 0005
    Column("site_name", Text),  # added by 0005
    Column("language", String(20)),  # added by 0005
    Column("story_id", String(100)),  # added by 0006
    Column("story_kind", String(20)),  # added by 0006: new_story, development, ...
    Column("story_reason", Text),  # added by 0006
    Column("new_sentences", Text),  # added by 0006: JSON list
    Column("snippet", Text),  # added by 0007
    Column("hits", Text),  # added by 0007: JSON list of [term, field, count]
    Column("digest_key", String(200), ForeignKey("digests.key")),
    UniqueConstraint("topic", "url", name="uq_matches_topic_url"),
)
# stories are looked up by id: "also reported by", threading, merged stories renamed (0011)
story_index = Index("ix_matches_story_id", matches.c.story_id)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_key", String(200), ForeignKey("digests.key"), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", UTCDateTime),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    Column("created", UTCDateTime, nullable=False),
    Column("claimed_by", String(200)),  # added by 0009: the process sending it now
    Column("claim_until", UTCDateTime),  # added by 0009: until when that claim holds
    UniqueConstraint("digest_key", "channel", name="uq_deliveries_digest_channel"),
)


# One row per (match, channel): the story waits here for that channel's next digest.
queue = Table(
    "queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("match_id", Integer, ForeignKey("matches.id"), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("digest_key", String(200), ForeignKey("digests.key")),
    Column("created", UTCDateTime, nullable=False),
    UniqueConstraint("match_id", "channel", name="uq_queue_match_channel"),
)


# Channels an operator must look at before anything more is sent (e.g. a 410 Gone).
stopped_channels = Table(
    "stopped_channels",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=False),
)


# The story book (monitor.stories) between runs: one "book" row and one row per story.
# A forgotten story leaves a "removed" row (no record) so other replicas drop it too.
story_records = Table(
    "story_records",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("last", UTCDateTime),
    Column("record", Text, nullable=False),
    # added by 0010: the save that wrote the row; replicas read what is newer than theirs
    Column("revision", Integer),
)
# looked up at every placement by replicas on PostgreSQL (0016)
story_revision_index = Index("ix_story_records_revision", story_records.c.revision)


# Each story's articles (0016), one row each: written when the article is placed, moved to
# another story (a merge) or deleted with its story, so saving a placement costs what was
# placed, not the size of the story it joined. Replicas read the rows of revisions newer
# than theirs, as for story_records.
story_members = Table(
    "story_members",
    metadata,
    Column("key", String(2100), primary_key=True),
    Column("story_id", String(100), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Column("duplicate_of", Text),
    Column("sig", Text, nullable=False),  # its MinHash signature, hex
    Column("revision", Integer, nullable=False, index=True),
)

# What each topic was told of each story (0016): up to novelty.MAX_KNOWN sentences, a
# JSON record written when something more is delivered, deleted with its story.
story_told = Table(
    "story_told",
    metadata,
    Column("story_id", String(100), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("record", Text, nullable=False),
    Column("revision", Integer, nullable=False, index=True),
)


# Replicas sharing one PostgreSQL store (0015): each process writes when it last looked
# for feeds, so each knows how many share the store and its own rank among them, and
# claims its share of the feeds (see PollStore.replica_share).
replicas = Table(
    "replicas",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("last_seen", UTCDateTime, nullable=False),
)


def _stories(conn: Connection) -> None:
    story_records.create(conn, checkfirst=True)
    _add_missing_columns(conn, matches, "story_id", "story_kind", "story_reason", "new_sentences")
    _add_missing_columns(conn, digests, "replies_to")


def _claims(conn: Connection) -> None:
    _add_missing_columns(conn, feeds, "claimed_by", "claim_until")
    _add_missing_columns(conn, deliveries, "claimed_by", "claim_until")


def _add_missing_columns(conn: Connection, table: Table, *names: str) -> None:
    """ALTER TABLE … ADD COLUMN for each named column the database lacks.

    0001 creates the tables as they are defined today, so on a new database the
    later column additions find their columns there already and do nothing.
    """
    have = {column["name"] for column in inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in have:
            kind = table.c[name].type.compile(conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}")


def _story_members(conn: Connection) -> None:
    from monitor.store.story_revisions import split_story_records  # beside its queries

    story_members.create(conn, checkfirst=True)
    story_told.create(conn, checkfirst=True)
    story_revision_index.create(conn, checkfirst=True)
    split_story_records(conn)


def _initial_schema(conn: Connection) -> None:
    for table in (feeds, entries, digests, matches, deliveries):
        table.create(conn)


def _digest_per_channel(conn: Connection) -> None:
    queue.create(conn, checkfirst=True)
    _add_missing_columns(conn, digests, "channel")


def _feed_schedule(conn: Connection) -> None:
    # A database made by 0001 after this column joined the table definition has it already.
    if "hint_seconds" not in {c["name"] for c in inspect(conn).get_columns("feeds")}:
        conn.exec_driver_sql("ALTER TABLE feeds ADD COLUMN hint_seconds FLOAT")


def _operator_controls(conn: Connection) -> None:
    from monitor.store.controls import create_control_tables  # its tables live with their queries

    create_control_tables(conn)


def _match_entry_index(conn: Connection) -> None:
    from monitor.store.console_reads import create_entry_index  # beside the queries using it

    create_entry_index(conn)


# Ordered by name and append-only: a released migration is never edited, a new one is added
# (0007 and 0008 add independent columns, so stores that applied them in either order agree).
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial_schema),
    ("0002_feed_schedule", _feed_schedule),
    ("0003_digest_per_channel", _digest_per_channel),
    ("0004_stopped_channels", lambda conn: stopped_channels.create(conn, checkfirst=True)),
    (
        "0005_match_metadata",
        lambda conn: _add_missing_columns(conn, matches, "image", "site_name", "language"),
    ),
    ("0006_stories", _stories),
    (
        "0007_match_explanations",
        lambda conn: _add_missing_columns(conn, matches, "snippet", "hits"),
    ),
    (
        "0008_entry_text",
        lambda conn: _add_missing_columns(conn, entries, "title", "summary", "link"),
    ),
    ("0009_claims", _claims),
    (
        "0010_story_revisions",
        lambda conn: _add_missing_columns(conn, story_records, "revision"),
    ),
    ("0011_story_index", lambda conn: story_index.create(conn, checkfirst=True)),
    ("0012_feed_claim_order", lambda conn: _add_missing_columns(conn, feeds, "active", "spread")),
    ("0013_feed_pauses_story_mutes", _operator_controls),
    ("0014_match_entry_index", _match_entry_index),
    ("0015_replica_heartbeats", lambda conn: replicas.create(conn, checkfirst=True)),
    ("0016_story_members", _story_members),
]
