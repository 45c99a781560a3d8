"""Fault injection: news-monitor SIGKILLed at random points of whole cycles loses nothing.

A feed on loopback grows by new, unrelated stories; each run starts `news-monitor once`
(poll, match, place, queue, deliver to a webhook and an SMTP server, all on 127.0.0.1)
and kills it with SIGKILL at a random moment of its cycle, or from inside the webhook
receiver while it holds a request (accepted, not yet answered). A last run without a
kill drains the rest. Then, per channel, every story arrived in at least one digest, no
story arrived in two digests with different ids (a repeat is the same digest, same id),
every delivery is marked sent, and SQLite's integrity_check is ok.

`NEWS_MONITOR_FAULT_RUNS` sets the number of runs (15 here, about 40 s; bench/faults.py runs 200
and prints the counts).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.scenario import text_part
from tests.servers import LoopbackHTTPServer, Reply, Request, SMTPRecorder

pytestmark = pytest.mark.slow

RUNS = int(os.environ.get("NEWS_MONITOR_FAULT_RUNS", "15"))
SUMMARY_FILE = os.environ.get("NEWS_MONITOR_FAULT_SUMMARY")  # bench/faults.py reads it
STORY = re.compile(r"/a/(\d+)")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4))


class GrowingFeed:
    """An RSS feed to which each run adds new stories, each in words of its own."""

    def __init__(self, server: LoopbackHTTPServer, rng: random.Random) -> None:
        self.server, self.rng, self.items = server, rng, []  # type: list[str]
        self.url = server.route("/feed.rss", Reply(dynamic=lambda _: self._reply()))

    def add(self, count: int) -> None:
        for _ in range(count):
            n = len(self.items)
            words = [_word(self.rng) for _ in range(8)]
            link = self.server.route(
                f"/a/{n}",
                Reply(
                    f"<html><body><p>The storm {' '.join(words)}.</p></body></html>".encode(),
                    headers={"Content-Type": "text/html"},
                ),
            )
            self.items.append(
                f"<item><title>Storm {' '.join(words[:3])}</title><link>{link}</link>"
                f"<guid>story-{n}</guid><description>The storm {' '.join(words)}."
                "</description></item>"
            )

    def _reply(self) -> Reply:
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Storms</title>'
            + "".join(reversed(self.items))
            + "</channel></rss>"
        )
        return Reply(body.encode(), headers={"Content-Type": "application/rss+xml"})


def _config(path: Path, feed: str, hook: str, smtp_port: int) -> Path:
    config = path / "monitor.toml"
    config.write_text(
        f"""
[store]
url = "sqlite:///monitor.db"
[fetch]
allow_private = ["127.0.0.1"]
timeout = "5s"
parse_workers = 1
[extract]
workers = 1
[service]
data_dir = "data"
backlog = "all"  # the stories are undated: news, not a first poll's backlog
[[feeds]]
url = "{feed}"
[[topics]]
name = "storms"
query = "storm"
match = "summary"
schedule = "immediate"
channels = ["hook", "inbox"]
[[channels]]
name = "hook"
type = "webhook"
url = "{hook}"
timeout = "5s"
[[channels]]
name = "inbox"
type = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
security = "none"
from = "monitor@example.org"
to = ["me@example.org"]
timeout = "5s"
""",
        encoding="utf-8",
    )
    return config


def test_sigkill_at_random_points_of_whole_cycles(
    tmp_path: Path, http_server: LoopbackHTTPServer, smtp_server: SMTPRecorder
) -> None:
    """After RUNS kills across polling, matching and delivery: each story once per channel."""
    rng = random.Random(20261204)
    feed = GrowingFeed(http_server, rng)
    hook_digests: list[tuple[str, set[int]]] = []
    process: subprocess.Popen[bytes] | None = None
    kill_in_receiver = threading.Event()

    def receiver(request: Request) -> Reply:
        stories = {int(n) for n in STORY.findall(json.dumps(json.loads(request.body)))}
        hook_digests.append((request.headers["webhook-id"], stories))
        if kill_in_receiver.is_set() and process is not None:
            kill_in_receiver.clear()
            process.send_signal(signal.SIGKILL)  # accepted, never answered
        return Reply(b"ok")

    config = _config(
        tmp_path, feed.url, http_server.route("/hook", Reply(dynamic=receiver)), smtp_server.port
    )
    command = [sys.executable, "-m", "monitor", "--config", str(config), "once"]

    def run(kill_after: float | None) -> int:
        nonlocal process
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        timer = None
        if kill_after is not None:
            timer = threading.Timer(kill_after, process.send_signal, [signal.SIGKILL])
            timer.start()
        code = process.wait(timeout=120)
        if timer is not None:
            timer.cancel()
        return code

    feed.add(2)
    started = time.monotonic()
    assert run(None) == 0  # one cycle untouched: how long a cycle takes, to aim the kills
    cycle = time.monotonic() - started
    kills = 0
    for _ in range(RUNS):
        feed.add(rng.randint(0, 2))
        in_receiver = rng.random() < 0.25
        if in_receiver:
            kill_in_receiver.set()
        # the first ~third of a cycle is the interpreter starting: aim past most of it
        code = run(None if in_receiver else rng.uniform(cycle * 0.3, cycle * 1.1))
        kill_in_receiver.clear()
        kills += code == -signal.SIGKILL
    assert run(None) == 0  # the survivor drains what the killed runs left

    mail_digests = []
    for raw in smtp_server.messages:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        mail_digests.append(
            (str(message["Message-ID"]), {int(n) for n in STORY.findall(text_part(raw))})
        )
    report = {"runs": RUNS, "kills": kills, "stories": len(feed.items)}
    for channel, digests in (("webhook", hook_digests), ("email", mail_digests)):
        ids_of: dict[int, set[str]] = defaultdict(set)
        for digest_id, stories in digests:
            for story in stories:
                ids_of[story].add(digest_id)
        lost = [n for n in range(len(feed.items)) if not ids_of[n]]
        doubled = {n: ids for n, ids in ids_of.items() if len(ids) > 1}
        report |= {
            f"{channel}_requests": len(digests),
            f"{channel}_digests": len({d for d, _ in digests}),
            f"{channel}_repeats": len(digests) - len({d for d, _ in digests}),
        }
        assert lost == [], f"{channel}: stories never delivered: {lost}"
        assert doubled == {}, f"{channel}: stories sent under two digest ids: {doubled}"
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = {row[0] for row in conn.execute("SELECT status FROM deliveries")}
    assert statuses == {"sent"}
    assert kills >= RUNS // 2, "most runs finished before their kill: the test proved little"
    if SUMMARY_FILE:
        Path(SUMMARY_FILE).write_text(json.dumps(report), encoding="utf-8")
