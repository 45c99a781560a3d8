"""What changed in a story book since it was last saved: for replicas sharing one store."""

from __future__ import annotations

from typing import NamedTuple


class Journal:
    """Stories changed or removed, articles placed or moved, what topics were told, and
    whether the book-wide record changed."""

    __slots__ = ("book_changed", "changed", "members", "removed", "told")

    def __init__(self) -> None:
        self.changed: set[str] = set()  # stories added to, joined, delivered or created
        self.removed: set[str] = set()  # stories forgotten (expired, merged away, taken)
        self.members: set[str] = set()  # articles placed, or moved to another story
        self.told: set[tuple[str, str]] = set()  # (story, topic) told something more
        self.book_changed = False  # document frequencies or the sweep time moved

    def change(self, story_id: str) -> None:
        self.changed.add(story_id)

    def remove(self, story_id: str) -> None:
        self.removed.add(story_id)

    def place(self, key: str) -> None:
        self.members.add(key)

    def tell(self, story_id: str, topic: str) -> None:
        self.told.add((story_id, topic))

    def forget(self, story_id: str) -> None:
        """Another process wrote this story: the store already holds what we know."""
        self.changed.discard(story_id)
        self.removed.discard(story_id)

    def take(self) -> Taken:
        """What changed since the last call; the tracking starts afresh."""
        taken = Taken(self.changed, self.removed, self.members, self.told, self.book_changed)
        self.changed, self.removed, self.members, self.told = set(), set(), set(), set()
        self.book_changed = False
        return taken


class Taken(NamedTuple):
    changed: set[str]
    removed: set[str]
    members: set[str]
    told: set[tuple[str, str]]
    book_changed: bool
