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

from monitor.errors import StoreError
from monitor.store.base import DigestTaken, engine_url
from monitor.store.console_reads import ConsoleReads
from monitor.store.controls import ControlStore
from monitor.store.deliveries import OutboxStore
from monitor.store.polls import PollStore
from monitor.store.rows import ClaimedFeed, OutboxCounts, Queued, SeenEntry
from monitor.store.schema import MIGRATIONS, schema_migrations
from monitor.store.story_revisions import StoryStore

__all__ = [
    "MIGRATIONS",
    "ClaimedFeed",
    "DigestTaken",
    "OutboxCounts",
    "Queued",
    "SeenEntry",
    "Store",
    "StoreError",
    "engine_url",
    "schema_migrations",
]


class Store(PollStore, StoryStore, OutboxStore, ControlStore, ConsoleReads):
    """The pipeline's state. Open with a SQLAlchemy URL; call migrate() once at start."""
