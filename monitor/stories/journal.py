"""What changed in a story book since it was last saved: for replicas sharing one store."""

from __future__ import annotations


class Journal:
    """Stories changed or removed, articles placed or moved, and whether the book-wide
    record changed."""

    __slots__ = ("book_changed", "changed", "members", "removed")

    def __init__(self) -> None:
        self.changed: set[str] = set()  # stories added to, joined, delivered or created
        self.removed: set[str] = set()  # stories forgotten (expired, merged away, taken)
        self.members: set[str] = set()  # articles placed, or moved to another story
        self.book_changed = False  # document frequencies or the sweep time moved

    def change(self, story_id: str) -> None:
        self.changed.add(story_id)

    def remove(self, story_id: str) -> None:
        self.removed.add(story_id)

    def place(self, key: str) -> None:
        self.members.add(key)

    def forget(self, story_id: str) -> None:
        """Another process wrote this story: the store already holds what we know."""
        self.changed.discard(story_id)
        self.removed.discard(story_id)

    def take(self) -> tuple[set[str], set[str], set[str], bool]:
        """What changed since the last call (changed ids, removed ids, placed article keys,
        book record); the tracking starts afresh."""
        taken = (self.changed, self.removed, self.members, self.book_changed)
        self.changed, self.removed, self.members = set(), set(), set()
        self.book_changed = False
        return taken
