"""Several processes on one store: claims with a lease, digests built once, stories shared.

The claim tests run on both backends (`store_url`); the ones about processes
racing each other need PostgreSQL, where replicas are allowed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import (
    DigestSettings,
    FeedConfig,
    FetchSettings,
    Settings,
    StoriesSettings,
    TopicConfig,
)
from monitor.delivery.outbox import queue_due_digests
from monitor.extract import Extractor
from monitor.http import HttpClient
from monitor.models import FeedState
from monitor.pipeline import Pipeline, PollReport, WatchedTopic
from monitor.pipeline.story_sync import SharedStories
from monitor.query import TopicIndex, compile_query
from monitor.service.runtime import Runtime
from monitor.store import ClaimedFeed, DigestTaken, Store, StoreError
from monitor.store.lock import StoreInUse
from monitor.stories import StoryArticle
from tests.factories import NOW, match, topic
from tests.servers import LoopbackHTTPServer, Reply

LEASE = timedelta(minutes=15)


def urls_of(claims: list[ClaimedFeed]) -> list[str]:
    return [claim.url for claim in claims]


URLS = [f"https://feeds.example.org/{i}.xml" for i in range(5)]


@pytest.fixture
def pair(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, as two replicas would hold them."""
    first, second = Store(store_url), Store(store_url)
    first.migrate()
    second.migrate()
    yield first, second
    first.close()
    second.close()


def test_replicas_split_the_due_feeds_and_never_share_one(pair: tuple[Store, Store]) -> None:
    one, two = pair
    one.sync_feeds(URLS)

    mine = urls_of(one.claim_feeds("one", NOW, LEASE, limit=3))
    theirs = urls_of(two.claim_feeds("two", NOW, LEASE, limit=3))

    assert len(mine) == 3 and len(theirs) == 2
    assert set(mine) | set(theirs) == set(URLS)
    assert urls_of(one.claim_feeds("one", NOW, LEASE)) == []


def test_a_saved_poll_ends_the_claim_and_the_next_check_decides(
    pair: tuple[Store, Store],
) -> None:
    one, two = pair
    one.sync_feeds(URLS[:1])
    [url] = urls_of(one.claim_feeds("one", NOW, LEASE))

    one.save_feed_state(FeedState(url=url, last_success=NOW, next_check=NOW + timedelta(hours=1)))

    assert urls_of(two.claim_feeds("two", NOW + timedelta(minutes=59), LEASE)) == []
    assert urls_of(two.claim_feeds("two", NOW + timedelta(hours=1), LEASE)) == [url]


def test_a_dead_replicas_feeds_are_taken_over_after_the_lease(
    pair: tuple[Store, Store],
) -> None:
    one, two = pair
    one.sync_feeds(URLS)
    assert len(urls_of(one.claim_feeds("one", NOW, LEASE))) == 5  # then "one" dies

    assert urls_of(two.claim_feeds("two", NOW + LEASE - timedelta(seconds=1), LEASE)) == []
    assert len(urls_of(two.claim_feeds("two", NOW + LEASE, LEASE))) == 5


def test_once_claims_feeds_not_yet_due_unless_another_holds_them(
    pair: tuple[Store, Store],
) -> None:
    one, two = pair
    one.sync_feeds(URLS[:2])
    for url in URLS[:2]:
        one.save_feed_state(FeedState(url=url, next_check=NOW + timedelta(hours=1)))
    held = urls_of(two.claim_feeds("two", NOW, LEASE, limit=1, unchecked_since=NOW))

    assert urls_of(one.claim_feeds("one", NOW, LEASE)) == []  # not due
    assert urls_of(one.claim_feeds("one", NOW, LEASE, unchecked_since=NOW)) == [
        u for u in URLS[:2] if u not in held
    ]


def test_a_digest_takes_only_stories_no_other_digest_took(pair: tuple[Store, Store]) -> None:
    one, two = pair
    one.record_entries([], [match()], NOW, {"summit": ["hook"]})
    waiting_one = one.waiting("hook")["summit"]
    waiting_two = two.waiting("hook")["summit"]  # both replicas saw the same story waiting

    assert queue_due_digests(one, [topic()], channels=["hook"], now=NOW, settings=DigestSettings())
    from monitor.delivery.compose import build_digest, render

    late = render(build_digest("hook", [(topic(), [q.match for q in waiting_two])], NOW))
    with pytest.raises(DigestTaken):
        two.save_digest(
            late, channel="hook", topics=["summit"], queued=[q.id for q in waiting_two], now=NOW
        )
    assert [q.id for q in waiting_one] == [q.id for q in waiting_two]
    assert len(one.deliveries()) == 1


def test_a_delivery_is_sent_by_one_replica_and_retaken_after_the_lease(
    pair: tuple[Store, Store],
) -> None:
    one, two = pair
    one.record_entries([], [match()], NOW, {"summit": ["hook"]})
    queue_due_digests(one, [topic()], channels=["hook"], now=NOW, settings=DigestSettings())

    [claimed] = one.claim_deliveries("one", NOW, LEASE)

    assert two.claim_deliveries("two", NOW, LEASE) == []
    assert [d.id for d in two.claim_deliveries("two", NOW + LEASE, LEASE)] == [claimed.id]
    two.mark_sent(claimed.id, NOW + LEASE)
    assert one.claim_deliveries("one", NOW + 2 * LEASE, LEASE) == []


def test_claims_race_from_many_connections_without_overlap(postgres_url: str) -> None:
    """Four threads, each with its own store, claim 200 feeds in small batches at once."""
    urls = [f"https://feeds.example.org/{i}.xml" for i in range(200)]
    stores = [Store(postgres_url) for _ in range(4)]
    stores[0].migrate()
    stores[0].sync_feeds(urls)
    got: list[list[str]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def claim_all(i: int) -> None:
        start.wait()
        while batch := stores[i].claim_feeds(f"r{i}", NOW, LEASE, limit=7):
            got[i] += urls_of(batch)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    every = [url for batch in got for url in batch]
    assert sorted(every) == sorted(urls)  # each feed claimed exactly once
    assert sum(1 for batch in got if batch) >= 2  # the work was in fact shared


def story(url: str, source: str, text: str) -> StoryArticle:
    return StoryArticle(url, url, source, "Kremlin says Trump invited Putin", text, NOW)


TEXT = (
    "The Kremlin said on Tuesday that President Trump had invited Vladimir Putin to the "
    "White House for talks. Spokesman Dmitry Peskov told reporters in Moscow the invitation "
    "was made during a phone call. No date has been set for the meeting, Peskov said, adding "
    "that both sides would work on preparations through diplomatic channels. "
)


def test_replicas_place_articles_in_each_others_stories(postgres_url: str) -> None:
    one, two = Store(postgres_url), Store(postgres_url)
    one.migrate()
    first = SharedStories(one, StoriesSettings())
    second = SharedStories(two, StoriesSettings())

    with first.updating(NOW) as book:
        original = book.add(story("https://wire.example/a", "Wire", TEXT * 2), now=NOW)
    with second.updating(NOW) as book:  # the other replica, which never saw the original
        copy = book.add(story("https://paper.example/b", "Paper", TEXT * 2), now=NOW)

    assert copy.story_id == original.story_id
    assert copy.kind == "duplicate"
    fresh = SharedStories(one, StoriesSettings())  # a replica started now
    again = fresh.book.add(story("https://paper.example/b", "Paper", TEXT * 2), now=NOW)
    assert again.kind == "duplicate" and again.story_id == original.story_id
    one.close()
    two.close()


def test_a_second_service_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "store": {"url": f"sqlite:///{tmp_path / 'monitor.db'}"},
            "service": {"data_dir": str(tmp_path / "data")},
        }
    )

    async def both() -> None:
        async with Runtime(settings):
            with pytest.raises(StoreInUse) as refused:
                async with Runtime(settings):
                    pass
            message = str(refused.value)
            assert str(tmp_path / "monitor.db") in message
            assert "PostgreSQL" in message and "stop the other process" in message
        async with Runtime(settings):  # once the first has stopped, the file is free
            pass

    asyncio.run(both())


def test_store_copy_moves_sqlite_into_postgresql(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "monitor.db"
    old = Store(f"sqlite:///{database}")
    old.migrate()
    old.sync_feeds(URLS)
    old.record_entries([], [match(url=f"https://e.org/{i}") for i in range(3)], NOW, {})
    old.record_entries([], [match(url="https://e.org/routed")], NOW, {"summit": ["hook"]})
    queue_due_digests(old, [topic()], channels=["hook"], now=NOW, settings=DigestSettings())
    old.close()
    config = tmp_path / "monitor.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{database}"\n', encoding="utf-8")

    assert main(["--config", str(config), "store", "copy", "--to", postgres_url]) == 0

    out = capsys.readouterr().out
    assert "matches" in out and "now set store.url" in out
    new = Store(postgres_url)
    assert len(new.feed_states()) == 5
    assert new.recent_matches("summit", 10)[0][1].url == "https://e.org/routed"
    assert len(new.deliveries()) == 1 and len(new.waiting("hook")) == 0
    new.record_entries([], [match(url="https://e.org/after")], NOW, {})  # ids carry on
    assert new.recent_matches("summit", 1)[0][0] == 5
    new.close()

    assert main(["--config", str(config), "store", "copy", "--to", postgres_url]) == 1
    assert "already holds data" in capsys.readouterr().err


def test_store_migrate_says_what_it_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/m.db"\n', encoding="utf-8")

    assert main(["--config", str(config), "store", "migrate"]) == 0
    assert "0001_initial" in capsys.readouterr().out
    assert main(["--config", str(config), "store", "migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_an_unreachable_database_is_a_clear_error(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://monitor:s3cret@127.0.0.1:{closed_port}/news"
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(url).migrate()
    config = tmp_path / "monitor.toml"
    config.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")

    assert main(["--config", str(config), "once"]) == 3  # nothing could be polled

    err = capsys.readouterr().err
    assert "cannot open the store" in err and "database server is running" in err
    assert "s3cret" not in err
    assert "Traceback" not in err


def test_check_names_a_lease_too_short_and_a_store_url_that_is_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        '[store]\nurl = "mysql://monitor@db/news"\nlease = "30s"\n[fetch]\ntimeout = "30s"\n',
        encoding="utf-8",
    )

    assert main(["--config", str(config), "check"]) == 2

    out = capsys.readouterr().out
    assert "store.lease: 0:00:30 is shorter than twice fetch.timeout" in out
    assert "store.url: use sqlite:///FILE or postgresql://" in out


class MergingBook:
    """Stands in for a StoryBook that has just merged story st-a into st-b."""

    settings = StoriesSettings()

    def changed_records(self, *, flush: bool) -> tuple[list[dict[str, object]], list[str]]:
        record = {"id": "st-b", "type": "story", "last": NOW.isoformat(), "merged": ["st-a"]}
        return [record], ["st-a"]


def test_matches_of_a_merged_story_follow_it(store_url: str) -> None:
    store = Store(store_url)
    store.migrate()
    store.record_entries([], [replace(match(), story_id="st-a")], NOW, {})
    copy = replace(match(url="https://e.org/b"), story_id="st-b", story_kind="duplicate")
    store.record_entries([], [copy], NOW, {})

    merged = SharedStories(store, StoriesSettings(), MergingBook())  # type: ignore[arg-type]
    with merged.updating(NOW):
        pass

    topic = match().topic
    assert store.folded_copies(topic, ["st-b"]) == {
        "https://e.org/a": [(copy.source, "https://e.org/b")]
    }
    assert store.folded_copies(topic, ["st-a"]) == {}
    records, _, revision = store.story_changes_since(0)
    assert [r["id"] for r in records] == ["st-b"] and revision == 1
    assert store.story_changes_since(1) == ([], [], 1)
    store.close()


def test_a_long_poll_keeps_its_claim_by_renewing_it(pair: tuple[Store, Store]) -> None:
    one, two = pair
    one.sync_feeds(URLS[:1])
    [url] = urls_of(one.claim_feeds("one", NOW, LEASE))

    assert one.extend_claim(url, "one", NOW + 2 * LEASE)  # renewed while the poll runs
    assert not two.extend_claim(url, "two", NOW + 3 * LEASE)  # not another's to renew

    assert urls_of(two.claim_feeds("two", NOW + LEASE, LEASE)) == []  # first lease is over
    assert urls_of(two.claim_feeds("two", NOW + 2 * LEASE, LEASE)) == [url]


class LockWatchingStore(Store):
    """A real store that says when a poll is about to wait for the story lock."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.waiting = threading.Event()

    @contextmanager
    def story_lock(self) -> Iterator[None]:
        self.waiting.set()
        with super().story_lock():
            yield


def test_waiting_for_the_story_lock_does_not_delay_another_feeds_poll(
    postgres_url: str, http_server: LoopbackHTTPServer
) -> None:
    """While another replica holds the story lock, a feed with an article to place waits
    for it and a feed with nothing to place is polled to its end meanwhile."""
    item = "<item><title>{0}</title><guid>{1}</guid><description>{0}.</description></item>"
    placing, plain = (
        http_server.route(
            f"/{name}.xml",
            Reply(f'<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()),
        )
        for name, body in (
            ("placing", item.format("Summit agreed", "s1")),
            ("plain", item.format("Weather", "w1")),
        )
    )
    store, other = LockWatchingStore(postgres_url), Store(postgres_url)
    store.migrate()
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # the other replica, placing its own articles
        with other.story_lock():
            held.set()
            release.wait(timeout=30)  # the timeout only ends a test whose event loop is stuck

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(timeout=30)
    order: list[str] = []

    async def scenario() -> tuple[PollReport, PollReport]:
        summit = compile_query("summit")
        async with HttpClient(FetchSettings(allow_private=["127.0.0.1"])) as http:
            pipeline = Pipeline(
                store=store,
                http=http,
                extractor=Extractor(workers=1),
                topics={"summit": WatchedTopic(TopicConfig(name="summit", query="summit"), summit)},
                index=TopicIndex({"summit": summit}),
                default_interval=LEASE,
                max_backoff=LEASE,
                stories=SharedStories(store, StoriesSettings()),
            )
            waiting = asyncio.create_task(pipeline.poll(FeedConfig(url=placing), NOW))
            assert await asyncio.to_thread(store.waiting.wait, 30)
            done = await pipeline.poll(FeedConfig(url=plain), NOW)
            order.append("other feed polled")
            assert not waiting.done()
            release.set()
            placed = await waiting
            order.append("article placed")
            return placed, done

    try:
        placed, done = asyncio.run(scenario())
    finally:
        release.set()
        holder.join()
        store.close()
        other.close()
    assert order == ["other feed polled", "article placed"]
    assert (done.error, done.new_entries, done.matches) == (None, 1, 0)
    assert (placed.error, placed.new_entries, placed.matches) == (None, 1, 1)
