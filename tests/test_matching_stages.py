"""Two-stage matching: a cheap pass on the feed's text, then the article's own text decides."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.scenario import WIRE, page, run_once, write_config
from tests.servers import LoopbackHTTPServer, Reply

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
    # The summary names two of the query's three parts; the article has the whole query.
    (
        "quiet",
        "Kremlin comments on phone call",
        "Putin's aide spoke to reporters about the meeting.",
        WIRE,
    ),
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


def test_one_shared_word_is_not_worth_a_page(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A summary naming one of three required parts fetches no page, even if the article
    would have matched; one naming two does, once."""
    items = [
        ("one", "Kremlin comments on weather", "Putin's aide spoke of rain.", WIRE),
        ("two", "Kremlin comments on a call", "Putin's aide spoke of a meeting.", WIRE),
    ]
    found = matched(tmp_path, "full_text", serve(http_server, items))

    assert list(found) == ["Kremlin comments on a call"]
    fetched = [r.path for r in http_server.requests if r.path.startswith("/news/")]
    assert fetched == ["/news/two"]


def test_page_without_the_missing_words_is_not_extracted(
    tmp_path: Path, http_server: LoopbackHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """When no word of the page completes the query, the article is never extracted."""
    other = ["A long report on regional football results, with scores from every match."] * 6
    items = [("football", "Kremlin comments on a call", "Putin's aide spoke of a meeting.", other)]
    caplog.set_level(logging.DEBUG, logger="monitor.pipeline")

    assert matched(tmp_path, "full_text", serve(http_server, items)) == {}
    assert "page does not match" in caplog.text
    assert "summary matched but the article does not" not in caplog.text


def test_a_page_is_fetched_once_for_every_topic_that_wants_it(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A summary topic and a full-text topic on one entry share one fetch of its page."""
    feed_url = serve(http_server, ITEMS[1:])
    config = write_config(tmp_path, feeds=[feed_url])
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[[topics]]\nname = "summit-summary"\nquery = "summit"\nmatch = "summary"\n',
        encoding="utf-8",
    )
    run_once(config)

    assert [r.path for r in http_server.requests if r.path.startswith("/news/")] == [
        "/news/misleading"
    ]
