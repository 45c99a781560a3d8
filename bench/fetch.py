"""Fetch benchmark: news-monitor against rss2email, the same feed farm, in the same run.

    .venv/bin/python -m bench.fetch              # 1,000 feeds (several minutes: rss2email)
    .venv/bin/python -m bench.fetch --feeds 100  # a quick run

Three cycles each, over a loopback farm (bench/farm.py) in its own process:
  first    every entry is new (empty state);
  steady   10% of the feeds published one new entry;
  nothing  nothing changed: every feed should answer 304.
news-monitor runs through its real code path (`monitor.service.runtime.Runtime.cycle`, a config of N
feeds and no topics); rss2email runs as a subprocess (`r2e run --no-send`: it fetches,
parses and records, and sends no mail: news-monitor with no topics sends none either).
The machine floor is the CPU our feedparser path needs (rss.parse_xml_feed with the lxml fast
path off, over the farm's documents, measured here) divided by the cores: the issue defines it
by feedparser, so the fast path (also measured, and what the cycles use) does not lower it.
Peak RSS is sampled every 50 ms (main process, and main plus its parse workers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.farm import changed_feeds, feed_body, feed_url, launch

PYTHON = sys.executable
R2E = str(Path(sys.executable).with_name("r2e"))


@dataclass
class Cycle:
    name: str
    wall: float
    cpu: float
    requests: int
    not_modified: int
    errors: int
    body_bytes: int


class Peak:
    """Samples the RSS of this process (and its children) in a thread."""

    def __init__(self, pid: int | None = None, *, exclude: frozenset[int] = frozenset()) -> None:
        self.proc = psutil.Process(pid or os.getpid())
        self.exclude = exclude  # children that are not news-monitor (the feed farm)
        self.main = 0
        self.tree = 0  # sum of RSS: pages shared with the forkserver counted in each process
        self.tree_pss = 0  # sum of PSS: shared pages split between the processes sharing them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                main = self.proc.memory_info().rss
                kids = [c for c in self.proc.children(recursive=True) if c.pid not in self.exclude]
                rss = main + sum(c.memory_info().rss for c in kids)
                pss = sum(p.memory_full_info().pss for p in [self.proc, *kids])
            except psutil.Error:
                main, rss, pss = self.main, 0, 0
            self.main, self.tree = max(self.main, main), max(self.tree, rss)
            self.tree_pss = max(self.tree_pss, pss)
            self._stop.wait(0.05)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_cpu(proc: psutil.Process, exclude: frozenset[int] = frozenset()) -> float:
    """CPU seconds of a process and its live children (reaped children included via times),
    less the `exclude`d children (the feed farm is a child of this process, not ours)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        if p.pid in exclude:
            continue
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def farm_call(port: int, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.2:{port}{path}", method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def start_farm(args: argparse.Namespace) -> subprocess.Popen[str]:
    command = ["--feeds", str(args.feeds), "--hosts", str(args.hosts), "--port", str(args.port)]
    return launch([*command, "--changed", str(args.changed), "--failing", str(args.failing)])


def measured(name: str, port: int, run: Any, cpu_of: Any) -> Cycle:
    farm_call(port, "/_stats/reset", "POST")
    cpu0 = cpu_of()
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    cpu = cpu_of() - cpu0
    stats = farm_call(port, "/_stats")
    return Cycle(
        name, wall, cpu, stats["requests"], stats["not_modified"], stats["errors"], stats["bytes"]
    )


# --- news-monitor ------------------------------------------------------------------------


def run_ours(
    args: argparse.Namespace, urls: list[str], workdir: Path, db_dir: Path, farm_pid: int
) -> tuple[list[Cycle], Peak]:
    from monitor.config import Settings
    from monitor.service.runtime import Runtime

    settings = Settings(
        store={"url": f"sqlite:///{db_dir / f'bench-{os.getpid()}.db'}"},
        fetch={
            "allow_private": ["127.0.0.0/8"],
            "max_connections": args.max_connections,
            "max_per_host": args.max_per_host,
        },
        service={"data_dir": workdir / "data"},
        feeds=[{"url": url} for url in urls],
    )
    me = psutil.Process()
    farm = frozenset({farm_pid})
    cycles: list[Cycle] = []

    async def main() -> None:
        async with Runtime(settings) as runtime:
            loop = asyncio.get_running_loop()

            def one() -> None:
                future = asyncio.run_coroutine_threadsafe(
                    runtime.cycle(only_due=False, ignore_backoff=True), loop
                )
                future.result()

            def sequence() -> None:
                farm_call(args.port, "/_generation?n=0", "POST")
                cycles.append(measured("first", args.port, one, lambda: tree_cpu(me, farm)))
                farm_call(args.port, "/_generation?n=1", "POST")
                cycles.append(measured("steady", args.port, one, lambda: tree_cpu(me, farm)))
                cycles.append(measured("nothing", args.port, one, lambda: tree_cpu(me, farm)))

            await asyncio.to_thread(sequence)

    with Peak(exclude=farm) as peak:
        asyncio.run(main())
    return cycles, peak


# --- rss2email ------------------------------------------------------------------------


def run_rss2email(
    args: argparse.Namespace, urls: list[str], workdir: Path
) -> tuple[list[Cycle], int]:
    config = workdir / "r2e.cfg"
    lines = [
        "[DEFAULT]",
        "to = bench@localhost",
        "from = bench@localhost",
        "email-protocol = sendmail",
        "sendmail = /bin/true",
        "feed-timeout = 60",
        "",
    ]
    for i, url in enumerate(urls):
        lines += [f"[feed.f{i}]", f"url = {url}", ""]
    config.write_text("\n".join(lines))
    data = workdir / "r2e.json"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    peak = 0

    def one() -> None:
        nonlocal peak
        command = [R2E, "-c", str(config), "-d", str(data), "run", "--no-send"]
        log = (workdir / "r2e.log").open("ab")  # a file: a full stderr pipe would block r2e
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, watched.memory_info().rss)
            time.sleep(0.1)
        log.close()
        if proc.returncode not in (0, 1):  # 1: some feeds failed (the farm's failing share)
            tail = (workdir / "r2e.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"rss2email failed ({proc.returncode}): {tail}")

    def children_cpu() -> float:
        t = os.times()
        return t.children_user + t.children_system

    farm_call(args.port, "/_generation?n=0", "POST")
    cycles = [measured("first", args.port, one, children_cpu)]
    farm_call(args.port, "/_generation?n=1", "POST")
    cycles.append(measured("steady", args.port, one, children_cpu))
    cycles.append(measured("nothing", args.port, one, children_cpu))
    return cycles, peak


# --- the floor ------------------------------------------------------------------------


def parse_floor(args: argparse.Namespace, urls: list[str]) -> tuple[float, float, float]:
    """CPU seconds to parse every farm document once: our feedparser path, bare feedparser,
    and parse_feed as the service runs it (the lxml fast path where it applies)."""
    import io

    import feedparser

    from monitor.feeds import parse_feed
    from monitor.feeds.rss import parse_xml_feed

    ours = bare = fast = 0.0
    for i, url in enumerate(urls):
        body = feed_body(i, 0)
        started = time.process_time()
        parse_xml_feed(body, url=url, headers={}, max_entries=500, fast=False)
        ours += time.process_time() - started
        started = time.process_time()
        feedparser.parse(io.BytesIO(body))
        bare += time.process_time() - started
        started = time.process_time()
        parse_feed(body, url=url)
        fast += time.process_time() - started
    return ours, bare, fast


def report(
    ours: list[Cycle],
    base: list[Cycle] | None,
    floor: float,
    cores: int,
    peak: Peak,
    r2e_peak: int,
    args: argparse.Namespace,
    parse_cpu: float,
    bare_cpu: float,
    fast_cpu: float,
) -> None:
    print(
        f"\nfeeds={args.feeds} hosts={args.hosts} latency=20-300ms changed={args.changed:.0%} "
        f"failing={args.failing:.0%} cores={cores} fetch.max_connections={args.max_connections} "
        f"fetch.max_per_host={args.max_per_host}"
    )
    print(f"parse CPU, all feeds: our feedparser path {parse_cpu:.2f} s", end="")
    print(
        f"; bare feedparser {bare_cpu:.2f} s; parse_feed with the lxml fast path {fast_cpu:.2f} s"
    )
    print(f"machine floor = feedparser-path parse CPU / cores = {floor:.2f} s\n")
    header = f"{'cycle':8} {'tool':12} {'wall s':>8} {'cpu s':>8} {'requests':>8} {'304s':>6}"
    header += f" {'errors':>6} {'body MB':>8}"
    print(header)
    for index, mine in enumerate(ours):
        rows = [("news-monitor", mine)] + ([("rss2email", base[index])] if base else [])
        for tool, c in rows:
            row = f"{c.name:8} {tool:12} {c.wall:8.2f} {c.cpu:8.2f} {c.requests:8d}"
            print(row + f" {c.not_modified:6d} {c.errors:6d} {c.body_bytes / 1e6:8.2f}")
    print()
    for index, mine in enumerate(ours):
        line = f"{mine.name:8} news-monitor {mine.wall:.2f} s"
        if base:
            other = base[index].wall
            line += f"; rss2email {other:.2f} s; ratio {other / mine.wall:.1f}x"
        if mine.name == "first":
            line += f"; floor {floor:.2f} s; ours / floor = {mine.wall / floor:.2f}"
        print(line)
    print(f"peak RSS news-monitor: main {peak.main / 1e6:.0f} MB", end="")
    print(f"; with parse workers {peak.tree / 1e6:.0f} MB RSS, {peak.tree_pss / 1e6:.0f} MB PSS")
    if r2e_peak:
        print(f"peak RSS rss2email: {r2e_peak / 1e6:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description="news-monitor vs rss2email over a loopback farm")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses 127.0.0.2…")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--changed", type=float, default=0.10)
    parser.add_argument("--failing", type=float, default=0.01)
    parser.add_argument("--max-connections", type=int, default=200)
    parser.add_argument("--max-per-host", type=int, default=4)
    parser.add_argument("--baseline", choices=["rss2email", "none"], default="rss2email")
    parser.add_argument(
        "--db-dir", default=None, help="where news-monitor's SQLite file goes (default: a temp dir)"
    )
    args = parser.parse_args()
    urls = [feed_url(i, hosts=args.hosts, port=args.port) for i in range(args.feeds)]
    assert changed_feeds(args.feeds, args.changed, 1)  # the steady cycle has work
    farm = start_farm(args)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
            ours, peak = run_ours(args, urls, Path(tmp), Path(args.db_dir or tmp), farm.pid)
            base, r2e_peak = (None, 0)
            if args.baseline == "rss2email":
                base, r2e_peak = run_rss2email(args, urls, Path(tmp))
    finally:
        farm.kill()
        farm.wait()
    parse_cpu, bare_cpu, fast_cpu = parse_floor(args, urls)
    cores = os.cpu_count() or 1
    floor = parse_cpu / cores
    report(ours, base, floor, cores, peak, r2e_peak, args, parse_cpu, bare_cpu, fast_cpu)


if __name__ == "__main__":
    main()
