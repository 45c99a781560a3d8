"""Which entries are worth fetching the article of, from the query's structure alone."""

from __future__ import annotations

import pytest

from monitor.query import Document, TopicIndex, compile_query
from monitor.query.normalize import prepare

SUMMIT = '(Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting)'


@pytest.mark.parametrize(
    ("query", "title", "summary", "worth"),
    [
        (SUMMIT, "Kremlin comments", "Putin's aide spoke.", False),  # one part of three
        (SUMMIT, "Kremlin comments", "Putin's aide spoke of a meeting.", True),  # two
        (SUMMIT, "Trump and Putin meet", "A summit.", True),  # all: a match already
        ("zephyr", "Weather", "Rain.", False),  # one part: the summary must hold it
        ("zephyr AND NOT sport", "Weather", "Rain.", False),  # an exclusion is no evidence
        ("a AND b AND c AND d", "a b", "", True),  # half of four
        ("a AND b AND c AND d", "a", "", False),
        ("title:summit AND Putin AND Trump", "Putin and Trump", "a summit", False),  # title only
        ("summit AND Putin AND NOT football", "summit Putin", "football", False),  # excluded
        ("(a AND b AND c) OR zephyr", "a b", "", True),  # one branch is promising
        ("Trump NEAR/3 Putin", "Trump", "", True),
    ],
)
def test_promising_follows_the_query_structure(
    query: str, title: str, summary: str, worth: bool
) -> None:
    """At least half of an AND's parts held, the rest still possible in the article."""
    compiled = compile_query(query)

    assert compiled.promising_prepared(prepare(Document(title, summary))) is worth


def test_index_names_only_promising_topics() -> None:
    """The index's wider net takes a topic only when the entry holds half of it."""
    index = TopicIndex({"summit": compile_query(SUMMIT), "zephyr": compile_query("zephyr")})

    assert index.promising(Document("Kremlin comments", "Putin's aide spoke.")) == []
    assert index.promising(Document("Kremlin meeting", "")) == ["summit"]
    assert index.loosely(Document("Kremlin comments", "")) == ["summit"]
