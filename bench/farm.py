"""A loopback feed farm for the fetch benchmark: N feeds on 127.0.0.2... in one aiohttp process.

Feed i lives at http://127.0.0.<2 + i % hosts>:<port>/feed/<i>.xml, spread over `hosts`
loopback addresses so per-host connection limits act as they would across many sites.
Even feeds are RSS 2.0, odd ones Atom; each has 20-50 entries. Every request waits a random
20-300 ms (`--latency`) before answering. ETag / If-None-Match is honoured (304). A share of
feeds fails (HTTP 500). The farm has generations: `POST /_generation?n=k` makes a share of
feeds (chosen by a seeded RNG, the same in every run) publish one new entry per generation.
`GET /_stats` gives requests, 304s, errors and body bytes since `POST /_stats/reset`.

`--news` keeps 20-50 entries a feed but makes them news a topic can be about: most entries
have a theme (THEMES: a few words that go together, as the words of one story do), its
words spread over the title, the summary and more of them in the article page, which the
farm serves itself (`/article/<i>/<n>.html`); entries are dated back from the farm's start
(the newest an hour old, then every 3 hours), and new ones after it. bench/endtoend.py
writes its topics over these themes.

`--small` serves 3-6 short entries per feed whose links are article pages on the farm itself
(`/article/<i>/<n>.html`), so parsing stays cheap and nothing leaves loopback; with
`--match-share`, that share of entries (fixed per entry) carries the word MATCH_WORD and
words of its own, so each is a story of its own. `--log` keeps every feed request (arrival
time, feed, User-Agent, delay before the answer) for `GET /_log?since=k`: bench/replicas.py
counts repeated polls with it.

    python -m bench.farm --feeds 1000 --hosts 50 --port 8900
    python -m bench.farm --feeds 5000 --latency 100-300 --small --match-share 0.01 --log
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

WORDS = [
    *("government", "minister", "election", "market", "storm", "climate", "court", "police"),
    *("health", "school", "energy", "trade", "talks", "summit", "report", "city", "council"),
    *("union", "strike", "vaccine", "flood", "fire", "budget", "tax", "bank", "rate", "growth"),
    *("deal", "border", "army", "peace", "treaty", "science", "space", "research", "data"),
]
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
MATCH_WORD = "zephyr"  # in no entry unless chosen by --match-share; a topic's query
# --news: words that go together; no theme shares a word with another or with WORDS
THEMES = [
    ("ceasefire", "hostage", "negotiator", "truce", "corridor"),
    ("refinery", "pipeline", "barrel", "crude", "tanker"),
    ("drought", "harvest", "locust", "irrigation", "famine"),
    ("satellite", "rocket", "orbit", "telescope", "launchpad"),
    ("merger", "shareholder", "takeover", "antitrust", "acquisition"),
    ("lithium", "battery", "cobalt", "mine", "smelter"),
    ("glacier", "permafrost", "iceberg", "thaw", "arctic"),
    ("ransomware", "hacker", "breach", "malware", "outage"),
    ("verdict", "jury", "appeal", "prosecutor", "testimony"),
    ("stadium", "olympics", "athlete", "medal", "doping"),
    ("mortgage", "landlord", "tenant", "eviction", "rent"),
    ("earthquake", "aftershock", "tsunami", "rubble", "magnitude"),
]


def feed_url(i: int, *, hosts: int, port: int) -> str:
    return f"http://127.0.0.{2 + i % hosts}:{port}/feed/{i}.xml"


def entry_count(i: int) -> int:
    return 20 + (i * 7919) % 31  # 20-50, fixed per feed


def changed_feeds(n_feeds: int, share: float, generation: int, seed: int = 6) -> set[int]:
    """The feeds that publish in `generation` (1, 2, …): the same set in every run."""
    rng = random.Random(seed * 1_000_003 + generation)
    return set(rng.sample(range(n_feeds), round(n_feeds * share)))


def failing(i: int, share: float) -> bool:
    return share > 0 and (i * 2654435761) % 10_000 < share * 10_000


def small_entry_count(i: int) -> int:
    return 3 + (i * 7919) % 4  # 3-6, fixed per feed


def matching(i: int, n: int, share: float) -> bool:
    """Whether entry n of feed i carries MATCH_WORD (the same in every run)."""
    return share > 0 and random.Random(f"match {i} {n}").random() < share


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _coined(rng: random.Random) -> str:
    """A made-up word: shared by no other entry, so a matching entry is a story of its own."""
    return "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4))


def _small_entry(i: int, n: int, match_share: float) -> tuple[str, str]:
    rng = random.Random(i * 100_003 + n)
    title = _text(rng, 6).capitalize()
    para = f"<p>{_text(rng, 12)}.</p>"
    if matching(i, n, match_share):
        names = [_coined(rng).capitalize() for _ in range(4)]
        title = f"{MATCH_WORD.capitalize()} {names[0]} {names[1]}: {title.lower()}"
        para = (
            f"<p>{names[0]} and {names[1]} met {names[2]} in {names[3]} to sign the "
            f"{MATCH_WORD} accord on {_text(rng, 4)}.</p><p>{_text(rng, 12).capitalize()} "
            f"{_coined(rng)} {_coined(rng)}.</p>"
        )
    return title, para


def _news_entry(i: int, n: int) -> tuple[str, str, str]:
    """Entry n of feed i with --news: title, summary paragraphs, the page's further ones."""
    rng = random.Random(i * 100_003 + n)
    words = [_text(rng, 25) for _ in range(7)]
    title = _text(rng, 8)
    if rng.random() < 0.6:  # a themed story: its words in the title, summary and page
        theme = rng.choice(THEMES)
        title = f"{title} {rng.choice(theme)}"
        for k in range(3):
            words[k] = f"{words[k]} {rng.choice(theme)}"
        for k in range(3, 7):
            words[k] = f"{words[k]} {rng.choice(theme)}"
    words[6] = f"{words[6]} {rng.choice(rng.choice(THEMES))}"  # a stray word of any theme
    summary = "".join(f"<p>{w.capitalize()}.</p>" for w in words[:3])
    rest = "".join(f"<p>{w.capitalize()}.</p>" for w in words[3:])
    return title.capitalize(), summary, rest


# what surrounds an article on a real news page (about 50 kB): scripts, styles, menus
_FURNITURE_HEAD = (
    "<style>" + "".join(f".c{k}{{margin:{k}px;color:#{k:06x}}}" for k in range(400)) + "</style>"
    "<script>"
    + "".join(f"var t{k}=function(a){{return a*{k}+1}};" for k in range(600))
    + "</script>"
)
_FURNITURE_NAV = "".join(f'<a href="/section/{k}">Section {k}</a> ' for k in range(300))


def article_page(i: int, n: int, match_share: float, *, news: bool = False) -> bytes:
    """The farm's own page behind entry n of feed i (--small, --news)."""
    if news:
        title, summary, rest = _news_entry(i, n)
        return (
            f"<!doctype html><html><head><title>{title}</title>{_FURNITURE_HEAD}</head><body>"
            f"<nav>{_FURNITURE_NAV}</nav><article><h1>{title}</h1>{summary}{rest}"
            f"</article><footer>Site {i} news</footer></body></html>"
        ).encode()
    title, para = _small_entry(i, n, match_share)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1>{para}</article></body></html>"
    ).encode()


def feed_body(
    i: int,
    published: int,
    *,
    small: bool = False,
    match_share: float = 0.0,
    link_base: str = "",
    news_from: datetime | None = None,
) -> bytes:
    """Feed i after it has published `published` extra entries (0 at generation 0).

    `small`: 3-6 short entries linking to `link_base`/article/<i>/<n>.html (the farm itself).
    `news_from`: --news entries, linking there too, dated back from this time.
    """
    count = small_entry_count(i) if small else entry_count(i)
    items = []
    for n in range(published + count - 1, published - 1, -1):  # newest first
        rng = random.Random(i * 100_003 + n)
        when = BASE_TIME + timedelta(hours=n * 3 + i % 3)
        if small:
            title, para = _small_entry(i, n, match_share)
            link = f"{link_base}/article/{i}/{n}.html"
        elif news_from is not None:
            title, para, _ = _news_entry(i, n)
            link = f"{link_base}/article/{i}/{n}.html"
            when = news_from + timedelta(hours=3 * (n - count + 1) - 1, minutes=-(i % 60))
        else:
            title = _text(rng, 8).capitalize()
            para = " ".join(f"<p>{_text(rng, 25)}.</p>" for _ in range(3))
            link = f"https://site{i}.example.org/news/{n}-{'-'.join(title.lower().split()[:4])}"
        items.append((n, title, para, link, when))
    if i % 2 == 0:
        body = "".join(
            f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description><![CDATA[{p}]]></description><author>desk@site{i}.example.org "
            f"(News Desk)</author></item>"
            for n, t, p, link, when in items
        )
        doc = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Site {i} news</title><link>https://site{i}.example.org/</link>"
            f"<description>Feed {i}</description>{body}</channel></rss>"
        )
    else:
        body = "".join(
            f'<entry><title>{t}</title><link href="{link}"/><id>{link}</id>'
            f"<updated>{when.isoformat()}</updated><author><name>Reporter {n % 9}</name>"
            f'</author><summary type="html"><![CDATA[{p}]]></summary></entry>'
            for n, t, p, link, when in items
        )
        doc = (
            f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>Site {i} news</title><id>urn:site:{i}</id><link href="https://site{i}.example.org/"/>'
            f"<updated>{BASE_TIME.isoformat()}</updated>{body}</feed>"
        )
    return doc.encode()


class Farm:
    # aiohttp is imported where it is used: bench.fetch imports this module for the feed
    # documents, and its parse workers re-import bench.fetch as their main module, as the
    # service's workers re-import its (light) entry point.
    def __init__(
        self,
        feeds: int,
        changed: float,
        failing_share: float,
        seed: int,
        *,
        latency: tuple[float, float] = (0.020, 0.300),
        small: bool = False,
        match_share: float = 0.0,
        hosts: int = 50,
        port: int = 8900,
        keep_log: bool = False,
        news: bool = False,
    ) -> None:
        self.feeds = feeds
        self.changed = changed
        self.failing_share = failing_share
        self.seed = seed
        self.latency = latency
        self.small = small
        self.match_share = match_share
        self.hosts = hosts
        self.port = port
        self.keep_log = keep_log
        self.news_from = datetime.now(UTC).replace(microsecond=0) if news else None
        self.log: list[tuple[float, int, str, float]] = []  # (time.time(), feed, UA, delay)
        self.published = [0] * feeds
        self.cache: dict[int, tuple[str, bytes]] = {}
        self.rng = random.Random(seed)
        self.stats = {"requests": 0, "not_modified": 0, "errors": 0, "bytes": 0, "articles": 0}

    def body(self, i: int) -> tuple[str, bytes]:
        version = self.published[i]
        cached = self.cache.get(i)
        tag = f'"{i}-{version}"'
        if cached is None or cached[0] != tag:
            base = feed_url(i, hosts=self.hosts, port=self.port).split("/feed/")[0]
            body = feed_body(
                i,
                version,
                small=self.small,
                match_share=self.match_share,
                link_base=base,
                news_from=self.news_from,
            )
            cached = (tag, body)
            self.cache[i] = cached
        return cached

    async def feed(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        i = int(request.match_info["i"])
        delay = self.rng.uniform(*self.latency)
        if self.keep_log:  # on arrival: a request whose client dies meanwhile still counts
            self.log.append((time.time(), i, request.headers.get("User-Agent", ""), delay))
        await asyncio.sleep(delay)
        self.stats["requests"] += 1
        if i >= self.feeds:
            return web.Response(status=404)
        if failing(i, self.failing_share):
            self.stats["errors"] += 1
            return web.Response(status=500, text="farm: failing feed")
        tag, body = self.body(i)
        if request.headers.get("If-None-Match") == tag:
            self.stats["not_modified"] += 1
            return web.Response(status=304, headers={"ETag": tag})
        self.stats["bytes"] += len(body)
        content_type = "application/rss+xml" if i % 2 == 0 else "application/atom+xml"
        return web.Response(body=body, headers={"ETag": tag, "Content-Type": content_type})

    async def article(self, request: web.Request) -> web.Response:
        from aiohttp import web

        i, n = int(request.match_info["i"]), int(request.match_info["n"])
        await asyncio.sleep(self.rng.uniform(*self.latency))
        self.stats["articles"] += 1
        if i >= self.feeds:
            return web.Response(status=404)
        page = article_page(i, n, self.match_share, news=self.news_from is not None)
        return web.Response(body=page, headers={"Content-Type": "text/html; charset=utf-8"})

    async def get_log(self, request: web.Request) -> web.Response:
        """Feed requests from `since` on: {"next": k, "rows": [[time, feed, ua, delay], ...]}."""
        from aiohttp import web

        since = int(request.query.get("since", "0"))
        return web.json_response({"next": len(self.log), "rows": self.log[since:]})

    async def generation(self, request: web.Request) -> web.Response:
        from aiohttp import web

        n = int(request.query["n"])
        self.published = [0] * self.feeds
        for g in range(1, n + 1):
            for i in changed_feeds(self.feeds, self.changed, g, self.seed):
                self.published[i] += 1
        return web.json_response({"generation": n})

    async def get_stats(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self.stats)

    async def reset_stats(self, request: web.Request) -> web.Response:
        from aiohttp import web

        self.stats = dict.fromkeys(self.stats, 0)
        return web.json_response(self.stats)


def launch(arguments: list[str]) -> subprocess.Popen[str]:
    """Run the farm in a process of its own (`python -m bench.farm ARGUMENTS`), once it serves."""
    farm = subprocess.Popen(
        [sys.executable, "-m", "bench.farm", *arguments], stdout=subprocess.PIPE, text=True
    )
    assert farm.stdout is not None
    line = farm.stdout.readline()
    if '"ready"' not in line:
        farm.kill()
        raise SystemExit(f"the farm did not start: {line!r}")
    return farm


async def serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    low, _, high = args.latency.partition("-")
    farm = Farm(
        args.feeds,
        args.changed,
        args.failing,
        args.seed,
        latency=(float(low) / 1000, float(high or low) / 1000),
        small=args.small,
        match_share=args.match_share,
        hosts=args.hosts,
        port=args.port,
        keep_log=args.log,
        news=args.news,
    )
    app = web.Application()
    app.router.add_get("/feed/{i:\\d+}.xml", farm.feed)
    app.router.add_get("/article/{i:\\d+}/{n:\\d+}.html", farm.article)
    app.router.add_get("/_log", farm.get_log)
    app.router.add_post("/_generation", farm.generation)
    app.router.add_get("/_stats", farm.get_stats)
    app.router.add_post("/_stats/reset", farm.reset_stats)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    for host in range(args.hosts):
        await web.TCPSite(runner, f"127.0.0.{2 + host}", args.port, backlog=1024).start()
    print(json.dumps({"ready": True, "port": args.port}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--changed", type=float, default=0.10, help="share publishing per generation"
    )
    parser.add_argument("--failing", type=float, default=0.01, help="share answering HTTP 500")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--latency", default="20-300", help="answer delay range in ms, e.g. 100-300"
    )
    parser.add_argument(
        "--small", action="store_true", help="3-6 short entries a feed, linking to farm pages"
    )
    parser.add_argument(
        "--match-share",
        type=float,
        default=0.0,
        help=f"share of entries carrying {MATCH_WORD!r} (with --small)",
    )
    parser.add_argument(
        "--news", action="store_true", help="themed, recently dated entries with farm pages"
    )
    parser.add_argument("--log", action="store_true", help="keep every feed request for /_log")
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
