"""Golden scenarios of the alert contract, through the whole pipeline to a real webhook.

Feeds and pages are served on 127.0.0.1, `once` runs with the clock at each step, and
the digests the webhook receiver got are read back: what was sent as a new story, what
as a development (threaded under the first digest), what was folded.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.cycle_commands import summary
from monitor.config import load_settings
from monitor.service.runtime import CycleReport, once
from tests.scenario import TOPIC_QUERY, write_config
from tests.scenario import WIRE as SCENARIO_WIRE
from tests.servers import LoopbackHTTPServer, Reply

pytestmark = pytest.mark.slow

DAY1 = datetime(2018, 4, 2, 12, 0, tzinfo=UTC)

WIRE = SCENARIO_WIRE[:3]  # the wire copy three outlets carry
# Another outlet's own write-up a day later: not one sentence in common with WIRE.
FOLLOW_UP = [
    "The Kremlin invitation for a Trump and Putin summit at the White House drew a cautious "
    "answer from Secretary of State Mike Pompeo on Tuesday.",
    "White House press secretary Sarah Sanders said no date or venue for the summit had "
    "been agreed, and that the invitation from the March phone call still stood.",
    "Foreign Minister Sergei Lavrov added that Moscow would send envoys to prepare the "
    "agenda of a Putin visit once Washington named the date.",
]


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body>"
        f"<article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def rss(outlet: str, items: list[dict[str, Any]]) -> bytes:
    """RSS 2.0 with items of guid, title, link (optional), description and published."""
    xml = ""
    for item in items:
        link = f"<link>{item['link']}</link>" if item.get("link") else ""
        xml += (
            f"<item><title>{item['title']}</title>{link}<guid>{item['guid']}</guid>"
            f"<description>{item['description']}</description>"
            f"<pubDate>{format_datetime(item['published'])}</pubDate></item>"
        )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>'
        f"{xml}</channel></rss>"
    ).encode()


class World:
    """Outlets with feeds and pages on the loopback server, and the webhook's digests."""

    def __init__(
        self,
        server: LoopbackHTTPServer,
        tmp_path: Path,
        outlets: list[str],
        query: str | None = None,
    ) -> None:
        self.server = server
        self.items: dict[str, list[dict[str, Any]]] = {outlet: [] for outlet in outlets}
        self.server.route("/hook", Reply(b"ok"))
        feeds = [self._serve_feed(outlet) for outlet in outlets]
        self.config = write_config(tmp_path, feeds=feeds, hook_url=server.url("/hook"))
        text = self.config.read_text(encoding="utf-8")
        for outlet in outlets:
            text = text.replace('name = "Example News"', f'name = "{outlet}"', 1)
        if query is not None:
            text = text.replace(TOPIC_QUERY, query)
        self.config.write_text(text, encoding="utf-8")

    def _serve_feed(self, outlet: str) -> str:
        return self.server.route(f"/{outlet}/feed.xml", Reply(rss(outlet, self.items[outlet])))

    def publish(
        self,
        outlet: str,
        slug: str,
        title: str,
        paragraphs: list[str] | None,
        published: datetime,
        description: str | None = None,
    ) -> None:
        """Add an item to the outlet's feed; with paragraphs, it links to its page.

        The feed's description is the page's text unless given, so that a page that is
        slow to fetch on a loaded machine leaves the story as it is.
        """
        link = None
        description = description or " ".join(paragraphs or [title])
        if paragraphs is not None:
            link = self.server.route(f"/{outlet}/{slug}", Reply(page(title, paragraphs)))
        self.items[outlet].insert(
            0,
            {
                "guid": f"{outlet}-{slug}",
                "title": title,
                "link": link,
                "description": description,
                "published": published,
            },
        )
        self._serve_feed(outlet)

    def run(self, now: datetime) -> CycleReport:
        return asyncio.run(once(load_settings(self.config), clock=lambda: now))

    def digests(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.server.requests if r.path == "/hook"]


def items_of(digest: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in digest["sections"] for item in section["items"]]


def test_an_all_new_follow_up_is_a_threaded_development(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """Another outlet's own next-day write-up goes out as a development, never a new story."""
    world = World(http_server, tmp_path, ["wire", "daily"])
    world.publish(
        "wire", "summit", "Kremlin says Trump invited Putin to White House summit", WIRE, DAY1
    )
    world.run(DAY1 + timedelta(hours=1))
    later = DAY1 + timedelta(days=1)
    world.publish(
        "daily", "answer", "White House cautious on Kremlin summit invitation", FOLLOW_UP, later
    )
    world.run(later + timedelta(hours=1))

    first, second = world.digests()
    (opened,) = items_of(first)
    (update,) = items_of(second)
    assert opened["story"]["kind"] == "new_story"
    assert update["story"]["kind"] == "development"
    assert update["story"]["id"] == opened["story"]["id"]
    assert len(update["story"]["what_is_new"]) == len(FOLLOW_UP), "all of it is new"
    assert update["story"]["also_reported_by"] == []  # nothing was folded into it
    assert second["replies_to"] == [first["id"]]


def test_a_one_line_entry_that_opens_a_story_is_sent(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A title-only entry without a page, the first of its story, is sent, not lost."""
    world = World(http_server, tmp_path, ["wire"])
    world.publish(
        "wire",
        "off",
        "Trump summit off",
        None,
        DAY1,
        description="Putin summit off.",
    )
    report = world.run(DAY1 + timedelta(hours=1))

    (digest,) = world.digests()
    (item,) = items_of(digest)
    assert item["title"] == "Trump summit off"
    assert item["story"]["kind"] == "new_story"
    assert report.delivery.sent == 1


def test_a_later_re_post_listed_first_never_opens_the_story(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """In one poll the original (published first) opens the story; the re-post is folded."""
    world = World(http_server, tmp_path, ["wire"])
    headline = "Kremlin says Trump invited Putin to White House summit"
    world.publish("wire", "original", headline, WIRE, DAY1)
    world.publish(
        "wire", "repost", "Putin invited to Washington", WIRE, DAY1 + timedelta(hours=3)
    )  # listed first in the feed, published later
    report = world.run(DAY1 + timedelta(hours=4))

    (digest,) = world.digests()
    (item,) = items_of(digest)
    assert item["url"].endswith("/wire/original")
    assert item["story"]["kind"] == "new_story"
    # the summary adds up: one match to send, the re-post folded into its story
    assert "matches: 1 (and 1 folded into stories already reported)" in summary(report)


KOREAN_SUMMIT = [
    "South Korean President Moon Jae-in and North Korean leader Kim Jong Un will hold a "
    "summit meeting at the border village of Panmunjom on Friday, officials in Seoul said.",
    "The two leaders are expected to open talks on the nuclear program, and the "
    "president's office said preparations for the meeting were complete.",
    "It will be the first summit between the leaders of the two Koreas in more than a "
    "decade, after months of talks between their delegations.",
]

STORM = [
    [
        "Storm Emma brought heavy snow and freezing winds to southern England on Thursday, "
        "closing hundreds of schools and cutting power to thousands of homes.",
        "The Met Office issued a red weather warning for Devon and Cornwall, where drifts "
        "of snow stranded drivers on the A30 overnight.",
    ],
    [
        "Drivers stranded by Storm Emma on the A30 in Cornwall were rescued on Friday after "
        "a night in their cars, as snow kept falling across the south west.",
        "The Met Office extended its weather warning for snow and ice into the weekend, "
        "and Network Rail cancelled trains from Exeter.",
    ],
    [
        "The thaw after Storm Emma began on Saturday, but burst pipes left thousands of homes "
        "in Devon and Cornwall without water, South West Water said.",
        "The Met Office said the snow warning would lapse on Sunday as milder air reached "
        "the south west, and trains from Exeter ran again.",
    ],
]


def test_two_summits_between_different_leaders_are_two_stories(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """Summit, meeting, president, talks: generic words shared do not make one story."""
    world = World(http_server, tmp_path, ["wire", "asia"], query="summit OR meeting")
    world.publish(
        "wire", "summit", "Kremlin says Trump invited Putin to White House summit", WIRE, DAY1
    )
    world.publish(
        "asia",
        "koreas",
        "Moon and Kim to hold summit meeting at Panmunjom",
        KOREAN_SUMMIT,
        DAY1 + timedelta(hours=2),
    )
    world.run(DAY1 + timedelta(hours=3))

    items = [item for digest in world.digests() for item in items_of(digest)]
    assert [item["story"]["kind"] for item in items] == ["new_story", "new_story"]
    assert len({item["story"]["id"] for item in items}) == 2
    assert all(item["story"]["also_reported_by"] == [] for item in items)


def test_an_event_over_three_days_is_one_story(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A storm reported on three days by three outlets: one story, two threaded updates."""
    world = World(http_server, tmp_path, ["bbc", "guardian", "itv"], query="storm OR snow")
    titles = [
        "Storm Emma brings snow and red warning to south west",
        "Drivers rescued on A30 as Storm Emma snow continues",
        "Thaw after Storm Emma leaves homes without water",
    ]
    for day, (outlet, title, text) in enumerate(
        zip(["bbc", "guardian", "itv"], titles, STORM, strict=True)
    ):
        published = DAY1 + timedelta(days=day)
        world.publish(outlet, f"storm-{day}", title, text, published)
        world.run(published + timedelta(hours=1))

    digests = world.digests()
    items = [item for digest in digests for item in items_of(digest)]
    assert [item["story"]["kind"] for item in items] == ["new_story", "development", "development"]
    assert len({item["story"]["id"] for item in items}) == 1
    assert digests[1]["replies_to"] == [digests[0]["id"]]
    assert digests[2]["replies_to"] == [digests[0]["id"], digests[1]["id"]]
