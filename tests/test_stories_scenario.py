"""Stories end to end: one alert per wire story, developments threaded, re-posts silent.

Three outlets carry the same wire copy; a day later one adds a new fact; then
another re-posts the original under a new headline. Real HTTP server, real
SMTP server, the whole pipeline through `once`.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_settings
from tests.servers import LoopbackHTTPServer, Reply, SMTPRecorder
from tests.test_end_to_end import run_once, squash, text_part, write_config

pytestmark = pytest.mark.slow

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


def message(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_wire_story_alerts_once_then_threads_its_development(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    smtp_server: SMTPRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three copies: one alert naming three outlets; a new fact: one threaded development."""
    headline = "Kremlin says Trump invited Putin to White House summit"
    feeds = [
        publish(http_server, outlet, [("summit", headline, WIRE)])
        for outlet in ("wire-a", "wire-b", "wire-c")
    ]
    config = write_config(tmp_path, feeds=feeds, smtp_port=smtp_server.port)
    text = config.read_text(encoding="utf-8")
    for outlet in ("wire-a", "wire-b", "wire-c"):  # each feed named after its outlet
        text = text.replace('name = "Example News"', f'name = "{outlet}"', 1)
    config.write_text(text, encoding="utf-8")

    first = run_once(config)

    assert len(smtp_server.messages) == 1, "three copies of one story give one alert"
    alert = message(smtp_server.messages[0])
    text = squash(text_part(smtp_server.messages[0]))
    assert text.count(headline) == 1
    assert "Also reported by:" in text
    assert sum(outlet in text for outlet in ("wire-a", "wire-b", "wire-c")) == 3
    assert first.delivery.sent == 1

    publish(
        http_server,
        "wire-a",
        [
            ("summit", headline, WIRE),
            ("denial", "White House denies Trump-Putin summit plan", [*WIRE[:2], NEW_FACT]),
        ],
    )
    run_once(config)

    assert len(smtp_server.messages) == 2
    update = message(smtp_server.messages[1])
    update_text = squash(text_part(smtp_server.messages[1]))
    assert "What is new:" in update_text
    assert "denied that any summit plan existed" in update_text.split("What is new:")[1]
    assert update["In-Reply-To"] == alert["Message-ID"]

    publish(
        http_server,
        "wire-b",
        [
            ("summit", headline, WIRE),
            ("summit-repost", "Putin invited to Washington, Kremlin says", WIRE),
        ],
    )
    last = run_once(config)

    assert len(smtp_server.messages) == 2, "a re-titled re-post sends nothing"
    assert sum(p.new_entries for p in last.polls) == 1
    assert load_settings(config).topics[0].name == "us-russia-summit"

    capsys.readouterr()
    assert main(["--config", str(config), "topics", "test", "us-russia-summit"]) == 0
    grouped = capsys.readouterr().out
    assert "in 1 stories" in grouped  # every article of the scenario is one story
    assert "joined the story:" in grouped  # and `topics test` says why each joined
