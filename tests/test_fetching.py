"""One feed's poll through the real HTTP client against loopback servers: timers, errors, limits.

Every test injects `now` and a fixed RNG, so next checks are exact; nothing sleeps for
timing and no address outside 127.0.0.0/8 is touched.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from monitor.config import FeedConfig, FetchSettings
from monitor.extract import Extractor
from monitor.feeds import ParsedFeed, ParsePool, parse_feed
from monitor.http import HttpClient
from monitor.models import Entry, FeedState
from monitor.pipeline import Pipeline, PollReport
from monitor.poll_schedule import Rules
from monitor.store import Store
from tests.servers import LoopbackHTTPServer, Reply, Request, gzip_bomb, raw_server

T = TypeVar("T")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)
RULES = Rules(default_interval=15 * M, max_backoff=6 * H, max_interval=24 * H, jitter=0.1)


class Middle:
    """An RNG that always returns the middle of its range: jitter adds nothing."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def rss(*titles: str, ttl: int | None = None) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example.org/{i}</link>"
        f"<guid>g-{t}</guid></item>"
        for i, t in enumerate(titles)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{ttl_tag}'
        f"{items}</channel></rss>"
    ).encode()


class CountingParser(ParsePool):
    """Parses in this process and counts the documents it was given."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.bodies: list[bytes] = []

    async def parse(self, body: bytes, *, url: str, headers: Any = None) -> ParsedFeed:
        self.bodies.append(body)
        return parse_feed(body, url=url, headers=headers)


def settings(**overrides: Any) -> FetchSettings:
    values: dict[str, Any] = {"allow_private": ["127.0.0.1"], "timeout": "5s", **overrides}
    return FetchSettings(**values)


def with_pipeline(
    store: Store, action: Callable[[Pipeline], Awaitable[T]], fetch: FetchSettings | None = None
) -> T:
    async def main() -> T:
        async with HttpClient(fetch or settings()) as http:
            pipeline = Pipeline(
                store=store,
                http=http,
                extractor=Extractor(workers=1),
                topics=[],
                default_interval=15 * M,
                max_backoff=6 * H,
            )
            return await action(pipeline)

    return asyncio.run(main())


def poll(
    store: Store,
    url: str,
    now: datetime = NOW,
    parser: ParsePool | None = None,
    fetch: FetchSettings | None = None,
) -> PollReport:
    feed = FeedConfig(url=url)
    return with_pipeline(
        store, lambda p: p.poll(feed, now, parser=parser, rules=RULES, rng=Middle()), fetch
    )


def state(store: Store, url: str) -> FeedState:
    return store.feed_state(url)


# --- success, 304 and server hints -----------------------------------------------------------


def test_not_modified_moves_only_timers(http_server: LoopbackHTTPServer, store: Store) -> None:
    """A 304 parses nothing and records nothing new: only last_success and next_check move."""
    body = rss("One", "Two")

    def conditional(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply(body, headers={"ETag": '"v1"', "Last-Modified": "Sat, 01 Mar 2025 00:00 GMT"})

    url = http_server.route("/feed", Reply(dynamic=conditional))
    parser = CountingParser()
    first = poll(store, url, parser=parser)
    assert (first.new_entries, first.not_modified) == (2, False)
    later = NOW + 20 * M
    second = poll(store, url, now=later, parser=parser)
    assert second.not_modified and second.new_entries == 0
    assert len(parser.bodies) == 1  # the 304 was never parsed
    saved = state(store, url)
    assert saved.etag == '"v1"' and saved.last_modified == "Sat, 01 Mar 2025 00:00 GMT"
    assert (saved.last_success, saved.last_checked) == (later, later)
    assert saved.next_check == later + 15 * M
    assert http_server.requests[1].headers["if-modified-since"] == "Sat, 01 Mar 2025 00:00 GMT"


def test_ttl_is_remembered_across_304s(http_server: LoopbackHTTPServer, store: Store) -> None:
    """A feed's <ttl> keeps raising its interval on later 304s, which carry no document."""

    def conditional(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply(rss("One", ttl=90), headers={"ETag": '"v1"'})

    url = http_server.route("/feed", Reply(dynamic=conditional))
    poll(store, url)
    assert state(store, url).next_check == NOW + 90 * M * 1.05  # asked-for waits only lengthen
    later = NOW + 2 * H
    assert poll(store, url, now=later).not_modified
    assert state(store, url).next_check == later + 90 * M * 1.05


def test_cache_control_raises_the_interval(http_server: LoopbackHTTPServer, store: Store) -> None:
    """Cache-Control: max-age longer than the interval sets the next check."""
    url = http_server.route("/feed", Reply(rss("One"), headers={"Cache-Control": "max-age=7200"}))
    poll(store, url)
    assert state(store, url).next_check == NOW + 2 * H * 1.05


# --- failures: classes, backoff, recovery -------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    http_server: LoopbackHTTPServer, store: Store, status: int
) -> None:
    """A 429 or 503 with Retry-After is rate-limited and not retried before it has passed."""
    url = http_server.route("/feed", Reply(status=status, headers={"Retry-After": "7200"}))
    report = poll(store, url)
    assert report.error is not None
    saved = state(store, url)
    assert saved.last_error_class == "rate-limited"
    assert saved.consecutive_failures == 1
    assert saved.next_check is not None and saved.next_check >= NOW + 2 * H


def test_backoff_then_recovery(http_server: LoopbackHTTPServer, store: Store) -> None:
    """Failures double the wait from the interval; the first success resets everything."""
    http_server.route("/feed", Reply(b"down", status=500))
    url = http_server.url("/feed")
    now = NOW
    for failures, wait in [(1, 15 * M), (2, 30 * M), (3, 60 * M), (4, 120 * M)]:
        poll(store, url, now=now)
        saved = state(store, url)
        assert (saved.consecutive_failures, saved.last_error_class) == (failures, "http error")
        assert saved.next_check == now + wait
        now = saved.next_check
    http_server.route("/feed", Reply(rss("Back")))
    report = poll(store, url, now=now)
    assert report.new_entries == 1
    saved = state(store, url)
    assert (saved.consecutive_failures, saved.last_error, saved.last_error_class) == (0, None, None)
    assert (saved.last_success, saved.next_check) == (now, now + 15 * M)


def test_trickling_server_times_out(store: Store) -> None:
    """A server sending one byte at a time is cut by the total deadline: class timeout."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:  # the server's own pace; the test waits on no clock of its own
            writer.write(b"<")
            await writer.drain()
            await asyncio.sleep(0.02)

    async def action(pipeline: Pipeline) -> PollReport:
        async with raw_server(trickle) as url:
            return await pipeline.poll(FeedConfig(url=url), NOW, rules=RULES, rng=Middle())

    report = with_pipeline(store, action, settings(timeout="0.5s"))
    saved = state(store, report.url)
    assert (saved.last_error_class, saved.consecutive_failures) == ("timeout", 1)


def test_gzip_bomb_is_too_large(http_server: LoopbackHTTPServer, store: Store) -> None:
    """50 MB of gzipped zeros behind gzip, gzip stops at the byte cap: class too large."""
    bomb = gzip.compress(gzip_bomb())
    url = http_server.route("/feed", Reply(bomb, headers={"Content-Encoding": "gzip, gzip"}))
    poll(store, url, fetch=settings(max_bytes=1_000_000))
    assert state(store, url).last_error_class == "too large"


def test_redirect_loop_is_blocked(http_server: LoopbackHTTPServer, store: Store) -> None:
    """A redirect loop ends after fetch.max_redirects hops: class blocked."""
    url = http_server.route("/feed", Reply(status=302, headers={"Location": "/feed"}))
    poll(store, url, fetch=settings(max_redirects=2))
    assert state(store, url).last_error_class == "blocked"
    assert len(http_server.requests) == 3


def test_redirect_to_refused_address_never_reaches_it(
    http_server: LoopbackHTTPServer, refused_server: LoopbackHTTPServer, store: Store
) -> None:
    """A redirect to a loopback address not in allow_private is refused: its server sees nothing."""
    refused_server.route("/secret", Reply(b"internal"))
    target = f"http://127.0.0.1:{refused_server.port}/secret"  # reachable, but not allowed
    url = http_server.route("/feed", Reply(status=302, headers={"Location": target}))
    poll(store, url, fetch=settings(allow_private=[f"127.0.0.1:{http_server.port}"]))
    assert state(store, url).last_error_class == "blocked"
    assert refused_server.requests == []


@pytest.mark.parametrize(
    ("body", "error_class"),
    [
        (b"<html><body>Not a feed</body></html>", "not a feed"),
        (b"", "not a feed"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</titl></rss>', "parse error"),
    ],
)
def test_parse_failures_are_classed(
    http_server: LoopbackHTTPServer, store: Store, body: bytes, error_class: str
) -> None:
    """A page that is not a feed, or a broken one without entries, is recorded with its class."""
    url = http_server.route("/feed", Reply(body, headers={"Content-Type": "text/html"}))
    poll(store, url)
    assert state(store, url).last_error_class == error_class


# --- hostile documents ------------------------------------------------------------------------


def test_entity_expansion_feed_is_not_expanded(
    http_server: LoopbackHTTPServer, store: Store
) -> None:
    """A 110 KB feed whose entity would expand to 1 GB gives entries with short, literal text."""
    entity = "A" * 100_000
    refs = "&big;" * 2_000  # 2,000 x 100 kB: a 200 MB title if expanded
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{entity}">]>'
        f'<rss version="2.0"><channel><title>Bomb</title><item><title>{refs}</title>'
        "<guid>bomb-1</guid></item></channel></rss>"
    ).encode()
    assert 105_000 < len(body) < 115_000
    url = http_server.route("/feed", Reply(body))
    parsed = parse_feed(body, url=url)
    (entry,) = parsed.entries
    assert "AAAA" not in entry.title and len(entry.title) <= 1_000
    assert poll(store, url).new_entries == 1


def test_feeds_parse_in_the_pool_and_match_inline_parsing(
    http_server: LoopbackHTTPServer, store: Store
) -> None:
    """The process pool starts on first use, gives what inline parsing gives, and closes."""
    body = rss("One", "Two", "Three", ttl=30)
    url = http_server.route("/feed", Reply(body))
    pool = ParsePool(workers=1, max_entries=2)
    assert pool._pool is None  # lazily created
    try:

        async def both() -> tuple[ParsedFeed, PollReport]:
            parsed = await pool.parse(body, url=url)
            async with HttpClient(settings()) as http:
                pipeline = Pipeline(store, http, Extractor(workers=1), [], 15 * M, 6 * H)
                report = await pipeline.poll(FeedConfig(url=url), NOW, parser=pool, rules=RULES)
            return parsed, report

        parsed, report = asyncio.run(both())
    finally:
        pool.close()
    assert pool._pool is None
    assert parsed == parse_feed(body, url=url, max_entries=2)
    assert report.new_entries == 2


def test_pool_turns_bad_documents_into_parse_errors() -> None:
    """A document that is not a feed comes back from a worker as ParseError, pool intact."""
    from monitor.errors import ParseError

    pool = ParsePool(workers=1)
    try:

        async def run() -> ParsedFeed:
            with pytest.raises(ParseError) as caught:
                await pool.parse(b"<html></html>", url="http://127.0.0.1/x")
            assert caught.value.error_class == "not a feed"
            return await pool.parse(rss("Still works"), url="http://127.0.0.1/x")

        assert asyncio.run(run()).entries[0].title == "Still works"
    finally:
        pool.close()


# --- concurrency limits -------------------------------------------------------------------


def _gate(limit: int) -> tuple[Callable[..., Awaitable[None]], dict[str, int]]:
    """A raw handler that holds requests until `limit` are in flight, recording the peak."""
    seen = {"active": 0, "peak": 0, "total": 0}
    full = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["active"] += 1
        seen["total"] += 1
        seen["peak"] = max(seen["peak"], seen["active"])
        if seen["active"] >= limit:
            full.set()
        await full.wait()
        seen["active"] -= 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()

    return handle, seen


@pytest.mark.parametrize(("per_host", "total"), [(2, 10), (3, 100)])
def test_per_host_limit_holds(per_host: int, total: int) -> None:
    """No more than fetch.max_per_host requests are in flight to one host at once."""

    async def main() -> dict[str, int]:
        handle, seen = _gate(per_host)
        async with raw_server(handle) as url, HttpClient(settings(max_per_host=per_host)) as http:
            await asyncio.gather(*(http.get(f"{url}?{i}") for i in range(per_host * 4)))
        return seen

    seen = asyncio.run(main())
    assert seen["peak"] == per_host and seen["total"] == per_host * 4


def test_global_limit_holds() -> None:
    """No more than fetch.max_connections requests are in flight in all, across hosts."""

    async def main() -> dict[str, int]:
        handle, seen = _gate(3)
        fetch = settings(max_connections=3, max_per_host=10)
        async with (
            raw_server(handle) as one,
            raw_server(handle) as two,
            HttpClient(fetch) as http,
        ):
            urls = [f"{u}?{i}" for i in range(6) for u in (one, two)]
            await asyncio.gather(*(http.get(u) for u in urls))
        return seen

    seen = asyncio.run(main())
    assert seen["peak"] == 3 and seen["total"] == 12


def test_feed_schedule_migration_on_an_older_database(tmp_path: Path) -> None:
    """A database made before 0002 gains the hint column, and a hint saved is read back."""
    from sqlalchemy import insert

    from monitor.store import MIGRATIONS, schema_migrations

    old = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with old.engine.begin() as conn:
            schema_migrations.create(conn)
            conn.exec_driver_sql(
                "CREATE TABLE feeds (url VARCHAR(2000) PRIMARY KEY, title TEXT, etag TEXT,"
                " last_modified TEXT, last_checked DATETIME, last_success DATETIME,"
                " last_error TEXT, last_error_class VARCHAR(40),"
                " consecutive_failures INTEGER NOT NULL, next_check DATETIME)"
            )
            conn.execute(insert(schema_migrations).values(name=MIGRATIONS[0][0], applied_at=NOW))
        assert "0002_feed_schedule" not in [name for name, _ in MIGRATIONS[:1]]
        with old.engine.begin() as conn:
            dict(MIGRATIONS)["0002_feed_schedule"](conn)
            conn.exec_driver_sql("CREATE TABLE deliveries (id INTEGER PRIMARY KEY)")
            dict(MIGRATIONS)["0009_claims"](conn)  # saving a state also ends its claim
            dict(MIGRATIONS)["0012_feed_claim_order"](conn)  # and reads every feed column
        old.save_feed_state(FeedState(url="http://127.0.0.1/f"), hint=90 * M)
        assert old.feed_schedule("http://127.0.0.1/f") == (
            FeedState(url="http://127.0.0.1/f"),
            90 * M,
        )
        old.save_feed_state(FeedState(url="http://127.0.0.1/f"))  # no hint given: kept
        assert old.feed_schedule("http://127.0.0.1/f")[1] == 90 * M
        old.save_feed_state(FeedState(url="http://127.0.0.1/f"), hint=timedelta(0))  # forgotten
        assert old.feed_schedule("http://127.0.0.1/f")[1] is None
    finally:
        old.close()


def test_fresh_database_migrates_with_the_hint_column(store: Store) -> None:
    """On a new database 0002 finds the column already made and records itself."""
    from sqlalchemy import select

    from monitor.store import schema_migrations

    with store.engine.connect() as conn:
        names = set(conn.scalars(select(schema_migrations.c.name)))
    assert "0002_feed_schedule" in names


class SlowStore(Store):
    """A real store whose `unseen` for one feed waits until the test lets it go."""

    def __init__(self, url: str, slow_feed: str) -> None:
        super().__init__(url)
        self.slow_feed = slow_feed
        self.entered = threading.Event()
        self.release = threading.Event()
        self.order: list[str] = []

    def unseen(
        self, feed_url: str, batch: Sequence[Entry], *, first_read: bool = False
    ) -> list[Entry]:
        if feed_url == self.slow_feed:
            self.entered.set()
            # the timeout only ends a test whose event loop is stuck in here
            if not self.release.wait(timeout=30):
                self.order.append("slow query timed out")
            self.order.append("slow query done")
        return super().unseen(feed_url, batch, first_read=first_read)


def test_a_slow_query_does_not_delay_another_feeds_poll(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """While the store answers one feed slowly, another feed's poll runs to its end."""
    slow = http_server.route("/slow.xml", Reply(rss("Held up")))
    quick = http_server.route("/quick.xml", Reply(rss("Straight through")))
    store = SlowStore(f"sqlite:///{tmp_path / 'monitor.db'}", slow_feed=slow)
    store.migrate()

    async def scenario(pipeline: Pipeline) -> tuple[PollReport, PollReport]:
        held = asyncio.create_task(pipeline.poll(FeedConfig(url=slow), NOW, rules=RULES))
        assert await asyncio.to_thread(store.entered.wait, 30)
        done = await pipeline.poll(FeedConfig(url=quick), NOW, rules=RULES)
        store.order.append("other feed polled")
        assert not held.done()
        store.release.set()
        return await held, done

    try:
        held, done = with_pipeline(store, scenario)
    finally:
        store.release.set()
        store.close()
    assert store.order == ["other feed polled", "slow query done"]
    assert (done.error, done.new_entries) == (None, 1)
    assert (held.error, held.new_entries) == (None, 1)
