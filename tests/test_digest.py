"""Digests: when they are due, how they read, and the JSON document's schema."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources

import jsonschema
import pytest

from monitor.config import Schedule, TopicConfig
from monitor.delivery.compose import (
    build_digest,
    in_quiet_hours,
    is_due,
    render,
    safe_link,
    subject_for,
)
from tests.factories import NOW, digest_of, match, topic


@pytest.mark.parametrize(
    ("schedule", "last", "oldest", "due"),
    [
        ("immediate", NOW - timedelta(seconds=1), NOW, True),
        ("every 1h", None, NOW, True),  # the first digest comes at once
        ("every 1h", NOW - timedelta(minutes=59), NOW, False),
        ("every 1h", NOW - timedelta(minutes=60), NOW, True),
        ("0 7 * * *", None, NOW - timedelta(hours=1), False),  # found at 8:30, next 7:00 tomorrow
        ("0 7 * * *", None, NOW - timedelta(hours=3), True),  # found at 6:30, 7:00 has passed
        ("0 7 * * *", NOW - timedelta(hours=2, minutes=30), NOW, False),  # sent at 7:00 today
        ("0 7 * * *", NOW - timedelta(days=1, hours=2), NOW - timedelta(hours=20), True),
    ],
)
def test_is_due(schedule: str, last: datetime | None, oldest: datetime, due: bool) -> None:
    """A digest is due by its topic's schedule, counted from the last digest."""
    result = is_due(Schedule.parse(schedule), last_digest=last, oldest_pending=oldest, now=NOW)

    assert result is due


def test_cron_uses_the_configured_time_zone() -> None:
    """A cron line is read in service.timezone: 7:00 in Tokyo is 22:00 UTC."""
    schedule = Schedule.parse("0 7 * * *")
    oldest = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)

    at_2130 = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
    at_2201 = datetime(2026, 3, 1, 22, 1, tzinfo=UTC)

    assert not is_due(
        schedule, last_digest=None, oldest_pending=oldest, now=at_2130, timezone="Asia/Tokyo"
    )
    assert is_due(
        schedule, last_digest=None, oldest_pending=oldest, now=at_2201, timezone="Asia/Tokyo"
    )


def test_subject_has_no_line_breaks() -> None:
    """The subject is one line: CR, LF and control characters are removed."""
    digest = digest_of(match("Breaking\r\nBcc: evil@example.org\x07"))

    subject = subject_for(digest)

    assert "\r" not in subject and "\n" not in subject and "\x07" not in subject
    assert subject.startswith("US-Russia summit: Breaking")


def test_subject_counts_more_stories() -> None:
    """With several stories the subject names the first and counts the rest."""
    digest = digest_of(match(url="https://e.org/1"), match(url="https://e.org/2"))

    assert subject_for(digest).endswith("(+1 more)")


def test_render_escapes_html_and_keeps_paragraphs() -> None:
    """HTML is escaped in the HTML part; paragraphs, links, source and note are shown."""
    rendered = render(digest_of(match()))

    assert "&lt;b&gt;bold&lt;/b&gt;" in rendered.html and "<b>bold</b>" not in rendered.html
    assert rendered.html.count('<p style="margin:0 0 10px 0;">') == 2
    assert 'href="https://e.org/a"' in rendered.html
    assert "Second paragraph." in rendered.text
    assert "Example News" in rendered.text and "could not be fetched" in rendered.text


def test_json_document_follows_its_schema() -> None:
    """The webhook document validates against the schema shipped in monitor/schemas/."""
    schema = json.loads(
        resources.files("monitor").joinpath("schemas/digest-v1.schema.json").read_text()
    )
    rendered = render(digest_of(match()))
    document = json.loads(rendered.json)

    jsonschema.validate(document, schema)
    assert document["id"] == rendered.key
    assert document["sections"][0]["items"][0]["matched_terms"] == ["Trump", "Putin"]


def test_digest_key_is_stable_for_the_same_content() -> None:
    """The same stories at the same time give the same key; other stories another key."""
    one = digest_of(match()).key

    assert digest_of(match()).key == one
    assert digest_of(match(url="https://e.org/b")).key != one


def test_one_digest_per_channel_holds_every_due_topic() -> None:
    """Two due topics for one channel become two sections of one message."""
    other = TopicConfig(name="storms", title="Storms", query="storm")
    digest = build_digest(
        "inbox",
        [(topic(), [match()]), (other, [match("Storm hits coast", "https://e.org/s")])],
        NOW,
    )
    rendered = render(digest)

    assert [s.topic for s in digest.sections] == ["summit", "storms"]
    assert subject_for(digest).startswith("2 new stories: US-Russia summit, Storms")
    assert "Storm hits coast" in rendered.text and "Kremlin says" in rendered.text


def test_items_past_the_cap_are_listed_as_headlines() -> None:
    """Past digest.max_items, stories are listed as 'And N more' headlines, none dropped."""
    items = [match(f"Story {n}", f"https://e.org/{n}") for n in range(5)]

    digest = digest_of(*items, max_items=2)
    rendered = render(digest)

    assert len(digest.sections[0].items) == 2 and len(digest.sections[0].more) == 3
    assert "And 3 more:" in rendered.text and "And 3 more:" in rendered.html
    assert all(f"Story {n}" in rendered.text for n in range(5))
    assert rendered.text.count("Second paragraph.") == 2


def test_only_http_links_are_rendered() -> None:
    """A javascript: or relative link is not rendered as a link."""
    rendered = render(digest_of(match(url="javascript:alert(1)")))

    assert "javascript:" not in rendered.html and "javascript:" not in rendered.text
    assert safe_link("https://e.org/x") == "https://e.org/x"
    assert safe_link("/relative") is None and safe_link("data:text/html,hi") is None


@pytest.mark.parametrize(
    ("hour", "quiet"),
    [(21, False), (22, True), (23, True), (3, True), (6, True), (7, False), (12, False)],
)
def test_quiet_hours_cross_midnight(hour: int, quiet: bool) -> None:
    """Quiet hours 22:00-07:00 cover the night in the configured time zone."""
    from datetime import time

    now = datetime(2026, 3, 2, hour, 30, tzinfo=UTC)

    assert in_quiet_hours(now, (time(22), time(7)), "UTC") is quiet


def test_lead_image_only_when_asked() -> None:
    """The lead image appears in the HTML part only with digest.images on, and only http(s)."""
    item = replace(match(), image="https://e.org/lead.jpg")
    bad = replace(match(url="https://e.org/b"), image="javascript:alert(1)")

    assert "<img" not in render(digest_of(item)).html
    shown = render(digest_of(item, bad), images=True).html
    assert shown.count("<img") == 1 and 'src="https://e.org/lead.jpg"' in shown
