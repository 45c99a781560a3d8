"""Where each matching article of a poll stands in its story, for each topic it matched.

The alert contract, per topic: the first article of a story a topic hears of is a
`new_story` and is sent, however short; a later one with anything not yet sent on the
topic is a `development` (its `new_sentences` are exactly that, never empty), even when
all of it is new; one that adds nothing is folded into the story: `duplicate` for a copy
of an article already placed, else `also_reported`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.models import Entry, FeedState, Match
from monitor.pipeline.story_sync import SharedStories
from monitor.store.interfaces import PollRecords
from monitor.stories import StoryArticle, StoryBook

Candidate = tuple[StoryArticle, Sequence[Match]]  # an article and its matches, one per topic


def place(book: StoryBook | None, candidates: Sequence[Candidate], now: datetime) -> list[Match]:
    """Every match of the candidates with its story and kind (without a book: as they are).

    Articles are placed in publication order (stable), so that a re-post listed before
    its original in a feed never opens the story.
    """
    if book is None:
        return [match for _, matches in candidates for match in matches]
    ordered = sorted(candidates, key=lambda candidate: candidate[0].published)
    return [m for article, matches in ordered for m in place_one(book, article, matches, now)]


def place_one(
    book: StoryBook, article: StoryArticle, found: Sequence[Match], now: datetime
) -> list[Match]:
    """One article's matches with where it stands in its story on each topic."""
    decision = book.add(article, now=now)
    placed = []
    for match in found:
        told = book.was_told(decision.story_id, match.topic)
        new = book.novelty(decision.story_id, match.topic, article)
        if not told:
            kind = "new_story"
        elif new:
            kind = "development"
        else:
            kind = "duplicate" if decision.kind == "duplicate" else "also_reported"
        if new or kind == "new_story":  # queued now, so delivered: at least once
            book.mark_delivered(decision.story_id, match.topic, new or (article.title,))
        placed.append(
            replace(
                match,
                story_id=decision.story_id,
                story_kind=kind,
                story_reason=decision.reason,
                new_sentences=new if kind == "development" else (),
            )
        )
    return placed


def place_and_record(
    store: PollRecords,
    stories: SharedStories | None,
    new: Sequence[Entry],
    candidates: Sequence[Candidate],
    now: datetime,
    routes: Mapping[str, Sequence[str]],
    *,
    feed: tuple[FeedState, str | None, timedelta | None],
) -> tuple[list[Match], int]:
    """Place the candidates in their stories and record the entries, the matches and the
    feed's new state in one transaction, under the story lock; blocking (a worker thread
    runs it, so the lock and the store may wait while other feeds' polls go on)."""
    with _updating(stories, now, bool(candidates)) as book:
        found = place(book, candidates, now)
        return found, store.record_entries(new, found, now, routes, feed=feed)


def _updating(
    stories: SharedStories | None, now: datetime, needed: bool
) -> AbstractContextManager[StoryBook | None]:
    """The story book to place articles in, up to date and saved after (None: no book)."""
    if stories is None or not needed:
        return nullcontext()
    return stories.updating(now)
