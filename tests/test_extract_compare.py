"""monitor.extract.compare: feed text against page text, feed date against page date."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.extract import better_text, check_date, overlap
from monitor.models import Article

STORY = " ".join(f"Sentence {i} of the council story tells what happened next." for i in range(40))


def _article(text: str) -> Article:
    return Article(url="https://example.com/a", title="T", text=text)


def test_full_feed_content_is_used_instead_of_the_page() -> None:
    """Feed content as long as the page and with the same 4-grams wins over the page."""
    choice = better_text(STORY, _article(STORY + " Share this article."))
    assert choice is not None and choice.source == "feed"


def test_excerpt_in_feed_loses_to_the_page() -> None:
    """A feed excerpt (a fraction of the page's length) does not replace the page."""
    choice = better_text(STORY[:400], _article(STORY))
    assert choice is not None and choice.source == "page"


def test_different_feed_text_of_the_same_length_loses() -> None:
    """Feed content of similar length but other words (a teaser list, another story) loses."""
    other = " ".join(f"Unrelated line {i} about the weather and sport." for i in range(50))
    choice = better_text(other, _article(STORY))
    assert choice is not None and choice.source == "page"


def test_failed_page_falls_back_to_any_feed_content() -> None:
    """Without an article the feed's content is used, and None when there is none either."""
    choice = better_text("Short feed text.", None)
    assert choice is not None and choice.source == "feed"
    assert better_text(None, None) is None
    assert better_text("  ", None) is None


def test_no_feed_content_keeps_the_page() -> None:
    """Without feed content the page's text is used."""
    choice = better_text(None, _article(STORY))
    assert choice is not None and choice.source == "page" and choice.text == STORY


def test_feed_date_kept_when_page_agrees() -> None:
    """A page date within a day of the feed's keeps the feed's precise date, without a note."""
    feed = datetime(2018, 4, 2, 23, 30, tzinfo=UTC)
    choice = check_date(feed, "2018-04-03")
    assert choice.date == feed and choice.source == "feed" and choice.note is None


def test_disagreeing_dates_keep_the_feed_date_with_a_note() -> None:
    """When the page's date is days away from the feed's, the feed's is kept and noted."""
    feed = datetime(2018, 4, 20, 8, 0, tzinfo=UTC)
    choice = check_date(feed, "2018-04-02")
    assert choice.date == feed and choice.note == "the page gives the date 2018-04-02"


def test_page_date_used_when_feed_has_none() -> None:
    """Without a feed date the page's date (midnight UTC) is used, unless it is in the future."""
    choice = check_date(None, "2018-04-02", now=datetime(2018, 4, 5, tzinfo=UTC))
    assert choice.date == datetime(2018, 4, 2, tzinfo=UTC) and choice.source == "page"
    future = check_date(None, "2030-01-01", now=datetime(2018, 4, 5, tzinfo=UTC))
    assert future.date is None and future.source is None
    assert check_date(None, "not a date").date is None


def test_overlap_scores_shingles() -> None:
    """Precision, recall and F1 are 1 for identical texts and 0 for disjoint ones."""
    assert overlap(STORY, STORY) == (1.0, 1.0, 1.0)
    assert overlap(STORY, "completely different words in this text here")[2] == 0.0
