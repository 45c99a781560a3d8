"""Which of a feed's unseen entries are news, and which are backlog (pure).

A feed read for the first time brings its archive: items from last year are not news
to anyone. They are recorded (so `topics test` can use them) but only those published
within the backlog (`service.backlog`, or the feed's own) are sent; an undated entry
counts as old. A feed that comes back after failing sends nothing published before
its last good poll: those entries were news while it failed, not now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.models import Entry, FeedState

__all__ = ["Split", "news_since", "split_backlog"]


@dataclass(frozen=True, slots=True)
class Split:
    news: list[Entry]  # matched against the topics, may be sent
    backlog: list[Entry]  # recorded only


def news_since(state: FeedState, now: datetime, backlog: timedelta) -> datetime | None:
    """The oldest publication time that is still news for this poll (None: any).

    `state` is the feed's state before the poll.
    """
    if state.last_success is None:  # first read: its archive is backlog
        return now - backlog
    if state.consecutive_failures:  # back from failing: only what came after the last read
        return state.last_success
    return None


def split_backlog(
    entries: Sequence[Entry], since: datetime | None, *, undated_is_news: bool
) -> Split:
    """`entries` into news (published at or after `since`) and backlog, in feed order."""
    if since is None:
        return Split(list(entries), [])
    news: list[Entry] = []
    old: list[Entry] = []
    for entry in entries:
        if entry.published is None:
            (news if undated_is_news else old).append(entry)
        else:
            (news if entry.published >= since else old).append(entry)
    return Split(news, old)
