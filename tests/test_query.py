"""The topic query language: parsing, matching, explain() and errors."""

from __future__ import annotations

import dataclasses

import pytest

import monitor.query.normalize
from monitor.errors import QueryError
from monitor.query import Query, compile_query, tokenize

SEED = '(Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting)'
SUMMIT_STORY = (
    "Kremlin says Trump invited Putin to White House\n"
    "President Trump floated hosting Russian President Vladimir Putin for a White House"
    " summit, the Kremlin said Monday."
)
STORM_STORY = (
    "Storm batters coastal towns as thousands lose power\n"
    "Emergency crews worked through the night after high winds brought down lines across"
    " the region."
)


def matches(query: str, text: str) -> bool:
    return compile_query(query).matches(text)


def test_seed_topic_matches_the_summit_story() -> None:
    """The seed topic matches a story about a Trump-Putin summit at the White House."""
    query = compile_query(SEED)
    assert query.text == SEED
    assert query.matches(SUMMIT_STORY)


def test_seed_topic_ignores_the_storm_story() -> None:
    """The seed topic does not match an unrelated storm story."""
    assert not compile_query(SEED).matches(STORM_STORY)


def test_seed_topic_needs_every_group() -> None:
    """Dropping the summit/meeting words from the story makes the seed topic fail."""
    assert not matches(SEED, "Kremlin says Trump invited Putin to White House")


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("a OR b AND c", "a", True),  # a OR (b AND c)
        ("a OR b AND c", "b", False),
        ("a OR b AND c", "b c", True),
        ("a OR b c", "a", True),  # implicit AND also binds tighter than OR
        ("a OR b c", "b", False),
        ("(a OR b) c", "a", False),
        ("(a OR b) c", "a c", True),
        ("NOT a AND b", "b", True),  # (NOT a) AND b
        ("NOT a AND b", "a b", False),
        ("NOT a AND b", "c", False),
        ("b NOT a OR c", "a c", True),  # (b AND NOT a) OR c
        ("b NOT a OR c", "a b", False),
    ],
)
def test_precedence(query: str, text: str, expected: bool) -> None:
    """NOT binds tighter than AND (explicit or implicit), which binds tighter than OR."""
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Trump meets Putin", True), ("Putin, then Trump", True), ("Trump alone", False)],
)
def test_implicit_and(text: str, expected: bool) -> None:
    """Adjacent operands behave exactly like an explicit AND."""
    assert matches("Trump Putin", text) is expected
    assert matches("Trump AND Putin", text) is expected


@pytest.mark.parametrize(
    "query",
    ["Putin NOT Trump", "Putin -Trump", "Putin AND NOT Trump", "Putin -(Trump OR Biden)"],
)
def test_not_and_dash_exclude(query: str) -> None:
    """NOT, -term and -(group) exclude texts containing the negated term."""
    assert matches(query, "Putin speaks")
    assert not matches(query, "Putin speaks to Trump")


def test_dash_excludes_a_phrase_but_not_its_scattered_words() -> None:
    """-"phrase" excludes only the phrase, not its words apart."""
    query = compile_query('Putin -"White House"')
    assert not query.matches("Putin at the White House")
    assert query.matches("Putin in a white room of the house")


def test_double_negation_is_positive() -> None:
    """NOT NOT x matches like x."""
    assert matches("NOT NOT storm", "storm warning")
    assert not matches("NOT NOT storm", "calm day")


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("Trump and Putin", "Trump and Putin", True),
        ("Trump and Putin", "Trump, Putin", False),  # `and` is a word that must appear
        ("rock or roll", "rock", False),
        ("Trump not", "Trump is not coming", True),
        ("Trump not", "Trump is coming", False),
    ],
)
def test_lowercase_operators_are_words(query: str, text: str, expected: bool) -> None:
    """Only uppercase AND/OR/NOT are operators; lowercase ones are plain words."""
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("text", "phrase", "words"),
    [
        ("Statement from the White House", True, True),
        ("A white van parked by the house", False, True),
        ("House of white marble", False, True),
        ("White paper, then the White House replied", True, True),  # second occurrence
        ("The White Houses", True, True),  # plurals fold: houses is house
        ("The house is white", False, True),
    ],
)
def test_phrases_need_consecutive_words(text: str, phrase: bool, words: bool) -> None:
    """A quoted phrase needs its words in order and adjacent; bare words may be anywhere."""
    assert matches('"White House"', text) is phrase
    assert matches("White House", text) is words


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Krémlin", "Kremlin says"),
        ("kremlin", "KRÉMLIN SAYS"),
        ("KREMLIN", "the kremlin said"),
        ('"São Paulo"', "flooding in SAO PAULO"),
        ("Strasse", "Die Straße ist gesperrt"),
        ("Zürich", "zurich"),
    ],
)
def test_case_and_accent_insensitive(query: str, text: str) -> None:
    """Matching ignores case and accents on both the query and the text."""
    assert matches(query, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("US\u2013Russia talks", True),  # en dash
        ("US-Russia talks", True),
        ("US — Russia talks", True),  # em dash with spaces
        ("US Russia talks", True),
        ("Russia-US talks", False),
        ("US and Russia talk", False),
    ],
)
def test_dashed_term_is_a_phrase(text: str, expected: bool) -> None:
    """A query term with a dash is the phrase of its parts, whatever dash the text uses."""
    assert matches("US-Russia", text) is expected
    assert matches("US\u2013Russia", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trump's plan", True),
        ("Trump\u2019s plan", True),  # typographic apostrophe
        ("#Trump trends", True),
        ("(Trump)", True),
        ("A trumpet solo", False),
        ("Trumpism explained", False),
        ("DonaldTrump", False),
    ],
)
def test_word_boundaries(text: str, expected: bool) -> None:
    """A term matches whole words only, whatever punctuation surrounds them."""
    assert matches("Trump", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the summit", True),
        ("two summits", True),
        ("nuclear summitry", True),
        ("presummit talks", False),
        ("a meeting", False),
    ],
)
def test_trailing_star_is_a_prefix(text: str, expected: bool) -> None:
    """A trailing * matches any word starting with the term, and only at a word's start."""
    assert matches("summit*", text) is expected


def test_star_on_a_phrase_applies_to_its_last_word() -> None:
    """In a dashed term or phrase, the trailing * is a prefix on the last word only."""
    assert matches("US-Russ*", "US-Russian relations")
    assert matches('"White Hous*"', "White Household")
    assert not matches('"White Hous*"', "Whitehouse")


def test_explain_lists_found_positive_terms_in_query_order() -> None:
    """explain() gives the found positive terms, in query order, as written, once each."""
    query = compile_query(SEED)
    assert query.explain(SUMMIT_STORY) == ("Trump", "White House", "Putin", "Kremlin", "summit")
    assert query.explain("Kremlin summit: Putin meets Trump") == (
        "Trump",
        "Putin",
        "Kremlin",
        "summit",
    )


def test_explain_is_empty_without_a_match() -> None:
    """explain() is () when the query does not match, even if some terms are present."""
    assert compile_query(SEED).explain("Trump and Putin") == ()
    assert compile_query(SEED).explain(STORM_STORY) == ()


def test_explain_skips_negated_terms_and_duplicates() -> None:
    """explain() leaves out negated terms and repeats of the same term."""
    query = compile_query("(storm OR Storm) summit* OR (Krémlin -Trump) OR Putin NOT drill")
    assert query.explain("Storm and summits, Kremlin") == ("storm", "summit*", "Krémlin")
    assert query.explain("Putin and Trump") == ("Putin",)


def test_explain_lists_found_terms_of_every_branch() -> None:
    """explain() lists every positive term found, not only those of the branch that matched."""
    query = compile_query("(storm NOT drill) OR Kremlin")
    assert query.explain("Kremlin storm drill") == ("storm", "Kremlin")


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "the query is empty", 0),
        ("   ", "the query is empty", 0),
        ('"White House', "unterminated quote", 0),
        ('Trump AND "White House', "unterminated quote", 10),
        ("(Trump OR Putin", "unmatched '('", 0),
        ("Trump (Putin OR (Kremlin)", "unmatched '('", 6),
        ("Trump (", "unmatched '('", 6),
        ("Trump OR Putin)", "unmatched ')'", 14),
        (") Trump", "unmatched ')'", 0),
        ("Trump AND", "expected a term, phrase or '(' after 'AND'", 6),
        ("AND Trump", "expected a term, phrase or '(' before 'AND'", 0),
        ("Trump OR OR Putin", "expected a term, phrase or '(' after 'OR'", 6),
        ("Trump OR", "expected a term, phrase or '(' after 'OR'", 6),
        ("Trump NOT", "expected a term, phrase or '(' after 'NOT'", 6),
        ("Trump -OR Putin", "expected a term, phrase or '(' after '-'", 6),
        ("Trump (OR Putin)", "expected a term, phrase or '(' before 'OR'", 7),
        ("Trump AND )", "expected a term, phrase or '(' after 'AND'", 6),
        ("Trump ()", "empty parentheses", 6),
        ("Trump ( )", "empty parentheses", 6),
        ('Trump ""', "empty phrase", 6),
        ('Trump " -- "', "empty phrase", 6),
        ("NOT storm", "at least one term that must appear", 0),
        ("-storm", "at least one term that must appear", 0),
        ("-storm -rain", "at least one term that must appear", 0),
        ("NOT (storm AND rain)", "at least one term that must appear", 0),
        ("storm OR NOT rain", "at least one term that must appear", 9),
        ("Trump - Putin", "expected a term with letters or digits, found '-'", 6),
        ("Trump & Putin", "expected a term with letters or digits, found '&'", 6),
        ("sum*mit", "expected '*' only at the end of a word", 3),
        ('"Wh*ite House"', "expected '*' only at the end of a word", 3),
        ("(" * 60 + "x" + ")" * 60, "nested too deeply", 50),
    ],
)
def test_errors_carry_message_and_position(query: str, message: str, position: int) -> None:
    """Each malformed query raises QueryError naming the problem at its 0-based offset."""
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    assert message in str(caught.value)
    assert caught.value.position == position
    assert caught.value.query == query


def test_error_pointer_marks_the_position() -> None:
    """QueryError.pointer() puts a caret under the offending character."""
    with pytest.raises(QueryError) as caught:
        compile_query('Trump AND "White House')
    assert caught.value.pointer() == 'Trump AND "White House\n          ^'


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Kremlin says", ["kremlin", "says"]),
        ("Krémlin US\u2013Russia", ["kremlin", "us", "russia"]),
        ("Trump's Putins\u2019 O'Brien", ["trump", "putins", "obrien"]),
        ("snake_case x2", ["snake", "case", "x2"]),
        ("Straße ﬁnal", ["strasse", "final"]),
        ("  --  ", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    """tokenize() casefolds, strips accents, drops possessives and splits on the rest."""
    assert tokenize(text) == tokens


def test_document_is_tokenised_once_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """matches() and explain() tokenise the text once, however many terms the query has."""
    query = compile_query(SEED)
    calls: list[str] = []
    split = monitor.query.normalize._tokens

    def counting(norm: str) -> list[str]:
        calls.append(norm)
        return split(norm)

    monkeypatch.setattr(monitor.query.normalize, "_tokens", counting)
    assert query.matches(SUMMIT_STORY)
    assert len(calls) == 1
    assert query.explain(SUMMIT_STORY)
    assert len(calls) == 2


def test_query_is_frozen_and_equal_by_text() -> None:
    """A compiled Query cannot be changed and equals another compiled from the same text."""
    query = compile_query(SEED)
    assert isinstance(query, Query)
    assert query == compile_query(SEED)
    assert hash(query) == hash(compile_query(SEED))
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.text = "storm"  # type: ignore[misc]
