"""End to end, as users run it: `news-monitor --config FILE once` by cron, against rss2email.

    .venv/bin/python -m bench.endtoend                   # 1,000 feeds (rss2email: many minutes)
    .venv/bin/python -m bench.endtoend --feeds 50 --baseline none   # a quick look

A loopback farm (bench/farm.py --news: 20-50 entries a feed, 20-300 ms a request, its
own article pages of about 50 kB) serves N feeds; five full-text topics are written over
the farm's themes; digests go by email to an SMTP sink in this process. Each cycle is the
command line in a process of its own, as cron starts it:

  first    empty state: every feed read for the first time;
  steady   10% of the feeds published one new entry;
  nothing  nothing changed: every feed answers 304.

Per cycle: wall time, CPU (the command and every process it started), peak RSS of the
command's process and of its whole tree (workers included, sampled every 50 ms), article
pages fetched (the farm counts them), topic matches the articles confirmed (rows added to
the store's `matches`) and, of those, alerts (the command's summary: the rest were folded
into a story already told), digests (emails received) and the largest email; and the
farm's own answer time for a cycle of 304s (simulated), the floor of the last cycle.
rss2email runs the same three cycles on the same farm in the same run (`r2e run
--no-send`: it fetches, parses and records; it fetches no page).
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.farm import THEMES, changed_feeds, feed_url, launch
from bench.fetch import farm_call, run_rss2email

NEWS_MONITOR = str(Path(sys.executable).with_name("news-monitor"))


# As users write them: one part in everyday words (like "summit OR meeting"), which most
# entries carry, and two in the words of the story's theme.
_EVERYDAY = [("talks", "deal"), ("market", "trade"), ("report", "data"), ("research", "space")]
_EVERYDAY.append(("court", "police"))


def topic_queries() -> dict[str, str]:
    """Five topics, each on one theme: a part in everyday words, two in the theme's."""
    return {
        f"theme-{k}": f"({w[0]} OR {w[1]}) AND ({common[0]} OR {common[1]}) AND {w[4]}"
        for k, (w, common) in enumerate(zip(THEMES[:5], _EVERYDAY, strict=True))
    }


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    peak_main: int
    peak_tree: int
    pages: int
    confirmed: int  # topic matches stored (the article confirmed the query)
    matches: int  # of those, alerts (the rest folded into a story already told)
    backlog: int
    digests: int
    largest_email: int


class Sink:
    """An SMTP server in a thread that counts what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.sizes: list[int] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.sizes.append(len(envelope.content))
                return "250 OK"

        with socket.socket() as probe:  # a free port: aiosmtpd checks it can connect to it
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def write_config(path: Path, urls: list[str], smtp_port: int) -> None:
    feeds = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in urls)
    topics = "".join(
        f'[[topics]]\nname = "{name}"\nquery = "{query}"\nchannels = ["inbox"]\n'
        for name, query in topic_queries().items()
    )
    path.write_text(
        f"""[store]
url = "sqlite:///{path.parent / "monitor.db"}"
[fetch]
allow_private = ["127.0.0.0/8"]
[service]
data_dir = "{path.parent / "data"}"
[[channels]]
name = "inbox"
type = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
security = "none"
from = "monitor@example.org"
to = ["me@example.org"]
{topics}{feeds}""",
        encoding="utf-8",
    )


def tree_peak(proc: subprocess.Popen[str], peaks: list[int]) -> None:
    """Sample the RSS of `proc` and of its whole tree until it exits: [main, tree]."""
    try:
        root = psutil.Process(proc.pid)
    except psutil.Error:
        return
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            main = root.memory_info().rss
            tree = main
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    tree += child.memory_info().rss
            peaks[0], peaks[1] = max(peaks[0], main), max(peaks[1], tree)
        time.sleep(0.05)


def stored_matches(workdir: Path) -> int:
    """Topic matches in the store: one per (topic, article) the article's text confirmed."""
    if not (workdir / "monitor.db").exists():
        return 0
    with contextlib.closing(sqlite3.connect(workdir / "monitor.db")) as db:
        return int(db.execute("SELECT count(*) FROM matches").fetchone()[0])


def run_once(name: str, config: Path, port: int, sink: Sink, workdir: Path) -> Run:
    farm_call(port, "/_stats/reset", "POST")
    before = len(sink.sizes)
    stored_before = stored_matches(workdir)
    times0 = os.times()
    started = time.perf_counter()
    with (workdir / "once.log").open("a") as log:
        proc = subprocess.Popen(
            [NEWS_MONITOR, "--config", str(config), "once"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        peaks = [0, 0]
        sampler = threading.Thread(target=tree_peak, args=(proc, peaks), daemon=True)
        sampler.start()
        out, _ = proc.communicate()
        sampler.join()
    wall = time.perf_counter() - started
    times1 = os.times()
    if proc.returncode not in (0, 1):  # 1: some feeds failed, as some of the farm's do
        raise SystemExit(f"news-monitor once failed ({proc.returncode}); see {workdir}/once.log")
    cpu = (times1.children_user - times0.children_user) + (
        times1.children_system - times0.children_system
    )
    found = re.search(r"new entries: \d+ \((\d+) kept as backlog.*matches: (\d+)", out)
    backlog, matches = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    stats = farm_call(port, "/_stats")
    emails = sink.sizes[before:]
    return Run(
        name,
        wall,
        cpu,
        peaks[0],
        peaks[1],
        stats["articles"],
        stored_matches(workdir) - stored_before,
        matches,
        backlog,
        len(emails),
        max(emails, default=0),
    )


def latency_floor(feeds: int, hosts: int, per_host: int = 4, trials: int = 200) -> float:
    """The least time the farm itself takes to answer every feed once (a cycle of 304s).

    The farm waits 20-300 ms (uniform) before each answer, and a client as polite as
    news-monitor's default (`fetch.max_per_host = 4`) has at most 4 requests open per host:
    the cycle lasts as long as its slowest host's queue. Median over simulated cycles,
    with no time at all for starting, requests or CPU.
    """
    rng = random.Random(7)
    ends = []
    for _ in range(trials):
        slowest = 0.0
        for host in range(hosts):
            slots = [0.0] * per_host
            for _feed in range(host, feeds, hosts):
                heapq.heappush(slots, heapq.heappop(slots) + rng.uniform(0.020, 0.300))
            slowest = max(slowest, max(slots))
        ends.append(slowest)
    return statistics.median(ends)


def report(ours: list[Run], base: list[Any] | None, r2e_peak: int, args: Any) -> None:
    print(
        f"\nfeeds={args.feeds} hosts={args.hosts} latency=20-300ms changed={args.changed:.0%} "
        f"failing={args.failing:.0%} topics={len(topic_queries())} (full_text) "
        f"cores={os.cpu_count()}\n"
    )
    print(
        "| cycle | tool | wall s | CPU s | peak RSS main MB | peak RSS tree MB | pages fetched "
        "| confirmed matches (alerts) | kept as backlog | digests (largest kB) "
        "| rss2email / ours (wall) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k, run in enumerate(ours):
        ratio = f"{base[k].wall / run.wall:.1f}x" if base else "-"
        print(
            f"| {run.name} | news-monitor | {run.wall:.1f} | {run.cpu:.1f} | "
            f"{run.peak_main / 1e6:.0f} | {run.peak_tree / 1e6:.0f} | {run.pages} | "
            f"{run.confirmed} ({run.matches}) | {run.backlog} | "
            f"{run.digests} ({run.largest_email / 1e3:.0f}) | {ratio} |"
        )
        if base:
            print(
                f"| {run.name} | rss2email | {base[k].wall:.1f} | {base[k].cpu:.1f} | "
                f"- | {r2e_peak / 1e6:.0f} (whole run) | 0 | - | - | - | |"
            )
    pages = sum(r.pages for r in ours)
    confirmed = sum(r.confirmed for r in ours)
    print(
        f"\npages fetched / confirmed matches, all cycles: {pages} / {confirmed} = "
        f"{pages / max(confirmed, 1):.2f}"
    )
    floor = latency_floor(args.feeds, args.hosts)
    line = f"the farm's own answer time for one request a feed, 4 a host: {floor:.2f} s"
    if base:
        line += f" (rss2email nothing-changed / that: {base[-1].wall / floor:.0f}x at most)"
    print(line)


def compile_bytecode() -> None:
    """Byte-compile news-monitor's modules, as `pip install` does for a user's install.

    An editable install run with PYTHONDONTWRITEBYTECODE=1 (as on CI machines) would
    compile its ~90 modules from source at every start: 80-90 ms that users do not pay.
    """
    import compileall

    import monitor

    compileall.compile_dir(Path(monitor.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--port", type=int, default=8930)
    parser.add_argument("--changed", type=float, default=0.10)
    parser.add_argument("--failing", type=float, default=0.01)
    parser.add_argument("--baseline", choices=["rss2email", "none"], default="rss2email")
    parser.add_argument("--keep", help="keep the config, store and logs in this directory")
    args = parser.parse_args()
    urls = [feed_url(i, hosts=args.hosts, port=args.port) for i in range(args.feeds)]
    assert changed_feeds(args.feeds, args.changed, 1)  # the steady cycle has work
    compile_bytecode()
    farm = launch(
        [
            *("--feeds", str(args.feeds), "--hosts", str(args.hosts), "--port", str(args.port)),
            *("--changed", str(args.changed), "--failing", str(args.failing), "--news"),
        ]
    )
    sink = Sink()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-endtoend-") as tmp:
            workdir = Path(args.keep or tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            config = workdir / "monitor.toml"
            write_config(config, urls, sink.port)
            farm_call(args.port, "/_generation?n=0", "POST")
            ours = [run_once("first", config, args.port, sink, workdir)]
            farm_call(args.port, "/_generation?n=1", "POST")
            ours.append(run_once("steady", config, args.port, sink, workdir))
            ours.append(run_once("nothing", config, args.port, sink, workdir))
            base, r2e_peak = (None, 0)
            if args.baseline == "rss2email":
                base, r2e_peak = run_rss2email(args, urls, workdir)
    finally:
        sink.close()
        farm.kill()
        farm.wait()
    report(ours, base, r2e_peak, args)


if __name__ == "__main__":
    main()
