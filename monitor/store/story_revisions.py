"""The story book's records and the stories' stored matches.

Replicas save the book as revisions under an advisory lock (`story_lock`) and read
what others saved since their last revision (monitor/pipeline/story_sync.py). The
book-wide record and each story's record are JSON (`story_records`); each article
of a story is a row of `story_members`, written once when placed (and again when it
moves to another story); what each topic was told of a story is a JSON row of
`story_told`. A story's articles and told rows are deleted with it.
"""

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from monitor.store.base import _STORY_LOCK, StoreBase
from monitor.store.schema import matches, queue, story_members, story_records, story_told

# Story ids per DELETE … IN (…): well under SQLite's limit of bound parameters.
_IDS_PER_STATEMENT = 500


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
        """Records saved after `revision` (0: all), story ids removed since, newest revision.

        The records are the book's and the stories' as saved, the "told" records saved
        since, then one "member" record per article row written since (the article's
        key as "id", its "story").
        """
        stories = select(story_records.c.id, story_records.c.type, story_records.c.record)
        told = select(story_told.c.story_id, story_told.c.topic, story_told.c.record)
        members = select(*_MEMBER_COLUMNS)
        if revision:
            stories = stories.where(story_records.c.revision > revision)
            told = told.where(story_told.c.revision > revision)
            members = members.where(story_members.c.revision > revision)
        with self.engine.connect() as conn:
            rows = conn.execute(stories).all()
            records = [json.loads(record) for _, kind, record in rows if kind != "removed"]
            records += [_told_record(*row) for row in conn.execute(told)]
            records += [_member_record(row) for row in conn.execute(members)]
            latest = _latest_revision(conn)
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

        "member" records are upserted as article rows by key (an article that moved
        changes story), "told" records by story and topic; a removed story's article
        and told rows are deleted. `renamed` maps
        stories merged away to the story that took them: their stored matches follow,
        so "also reported by" and threading see one story. "removed" rows older than
        `keep_removed` are deleted: every replica has read them.
        """
        with self.engine.begin() as conn:
            for old, new in (renamed or {}).items():
                conn.execute(update(matches).where(matches.c.story_id == old).values(story_id=new))
            revision = _latest_revision(conn) + 1
            rows = [
                {
                    "id": r["id"],
                    "type": r.get("type", "story"),
                    "last": datetime.fromisoformat(r["last"]) if r.get("last") else None,
                    "record": json.dumps(r, ensure_ascii=False),
                    "revision": revision,
                }
                for r in records
                if r.get("type") not in ("member", "told")
            ]
            rows += [
                {"id": i, "type": "removed", "last": now, "record": "", "revision": revision}
                for i in removed
            ]
            if rows:
                upsert = self._upsert(story_records)
                newer = {c: upsert.excluded[c] for c in ("type", "last", "record", "revision")}
                conn.execute(upsert.on_conflict_do_update(index_elements=["id"], set_=newer), rows)
            _delete_rows_of(conn, removed)
            placed = [_member_row(r, revision) for r in records if r.get("type") == "member"]
            if placed:  # by key: an article moved to another story changes its row
                upsert = self._upsert(story_members)
                newer = {c: upsert.excluded[c] for c in placed[0] if c != "key"}
                conn.execute(
                    upsert.on_conflict_do_update(index_elements=["key"], set_=newer), placed
                )
            told = [_told_row(r, revision) for r in records if r.get("type") == "told"]
            if told:
                upsert = self._upsert(story_told)
                newer = {c: upsert.excluded[c] for c in ("record", "revision")}
                keys = ["story_id", "topic"]
                conn.execute(upsert.on_conflict_do_update(index_elements=keys, set_=newer), told)
            conn.execute(
                story_records.delete().where(
                    story_records.c.type == "removed", story_records.c.last < now - keep_removed
                )
            )
        return revision

    def expire_stories(self, cutoff: datetime, now: datetime, keep_removed: timedelta) -> int:
        """Mark removed the stories with no article since `cutoff` (their article and told
        rows deleted) as one new revision: what the book's expiry saves, for a process
        that never read the book. Returns how many."""
        with self.engine.begin() as conn:
            gone = conn.scalars(
                select(story_records.c.id).where(
                    story_records.c.type == "story", story_records.c.last < cutoff
                )
            ).all()
        if gone:
            self.save_story_changes([], gone, now, keep_removed)
        return len(gone)


_MEMBER_COLUMNS = (
    story_members.c.key,
    story_members.c.story_id,
    story_members.c.url,
    story_members.c.source,
    story_members.c.title,
    story_members.c.published,
    story_members.c.duplicate_of,
    story_members.c.sig,
)


def _member_record(row: Sequence[Any]) -> dict[str, Any]:
    key, story_id, url, source, title, published, duplicate_of, sig = row
    return {
        "id": key,
        "type": "member",
        "story": story_id,
        "url": url,
        "source": source,
        "title": title,
        "published": published.isoformat(),
        "duplicate_of": duplicate_of,
        "sig": sig,
    }


def _member_row(record: dict[str, Any], revision: int) -> dict[str, Any]:
    return {
        "key": record["id"],
        "story_id": record["story"],
        "url": record["url"],
        "source": record["source"],
        "title": record["title"],
        "published": datetime.fromisoformat(record["published"]),
        "duplicate_of": record["duplicate_of"],
        "sig": record["sig"],
        "revision": revision,
    }


_TOLD_KEYS = ("id", "type", "story", "topic")  # in the row's columns, not its JSON


def _told_row(record: dict[str, Any], revision: int) -> dict[str, Any]:
    told = {k: v for k, v in record.items() if k not in _TOLD_KEYS}
    return {
        "story_id": record["story"],
        "topic": record["topic"],
        "record": json.dumps(told, ensure_ascii=False),
        "revision": revision,
    }


def _told_record(story_id: str, topic: str, text: str) -> dict[str, Any]:
    return {"type": "told", "story": story_id, "topic": topic, **json.loads(text)}


def _latest_revision(conn: Connection) -> int:
    return max(
        conn.scalar(select(func.max(table.c.revision))) or 0
        for table in (story_records, story_members, story_told)
    )


def _delete_rows_of(conn: Connection, story_ids: Sequence[str]) -> None:
    """The article and told rows of these stories."""
    for start in range(0, len(story_ids), _IDS_PER_STATEMENT):
        chunk = story_ids[start : start + _IDS_PER_STATEMENT]
        conn.execute(delete(story_members).where(story_members.c.story_id.in_(chunk)))
        conn.execute(delete(story_told).where(story_told.c.story_id.in_(chunk)))


def split_story_records(conn: Connection) -> None:
    """Migration 0016: what each story's record held of its articles and of what was
    told (record version 1) becomes rows of `story_members` and `story_told`, and the
    record keeps the rest (version 2).

    One story at a time, so a large store is never held in memory whole. An article two
    records listed (replicas that once disagreed) stays with the story read last.
    """
    ids = conn.scalars(select(story_records.c.id).where(story_records.c.type == "story")).all()
    for story_id in ids:
        text, revision = conn.execute(
            select(story_records.c.record, story_records.c.revision).where(
                story_records.c.id == story_id
            )
        ).one()
        record = json.loads(text)
        if "members" not in record:
            continue
        items, told = record.pop("members"), record.pop("delivered", {})
        record["version"] = 2
        keys = [item["key"] for item in items]
        for start in range(0, len(keys), _IDS_PER_STATEMENT):
            chunk = keys[start : start + _IDS_PER_STATEMENT]
            conn.execute(delete(story_members).where(story_members.c.key.in_(chunk)))
        revision = revision or 0
        if items:
            members = [{"id": item["key"], "story": story_id, **item} for item in items]
            conn.execute(story_members.insert(), [_member_row(m, revision) for m in members])
        if told:
            of = [{"story": story_id, "topic": topic, **what} for topic, what in told.items()]
            conn.execute(story_told.insert(), [_told_row(t, revision) for t in of])
        conn.execute(
            update(story_records)
            .where(story_records.c.id == story_id)
            .values(record=json.dumps(record, ensure_ascii=False))
        )
