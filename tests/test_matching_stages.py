"""Two-stage matching: a cheap pass on the feed's text, then the article's own text decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.servers import LoopbackHTTPServer, Reply
from tests.test_end_to_end import run_once, write_config
from tests.test_stories_scenario import WIRE, page

pytestmark = pytest.mark.slow


def serve(server: LoopbackHTTPServer, items: list[tuple[str, str, str, list[str]]]) -> str:
    """A feed of (slug, title, summary, page paragraphs) items and their pages."""
    xml = ""
    now = format_datetime(datetime.now(UTC))  # news, not a first poll's backlog
    for slug, title, summary, paragraphs in items:
        link = server.route(f"/news/{slug}", Reply(page(title, paragraphs)))
        xml += (
            f"<item><title>{title}</title><link>{link}</link><guid>{slug}</guid>"
            f"<description>{summary}</description><pubDate>{now}</pubDate></item>"
        )
    return server.route(
        "/feed.xml",
        Reply(f'<?xml version="1.0"?><rss version="2.0"><channel>{xml}</channel></rss>'.encode()),
    )


def matched(tmp_path: Path, match: str, feed_url: str) -> dict[str, dict[str, object]]:
    config = write_config(tmp_path, feeds=[feed_url])
    text = config.read_text(encoding="utf-8").replace(
        'schedule = "immediate"', f'schedule = "immediate"\nmatch = "{match}"'
    )
    config.write_text(text, encoding="utf-8")
    run_once(config)
    [document] = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in (tmp_path / "data" / "digests").glob("*.json")
    ] or [{"sections": []}]
    return {item["title"]: item for section in document["sections"] for item in section["items"]}


ITEMS = [
    # The summary names only Putin; the article has the whole query.
    ("quiet", "Kremlin comments on phone call", "Putin's aide spoke to reporters.", WIRE),
    # The summary has the whole query; the article is about something else.
    (
        "misleading",
        "Trump, Putin and a White House summit?",
        "Trump invited Putin to a White House summit, the Kremlin said.",
        ["A long report on regional football results, with scores from every match."] * 6,
    ),
]


def test_full_text_finds_and_drops_by_the_article(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """With match = "full_text" the article's text decides: found, and misleading dropped."""
    found = matched(tmp_path, "full_text", serve(http_server, ITEMS))

    assert list(found) == ["Kremlin comments on phone call"]
    why = found["Kremlin comments on phone call"]["why"]
    assert isinstance(why, dict) and "summit" in str(why["snippet"]).lower()
    assert {hit["field"] for hit in why["hits"]} <= {"title", "text"}


def test_summary_topics_decide_on_the_feed_text(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """With match = "summary" the title and summary decide, whatever the page says."""
    found = matched(tmp_path, "summary", serve(http_server, ITEMS))

    assert list(found) == ["Trump, Putin and a White House summit?"]
