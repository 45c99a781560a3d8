"""TopicIndex: the same answers as checking every query, from far fewer checks."""

from __future__ import annotations

import random

import pytest

from monitor.errors import QueryError
from monitor.query import Document, Query, TopicIndex, compile_query
from monitor.query.normalize import prepare

_VOCABULARY = (
    "trump putin kremlin summit meeting tariffs steel china iran deal nuclear korea kim"
    " pompeo comey memos mueller russia wikileaks lawsuit caravan border migrants macron"
    " netanyahu israel fed rates ebay icahn markets stocks oil"
)
WORDS = _VOCABULARY.split()
PHRASES = ['"White House"', '"North Korea"', '"Kim Jong Un"', '"Democratic Party"']
FIELDS = ("title:", "text:", "source:", "")


def random_query(rng: random.Random) -> str:
    """A query mixing every operator, from a small vocabulary so that documents hit it."""

    def term() -> str:
        word = rng.choice(WORDS + PHRASES)
        if rng.random() < 0.1 and not word.startswith('"'):
            word = word[: rng.randint(2, len(word))] + "*"
        if rng.random() < 0.15:
            word = word + "s" if not word.endswith(('"', "*")) else word
        return rng.choice(FIELDS) + word

    def group(depth: int) -> str:
        kind = rng.randrange(6 if depth < 2 else 2)
        if kind == 0:
            return term()
        if kind == 1:
            return f"{term()} NEAR/{rng.randrange(6)} {term()}"
        parts = [group(depth + 1) for _ in range(rng.randint(2, 3))]
        if kind == 2:
            return "(" + " OR ".join(parts) + ")"
        if kind == 3:
            return "(" + " AND ".join(parts) + ")"
        if kind == 4:
            return f"({parts[0]} -{parts[1]})"
        return f"{rng.choice(FIELDS)}({' '.join(parts)})"

    return group(0)


def random_document(rng: random.Random) -> Document:
    """A short document made of the same vocabulary plus filler."""

    def words(n: int) -> str:
        pool = [*WORDS, "the", "a", "said", "on", "White House", "North Korea", "Trump's"]
        return " ".join(rng.choice(pool) for _ in range(n))

    return Document(words(rng.randint(2, 8)), words(rng.randint(0, 40)), words(2))


def compile_many(seed: int, n: int) -> dict[str, Query]:
    rng = random.Random(seed)
    queries: dict[str, Query] = {}
    while len(queries) < n:
        try:
            queries[f"t{len(queries)}"] = compile_query(random_query(rng))
        except QueryError:  # a generated query may exclude everything: skip it
            continue
    return queries


def test_index_agrees_with_every_query_on_a_sample() -> None:
    """TopicIndex.match gives exactly the topics and explanations of each query's match."""
    queries = compile_many(seed=42, n=300)
    index = TopicIndex(queries)
    rng = random.Random(7)
    matched = 0
    for _ in range(400):
        doc = random_document(rng)
        expected = {n: e for n, q in queries.items() if (e := q.match(doc)) is not None}
        assert index.match(doc) == expected
        assert index.topics(doc) == list(expected)
        matched += len(expected)
    assert matched > 100  # the sample exercises real matches, not only misses


def test_index_checks_only_candidates() -> None:
    """A document is evaluated only against topics whose anchor words it contains."""
    queries = {
        "summit": compile_query("(Trump OR Biden) AND summit"),
        "storm": compile_query("storm -drill"),
        "tariffs": compile_query("steel NEAR/3 tariff*"),
    }
    index = TopicIndex(queries)
    assert [index._names[n] for n in index.candidates(prepare(Document("A storm")))] == ["storm"]
    assert index.candidates(prepare(Document("Trump speaks"))) == []  # summit is missing
    assert index.match(Document("Steel tariffs rise")).keys() == {"tariffs"}


def test_anchors_need_a_word_of_every_group() -> None:
    """required_terms holds one group per AND child, and an OR pools its children."""
    groups = compile_query("(Trump OR Biden) AND summit*").required_terms
    assert groups is not None
    assert {(g.words, g.prefixes) for g in groups} == {
        (frozenset({"trump", "biden"}), frozenset()),
        (frozenset(), frozenset({"summit"})),
    }


@pytest.mark.parametrize("query", ["a OR (b -c)", "(a -b) OR (c -d)", '"white house" NEAR/2 b'])
def test_every_accepted_query_has_anchors(query: str) -> None:
    """Queries that pass the empty-document check can be indexed by their words."""
    assert compile_query(query).required_terms is not None


def test_queries_without_anchors_are_always_checked() -> None:
    """A query whose only positive part sits under an OR with a NOT is checked every time."""
    query = compile_query("(a OR -b) c")
    assert query.required_terms is not None  # c anchors it
    index = TopicIndex({"x": query})
    assert index.match(Document("c")).keys() == {"x"}
    assert index.match(Document("b c")) == {}


def test_index_keeps_the_given_topic_order() -> None:
    """Matches come back in the order the topics were given."""
    queries = {name: compile_query("summit") for name in ("zeta", "alpha", "mid")}
    assert list(TopicIndex(queries).match(Document("summit"))) == ["zeta", "alpha", "mid"]
