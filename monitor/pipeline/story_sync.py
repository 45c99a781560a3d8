"""The story book of this process, kept in step with the store's (and other replicas').

The StoryBook itself is pure, in-memory state. Whoever changes it does so inside
`SharedStories.updating()`: under the store's story lock, what other processes
saved since is absorbed first, and what this process changed is saved before the
lock is let go, so replicas place articles one after another, each seeing the
stories the others made. On SQLite (one process) the store's lock costs nothing and
there is nothing to absorb. Polls run their placement in worker threads (the store
is never called on the event loop), so a thread lock keeps them one at a time here.

The book is read from the store when first needed, not at start: a cycle with no
article to place never reads it, and forgets the stories that left the window in the
store alone (`expire`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from monitor.config import StoriesSettings
from monitor.store.interfaces import StoryRevisions
from monitor.stories import StoryBook


class SharedStories:
    def __init__(
        self, store: StoryRevisions, settings: StoriesSettings, book: StoryBook | None = None
    ) -> None:
        """`book`: one already in step with the store (a new, empty store); else the
        store's is read when first needed."""
        self.store = store
        self.settings = settings
        self._book = book
        self.revision = 0  # the store's revision the book has seen
        self._in_use = threading.Lock()  # one thread changes the book at a time

    @property
    def book(self) -> StoryBook:
        """The book (read from the store now if it was not yet); to look at, not change."""
        if self._book is None:
            with self._in_use:
                return self._up_to_date()
        return self._book

    @contextmanager
    def updating(self, now: datetime) -> Iterator[StoryBook]:
        """The book, up to date, to change; the changes are saved on the way out.

        What else the caller commits inside (the matches placed) is committed under
        the same lock, so no other process places an article in between.
        """
        with self._in_use, self.store.story_lock():
            book = self._up_to_date()
            yield book
            self._save(book, now, flush=False)

    def expire(self, now: datetime) -> None:
        """Forget the stories that left the window, here and in the store, and save
        all the book changed (the end of a cycle: the book-wide record too)."""
        with self._in_use, self.store.story_lock():
            if self._book is None:  # never read: the store forgets them without it
                cutoff = now - self.settings.window
                self.store.expire_stories(cutoff, now, self._keep_removed)
                return
            book = self._up_to_date()
            book.expire(now)
            self._save(book, now, flush=True)

    def _up_to_date(self) -> StoryBook:
        """The book with what other processes saved since it last looked (the caller
        holds the thread lock)."""
        if self._book is None:
            records, _, self.revision = self.store.story_changes_since(0)
            self._book = StoryBook.from_records(self.settings, records)
        elif self.store.shared:
            records, removed, revision = self.store.story_changes_since(self.revision)
            if records or removed:
                self._book.absorb(records, removed)
            self.revision = revision
        return self._book

    def _save(self, book: StoryBook, now: datetime, *, flush: bool) -> None:
        records, removed = book.changed_records(flush=flush)
        if records or removed:
            # a story that took others in lists them: the matches of those merged away
            # now are renamed to it (those merged earlier were renamed then)
            gone = set(removed)
            renamed = {old: r["id"] for r in records for old in r.get("merged", ()) if old in gone}
            self.revision = self.store.save_story_changes(
                records, removed, now, keep_removed=self._keep_removed, renamed=renamed
            )

    @property
    def _keep_removed(self) -> timedelta:
        return 2 * self.settings.window
