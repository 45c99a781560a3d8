"""Replicas on one PostgreSQL store poll an even share of the feeds, started together or
apart, and take over the share of one that died once its feeds are overdue by the grace.

Each replica is played tick by tick on an injected clock: note it is alive, claim up to
a batch of due feeds, poll them (save the next check). No HTTP: the split is the store's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from monitor.models import FeedState
from monitor.store import Store
from tests.factories import NOW

TICK = timedelta(seconds=1)
GRACE = 2 * TICK
ALIVE = timedelta(seconds=30)
LEASE = timedelta(minutes=15)
BATCH = 50  # store.claim_batch's default
FEEDS = [f"https://site{i}.example.org/feed.xml" for i in range(300)]


def interval(url: str) -> timedelta:
    """20 to 40 s, as in the replicas bench, so feeds fall due a few at a time."""
    return timedelta(seconds=20 + FEEDS.index(url) % 21)


@dataclass
class Replica:
    name: str
    store: Store
    polls: list[tuple[datetime, str]] = field(default_factory=list)

    def tick(self, now: datetime) -> None:
        share = self.store.replica_share(self.name, now, ALIVE, GRACE)
        for claimed in self.store.claim_feeds(self.name, now, LEASE, limit=BATCH, share=share):
            self.polls.append((now, claimed.url))
            due = now + interval(claimed.url)
            self.store.save_feed_state(FeedState(url=claimed.url, last_checked=now, next_check=due))


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[list[Replica]]:
    stores = [Store(postgres_url) for _ in range(3)]
    for store in stores:
        store.migrate()
    stores[0].sync_feeds(FEEDS)
    yield [Replica(f"replica-{n}", store) for n, store in enumerate(stores)]
    for store in stores:
        store.close()


def run(replicas: list[Replica], ticks: range, *, joined: dict[str, int] | None = None) -> None:
    """Each tick, every replica that has started looks for work, always in the same order
    (the order in which replicas ticking at one moment reach the database)."""
    for n in ticks:
        for replica in replicas:
            if n >= (joined or {}).get(replica.name, 0):
                replica.tick(NOW + n * TICK)


def shares(replicas: list[Replica], since: datetime) -> list[float]:
    counts = Counter(r.name for r in replicas for at, _ in r.polls if at >= since)
    total = sum(counts.values())
    return [counts[r.name] / total for r in replicas]


def assert_even(found: list[float]) -> None:
    even = 1 / len(found)
    assert all(abs(share - even) <= 0.2 * even for share in found), found


def test_replicas_started_together_poll_even_shares(replicas: list[Replica]) -> None:
    run(replicas, range(120))

    assert_even(shares(replicas, NOW))
    first = [[url for at, url in r.polls if at == NOW] for r in replicas]
    assert [len(urls) for urls in first] == [BATCH] * 3  # the first round is not capped
    assert len({url for urls in first for url in urls}) == 3 * BATCH  # and none polled twice


def test_replicas_started_apart_poll_even_shares_once_all_run(replicas: list[Replica]) -> None:
    joined = {"replica-0": 0, "replica-1": 15, "replica-2": 40}

    run(replicas, range(160), joined=joined)

    alone = {url for at, url in replicas[0].polls if at < NOW + 15 * TICK}
    assert alone == set(FEEDS)  # alone at first, it polled every feed
    assert_even(shares(replicas, NOW + 60 * TICK))


def test_a_dead_replicas_share_is_taken_over_after_the_grace(replicas: list[Replica]) -> None:
    run(replicas, range(60))
    alive, dead = replicas[:2], replicas[2]
    theirs = {url for _, url in dead.polls}

    run(alive, range(60, 160))

    late = [at - due for at, url, due in lateness(replicas, since=NOW + 60 * TICK) if url in theirs]
    assert late and max(late) <= GRACE  # taken over at the grace, never later
    assert_even(shares(alive, NOW + 60 * TICK + ALIVE))  # then split between the two


def lateness(replicas: list[Replica], since: datetime) -> Iterator[tuple[datetime, str, datetime]]:
    """(when polled, feed, when it was due) for the polls since `since`."""
    every = sorted(poll for r in replicas for poll in r.polls)
    last: dict[str, datetime] = {}
    for at, url in every:
        if url in last and at >= since:
            yield at, url, last[url] + interval(url)
        last[url] = at
