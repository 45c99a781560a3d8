"""Property tests: the parser never crashes, and matching ignores case, accents, punctuation."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import QueryError
from monitor.query import Document, compile_query

QUERY_ALPHABET = st.sampled_from(
    [
        *"abcXYZ ()\"-*:/'\u2019\u2013AND OR NOT NEAR/3 title: url: \u00e9\u00df0",
        "AND",
        "OR",
        "NEAR/2",
    ]
)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=10).filter(
    lambda w: not w.endswith(("s", "ie"))  # a word fold leaves alone, so variants stay exact
)
PUNCTUATION = st.text(
    alphabet=" .,;:!?()[]{}\"'\u00ab\u00bb\u201c\u201d\u2018\u2019\u2014\u2013-/#@&\n\t", max_size=3
)


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_parser_raises_only_query_error_on_any_text(text: str) -> None:
    """compile_query returns a Query or raises QueryError, whatever the input."""
    try:
        compile_query(text)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
        assert "expected" in str(error)


@settings(max_examples=300)
@given(st.lists(QUERY_ALPHABET, max_size=40).map("".join))
def test_parser_raises_only_query_error_on_query_like_text(text: str) -> None:
    """Operator-dense input, too, only ever gives a Query or a QueryError."""
    try:
        query = compile_query(text)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
    else:
        query.match(Document(text, text, text, text))


def accented(word: str) -> str:
    """The word with a combining acute accent on every vowel."""
    return "".join(c + "\u0301" if c in "aeiou" else c for c in word)


@given(WORD, WORD, PUNCTUATION, PUNCTUATION, st.booleans(), st.booleans())
def test_matching_ignores_case_accents_and_punctuation(
    word: str, other: str, before: str, after: str, upper: bool, accents: bool
) -> None:
    """A term matches its word however it is cased, accented or wrapped in punctuation."""
    written = word.upper() if upper else word.title()
    if accents:
        written = unicodedata.normalize("NFC", accented(written))
    text = f"{other} {before}{written}{after} {other}"
    assert compile_query(word).matches(text)
    assert compile_query(accented(word).upper()).matches(text)
    assert compile_query(f'"{other} {word}"').matches(f"{other} {before.strip()}{written}")


@given(WORD, WORD, PUNCTUATION)
def test_matching_does_not_leak_into_other_words(word: str, other: str, glue: str) -> None:
    """A term never matches inside a longer word, whatever punctuation is around."""
    assert not compile_query(word).matches(f"{glue}{other}{word}x{glue}")
