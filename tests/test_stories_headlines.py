"""What a headline-only item must share with a story to join it (monitor/stories/headlines.py,
monitor/stories/joining.py): more than a passing word."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from monitor.config import StoriesSettings
from monitor.stories import StoryArticle, StoryBook, headlines
from monitor.stories.records import Story

T0 = datetime(2014, 3, 10, 17, 0, tzinfo=UTC)


def _mcdonalds(members: int, february: int) -> Story:
    """A story of `members` McDonald's headlines, `february` of them dated "February"."""
    story = Story(
        id="st-mcd",
        members=[f"m{i}" for i in range(members)],
        first=T0,
        last=T0,
        centroid={},
        names=Counter({"McDonald": members}),
        delivered={},
    )
    story.set_centroid({"mcdonald": 3.0, "sale": 2.0, "snow": 1.5, "february": 1.0})
    story.tally = {"mcdonald": members, "sale": members // 2, "snow": 4, "february": february}
    return story


# unit TF-IDF weights of "American cancels 14,000 February flights after storms"
FLIGHTS = {"american": 0.5, "cancel": 0.45, "flight": 0.5, "storm": 0.45, "february": 0.3}


def test_a_passing_word_the_story_owns_does_not_take_a_headline() -> None:
    """The story holds every "february" article, but the word is a small part of the
    headline and of the story: the headline stays out."""
    story = _mcdonalds(members=12, february=5)
    spread = {"mcdonald": 12, "sale": 6, "snow": 4, "february": 5}
    found, why = headlines.by_owner(FLIGHTS, [story], spread, T0, StoriesSettings())
    assert (found, why) == (None, "")


def test_the_word_a_story_is_known_by_takes_a_headline_where_it_weighs_little() -> None:
    """Carried by most of the story's articles, an owned word takes the headline even
    when it is light in it (common by then: "Japan says bitcoin is not a currency")."""
    story = _mcdonalds(members=12, february=9)
    spread = {"mcdonald": 12, "sale": 6, "snow": 4, "february": 9}
    found, why = headlines.by_owner(FLIGHTS, [story], spread, T0, StoriesSettings())
    assert found is story
    assert why == "same story as st-mcd: it holds most articles on february"


def test_an_owned_word_that_weighs_in_the_headline_takes_it() -> None:
    story = _mcdonalds(members=12, february=5)
    spread = {"mcdonald": 12, "sale": 6, "snow": 4, "february": 5}
    vector = {"february": 0.8, "slump": 0.6}
    found, _ = headlines.by_owner(vector, [story], spread, T0, StoriesSettings())
    assert found is story


def _headlines(lines: tuple[str, ...]) -> list[str]:
    book = StoryBook(StoriesSettings())
    out = []
    for i, line in enumerate(lines):
        when = T0 + timedelta(minutes=i)
        item = StoryArticle(f"h{i}", f"https://o{i}.example/{i}", f"o{i}", line, "", when)
        out.append(book.add(item, now=when).story_id)
    return out


def test_one_shared_word_and_no_shared_name_is_not_a_story() -> None:
    """Close enough by cosine (0.26 and 0.45), but one word is all they share."""
    for pair in (
        ("An early look at earnings", "Banks look at bitcoin"),
        ("The energy report", "Energy stocks rally"),
    ):
        stories = _headlines(pair)
        assert stories[0] != stories[1], pair


def test_one_shared_word_and_a_shared_name_is_a_story() -> None:
    stories = _headlines(
        (
            "Mt. Gox files for US bankruptcy protection",
            "Bitcoin exchange Mt. Gox seeks US court shield during Japan bankruptcy",
        )
    )
    assert stories[0] == stories[1]
