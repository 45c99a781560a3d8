"""Server time of each web console page on a large store: 100,000 entries, 10,000 stories.

    .venv/bin/python bench/console.py                 # 100k entries, 10k stories, 500 feeds
    .venv/bin/python bench/console.py --entries 20000 --stories 2000 --feeds 100

Builds a SQLite store in a temporary directory (entries over the last 7 days,
stories of 1-4 reports across 5 topics, a digest and a delivery per 10 stories),
serves the console on loopback, logs in and fetches every page --repeat times.
Each page's median is printed in milliseconds and as a ratio to /healthz (the
listener's cheapest answer, measured in the same run): the ratio is what to
compare between machines. The target is 100 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer
from sqlalchemy import insert

from monitor.admin.web_password import hash_password
from monitor.config import load_settings
from monitor.console import add_console
from monitor.service.listener import Liveness, build_app
from monitor.service.runtime import Runtime
from monitor.store.schema import deliveries, digests, entries, feeds, matches, queue

PASSWORD = "bench password 123"
TOPICS = ["summit", "ukraine", "climate", "markets", "elections"]
NEWS = [
    *[
        "Putin",
        "Trump",
        "summit",
        "Kremlin",
        "Ukraine",
        "Kyiv",
        "climate",
        "talks",
        "markets",
        "stocks",
        "election",
    ],
    *[
        "vote",
        "minister",
        "president",
        "parliament",
        "ceasefire",
        "sanctions",
        "energy",
        "oil",
        "rates",
        "bank",
    ],
]
# a Zipf-like vocabulary: the news words are among 5,000, so a query selects a few percent
FILLER = [f"word{i}" for i in range(5000)]
WORDS = FILLER[:200] + NEWS + FILLER[200:]  # each news word in about 4% of the entries
CUMULATIVE = list(accumulate(1 / (rank + 10) for rank in range(len(WORDS))))


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, cum_weights=CUMULATIVE, k=n))


def build_store(directory: Path, n_entries: int, n_stories: int, n_feeds: int) -> Path:
    rng = random.Random(7)
    now = datetime.now(UTC)
    config = directory / "monitor.toml"
    feed_urls = [f"https://site{i}.example/rss" for i in range(n_feeds)]
    lines = [f'[store]\nurl = "sqlite:///{directory}/monitor.db"\n']
    lines.append(f'[web]\npassword_hash = "{hash_password(PASSWORD)}"\n')
    lines.append('[[channels]]\nname = "hook"\ntype = "webhook"\nurl = "https://hooks.example/x"\n')
    lines += [f'[[feeds]]\nurl = "{u}"\nname = "Site {i}"\n' for i, u in enumerate(feed_urls)]
    for topic in TOPICS:
        query = f"{rng.choice(NEWS)} AND {rng.choice(NEWS)}"
        lines.append(f'[[topics]]\nname = "{topic}"\nquery = "{query}"\nchannels = ["hook"]\n')
    config.write_text("\n".join(lines), encoding="utf-8")
    settings = load_settings(config)
    from monitor.store import Store

    store = Store(settings.store.url)
    store.migrate()
    with store.engine.begin() as conn:
        conn.execute(
            insert(feeds),
            [
                {
                    "url": u,
                    "consecutive_failures": rng.choice([0, 0, 0, 2]),
                    "last_checked": now - timedelta(minutes=5),
                    "last_success": now - timedelta(minutes=5),
                    "next_check": now + timedelta(minutes=10),
                    "hint_seconds": rng.choice([None, 3600.0]),
                    "active": True,
                }
                for u in feed_urls
            ],
        )
        rows = [
            {
                "feed_url": feed_urls[i % n_feeds],
                "key": f"e{i}",
                "first_seen": now - timedelta(seconds=rng.uniform(0, 7 * 86400)),
                "title": _sentence(rng, 8),
                "summary": _sentence(rng, 40),
                "link": f"https://site{i % n_feeds}.example/a/{i}",
            }
            for i in range(n_entries)
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(entries), rows[start : start + 5000])
        match_rows, entry_no = [], 0
        for s in range(n_stories):
            topic = TOPICS[s % len(TOPICS)]
            for r in range(rng.randint(1, 4)):
                entry_no = (entry_no + 1) % n_entries
                match_rows.append(
                    {
                        "topic": topic,
                        "url": f"https://site{entry_no % n_feeds}.example/a/{entry_no}",
                        "entry_key": f"e{entry_no}",
                        "feed_url": feed_urls[entry_no % n_feeds],
                        "title": rows[entry_no]["title"],
                        "text": rows[entry_no]["summary"],
                        "source": f"Site {entry_no % n_feeds}",
                        "terms": json.dumps([topic]),
                        "created": rows[entry_no]["first_seen"],
                        "story_id": f"st-{s:06d}",
                        "story_kind": "new_story" if r == 0 else "development",
                        "new_sentences": "[]",
                        "hits": "[]",
                    }
                )
        for start in range(0, len(match_rows), 5000):
            conn.execute(insert(matches), match_rows[start : start + 5000])
        digest_rows = [
            {
                "key": f"d{d}",
                "topic": TOPICS[d % len(TOPICS)],
                "subject": f"Digest {d}",
                "text": "t",
                "html": "<p>h</p>",
                "json": "{}",
                "headers": "{}",
                "created": now - timedelta(minutes=d),
                "channel": "hook",
            }
            for d in range(n_stories // 10)
        ]
        conn.execute(insert(digests), digest_rows)
        conn.execute(
            insert(deliveries),
            [
                {
                    "digest_key": f"d{d}",
                    "channel": "hook",
                    "status": rng.choice(["sent", "sent", "failed", "pending"]),
                    "attempts": 1,
                    "created": now,
                    "last_error": "HTTP 500",
                }
                for d in range(n_stories // 10)
            ],
        )
        conn.execute(
            insert(queue),
            [
                {"match_id": i + 1, "topic": m["topic"], "channel": "hook", "created": now}
                for i, m in enumerate(match_rows)
            ],
        )
    store.close()
    return config


async def measure(config: Path, repeat: int) -> dict[str, float]:
    pages = {
        "/healthz (baseline)": "/healthz",
        "overview": "/console/",
        "topics": "/console/topics",
        "topic edit + 7-day backtest": "/console/topics/edit?original=summit",
        "backtest fragment": "/console/topics/backtest?query=Putin+AND+summit",
        "backtest, broad query": "/console/topics/backtest?query=Putin+OR+Trump",
        "stories": "/console/stories?topic=summit",
        "feeds": "/console/feeds",
        "deliveries": "/console/deliveries",
    }
    out: dict[str, float] = {}
    async with Runtime(load_settings(config)) as runtime:
        liveness = Liveness(tick=runtime.settings.service.tick)
        app = build_app(
            store=runtime.store,
            metrics=runtime.metrics,
            liveness=liveness,
            atom_dir=config.parent / "atom",
            clock=runtime.clock,
        )
        console = add_console(app, runtime, liveness, config)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        started, before = time.perf_counter(), _rss_mb()
        await console.warmed()
        print(
            f"backtest window read and indexed in {time.perf_counter() - started:.1f} s "
            f"(resident memory {before:.0f} MB before, {_rss_mb():.0f} MB after)"
        )
        base = str(server.make_url("")).rstrip("/")
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as client:
            async with client.get(f"{base}/console/login") as response:
                found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
            assert found is not None
            form = {"csrf": found.group(1), "password": PASSWORD}
            async with client.post(f"{base}/console/login", data=form) as response:
                assert response.status == 200, response.status
            for name, path in pages.items():
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    async with client.get(base + path) as response:
                        await response.read()
                        assert response.status in (200, 503), (path, response.status)
                    times.append(time.perf_counter() - started)
                out[name] = statistics.median(times) * 1000
        await server.close()
    return out


def _rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        config = build_store(Path(directory), args.entries, args.stories, args.feeds)
        print(
            f"store: {args.entries} entries, {args.stories} stories, {args.feeds} feeds "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        results = asyncio.run(measure(config, args.repeat))
    baseline = results["/healthz (baseline)"]
    print(f"{'page':<30} {'median ms':>10} {'x healthz':>10}")
    for name, ms in results.items():
        print(f"{name:<30} {ms:>10.1f} {ms / baseline:>10.1f}")


if __name__ == "__main__":
    main()
