"""The last days' entries, held in memory with a word index, so a backtest answers as one types.

`topics test` reads the store and matches every entry (seconds on 100,000 entries);
the console instead keeps the window's entries and, per folded word, the entries
that contain it. A query's anchor groups (`Query.required_terms`: every match has a
word of each group) pick the few candidates; only those are matched and explained,
exactly as `topics test` does (`backtest.match_entry`). New entries are read
incrementally (by id) before each backtest; entries that leave the window are dropped.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.backtest import Hit, match_entry
from monitor.query import Document, Query
from monitor.query.text import prepare
from monitor.store import SeenEntry, Store


class RecentEntries:
    """Entries first seen within `window`, indexed by word."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._lock = threading.Lock()  # refreshed from worker threads (the first read is long)
        self._reset()

    def _reset(self) -> None:
        self._entries: list[SeenEntry] = []
        self._postings: dict[str, array[int]] = {}
        self._last_id = 0

    def refresh(self, store: Store, now: datetime) -> None:
        """Read the entries stored since the last refresh; start over once a window has passed
        (entries older than the window are skipped by `hits` until then)."""
        since = now - self.window
        with self._lock:
            if self._entries and self._entries[0].first_seen < since - self.window:
                self._reset()
            for entry_id, entry in store.entries_after(self._last_id, since):
                self._add(entry)
                self._last_id = entry_id

    def _add(self, entry: SeenEntry) -> None:
        number = len(self._entries)
        self._entries.append(entry)
        source = urlsplit(entry.feed_url).hostname or entry.feed_url
        text = entry.article_text or entry.summary
        doc = prepare(Document(entry.title, text, source, entry.link or ""))
        for word in doc.vocabulary():
            postings = self._postings.get(word)
            if postings is None:
                postings = self._postings[word] = array("i")
            postings.append(number)

    def _candidates(self, query: Query) -> Iterable[int]:
        groups = query.required_terms
        if groups is None:
            return range(len(self._entries))
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
        return range(len(self._entries)) if chosen is None else sorted(chosen)

    def hits(self, query: Query, now: datetime, limit: int) -> tuple[list[Hit], bool]:
        """Matched entries of the window, newest first, at most `limit` of them; and whether
        there were more (a broad query stops early instead of explaining thousands)."""
        since = now - self.window
        found: list[Hit] = []
        for number in reversed(list(self._candidates(query))):
            entry = self._entries[number]
            if entry.first_seen < since:
                continue
            hit = match_entry(query, entry)
            if hit is not None:
                if len(found) == limit:
                    return found, True
                found.append(hit)
        return found, False
