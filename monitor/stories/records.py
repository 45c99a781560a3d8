"""The StoryBook's state as plain dicts that JSON can hold, and back."""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.stories import fingerprint
from monitor.stories.novelty import Told
from monitor.stories.vectors import heaviest

RECORD_VERSION = 1


@dataclass(slots=True)
class Member:
    key: str
    url: str
    source: str
    title: str
    published: datetime
    story_id: str
    duplicate_of: str | None
    sig: array[int]


@dataclass(slots=True)
class Story:
    id: str
    members: list[str]
    first: datetime
    last: datetime
    centroid: dict[str, float]
    names: Counter[str]
    delivered: dict[str, Told]  # per topic, what was sent
    index_terms: tuple[str, ...] = ()
    # how many of the members carry each centroid term (what the story is about, by count)
    tally: dict[str, int] = field(default_factory=dict)
    norm: float = 1.0  # Euclidean norm of the centroid, kept with it (derived, not persisted)
    merged: list[str] = field(default_factory=list)  # ids of the stories merged into this one

    def top_terms(self, n: int) -> tuple[str, ...]:
        return tuple(term for term, _ in heaviest(self.centroid, n))

    def set_centroid(self, centroid: dict[str, float]) -> None:
        self.centroid = centroid
        self.norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0


def story_record(story: Story, members: dict[str, Member]) -> dict[str, Any]:
    return {
        "id": story.id,
        "type": "story",
        "version": RECORD_VERSION,
        "first": story.first.isoformat(),
        "last": story.last.isoformat(),
        "centroid": story.centroid,
        "names": dict(story.names),
        "tally": story.tally,
        "delivered": {topic: told.to_record() for topic, told in story.delivered.items()},
        "merged": story.merged,
        "members": [
            {
                "key": m.key,
                "url": m.url,
                "source": m.source,
                "title": m.title,
                "published": m.published.isoformat(),
                "duplicate_of": m.duplicate_of,
                "sig": fingerprint.to_hex(m.sig),
            }
            for m in (members[key] for key in story.members)
        ],
    }


def story_from(record: dict[str, Any]) -> Story:
    story = Story(
        id=record["id"],
        members=[item["key"] for item in record["members"]],
        first=datetime.fromisoformat(record["first"]),
        last=datetime.fromisoformat(record["last"]),
        centroid={str(t): float(w) for t, w in record["centroid"].items()},
        names=Counter({str(n): int(c) for n, c in record["names"].items()}),
        delivered={t: Told.from_record(r) for t, r in record["delivered"].items()},
        tally={str(t): int(n) for t, n in record.get("tally", {}).items()},
        merged=[str(old) for old in record.get("merged", ())],
    )
    story.set_centroid(story.centroid)
    return story


def member_from(item: dict[str, Any], story_id: str) -> Member:
    return Member(
        key=item["key"],
        url=item["url"],
        source=item["source"],
        title=item["title"],
        published=datetime.fromisoformat(item["published"]),
        story_id=story_id,
        duplicate_of=item["duplicate_of"],
        sig=fingerprint.from_hex(item["sig"]),
    )
