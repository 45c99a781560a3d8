"""Pure helpers for the pipeline: feed text or page text, feed date or page date.

Also the word 4-gram shingle measure that `bench/extraction.py` scores extraction with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from monitor.models import Article

_WORD = re.compile(r"\w+")

# The feed's content replaces the page when it is at least this long relative to the page's
# text and contains at least this share of the page's 4-grams.
FEED_MIN_LENGTH_RATIO = 0.8
FEED_MIN_OVERLAP = 0.8


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """The set of word n-grams of `text`, lower-cased (ScrapingHub's measure uses n = 4)."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def overlap(truth: str, got: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of `got`'s 4-grams against `truth`'s."""
    expected, found = shingles(truth), shingles(got)
    if not found or not expected:
        empty = 1.0 if not found and not expected else 0.0
        return empty, empty, empty
    common = len(expected & found)
    precision, recall = common / len(found), common / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


@dataclass(frozen=True, slots=True)
class TextChoice:
    """The text to show for an entry and where it came from."""

    text: str
    source: Literal["feed", "page"]


def better_text(
    feed_content: str | None, article: Article | None, *, min_chars: int = 200
) -> TextChoice | None:
    """The page's text, or the feed's own full content when it is as good; None if neither.

    The feed's content (content:encoded, as plain text) wins when the page gave nothing, or
    when it is at least 80 % as long as the page's text and holds at least 80 % of the
    page's 4-grams: then it is the same article, as the publisher wrote it, without the
    risk of extraction noise. A feed content under `min_chars` is an excerpt, not the article,
    unless the page failed (then it is still better than the summary).
    """
    feed = (feed_content or "").strip()
    if article is None or not article.text.strip():
        return TextChoice(feed, "feed") if feed else None
    page = article.text.strip()
    if len(feed) < min_chars or len(_squash(feed)) < FEED_MIN_LENGTH_RATIO * len(_squash(page)):
        return TextChoice(page, "page")
    page_grams = shingles(page)
    if not page_grams:
        return TextChoice(feed, "feed")
    covered = len(page_grams & shingles(feed)) / len(page_grams)
    return TextChoice(feed, "feed") if covered >= FEED_MIN_OVERLAP else TextChoice(page, "page")


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class DateChoice:
    """The publication date to show, where it came from and a note when the sources differ."""

    date: datetime | None
    source: Literal["feed", "page"] | None
    note: str | None = None


def check_date(
    feed_date: datetime | None,
    page_date: str | None,
    *,
    tolerance: timedelta = timedelta(days=1),
    now: datetime | None = None,
) -> DateChoice:
    """The feed's date checked against the page's (trafilatura's ISO date, day precision).

    The feed's date wins whenever it is present: it has a time and a zone, and it is the date
    the entry is ordered by. The page's date is used when the feed has none (and it is not in
    the future, relative to `now`). When both are present and differ by more than `tolerance`
    the feed's date is kept and `note` says what the page claims, e.g. an old story the feed
    republished, or a page showing its last update.
    """
    page = _parse_day(page_date)
    if page is not None and now is not None and page > now + tolerance:
        page = None  # a date in the future is a misreading (an event date, an expiry)
    if feed_date is None:
        return DateChoice(page, "page" if page else None)
    if feed_date.tzinfo is None:
        feed_date = feed_date.replace(tzinfo=UTC)
    if page is None:
        return DateChoice(feed_date, "feed")
    # The page has only a day: it disagrees when the feed's instant is outside that day
    # widened by the tolerance on both sides (time zones shift a date by up to a day).
    if page - tolerance <= feed_date < page + timedelta(days=1) + tolerance:
        return DateChoice(feed_date, "feed")
    return DateChoice(feed_date, "feed", note=f"the page gives the date {page:%Y-%m-%d}")


def _parse_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)
