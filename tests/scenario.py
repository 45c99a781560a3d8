"""Scenarios the end-to-end tests share: the seed story, small feeds and a config for `once`.

The seed story (tests/data/seed/, from ../shared/seed/) and the wire story of
test_stories_scenario.py are served by the real loopback HTTP server of servers.py.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
from email.message import EmailMessage
from pathlib import Path

from monitor.config import load_settings
from monitor.service.runtime import CycleReport, once
from tests.servers import LoopbackHTTPServer, Reply

SEED = Path(__file__).parent / "data" / "seed"
ARTICLE_PATH = "/news/kremlin-says-trump-invited-putin-to-white-house/"
TOPIC_QUERY = '(Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting)'


def seed_feed(server: LoopbackHTTPServer, *, reverse: bool = False, utm: str = "") -> bytes:
    feed = (SEED / "feed.xml").read_text(encoding="utf-8")
    feed = feed.replace("https://news.example.com", server.base)
    if utm:
        feed = feed.replace("utm_source=rss&amp;utm_medium=feed", utm)
    if reverse:
        items = re.findall(r"<item>.*?</item>", feed, flags=re.S)
        head, tail = feed.split(items[0])[0], feed.split(items[-1])[1]
        feed = head + "\n".join(reversed(items)) + tail
    return feed.encode()


def serve_seed(server: LoopbackHTTPServer, **feed_options: object) -> str:
    """Serve the seed feed, the article page and a webhook receiver; return the feed URL."""
    server.route(
        ARTICLE_PATH,
        Reply(
            (SEED / "kremlin-says-trump-invited-putin.html").read_bytes(),
            headers={"Content-Type": "text/html; charset=utf-8"},
        ),
    )
    server.route("/hook", Reply(b"ok"))
    return server.route(
        "/world.rss",
        Reply(
            seed_feed(server, **feed_options),  # type: ignore[arg-type]
            headers={"Content-Type": "application/rss+xml"},
        ),
    )


def write_config(
    tmp_path: Path,
    *,
    feeds: list[str],
    smtp_port: int | None = None,
    hook_url: str | None = None,
    extra: str = "",
    store_url: str | None = None,
) -> Path:
    channels, names = [], []
    if smtp_port is not None:
        names.append("inbox")
        channels.append(f"""
[[channels]]
name = "inbox"
type = "email"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
security = "none"
from = "monitor@example.org"
to = ["me@example.org"]
timeout = "5s"
""")
    if hook_url is not None:
        names.append("hook")
        channels.append(f"""
[[channels]]
name = "hook"
type = "webhook"
url = "{hook_url}"
timeout = "5s"
""")
    feed_lines = "".join(f'\n[[feeds]]\nurl = "{url}"\nname = "Example News"\n' for url in feeds)
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
[store]
url = "{store_url or f"sqlite:///{tmp_path}/monitor.db"}"

[fetch]
allow_private = ["127.0.0.1"]
timeout = "2s"

[extract]
workers = 1

[service]
data_dir = "{tmp_path}/data"
backlog = "all"  # the seed story is from 2018: news here, not backlog
{extra}
{feed_lines}
[[topics]]
name = "us-russia-summit"
title = "US-Russia summit"
query = '{TOPIC_QUERY}'
schedule = "immediate"
channels = {json.dumps(names)}
{"".join(channels)}
""",
        encoding="utf-8",
    )
    return path


def run_once(config: Path) -> CycleReport:
    return asyncio.run(once(load_settings(config)))


def text_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def squash(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback News</title><link>BASE/</link>
<item><title>Putin and Trump agree on a summit</title><link>BASE/a1</link>
<guid>a1</guid><description>The Kremlin said a summit meeting would follow.</description></item>
</channel></rss>"""


PAGE = "<html><head><title>Summit</title></head><body><article><p>{}</p></article></body></html>"


def serve_feed(server: LoopbackHTTPServer, path: str = "/news.rss") -> str:
    """The feed and its one article page; returns the feed's URL."""
    text = "The Kremlin said a summit meeting between Putin and Trump would follow. " * 8
    server.route("/a1", Reply(PAGE.format(text).encode(), headers={"Content-Type": "text/html"}))
    feed = RSS.replace("BASE", server.base).encode()
    return server.route(path, Reply(feed, headers={"Content-Type": "application/rss+xml"}))


WIRE = [
    "President Donald Trump invited Russian President Vladimir Putin to a summit at the "
    "White House, the Kremlin said on Monday, describing a proposal made during a phone "
    "call between the two leaders in March.",
    "Kremlin foreign policy aide Yury Ushakov told reporters in Moscow that the invitation "
    "had been extended during the call, but that no concrete preparations for the meeting "
    "had begun since then.",
    "Relations between Washington and Moscow have worsened since the call, after both "
    "countries expelled dozens of diplomats over the poisoning of a former spy in Britain.",
    "Ushakov said Russia still hoped the two countries could return to a constructive "
    "dialogue, and that a summit could be discussed once tensions had eased.",
]


NEW_FACT = (
    "On Tuesday the White House denied that any summit plan existed, with press secretary "
    "Sarah Sanders saying no dates or venues had been discussed with the Kremlin."
)


QUERY_SUMMARY = "Trump invited Putin to a White House summit, the Kremlin said."


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home | World</nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>(c) Outlet</footer></body></html>"
    ).encode()


def feed(outlet: str, items: list[tuple[str, str, str]]) -> bytes:
    """RSS with (guid, title, link) items."""
    xml = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description>{QUERY_SUMMARY}</description>"
        "<pubDate>Mon, 02 Apr 2018 14:05:00 GMT</pubDate></item>"
        for guid, title, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>'
        f"{xml}</channel></rss>"
    ).encode()


def publish(
    server: LoopbackHTTPServer, outlet: str, items: list[tuple[str, str, list[str]]]
) -> str:
    """Serve an outlet's feed and its article pages; return the feed URL."""
    entries = []
    for slug, title, paragraphs in items:
        link = server.route(f"/{outlet}/{slug}", Reply(page(title, paragraphs)))
        entries.append((f"{outlet}-{slug}", title, link))
    return server.route(f"/{outlet}/feed.xml", Reply(feed(outlet, entries)))
