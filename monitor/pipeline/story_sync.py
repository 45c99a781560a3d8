"""The story book of this process, kept in step with the store's (and other replicas').

The StoryBook itself is pure, in-memory state. Whoever changes it does so inside
`SharedStories.updating()`: under the store's story lock, what other processes
saved since is absorbed first, and what this process changed is saved before the
lock is let go, so replicas place articles one after another, each seeing the
stories the others made. On SQLite (one process) the store's lock costs nothing and
there is nothing to absorb. Polls run their placement in worker threads (the store
is never called on the event loop), so a thread lock keeps them one at a time here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from monitor.config import StoriesSettings
from monitor.store.interfaces import StoryRevisions
from monitor.stories import StoryBook


class SharedStories:
    def __init__(self, store: StoryRevisions, book: StoryBook, revision: int) -> None:
        self.store = store
        self.book = book
        self.revision = revision  # the store's revision this book has seen
        self._in_use = threading.Lock()  # one thread changes the book at a time

    @classmethod
    def load(cls, store: StoryRevisions, settings: StoriesSettings) -> SharedStories:
        records, _, revision = store.story_changes_since(0)
        return cls(store, StoryBook.from_records(settings, records), revision)

    @contextmanager
    def updating(self, now: datetime) -> Iterator[StoryBook]:
        """The book, up to date, to change; the changes are saved on the way out.

        What else the caller commits inside (the matches placed) is committed under
        the same lock, so no other process places an article in between.
        """
        with self._in_use, self.store.story_lock():
            if self.store.shared:
                records, removed, revision = self.store.story_changes_since(self.revision)
                if records or removed:
                    self.book.absorb(records, removed)
                self.revision = revision
            yield self.book
            self.save(now)

    def save(self, now: datetime) -> None:
        records, removed = self.book.changed_records()
        if records or removed:
            # a story that took others in lists them: their matches are renamed to it
            renamed = {old: r["id"] for r in records for old in r.get("merged", ())}
            self.revision = self.store.save_story_changes(
                records,
                removed,
                now,
                keep_removed=2 * self.book.settings.window,
                renamed=renamed,
            )
