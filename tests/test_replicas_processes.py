"""Replicas as real processes: `run` services on one PostgreSQL store split the feeds, build
each digest once and send it once; one SIGKILLed mid-poll has its feeds taken over after the
lease. On SQLite a second process is refused with a message that says what to do.

Timing is never asserted: the tests wait on conditions (with a deadline), and compare the
times the servers saw with the claims the store recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import text

from monitor.store import Store
from tests.servers import LoopbackHTTPServer, Reply, Request, free_port

pytestmark = pytest.mark.slow

FEEDS = 20
TRAP = 10  # the feed whose first request kills the replica that asks for it
LEASE = 3.0
UTC_NOW = "timezone('utc', now())"  # the store keeps naive UTC times


def wait_until(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Return once `condition()` is true; fail saying `what` did not happen by the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def coined(k: int, n: int) -> str:
    """A made-up word of its own for each (k, n), so no two feeds tell the same story."""
    rng = random.Random(f"{k} {n}")
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4)).title()


def feed(k: int, base: str) -> bytes:
    """Feed k: one entry the topic matches (a story of its own) and one it does not."""
    a, b, c, d = (coined(k, n) for n in range(4))
    published = format_datetime(datetime.now(UTC))  # news, not a first poll's backlog
    items = [
        (
            f"Summit of {a} and {b} in {c}",
            f"{a} and {b} signed a {d} accord in {c}. The {d} talks on {coined(k, 5)} "
            f"and {coined(k, 6)} resume next month in {coined(k, 7)}.",
        ),
        (f"Weather in {coined(k, 8)}", f"Rain over {coined(k, 9)}, sun by the evening."),
    ]
    body = "".join(
        f"<item><title>{title}</title><link>{base}/page/{k}-{n}.html</link>"
        f"<guid>{base}/page/{k}-{n}.html</guid><description>{summary}</description>"
        f"<pubDate>{published}</pubDate></item>"
        for n, (title, summary) in enumerate(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {k}</title>'
        f"<link>{base}/</link><description>d</description>{body}</channel></rss>"
    ).encode()


@dataclass
class Polled:
    at: float
    feed: int
    agent: str


@dataclass
class Replica:
    agent: str
    proc: subprocess.Popen[bytes]
    listener: str

    def ready(self) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://{self.listener}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    """The store the replicas share, looked into by the test."""
    shared = Store(postgres_url)
    shared.migrate()
    yield shared
    shared.close()


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    """The processes a test starts; whatever is left of them is killed afterwards, by pid."""
    started: list[Replica] = []
    yield started
    for replica in started:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(replica.proc.pid).children(recursive=True):
                child.kill()
        if replica.proc.poll() is None:
            replica.proc.kill()
        replica.proc.wait()


def start(config: Path, agent: str, cwd: Path) -> Replica:
    listener = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env |= {"MONITOR_FETCH__USER_AGENT": agent, "MONITOR_LISTENER__ADDRESS": listener}
    log = (cwd / f"{agent}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return Replica(agent, proc, listener)


def write_config(path: Path, store_url: str, server: LoopbackHTTPServer) -> list[str]:
    urls = [server.url(f"/feed/{k:02d}.xml") for k in range(FEEDS)]
    feeds = "".join(f'[[feeds]]\nurl = "{url}"\ninterval = "1h"\n' for url in urls)
    path.write_text(
        f"""
[store]
url = {json.dumps(store_url)}
lease = "{LEASE}s"
claim_batch = 2
[fetch]
allow_private = ["127.0.0.1"]
timeout = {LEASE / 2}
max_connections = 2
parse_workers = 1
[extract]
workers = 1
[service]
data_dir = "{path.parent / "data"}"
tick = "0.5s"
adaptive = false
[[topics]]
name = "summit"
query = "summit"
match = "summary"
channels = ["hook"]
[[channels]]
name = "hook"
type = "webhook"
url = "{server.url("/hook")}"
timeout = "5s"
{feeds}""",
        encoding="utf-8",
    )
    return urls


def test_two_replicas_split_feeds_send_once_and_take_over_a_killed_one(
    tmp_path: Path,
    postgres_url: str,
    http_server: LoopbackHTTPServer,
    replicas: list[Replica],
    store: Store,
) -> None:
    """Two `run` processes poll every feed once, send every digest once; after one is
    SIGKILLed mid-poll, the other polls its feeds once their lease ran out."""
    config = tmp_path / "monitor.toml"
    urls = write_config(config, postgres_url, http_server)
    store.sync_feeds(urls)
    with store.engine.begin() as conn:  # held back until both replicas are up
        conn.execute(text(f"UPDATE feeds SET next_check = {UTC_NOW} + interval '1 day'"))

    polled: list[Polled] = []
    received: list[tuple[str, list[str]]] = []
    pids: dict[str, int] = {}
    both_asked = threading.Event()
    killed: list[str] = []

    def serve_feed(request: Request) -> Reply:
        k = int(request.path.rsplit("/", 1)[1].split(".")[0])
        agent = request.headers["user-agent"]
        polled.append(Polled(time.time(), k, agent))
        if len({p.agent for p in polled}) == 2:
            both_asked.set()
        both_asked.wait(1.0)  # the first replica's first requests wait for the other's
        if k == TRAP and not killed:  # mid-poll: claimed, asked, never saved
            killed.append(agent)
            process = psutil.Process(pids[agent])
            workers = process.children(recursive=True)
            process.send_signal(signal.SIGKILL)
            for worker in workers:
                worker.send_signal(signal.SIGKILL)
        return Reply(feed(k, http_server.base), headers={"Content-Type": "application/rss+xml"})

    def serve_hook(request: Request) -> Reply:
        document = json.loads(request.body)
        stories = [  # a story's articles waiting together are one item
            article["url"]
            for section in document["sections"]
            for item in section["items"]
            for article in item["story"]["articles"]
        ]
        received.append((request.headers["webhook-id"], stories))
        return Reply(b"ok")

    for k in range(FEEDS):
        http_server.route(f"/feed/{k:02d}.xml", Reply(dynamic=serve_feed))
        for n in range(2):
            page = f"<html><body><article><p>Page {k}-{n}.</p></article></body></html>"
            http_server.route(f"/page/{k}-{n}.html", Reply(page.encode()))
    http_server.route("/hook", Reply(dynamic=serve_hook))

    replicas += [start(config, agent, tmp_path) for agent in ("replica-a", "replica-b")]
    pids.update({r.agent: r.proc.pid for r in replicas})
    wait_until(lambda: all(r.ready() for r in replicas), "both replicas ready")
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE feeds SET next_check = {UTC_NOW}"))

    wait_until(lambda: killed, "a replica asked for the trap feed")
    victim = next(r for r in replicas if r.agent == killed[0])
    survivor = next(r for r in replicas if r is not victim)
    victim.proc.wait(timeout=10)
    with store.engine.connect() as conn:  # what it held when it died
        held = dict(
            conn.execute(
                text("SELECT url, claim_until FROM feeds WHERE claimed_by LIKE :owner"),
                {"owner": f"%:{victim.proc.pid}:%"},
            ).all()
        )
    assert urls[TRAP] in held

    def everything_sent() -> bool:
        with store.engine.connect() as conn:
            unpolled = conn.scalar(text("SELECT count(*) FROM feeds WHERE last_success IS NULL"))
            waiting = conn.scalar(text("SELECT count(*) FROM queue WHERE digest_key IS NULL"))
            unsent = conn.scalar(text("SELECT count(*) FROM deliveries WHERE status <> 'sent'"))
            keys = set(conn.scalars(text("SELECT key FROM digests")))
        return not unpolled and not waiting and not unsent and keys <= {k for k, _ in received}

    wait_until(everything_sent, "every feed polled and every digest received", timeout=30)
    survivor.proc.send_signal(signal.SIGTERM)
    assert survivor.proc.wait(timeout=30) == 0

    requests: dict[int, list[Polled]] = defaultdict(list)
    for p in polled:
        requests[p.feed].append(p)
    assert sorted(requests) == list(range(FEEDS)), "a feed was never polled"
    assert {p.agent for p in polled} == {"replica-a", "replica-b"}, "the feeds were not split"
    for k, asked in requests.items():
        if urls[k] not in held:  # polled once, by one replica
            assert len(asked) == 1, f"feed {k} polled twice: {asked}"
            continue
        # held by the killed replica: polled again by the other, only once the lease ran out
        again = [p for p in asked if p.agent == survivor.agent]
        assert len(again) == 1, f"feed {k} not taken over once: {asked}"
        lease_end = held[urls[k]].replace(tzinfo=UTC).timestamp()  # stored as naive UTC
        assert again[0].at >= lease_end, f"feed {k} taken before its lease ran out"
        assert all(p.agent == victim.agent for p in asked if p is not again[0])

    with store.engine.connect() as conn:
        keys = set(conn.scalars(text("SELECT key FROM digests")))
        stories = conn.scalar(text("SELECT count(*) FROM queue"))
    ids = Counter(key for key, _ in received)
    assert set(ids) == keys, "a stored digest was not received, or an unknown one was"
    assert max(ids.values()) == 1, f"a digest was sent twice: {ids.most_common(2)}"
    in_digests = Counter(url for _, urls_sent in received for url in urls_sent)
    assert stories == FEEDS and len(in_digests) == FEEDS, "one story per feed, each delivered"
    assert max(in_digests.values()) == 1, "a story went out in two digests"


@pytest.mark.parametrize("command", ["once", "run"])
def test_a_second_process_on_one_sqlite_file_is_refused(
    tmp_path: Path, replicas: list[Replica], command: str
) -> None:
    """While `run` holds a SQLite store, a second `once` or `run` exits non-zero naming the
    file and saying what to do."""
    database = tmp_path / "monitor.db"
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{database}"\n[service]\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    first = start(config, "first", tmp_path)
    replicas.append(first)
    lock = tmp_path / "monitor.db.lock"
    wait_until(
        lambda: lock.exists() and lock.read_text() == f"process {first.proc.pid}",
        "the first process holds the store",
    )

    second = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert second.returncode != 0
    assert str(database) in second.stderr
    assert f"process {first.proc.pid}" in second.stderr
    assert "stop the other process first" in second.stderr
    assert "PostgreSQL" in second.stderr
    assert "Traceback" not in second.stderr
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=30) == 0
