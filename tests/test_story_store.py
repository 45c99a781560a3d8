"""Stories in the store: each article a row of its own, saved when placed or moved.

A placement writes the articles it placed and the records of the stories they joined,
never the other articles of those stories; replicas read each other's placements,
moves and merges from the rows; a store written before the rows existed upgrades.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from monitor.config import StoriesSettings
from monitor.pipeline.story_sync import SharedStories
from monitor.store import Store
from monitor.store.schema import schema_migrations, story_members, story_records, story_told
from monitor.stories import StoryBook
from tests.story_texts import BRIDGE, FAMILIES, MINE, OTHER_NEWS, T0, WIRE, article


def written_in(store: Store, revision: int) -> tuple[list[str], list[str], list[str]]:
    """The story records (ids), article rows (keys) and told rows (topics) a revision
    wrote."""
    with store.engine.connect() as conn:
        records = conn.scalars(
            select(story_records.c.id).where(story_records.c.revision == revision)
        ).all()
        keys = conn.scalars(
            select(story_members.c.key).where(story_members.c.revision == revision)
        ).all()
        topics = conn.scalars(
            select(story_told.c.topic).where(story_told.c.revision == revision)
        ).all()
    return sorted(records), sorted(keys), sorted(topics)


def stored_story(store: Store, story_id: str) -> str:
    with store.engine.connect() as conn:
        text: str = conn.scalar(
            select(story_records.c.record).where(story_records.c.id == story_id)
        )
    return text


def member_rows(store: Store) -> dict[str, str]:
    """Article key -> the story its row puts it in."""
    with store.engine.connect() as conn:
        return dict(conn.execute(select(story_members.c.key, story_members.c.story_id)).all())


def test_a_placement_in_a_large_story_writes_only_what_it_placed(store_url: str) -> None:
    """The 201st copy of a wire story writes its own row and the story's record, whose
    size does not grow with the story's articles, nor with what was told of it; what is
    told is written apart, when it is told."""
    store = Store(store_url)
    store.migrate()
    shared = SharedStories(store, StoriesSettings())
    with shared.updating(T0) as book:
        first = book.add(article("wire-0", WIRE), now=T0)
    small = len(stored_story(store, first.story_id))
    for i in range(1, 201):
        with shared.updating(T0) as book:
            book.add(article(f"wire-{i}", WIRE, source=f"Paper {i}"), now=T0)
            book.mark_delivered(first.story_id, f"topic-{i % 3}", [f"Update number {i} said."])

    with shared.updating(T0) as book:
        last = book.add(article("wire-201", WIRE, source="Late"), now=T0)
    assert written_in(store, shared.revision) == ([first.story_id], ["wire-201"], [])
    with shared.updating(T0) as book:
        book.mark_delivered(first.story_id, "topic-1", ["One more update was sent."])
    assert written_in(store, shared.revision) == ([], [], ["topic-1"])

    assert last.story_id == first.story_id
    record = stored_story(store, first.story_id)
    assert "wire-1" not in record and "members" not in json.loads(record)
    assert len(record) == small
    assert len(member_rows(store)) == 202
    store.close()


def test_a_cycle_with_nothing_to_place_never_reads_the_book(store_url: str) -> None:
    """Stories that left the window are forgotten in the store without reading the book;
    the book is read when the first article is placed."""

    class CountingStore(Store):
        reads = 0

        def story_changes_since(self, revision: int) -> tuple[list[dict[str, Any]], list[str], int]:
            self.reads += 1
            return super().story_changes_since(revision)

    settings = StoriesSettings(window=timedelta(days=3))
    writer = Store(store_url)
    writer.migrate()
    with SharedStories(writer, settings).updating(T0) as book:
        old = book.add(article("old", WIRE), now=T0)
        recent = book.add(article("recent", MINE, hours=72), now=T0 + timedelta(hours=72))
    writer.close()
    store = CountingStore(store_url)
    later = T0 + timedelta(days=4)

    shared = SharedStories(store, settings)
    shared.expire(later)

    assert store.reads == 0
    assert set(member_rows(store)) == {"recent"}  # the old story's articles went with it
    with shared.updating(later) as book:
        assert store.reads == 1
        assert len(book) == 1  # the old story is not read back
        assert old.story_id != recent.story_id
        assert book.add(article("recent-copy", MINE), now=later).story_id == recent.story_id
    store.close()


def test_replicas_see_each_others_placements_moves_and_merges(postgres_url: str) -> None:
    """One replica's story merges into another's: the other replica, and one started
    afterwards, find every article in the surviving story, through the rows."""
    one, two = Store(postgres_url), Store(postgres_url)
    one.migrate()
    first, second = SharedStories(one, StoriesSettings()), SharedStories(two, StoriesSettings())
    with first.updating(T0) as book:
        for i, text in enumerate(OTHER_NEWS):
            book.add(article(f"n{i}", text, hours=i), now=T0)
        mine = book.add(article("mine", MINE, source="AP", hours=4), now=T0)
    with second.updating(T0) as book:  # joins the first replica's stories
        families = book.add(article("families", FAMILIES, source="BBC", hours=5), now=T0)
    with first.updating(T0) as book:  # sees the second's story, and merges it
        bridge = book.add(article("bridge", BRIDGE, source="DW", hours=6), now=T0)

    assert families.story_id != mine.story_id and bridge.story_id == mine.story_id
    assert f"{families.story_id} merged into {mine.story_id}" in bridge.reason
    _, moved, _ = written_in(one, first.revision)
    assert moved == ["bridge", "families"]  # the article placed, the one that moved
    assert member_rows(one)["families"] == mine.story_id
    fresh = SharedStories(one, StoriesSettings())  # a replica started now
    for replica in (second, fresh):
        with replica.updating(T0) as book:
            assert book.resolve(families.story_id) == mine.story_id
            records = book.to_records()
        placed = {r["id"]: r["story"] for r in records if r["type"] == "member"}
        assert placed["families"] == placed["mine"] == placed["bridge"] == mine.story_id
        assert families.story_id not in {r["id"] for r in records}
    one.close()
    two.close()


def old_style(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Story records as stores before the article and told rows held them (version 1):
    each story's articles and what each topic was told in its record."""
    members: dict[str, list[dict[str, Any]]] = {}
    told: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["type"] == "member":
            item = {k: r[k] for k in ("url", "source", "title", "published", "duplicate_of")}
            members.setdefault(r["story"], []).append({"key": r["id"], **item, "sig": r["sig"]})
        elif r["type"] == "told":
            what = {k: r[k] for k in ("sentences", "vocabulary", "names", "numbers")}
            told.setdefault(r["story"], {})[r["topic"]] = what
    old = [
        {**r, "version": 1, "members": members[r["id"]], "delivered": told.get(r["id"], {})}
        for r in records
        if r["type"] == "story"
    ]
    return [r for r in records if r["type"] == "book"] + old


def test_a_store_written_before_article_rows_upgrades(store_url: str) -> None:
    """Migration 0016 turns the articles listed in each story's record into rows; the
    book read afterwards is the one that was saved."""
    settings = StoriesSettings()
    book = StoryBook(settings)
    for i, text in enumerate((*OTHER_NEWS, MINE, FAMILIES, BRIDGE, WIRE)):
        placed = book.add(article(f"a{i}", text, hours=i), now=T0)
    book.mark_delivered(placed.story_id, "t", ["Kim and Trump meet in Singapore on June 12."])
    saved = json.loads(json.dumps(book.to_records()))
    store = Store(store_url)
    store.migrate()
    with store.engine.begin() as conn:  # the store as version 0015 left it
        conn.execute(delete(schema_migrations).where(schema_migrations.c.name >= "0016"))
        story_members.drop(conn)
        conn.execute(
            story_records.insert(),
            [
                {"id": r["id"], "type": r["type"], "record": json.dumps(r), "revision": 1}
                for r in old_style(saved)
            ],
        )

    assert store.migrate() == ["0016_story_members"]

    assert len(member_rows(store)) == len([r for r in saved if r["type"] == "member"])
    with store.engine.connect() as conn:
        assert not conn.scalar(
            select(func.count()).where(story_records.c.record.contains('"members"'))
        )
    upgraded = SharedStories(store, settings).book.to_records()
    assert sorted(upgraded, key=lambda r: r["id"]) == sorted(saved, key=lambda r: r["id"])
    store.close()


def test_an_old_style_record_from_another_process_is_written_back_as_rows() -> None:
    """A replica still writing version-1 records: what this book absorbs of it is saved
    with the articles as records of their own."""
    settings = StoriesSettings()
    other = StoryBook(settings)
    story = other.add(article("ap", WIRE), now=T0).story_id
    other.add(article("afp", WIRE, source="AFP", hours=1), now=T0)
    book = StoryBook(settings)

    book.absorb(old_style(json.loads(json.dumps(other.to_records()))), [])

    records, removed = book.changed_records()
    assert [(r["type"], r["id"]) for r in records] == [
        ("story", story),
        ("member", "afp"),
        ("member", "ap"),
    ]
    assert "members" not in records[0] and removed == []
