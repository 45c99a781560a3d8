"""The console's indexed backtest finds exactly what `topics test` finds, newest first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import topic_trial
from monitor.console.recent import RecentEntries
from monitor.models import Entry
from monitor.query import compile_query
from monitor.store import Store


def host_of(url: str) -> str:
    """How `topics test` names a feed that has no name and no title: its host."""
    return url.split("/")[2]


NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WORDS = [
    "Putin",
    "Trump",
    "summit",
    "Kremlin",
    "Ukraine",
    "Kyiv",
    "ceasefire",
    "talks",
    "Helsinki",
    "meeting",
    "White",
    "House",
    "sanctions",
    "energy",
    "minister",
    "president",
    "election",
    "Moscow",
    "Washington",
    "oil",
]
QUERIES = [
    "Putin AND summit",
    '"White House" AND (Putin OR Kremlin)',
    "Ukr* AND ceasefire",
    "summit NOT Trump",
    "title:Kremlin",
    "source:feed3.example AND oil",
    "Helsinki NEAR/3 meeting",
    "Helsin* OR oil",
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    rng = random.Random(3)
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    store.migrate()
    for day in range(10):  # three days fall outside the 7-day window
        batch = [
            Entry(
                feed_url=f"https://feed{i % 5}.example/rss",
                key=f"d{day}-{i}",
                title=" ".join(rng.choices(WORDS, k=6)),
                link=f"https://feed{i % 5}.example/{day}/{i}",
                summary=" ".join(rng.choices(WORDS, k=25)),
            )
            for i in range(40)
        ]
        store.record_entries(batch, [], NOW - timedelta(days=9 - day, hours=rng.random()))
    return store


@pytest.mark.parametrize("text", QUERIES)
def test_index_agrees_with_topics_test(store: Store, text: str) -> None:
    """Same entries, same explanations as `topics test` over the last 7 days."""
    query = compile_query(text)
    recent = RecentEntries(timedelta(days=7))
    recent.refresh(store, NOW, host_of)
    found, more = recent.hits(store, query, NOW, limit=10_000, namer=host_of)
    expected = topic_trial.on_stored(store, query, NOW - timedelta(days=7), [])

    assert not more
    assert sorted((h.url, h.explanation) for h in found) == sorted(
        (h.url, h.explanation) for h in expected
    )
    assert [h.when for h in found] == sorted((h.when for h in found), reverse=True)


def test_new_entries_are_indexed_and_broad_queries_stop_early(store: Store) -> None:
    """A refresh picks up entries stored since; a limit cuts a broad query short."""
    recent = RecentEntries(timedelta(days=7))
    recent.refresh(store, NOW, host_of)
    query = compile_query("zanzibar")
    assert recent.hits(store, query, NOW, limit=5, namer=host_of) == ([], False)
    fresh = [
        Entry("https://feed1.example/rss", f"z{i}", f"Zanzibar {i}", f"https://z/{i}", "")
        for i in range(8)
    ]
    store.record_entries(fresh, [], NOW)
    recent.refresh(store, NOW, host_of)
    found, more = recent.hits(store, query, NOW, limit=5, namer=host_of)
    assert len(found) == 5 and more
