"""The StoryBook's state as plain dicts that JSON can hold, and back.

A story's record holds only what stays bounded however large the story grows (its
centroid, term counts, the commonest names, first and last, the stories merged into
it); each of its articles is a record of its own ("member"), written once when the
article is placed and again only when it moves to another story; what each topic was
told of it is one more ("told", up to `novelty.MAX_KNOWN` sentences), written when
something is delivered. Saving a placement so costs what was placed, not the size of
the stories it joined nor what they told.
"""

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

# 2: articles and what was told are records of their own; 1 (older stores) kept them in
# the story's record, and is still read (`inline_members`, `story_from`).
RECORD_VERSION = 2
READABLE_VERSIONS = (1, 2)
# Names kept per story, the commonest: they tell the story's actors apart from its event
# terms (monitor/stories/joining.py), and a story of thousands of articles would otherwise
# keep every name any of them mentioned. Past twice this many, the rarest go.
MAX_NAMES = 300


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
    members: set[str]  # the keys of its articles
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

    def add_names(self, found: Counter[str] | set[str]) -> None:
        """Count the names an article (or a merged story) brings; keep the commonest."""
        self.names.update(found)
        if len(self.names) > 2 * MAX_NAMES:
            kept = sorted(self.names.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_NAMES]
            self.names = Counter(dict(kept))


def story_record(story: Story) -> dict[str, Any]:
    return {
        "id": story.id,
        "type": "story",
        "version": RECORD_VERSION,
        "first": story.first.isoformat(),
        "last": story.last.isoformat(),
        "centroid": story.centroid,
        "names": dict(story.names),
        "tally": story.tally,
        "merged": story.merged,
    }


def told_record(story_id: str, topic: str, told: Told) -> dict[str, Any]:
    told_of = {"id": f"{story_id}:{topic}", "type": "told", "story": story_id, "topic": topic}
    return {**told_of, **told.to_record()}


def member_record(member: Member) -> dict[str, Any]:
    return {
        "id": member.key,
        "type": "member",
        "story": member.story_id,
        "url": member.url,
        "source": member.source,
        "title": member.title,
        "published": member.published.isoformat(),
        "duplicate_of": member.duplicate_of,
        "sig": fingerprint.to_hex(member.sig),
    }


def story_from(record: dict[str, Any]) -> Story:
    """A story from its record, with no members and nothing told yet (records of their
    own; a version-1 record holds what was told)."""
    story = Story(
        id=record["id"],
        members=set(),
        first=datetime.fromisoformat(record["first"]),
        last=datetime.fromisoformat(record["last"]),
        centroid={str(t): float(w) for t, w in record["centroid"].items()},
        names=Counter({str(n): int(c) for n, c in record["names"].items()}),
        delivered={t: Told.from_record(r) for t, r in record.get("delivered", {}).items()},
        tally={str(t): int(n) for t, n in record.get("tally", {}).items()},
        merged=[str(old) for old in record.get("merged", ())],
    )
    story.set_centroid(story.centroid)
    return story


def member_from(record: dict[str, Any]) -> Member:
    return Member(
        key=record["id"],
        url=record["url"],
        source=record["source"],
        title=record["title"],
        published=datetime.fromisoformat(record["published"]),
        story_id=record["story"],
        duplicate_of=record["duplicate_of"],
        sig=fingerprint.from_hex(record["sig"]),
    )


def inline_members(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The member records a version-1 story record listed inside it (none in version 2)."""
    return [
        {"type": "member", "id": item["key"], "story": record["id"], **item}
        for item in record.get("members", ())
    ]
