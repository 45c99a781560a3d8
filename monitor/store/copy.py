"""`news-monitor store copy --to URL`: move a store (say SQLite) into another (say PostgreSQL).

The target is migrated first, must hold no data, and receives everything in one
transaction: a copy that fails half-way leaves it empty. Ids are kept, so the
digests' Message-IDs, stories and the outbox carry on where they were.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, insert, select, text

from monitor.errors import MonitorError
from monitor.store import Store
from monitor.store.controls import feed_pauses, story_mutes
from monitor.store.schema import (
    deliveries,
    digests,
    entries,
    feeds,
    matches,
    queue,
    stopped_channels,
    story_members,
    story_records,
    story_told,
)

# In the order their foreign keys need.
TABLES = (
    feeds,
    entries,
    digests,
    matches,
    deliveries,
    queue,
    stopped_channels,
    story_records,
    story_members,
    story_told,
    feed_pauses,
    story_mutes,
)
BATCH = 1000

Progress = Callable[[str, int], None]  # (table, rows copied so far)


def copy_store(source: Store, target: Store, progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of `source` into the empty `target`; return the rows per table."""
    source.migrate()
    target.migrate()
    with target.engine.connect() as conn:
        busy = [t.name for t in TABLES if conn.scalar(select(func.count()).select_from(t))]
    if busy:
        raise MonitorError(  # the store works: the request is what cannot be done (exit 1)
            f"the target store already holds data (tables: {', '.join(busy)})",
            hint="copy into a new, empty database",
        )
    copied: dict[str, int] = {}
    with source.engine.connect() as src, target.engine.begin() as dst:
        for table in TABLES:
            count = 0
            rows = src.execution_options(stream_results=True).execute(select(table)).mappings()
            for chunk in rows.partitions(BATCH):
                dst.execute(insert(table), [dict(row) for row in chunk])
                count += len(chunk)
                if progress is not None:
                    progress(table.name, count)
            copied[table.name] = count
        if target.shared:  # the next id after the copied ones, not 1
            for table in TABLES:
                if "id" in table.c and table.c.id.autoincrement is True:
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
                        )
                    )
    return copied
