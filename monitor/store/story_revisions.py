"""The story book's records and the stories' stored matches.

Replicas save the book as revisions under an advisory lock (`story_lock`) and read
what others saved since their last revision (monitor/pipeline/story_sync.py).
"""

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    select,
    update,
)

from monitor.store.base import _STORY_LOCK, StoreBase
from monitor.store.schema import (
    matches,
    queue,
    story_records,
)


class StoryStore(StoreBase):
    """Story records, and matches looked up by story."""

    def folded_copies(
        self, topic: str, story_ids: Iterable[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """The (source, url) of the copies and repeats folded into each item of a topic.

        Keyed by the item's URL: a match that went out (a new story or a development)
        takes the folded matches of its story recorded after it and before the next one.
        """
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(matches.c.story_id, matches.c.story_kind, matches.c.source, matches.c.url)
                .where(matches.c.topic == topic, matches.c.story_id.in_(ids))
                .order_by(matches.c.id)
            ).all()
        out: dict[str, list[tuple[str, str]]] = {}
        item_of: dict[str, str] = {}  # story id -> the URL of its latest item
        for story_id, kind, source, url in rows:
            if kind not in ("duplicate", "also_reported"):
                item_of[story_id] = url
                out.setdefault(url, [])
            elif story_id in item_of:
                out[item_of[story_id]].append((source, url))
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
