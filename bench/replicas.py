"""Replicas benchmark: N `news-monitor run` processes on one PostgreSQL store share the work.

    .venv/bin/python -m bench.replicas                 # 5,000 feeds; 1, 2, 4 replicas (~11 min)
    .venv/bin/python -m bench.replicas --quick         # 1,000 feeds, shorter intervals (~3 min)
    .venv/bin/python -m bench.replicas --replicas 2 --feeds 2000 --duration 120
    .venv/bin/python -m bench.replicas --quick --replicas 3 --no-kill --apart 15

For each replica count: a fresh PostgreSQL schema, a fresh loopback farm (bench/farm.py:
`--small` feeds of 3-6 short entries, 100-300 ms per answer, ETag/304, every feed request
logged with its time and User-Agent), a webhook receiver in this process that records every
`webhook-id`, and one config: store.url on the schema, a short store.lease, a short tick,
fetch.max_connections capped per replica, feeds with intervals of 60-120 s, one topic whose
query matches about 1 % of the entries (farm --match-share), digests "immediate" to the
webhook. Then N `news-monitor --config X run` processes start together, each with its own
User-Agent so the farm's log tells which replica asked. Every `--generation-every` seconds a
share of the feeds publishes a new entry. With the largest replica count one replica (its
whole process tree) is SIGKILLed mid-run, at a moment it holds feed claims.

After `--duration` s the outbox is left to drain, the replicas get SIGTERM, and the run is
measured from the farm's log, the receiver and the store:

* feeds polled per second over the first full round (every feed once: capacity), and over the
  rest of the run (steady: set by the intervals), and the scaling ratio against 1 replica;
* duplicate polls: the same feed requested again sooner than (1 - service.jitter) x its
  interval - 1 s (the shortest wait the scheduler may choose), split into "cross" (another
  replica polled it: a claim failed) and "same" (one replica re-polled it early), and the
  expected re-polls of feeds whose poll the killed replica never finished (taken over after
  the lease);
* overdue: a feed left unpolled longer than (1 + jitter) x interval + lease + 3 s;
* deliveries: digests in the store against webhook-ids received: lost (stored, never received),
  duplicates (raw repeats and distinct ids received more than once), and stories that arrived
  in more than one digest;
* per replica: its polls and share of them (over the run, and from the last replica's start
  when `--apart` staggers the starts), CPU seconds and peak RSS (process tree: the service
  and its worker processes).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from bench.farm import MATCH_WORD, feed_url, launch
from bench.fetch import PYTHON, farm_call, tree_cpu

NEWS_MONITOR = str(Path(PYTHON).with_name("news-monitor"))
POSTGRES = os.environ.get(
    "NEWS_MONITOR_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
SLACK = 3.0  # seconds: a tick, a claim and a connection slot between "due" and the request


@dataclass(frozen=True)
class Plan:
    feeds: int
    hosts: int
    port: int
    latency: str
    interval: tuple[int, int]
    duration: float
    lease: int
    tick: float
    jitter: float
    max_connections: int
    max_per_host: int
    claim_batch: int
    changed: float
    generation_every: float
    match_share: float
    kill_with: int  # replica count whose run has a SIGKILL (0: none)
    kill_at: float  # share of the duration
    postgres: str
    apart: float = 0.0  # seconds between one replica's start and the next's

    def interval_of(self, i: int) -> int:
        low, high = self.interval
        return low + (i * 37) % (high - low + 1)


# --- the webhook receiver ---------------------------------------------------------------


@dataclass
class Received:
    at: float
    webhook_id: str
    urls: list[str]


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every webhook it is sent (and answers 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    document = json.loads(body)
                    urls = [
                        item["url"]
                        for section in document.get("sections", [])
                        for item in section["items"]
                    ]
                except (ValueError, KeyError, TypeError):
                    urls = []
                outer.received.append(
                    Received(time.time(), self.headers.get("webhook-id", ""), urls)
                )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the farm, the schema, the config ---------------------------------------------------


def start_farm(plan: Plan) -> subprocess.Popen[str]:
    command = ["--feeds", str(plan.feeds), "--hosts", str(plan.hosts)]
    command += ["--port", str(plan.port), "--changed", str(plan.changed), "--failing", "0"]
    command += ["--latency", plan.latency, "--small", "--log"]
    command += ["--match-share", str(plan.match_share)]
    return launch(command)


Row = tuple[float, int, str, float]  # a feed request: arrival time, feed, User-Agent, delay


def farm_log(port: int) -> list[Row]:
    rows: list[Row] = []
    while True:
        page = farm_call(port, f"/_log?since={len(rows)}")
        rows += [(t, i, ua, delay) for t, i, ua, delay in page["rows"]]
        if len(rows) >= page["next"]:
            return rows


def create_schema(admin: str) -> tuple[str, str]:
    """A fresh schema on the server; returns (schema, the store URL that uses it)."""
    from sqlalchemy import create_engine, text

    schema = f"nm_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SystemExit(f"no PostgreSQL at {admin} ({reason}); pass --postgres URL") from None
    finally:
        engine.dispose()
    separator = "&" if "?" in admin else "?"
    return schema, f"{admin}{separator}options={quote(f'-csearch_path={schema}')}"


def drop_schema(admin: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def write_config(path: Path, plan: Plan, store_url: str, hook: str) -> None:
    lines = [
        "[store]",
        f"url = {json.dumps(store_url)}",
        f'lease = "{plan.lease}s"',
        f"claim_batch = {plan.claim_batch}",
        "[fetch]",
        'allow_private = ["127.0.0.0/8"]',
        f"max_connections = {plan.max_connections}",
        f"max_per_host = {plan.max_per_host}",
        "parse_workers = 1",
        f"timeout = {plan.lease / 2}  # seconds: a lease must be at least twice this",
        "[extract]",
        "workers = 1",
        "[service]",
        f"data_dir = {json.dumps(str(path.parent / 'data'))}",
        f'tick = "{plan.tick}s"',
        "adaptive = false  # the farm's entries are hours apart: adapting would stretch intervals",
        f"jitter = {plan.jitter}",
        "[[topics]]",
        f'name = "{MATCH_WORD}"',
        f'query = "{MATCH_WORD}"',
        'match = "summary"',
        'schedule = "immediate"',
        'channels = ["hook"]',
        "[[channels]]",
        'name = "hook"',
        'type = "webhook"',
        f'url = "{hook}"',
        'timeout = "10s"',
    ]
    for i in range(plan.feeds):
        url = feed_url(i, hosts=plan.hosts, port=plan.port)
        lines += ["[[feeds]]", f'url = "{url}"', f'interval = "{plan.interval_of(i)}s"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Db:
    """Read-only looks at the run's store."""

    def __init__(self, store_url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(store_url)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.rows(sql, **params)[0][0]

    def close(self) -> None:
        self.engine.dispose()


# --- replicas -------------------------------------------------------------------------


@dataclass
class Replica:
    index: int
    proc: subprocess.Popen[bytes]
    agent: str
    cpu: float = 0.0
    peak_rss: int = 0
    killed_at: float | None = None
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid


class Sampler:
    """Every half second: each live replica's process-tree CPU and RSS, and the machine's CPU."""

    def __init__(self, replicas: list[Replica], farm_pid: int) -> None:
        self.replicas = replicas
        self.procs = {r.index: psutil.Process(r.pid) for r in replicas}
        self.farm = psutil.Process(farm_pid)
        self.farm_cpu = 0.0
        self.machine: list[tuple[float, float, float]] = []  # (time, busy s, total s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> None:
        for replica in self.replicas:
            if replica.killed_at is not None or replica.proc.poll() is not None:
                continue
            if replica.index not in self.procs:  # started after the others
                self.procs[replica.index] = psutil.Process(replica.pid)
            proc = self.procs[replica.index]
            with contextlib.suppress(psutil.Error):
                tree = [proc, *proc.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in tree)
                replica.peak_rss = max(replica.peak_rss, rss)
                replica.cpu = max(replica.cpu, tree_cpu(proc))
        with contextlib.suppress(psutil.Error):
            self.farm_cpu = tree_cpu(self.farm)
        times = psutil.cpu_times()
        self.machine.append((time.time(), sum(times) - times.idle - times.iowait, sum(times)))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def busy(self, start: float, end: float) -> float:
        """Share of the machine's CPU busy between two times (0-1)."""
        before = [m for m in self.machine if m[0] <= start] or self.machine[:1]
        after = [m for m in self.machine if m[0] >= end] or self.machine[-1:]
        (_, b0, t0), (_, b1, t1) = before[-1], after[0]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def start_replica(index: int, config: Path, workdir: Path) -> Replica:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    agent = f"news-monitor/0.1 (bench replica {index})"
    log = (workdir / f"replica-{index}.log").open("wb")
    proc = subprocess.Popen(
        [NEWS_MONITOR, "--config", str(config), "run"],
        cwd=workdir,
        env={**env, "MONITOR_FETCH__USER_AGENT": agent},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return Replica(index, proc, agent)


@dataclass
class Kill:
    replica: int
    at: float  # time.time()
    after: float  # seconds since the replicas started
    feeds: dict[str, float]  # feed URL -> claim_until (time.time()) held at the kill
    deliveries: int  # deliveries it held


def kill_holding_claims(replica: Replica, db: Db, started: float, deadline: float) -> Kill:
    """SIGKILL the replica (and its workers) at a moment it holds feed claims."""
    owner = f"%:{replica.pid}:%"
    while time.time() < deadline:
        if db.scalar("SELECT count(*) FROM feeds WHERE claimed_by LIKE :o", o=owner):
            break
        time.sleep(0.05)
    proc = psutil.Process(replica.pid)
    children = proc.children(recursive=True)
    replica.proc.send_signal(signal.SIGKILL)
    at = time.time()
    for child in children:  # the whole replica dies, as a container or machine would
        with contextlib.suppress(psutil.Error):
            child.send_signal(signal.SIGKILL)
    replica.killed_at = at
    replica.proc.wait()
    feeds = db.rows(
        "SELECT url, extract(epoch from claim_until) FROM feeds WHERE claimed_by LIKE :o", o=owner
    )
    deliveries = db.scalar("SELECT count(*) FROM deliveries WHERE claimed_by LIKE :o", o=owner)
    return Kill(
        replica.index, at, at - started, {url: float(until) for url, until in feeds}, deliveries
    )


# --- one run --------------------------------------------------------------------------


@dataclass
class Result:
    replicas: int
    round_seconds: float = 0.0
    round_rate: float = 0.0
    steady_rate: float = 0.0
    round_busy: float = 0.0
    polls: int = 0
    unpolled: int = 0
    dup_overlap: int = 0  # asked again before the first request was answered
    dup_cross: int = 0  # asked again early, after the first finished, by another replica
    dup_same: int = 0  # ... by the same replica
    takeover_repolls: int = 0
    min_gap_ratio: float = 0.0
    overdue: int = 0
    worst_lateness: float = 0.0
    matches: int = 0
    unassigned: int = 0
    digests: int = 0
    delivery_status: dict[str, int] = field(default_factory=dict)
    received: int = 0
    received_distinct: int = 0
    repeated_ids: int = 0
    lost: int = 0
    unknown: int = 0
    stories_in_two: int = 0
    kill: Kill | None = None
    taken_over: int = 0
    takeover_delays: list[float] = field(default_factory=list)
    per_replica: list[tuple[int, int, float, int, str]] = field(default_factory=list)
    last_start: float = 0.0  # time.time() the last replica started (0: all together)
    counted_since: float = 0.0  # seconds after the first start, for `shares_since`
    shares_since: Counter[str] = field(default_factory=Counter)  # polls by User-Agent
    agents: list[str] = field(default_factory=list)  # each replica's, as per_replica
    farm_cpu: float = 0.0
    wall: float = 0.0
    drained: bool = True
    notes: list[str] = field(default_factory=list)


def run_once(plan: Plan, n: int, workdir: Path, keep: bool) -> Result:
    schema, store_url = create_schema(plan.postgres)
    receiver = Receiver()
    farm = start_farm(plan)
    config = workdir / "monitor.toml"
    write_config(config, plan, store_url, receiver.url)
    db = Db(store_url)
    replicas: list[Replica] = []
    result = Result(n)
    kill: Kill | None = None
    started = time.time()
    try:
        farm_call(plan.port, "/_generation?n=0", "POST")
        replicas.append(start_replica(0, config, workdir))  # the others now or `apart` later
        sampler = Sampler(replicas, farm.pid)
        end = started + plan.duration + (n - 1) * plan.apart
        kill_at = started + plan.duration * plan.kill_at if n == plan.kill_with else None
        generation, next_generation = 0, started + plan.generation_every
        while time.time() < end:
            now = time.time()
            if len(replicas) < n and now >= started + len(replicas) * plan.apart:
                replicas.append(start_replica(len(replicas), config, workdir))
                result.last_start = now
            if now >= next_generation:
                generation += 1
                farm_call(plan.port, f"/_generation?n={generation}", "POST")
                next_generation += plan.generation_every
            if kill_at is not None and now >= kill_at and kill is None:
                kill = kill_holding_claims(replicas[0], db, started, deadline=now + 10)
            for replica in replicas:
                if replica.killed_at is None and replica.proc.poll() is not None:
                    raise SystemExit(
                        f"replica {replica.index} exited with {replica.proc.returncode}; "
                        f"see {workdir / f'replica-{replica.index}.log'}"
                    )
            time.sleep(0.2)
        measured_end = time.time()
        result.drained = drain(db, receiver, deadline=measured_end + 60)
        for replica in replicas:
            if replica.killed_at is None:
                replica.proc.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                replica.exit_code = replica.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                replica.exit_code = replica.proc.wait()
                result.notes.append(f"replica {replica.index} did not stop on SIGTERM in 90 s")
        sampler.sample()
        sampler.stop()
        log = farm_log(plan.port)
        measure(result, plan, log, replicas, kill, started, measured_end, sampler)
        deliveries_of(result, db, receiver)
        result.farm_cpu = sampler.farm_cpu
    finally:
        for replica in replicas:  # anything left of this run's processes, by pid
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(replica.pid).children(recursive=True):
                    child.kill()
            if replica.proc.poll() is None:
                replica.proc.kill()
                replica.proc.wait()
        farm.kill()
        farm.wait()
        receiver.close()
        db.close()
        if not keep:
            drop_schema(plan.postgres, schema)
    result.wall = time.time() - started
    return result


def drain(db: Db, receiver: Receiver, deadline: float) -> bool:
    """Wait until every queued story is in a digest and every digest has been received."""
    while time.time() < deadline:
        unassigned = db.scalar("SELECT count(*) FROM queue WHERE digest_key IS NULL")
        pending = db.scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        keys = {key for (key,) in db.rows("SELECT key FROM digests")}
        if not unassigned and not pending and keys <= {r.webhook_id for r in receiver.received}:
            return True
        time.sleep(0.5)
    return False


def measure(
    result: Result,
    plan: Plan,
    log: list[Row],
    replicas: list[Replica],
    kill: Kill | None,
    started: float,
    end: float,
    sampler: Sampler,
) -> None:
    by_feed: dict[int, list[tuple[float, str, float]]] = defaultdict(list)
    for t, i, agent, delay in log:
        by_feed[i].append((t, agent, delay))
    result.polls = len(log)
    result.unpolled = plan.feeds - len(by_feed)
    if not log:
        return
    first = min(row[0] for row in log)
    round_end = max(times[0][0] for times in by_feed.values())
    result.round_seconds = round_end - first
    result.round_rate = len(by_feed) / max(result.round_seconds, 1e-9)
    steady = [row for row in log if round_end < row[0] <= end]
    result.steady_rate = len(steady) / max(end - round_end, 1e-9)
    result.round_busy = sampler.busy(first, round_end)
    victim = replicas[kill.replica].agent if kill else None
    claimed = {int(url.rsplit("/", 1)[1].split(".")[0]) for url in (kill.feeds if kill else {})}
    ratios = []
    for i, times in by_feed.items():
        times.sort()
        interval = plan.interval_of(i)
        shortest = (1 - plan.jitter) * interval - 1
        longest = (1 + plan.jitter) * interval + plan.lease + SLACK
        for (t0, a0, d0), (t1, a1, _) in itertools.pairwise(times):
            gap = t1 - t0
            ratios.append(gap / interval)
            if gap < shortest:
                if kill and a0 == victim and i in claimed and t0 <= kill.at:
                    result.takeover_repolls += 1
                elif gap < d0:  # before the first was even answered: both held the feed
                    result.dup_overlap += 1
                elif a0 != a1:
                    result.dup_cross += 1
                else:
                    result.dup_same += 1
            if gap > longest:
                result.overdue += 1
                result.worst_lateness = max(result.worst_lateness, gap - longest)
        if end - times[-1][0] > longest:
            result.overdue += 1
            result.worst_lateness = max(result.worst_lateness, end - times[-1][0] - longest)
    result.min_gap_ratio = min(ratios) if ratios else 0.0
    if kill:
        result.kill = kill
        for i in claimed:
            later = [t for t, agent, _ in by_feed.get(i, []) if t > kill.at and agent != victim]
            if later:
                result.taken_over += 1
                result.takeover_delays.append(later[0] - kill.at)
    counts = Counter(row[2] for row in log)
    since = result.last_start or started
    result.counted_since = since - started
    result.shares_since = Counter(row[2] for row in log if since <= row[0] <= end)
    for replica in replicas:
        status = "killed" if replica.killed_at else f"exit {replica.exit_code}"
        result.per_replica.append(
            (replica.index, counts[replica.agent], replica.cpu, replica.peak_rss, status)
        )
        result.agents.append(replica.agent)


def deliveries_of(result: Result, db: Db, receiver: Receiver) -> None:
    result.matches = db.scalar("SELECT count(*) FROM matches")
    result.unassigned = db.scalar("SELECT count(*) FROM queue WHERE digest_key IS NULL")
    stored = {key for (key,) in db.rows("SELECT key FROM digests")}
    result.digests = len(stored)
    result.delivery_status = dict(db.rows("SELECT status, count(*) FROM deliveries GROUP BY 1"))
    ids = Counter(r.webhook_id for r in receiver.received)
    result.received = len(receiver.received)
    result.received_distinct = len(ids)
    result.repeated_ids = sum(1 for count in ids.values() if count > 1)
    result.lost = len(stored - set(ids))
    result.unknown = len(set(ids) - stored)
    digests_of: dict[str, set[str]] = defaultdict(set)
    for r in receiver.received:
        for url in r.urls:
            digests_of[url].add(r.webhook_id)
    result.stories_in_two = sum(1 for keys in digests_of.values() if len(keys) > 1)


# --- the report -------------------------------------------------------------------------


def report(plan: Plan, results: list[Result], total: float) -> None:
    low, high = plan.interval
    print(
        f"\nfeeds={plan.feeds} hosts={plan.hosts} latency={plan.latency}ms "
        f"interval={low}-{high}s jitter=±{plan.jitter:.0%} duration={plan.duration:.0f}s "
        f"store.lease={plan.lease}s service.tick={plan.tick}s "
        f"fetch.max_connections={plan.max_connections}/replica "
        f"fetch.max_per_host={plan.max_per_host} "
        f"store.claim_batch={plan.claim_batch} cores={os.cpu_count()}"
        + (f" started {plan.apart:.0f}s apart" if plan.apart else " started together")
    )
    print(
        f"topic query {MATCH_WORD!r}: {plan.match_share:.0%} of entries; "
        f"{plan.changed:.0%} of feeds publish every {plan.generation_every:.0f}s; "
        "webhook digests, schedule immediate\n"
    )
    base = next((r.round_rate for r in results if r.replicas == 1), None)
    header = (
        f"{'replicas':>8} {'round s':>8} {'feeds/s':>8} {'ratio':>6} {'CPU busy':>8} "
        f"{'steady/s':>8} {'polls':>7} {'dup':>5} {'overlap':>7} {'early':>11} {'kill re':>7} "
        f"{'overdue':>7} {'digests':>7} {'received':>8} {'distinct':>8} {'rep ids':>7} "
        f"{'lost':>5} {'story x2':>8}"
    )
    print(header)
    for r in results:
        ratio = f"{r.round_rate / base:.2f}x" if base else "-"
        dups = r.dup_overlap + r.dup_cross + r.dup_same
        early = f"{r.dup_cross}+{r.dup_same}"
        print(
            f"{r.replicas:8d} {r.round_seconds:8.1f} {r.round_rate:8.1f} {ratio:>6} "
            f"{r.round_busy:8.0%} {r.steady_rate:8.1f} {r.polls:7d} {dups:5d} "
            f"{r.dup_overlap:7d} {early:>11} {r.takeover_repolls:7d} {r.overdue:7d} {r.digests:7d} "
            f"{r.received:8d} {r.received_distinct:8d} {r.repeated_ids:7d} {r.lost:5d} "
            f"{r.stories_in_two:8d}"
        )
    print(
        "\nround s / feeds/s: the first full round (every feed polled once), from the farm's log;"
        "\nratio: feeds/s against 1 replica; CPU busy: the machine's, during that round;"
        "\nsteady/s: polls per second after it (set by the intervals, not by capacity);"
        "\ndup: duplicate polls, a feed polled again sooner than (1 - jitter) x interval - 1 s:"
        "\n  overlap: before the first request was even answered (two replicas held the feed);"
        "\n  early: after it, by another replica + by the same one (next check set too soon);"
        "\nkill re: expected re-polls of feeds the killed replica was polling, after the lease;"
        "\noverdue: a gap (or the time to the end) over (1 + jitter) x interval + lease + 3 s;"
        "\ndigests: in the store; received / distinct: webhook posts / ids; rep ids: ids"
        "\n  received more than once; lost: stored, never received; story x2: stories that"
        "\n  arrived in two digests."
    )
    for r in results:
        print(f"\n{r.replicas} replica(s): run {r.wall:.0f} s, farm CPU {r.farm_cpu:.1f} s", end="")
        print(
            f"; matches {r.matches}, stories not in a digest at the end {r.unassigned}"
            f"; deliveries {r.delivery_status}; drained {'yes' if r.drained else 'NO'}"
            f"; shortest gap {r.min_gap_ratio:.2f} x interval"
            + (f"; worst overdue +{r.worst_lateness:.1f} s" if r.overdue else "")
        )
        polled = sum(polls for _, polls, _, _, _ in r.per_replica) or 1
        since = sum(r.shares_since.values()) or 1
        for (index, polls, cpu, rss, status), replica in zip(r.per_replica, r.agents, strict=True):
            late = r.shares_since[replica]
            print(
                f"  replica {index}: {polls:6d} polls ({polls / polled:4.0%})  "
                f"{late:6d} once all ran ({late / since:4.0%})  CPU {cpu:6.1f} s  "
                f"peak RSS {rss / 1e6:5.0f} MB (with its workers)  {status}"
            )
        if r.counted_since:
            print(f"  'once all ran': polls from +{r.counted_since:.0f} s, the last start")
        if r.kill:
            k = r.kill
            delays = r.takeover_delays
            span = f"{min(delays):.1f}-{max(delays):.1f} s" if delays else "-"
            print(
                f"  SIGKILL replica {k.replica} at +{k.after:.0f} s: it held "
                f"{len(k.feeds)} feed claims and {k.deliveries} deliveries; "
                f"{r.taken_over}/{len(k.feeds)} of those feeds polled by others after the "
                f"kill, {span} later (lease {plan.lease} s)"
            )
            if delays:
                print(f"  median takeover {statistics.median(delays):.1f} s after the kill")
        for note in r.notes:
            print(f"  note: {note}")
    print(f"\ntotal time {total:.0f} s")


def parse_args(argv: list[str] | None = None) -> tuple[Plan, list[int], bool]:
    parser = argparse.ArgumentParser(
        description="several news-monitor replicas on one PostgreSQL store, over a loopback farm",
    )
    parser.add_argument("--feeds", type=int, help="feeds in the farm (5000; --quick 1000)")
    parser.add_argument("--replicas", default="1,2,4", help="replica counts, e.g. 1,2,4")
    parser.add_argument("--quick", action="store_true", help="1,000 feeds, 20-40 s intervals")
    parser.add_argument("--duration", type=float, help="seconds measured per run (160; quick 40)")
    parser.add_argument("--interval", help="feed intervals, seconds, e.g. 60-120 (quick 20-40)")
    parser.add_argument("--lease", type=int, help="store.lease in seconds (20; quick 8)")
    parser.add_argument("--tick", type=float, default=1.0, help="service.tick in seconds")
    parser.add_argument("--jitter", type=float, default=0.1, help="service.jitter")
    parser.add_argument("--latency", default="100-300", help="farm answer delay, ms")
    parser.add_argument("--max-connections", type=int, default=20, help="per replica")
    parser.add_argument(
        "--max-per-host",
        type=int,
        default=20,
        help="fetch.max_per_host (20: the replicas' connection cap, not the farm's hosts, "
        "sets the pace, which is what the scaling ratio is about)",
    )
    parser.add_argument("--claim-batch", type=int, default=50)
    parser.add_argument("--changed", type=float, default=0.05, help="share publishing per step")
    parser.add_argument("--generation-every", type=float, help="seconds (30; quick 10)")
    parser.add_argument("--match-share", type=float, default=0.01, help="entries the topic matches")
    parser.add_argument(
        "--apart", type=float, default=0.0, help="seconds between replica starts (0: together)"
    )
    parser.add_argument("--no-kill", action="store_true", help="no SIGKILL in the largest run")
    parser.add_argument("--kill-at", type=float, default=0.4, help="share of the duration")
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses 127.0.0.2…")
    parser.add_argument("--port", type=int, default=8910)
    parser.add_argument("--postgres", default=POSTGRES, help="server URL (a schema per run)")
    parser.add_argument("--keep", action="store_true", help="keep the schemas and the run dirs")
    args = parser.parse_args(argv)
    quick = args.quick
    counts = sorted({int(n) for n in args.replicas.split(",")})
    low, _, high = (args.interval or ("20-40" if quick else "60-120")).partition("-")
    plan = Plan(
        feeds=args.feeds or (1000 if quick else 5000),
        hosts=args.hosts,
        port=args.port,
        latency=args.latency,
        interval=(int(low), int(high or low)),
        duration=args.duration or (40 if quick else 160),
        lease=args.lease or (8 if quick else 20),
        tick=args.tick,
        jitter=args.jitter,
        max_connections=args.max_connections,
        max_per_host=args.max_per_host,
        claim_batch=args.claim_batch,
        changed=args.changed,
        generation_every=args.generation_every or (10 if quick else 30),
        match_share=args.match_share,
        kill_with=0 if args.no_kill or max(counts) < 2 else max(counts),
        kill_at=args.kill_at,
        postgres=args.postgres,
        apart=args.apart,
    )
    return plan, counts, args.keep


def main(argv: list[str] | None = None) -> None:
    plan, counts, keep = parse_args(argv)
    started = time.time()
    results = []
    for n in counts:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-replicas-{n}-"))
        print(f"running {n} replica(s) for {plan.duration:.0f} s … ({workdir})", flush=True)
        results.append(run_once(plan, n, workdir, keep))  # on failure: kept, to read its logs
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report(plan, results, time.time() - started)


if __name__ == "__main__":
    main()
