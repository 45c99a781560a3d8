"""A word index of the last days' entries, so a backtest answers as one types.

`topics test` reads the store and matches every entry (seconds on 100,000 entries);
the console instead keeps, per folded word, the ids of the window's entries that
contain it (the texts stay in the store). A query's anchor groups
(`Query.required_terms`: every match has a word of each group) pick the candidates;
only those are read back, newest first and in batches, and matched and explained
exactly as `topics test` does (`topic_trial.match_entry`). New entries are indexed
incrementally (by id) before each backtest.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from monitor.config import FeedConfig
from monitor.query import Document, Query
from monitor.query.normalize import prepare
from monitor.store import SeenEntry
from monitor.store.interfaces import PastEntries
from monitor.topic_trial import Hit, match_entry, source_namer

BATCH = 500  # candidates read back from the store at a time


class RecentEntries:
    """Entries first seen within `window`, indexed by word."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._lock = threading.Lock()  # refreshed from worker threads (the first read is long)
        self._reset()

    def _reset(self) -> None:
        self._ids = array("q")  # entry ids, in the order indexed (ascending)
        self._postings: dict[str, array[int]] = {}  # word -> positions in _ids
        self._oldest: datetime | None = None

    def refresh(self, store: PastEntries, now: datetime, namer: Callable[[str], str]) -> None:
        """Index the entries stored since the last refresh; start over once a window has
        passed (entries older than the window are skipped by `hits` until then)."""
        since = now - self.window
        with self._lock:
            if self._oldest is not None and self._oldest < since - self.window:
                self._reset()
            last = self._ids[-1] if self._ids else 0
            for entry_id, entry in store.entries_after(last, since):
                self._add(entry_id, entry, namer)

    def _add(self, entry_id: int, entry: SeenEntry, namer: Callable[[str], str]) -> None:
        number = len(self._ids)
        self._ids.append(entry_id)
        if self._oldest is None:
            self._oldest = entry.first_seen
        source = namer(entry.feed_url)  # as the hits name it, so `source:` terms narrow alike
        text = entry.article_text or entry.summary
        doc = prepare(Document(entry.title, text, source, entry.link or ""))
        for word in doc.vocabulary():
            postings = self._postings.get(word)
            if postings is None:
                postings = self._postings[word] = array("i")
            postings.append(number)

    def _candidates(self, query: Query) -> Sequence[int]:
        """Positions of the entries that may match, ascending."""
        everything = range(len(self._ids))
        groups = query.required_terms
        if groups is None:
            return everything
        chosen: set[int] | None = None
        for group in groups:
            if group.prefixes:
                continue  # prefixes are not indexed: this group does not narrow the search
            found: set[int] = set()
            for word in group.words:
                found.update(self._postings.get(word, ()))
            chosen = found if chosen is None else chosen & found
            if not chosen:
                return ()
        return everything if chosen is None else sorted(chosen)

    def hits(
        self,
        store: PastEntries,
        query: Query,
        now: datetime,
        limit: int,
        namer: Callable[[str], str],
    ) -> tuple[list[Hit], bool]:
        """Matched entries of the window, newest first, at most `limit` of them; and whether
        there were more (a broad query stops early instead of explaining thousands)."""
        since = now - self.window
        with self._lock:
            ids = [self._ids[n] for n in reversed(self._candidates(query))]
        found: list[Hit] = []
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            read = store.entries_by_id(batch)
            for entry_id in batch:
                entry = read.get(entry_id)
                if entry is None or entry.first_seen < since:
                    continue
                hit = match_entry(query, entry, namer)
                if hit is not None:
                    if len(found) == limit:
                        return found, True
                    found.append(hit)
        return found, False

    def warm(self, store: PastEntries, now: datetime, feeds: Sequence[FeedConfig]) -> None:
        """The first, long read of the window, its sources named as digests name them."""
        self.refresh(store, now, source_namer(store, feeds))

    def backtest(
        self,
        store: PastEntries,
        query: Query,
        now: datetime,
        limit: int,
        feeds: Sequence[FeedConfig],
    ) -> tuple[list[Hit], bool]:
        """Take in what was stored since, then `hits`: one read of the feeds' names for both."""
        namer = source_namer(store, feeds)
        self.refresh(store, now, namer)
        return self.hits(store, query, now, limit, namer)
