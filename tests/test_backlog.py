"""A feed's first poll records its archive but sends only recent entries; so does a return
from failing. Through `once`, against a real HTTP server, with the clock injected."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.cli.cycle_commands import summary as _summary
from monitor.config import load_settings
from monitor.models import Entry, FeedState
from monitor.pipeline.backlog import news_since, split_backlog
from monitor.service.runtime import CycleReport, once
from monitor.store import Store
from tests.servers import LoopbackHTTPServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def coined(title: str, n: int) -> str:
    """A made-up word of the item's own, so that each item is a story of its own."""
    digest = hashlib.sha1(f"{title} {n}".encode()).digest()
    return "".join(chr(97 + b % 26) for b in digest[:9])


def story(title: str) -> str:
    a, b, c, d, e, f = (coined(title, n) for n in range(6))
    return f"Zephyr {a} {b} of {c} told {d} that {e} will {f}."


def rss(items: list[tuple[str, datetime | None]]) -> bytes:
    """A feed of (title, published) items, each naming the topic's word `zephyr`."""
    body = "".join(
        f"<item><title>Zephyr {title}</title><guid>{title}</guid>"
        f"<description>{story(title)}</description>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + "</item>"
        for title, when in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    ).encode()


def config(tmp_path: Path, feeds: list[tuple[str, str | None]], service: str = "") -> Path:
    """Feeds as (url, backlog or None); one summary topic on `zephyr`, digests as files."""
    lines = "".join(
        f'[[feeds]]\nurl = "{url}"\n' + (f'backlog = "{backlog}"\n' if backlog else "")
        for url, backlog in feeds
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path}/monitor.db"
[fetch]
allow_private = ["127.0.0.1"]
timeout = "2s"
[service]
data_dir = "{tmp_path}/data"
{service}
[[topics]]
name = "zephyr"
query = "zephyr"
match = "summary"
{lines}""",
        encoding="utf-8",
    )
    return path


def run(path: Path, at: datetime) -> CycleReport:
    return asyncio.run(once(load_settings(path), clock=lambda: at))


def sent_titles(tmp_path: Path) -> list[str]:
    """Titles of every story in the digests written so far."""
    titles = []
    for file in sorted((tmp_path / "data" / "digests").glob("*.json")):
        document = json.loads(file.read_text(encoding="utf-8"))
        titles += [item["title"] for s in document["sections"] for item in s["items"]]
    return sorted(titles)


def test_first_poll_sends_only_recent_entries_and_records_the_rest(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """Entries from 2018 and undated ones are recorded but not sent; today's is sent."""
    feed = http_server.route(
        "/feed.xml",
        Reply(
            rss(
                [
                    ("today", NOW - timedelta(hours=3)),
                    ("old", datetime(2018, 4, 2, tzinfo=UTC)),
                    ("undated", None),
                    ("last-week", NOW - timedelta(days=7)),
                ]
            )
        ),
    )
    path = config(tmp_path, [(feed, None)])

    report = run(path, NOW)

    assert [(p.new_entries, p.backlog, p.matches) for p in report.polls] == [(4, 3, 1)]
    assert sent_titles(tmp_path) == ["Zephyr today"]
    assert "new entries: 4 (3 kept as backlog, not sent), matches: 1" in _summary(report)
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    try:  # recorded all the same, for `topics test`
        assert len(store.entries_since(NOW - timedelta(days=1))) == 4
    finally:
        store.close()


def test_backlog_is_set_globally_and_per_feed(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """`service.backlog` widens the window; a feed's `backlog = "0"` sends nothing at first."""
    items = [("2days", NOW - timedelta(days=2)), ("hour", NOW - timedelta(hours=1))]
    # titles share no word but the topic's: each item is a story of its own
    wide = http_server.route("/wide.xml", Reply(rss([(t, w) for t, w in items])))
    none = http_server.route("/none.xml", Reply(rss([(f"quiet {t}", w) for t, w in items])))
    path = config(tmp_path, [(wide, None), (none, "0")], service='backlog = "3d"')

    report = run(path, NOW)

    assert [p.backlog for p in report.polls] == [0, 2]
    assert sent_titles(tmp_path) == ["Zephyr 2days", "Zephyr hour"]


def test_feed_back_from_failing_sends_nothing_older_than_its_last_good_poll(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """After three days of errors, an entry dated before the last good poll is backlog."""
    first = [("first", NOW - timedelta(hours=1))]
    feed = http_server.route("/feed.xml", Reply(rss(first)))
    path = config(tmp_path, [(feed, None)], service='backlog = "7d"')
    run(path, NOW)
    http_server.route("/feed.xml", Reply(b"down", status=500))
    assert run(path, NOW + timedelta(days=1)).polls[0].error is not None

    later = [
        ("during", NOW + timedelta(days=2)),  # published while the feed failed: news
        ("before", NOW - timedelta(hours=2)),  # new to us, but older than the last good poll
        ("undated", None),  # cannot tell: news
    ]
    http_server.route("/feed.xml", Reply(rss(first + later)))
    report = run(path, NOW + timedelta(days=3))

    assert [(p.new_entries, p.backlog) for p in report.polls] == [(3, 1)]
    assert sent_titles(tmp_path) == ["Zephyr during", "Zephyr first", "Zephyr undated"]


def test_once_and_feeds_add_say_how_many_were_kept_as_backlog(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line names the backlog: in `feeds add` before, in `once` after."""
    now = datetime.now(UTC)
    feed = http_server.route(
        "/feed.xml", Reply(rss([("new", now), ("old", now - timedelta(days=400))]))
    )
    path = config(tmp_path, [])

    assert main(["--config", str(path), "feeds", "add", feed]) == 0
    assert "keeps 1 of its 2 entries as backlog (published more than 1d ago" in (
        capsys.readouterr().out
    )
    assert main(["--config", str(path), "once"]) == 0
    assert "new entries: 2 (1 kept as backlog, not sent), matches: 1" in capsys.readouterr().out


def test_news_since_rules() -> None:
    """First read: now - backlog; steady: any age; back from failing: the last good poll."""
    day = timedelta(days=1)
    assert news_since(FeedState(url="u"), NOW, day) == NOW - day
    good = FeedState(url="u", last_success=NOW - 5 * day)
    assert news_since(good, NOW, day) is None
    failing = FeedState(url="u", last_success=NOW - 5 * day, consecutive_failures=3)
    assert news_since(failing, NOW, day) == NOW - 5 * day


def test_split_keeps_feed_order_and_places_undated_entries_as_told() -> None:
    """Undated entries are backlog on a first read and news otherwise."""
    entries = [
        Entry("f", "a", "a", None, "", published=NOW),
        Entry("f", "b", "b", None, ""),
        Entry("f", "c", "c", None, "", published=NOW - timedelta(days=2)),
    ]
    first = split_backlog(entries, NOW - timedelta(days=1), undated_is_news=False)
    assert [e.key for e in first.news] == ["a"]
    assert [e.key for e in first.backlog] == ["b", "c"]
    later = split_backlog(entries, NOW - timedelta(days=1), undated_is_news=True)
    assert [e.key for e in later.news] == ["a", "b"]
    assert split_backlog(entries, None, undated_is_news=False).news == entries
