"""The query language added for issue 3: NEAR, fields, folding, Document, Explanation."""

from __future__ import annotations

import pytest

from monitor.errors import QueryError
from monitor.query import Document, Explanation, Hit, compile_query
from monitor.query.normalize import fold

SUMMIT = Document(
    title="Kremlin says Trump invited Putin to White House",
    text=(
        "President Trump floated hosting Russian President Vladimir Putin for a White House"
        " summit, the Kremlin said Monday."
    ),
    source="Reuters",
    url="https://www.reuters.com/world/kremlin-trump-summit",
)


def match(query: str, doc: Document) -> Explanation | None:
    return compile_query(query).match(doc)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Trump NEAR/5 Putin", True),
        ("Putin NEAR/5 Trump", True),  # either order
        ("Trump NEAR/3 Putin", True),  # "Trump invited Putin": one word between
        ("Trump NEAR/0 Putin", False),
        ('"White House" NEAR/0 summit', True),  # phrases are operands too
        ("Vladimir NEAR/0 Putin", True),
        ("Kremlin NEAR/1 summit", True),  # "summit, the Kremlin" in the text
        ("Kremlin NEAR/0 summit", False),
    ],
)
def test_near_counts_the_words_between(query: str, expected: bool) -> None:
    """NEAR/n matches when at most n words separate the two sides, in either order."""
    assert (match(query, SUMMIT) is not None) is expected


def test_near_stays_within_one_field() -> None:
    """NEAR does not pair the last word of the title with the first word of the text."""
    doc = Document(title="Talks end with Putin", text="Trump flies home")
    assert match("Putin NEAR/2 Trump", doc) is None
    assert match("Putin Trump", doc) is not None


def test_near_needs_two_mentions_of_a_repeated_term() -> None:
    """`x NEAR/n x` needs two occurrences of x, not one."""
    assert match("Trump NEAR/20 Trump", Document("Trump speaks")) is None
    assert match("Trump NEAR/20 Trump", Document("Trump speaks, Trump leaves")) is not None


def test_near_chain_pairs_neighbours() -> None:
    """`a NEAR/n b NEAR/n c` means a near b and b near c."""
    assert match("Trump NEAR/1 invited NEAR/1 Putin", SUMMIT) is not None
    assert match("Trump NEAR/1 invited NEAR/0 White", SUMMIT) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("title:Kremlin", True),
        ("title:summit", False),  # summit is only in the text
        ("text:summit", True),
        ("summit", True),  # unscoped: title and text
        ("Reuters", False),  # unscoped terms do not look at the source
        ("source:Reuters", True),
        ('source:"reuters"', True),
        ("url:reuters", True),
        ("url:kremlin-trump", True),
        ("title:(summit OR meeting)", False),
        ("text:(summit OR meeting)", True),
        ('title:"White House"', True),
        ("title:(Trump NEAR/2 Putin)", True),
        ("TITLE:kremlin", True),  # field names ignore case
        ("title: Kremlin", True),  # a space after the colon is allowed
        ("title:(Kremlin text:summit)", True),  # the innermost scope wins
        ("-source:Reuters Kremlin", False),
    ],
)
def test_field_scopes(query: str, expected: bool) -> None:
    """title: text: source: url: limit a term, phrase or group to one field."""
    assert (match(query, SUMMIT) is not None) is expected


def test_unknown_field_is_an_ordinary_word() -> None:
    """A colon after a word that is not a field name is just a separator."""
    assert compile_query("time:10").matches("at time 10 today")


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("summit", "two summits"),
        ("summits", "one summit"),
        ("Putin", "Putin's plan"),
        ("Putin's", "a Putin plan"),
        ("Putin", "the Putins' dacha"),
        ("Putin", "Putin\u2019s plan"),
        ("party", "both parties"),
        ("parties", "the party"),
        ("box", "three boxes"),
        ("church", "old churches"),
        ("class", "many classes"),
        ("movie", "new movies"),
        ("house", "the houses"),
        ("tariff", "steel tariffs"),
    ],
)
def test_plurals_and_possessives_fold(query: str, text: str) -> None:
    """English plurals (s, es, ies) and possessives ('s, s') match the singular and back."""
    assert compile_query(query).matches(text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("news", "new"),  # news is not the plural of new
        ("US", "U"),  # -us stays
        ("Paris", "Pari"),  # -is stays
        ("boss", "bos"),  # -ss stays
        ("gas", "ga"),  # words under four letters stay
    ],
)
def test_folding_leaves_non_plurals_alone(query: str, text: str) -> None:
    """Words ending in -ss, -us, -is, short words and `news` are not plurals."""
    assert not compile_query(query).matches(text)


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("summits", "summit"),
        ("parties", "party"),
        ("wishes", "wish"),
        ("buzzes", "buzz"),
        ("taxes", "tax"),
        ("series", "series"),
        ("status", "status"),
        ("crisis", "crisis"),
        ("its", "its"),
        ("movie", "movy"),
    ],
)
def test_fold_rules(word: str, folded: str) -> None:
    """fold() applies the documented suffix rules and nothing else."""
    assert fold(word) == folded


@pytest.mark.parametrize("query", ["US-Russia", "US\u2013Russia", '"US Russia"', "us\u2014russia"])
@pytest.mark.parametrize("text", ["US-Russia talks", "US\u2013Russia talks", "US Russia talks"])
def test_hyphen_variants_are_alike(query: str, text: str) -> None:
    """Hyphen, en dash, em dash and a space between words all match each other."""
    assert compile_query(query).matches(text)


@pytest.mark.parametrize("query", ["O'Brien", "O\u2019Brien", "OBrien"])
@pytest.mark.parametrize("text", ["O'Brien said", "O\u2019Brien said", "O\u02bcBrien said"])
def test_apostrophe_variants_are_alike(query: str, text: str) -> None:
    """A straight, curly or modifier apostrophe inside a word is dropped alike."""
    assert compile_query(query).matches(text)


def test_prefix_compares_unfolded_words() -> None:
    """`news*` finds newsroom and news, while the plain word `new` is not folded into it."""
    query = compile_query("news*")
    assert query.matches("the newsroom")
    assert query.matches("the news")
    assert not query.matches("a new day")


def test_explanation_lists_terms_hits_and_snippet() -> None:
    """match() gives the positive terms in query order, a hit per field, and a snippet."""
    explanation = match(
        '(Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting) -storm', SUMMIT
    )
    assert explanation is not None
    assert explanation.terms == ("Trump", "White House", "Putin", "Kremlin", "summit")
    assert Hit("Trump", "title", 1) in explanation.hits
    assert Hit("summit", "text", 1) in explanation.hits
    assert all(hit.term != "storm" for hit in explanation.hits)
    assert explanation.snippet == SUMMIT.text


def test_hits_count_occurrences_per_field() -> None:
    """A Hit counts the occurrences of its term in one field, plurals included."""
    doc = Document("Summit talk", "The summit, then more summits, and a summit dinner.")
    explanation = match("summit", doc)
    assert explanation is not None
    assert explanation.hits == (Hit("summit", "title", 1), Hit("summit", "text", 3))


def test_snippet_centres_on_the_densest_cluster_of_hits() -> None:
    """The snippet is cut around the place where hits cluster, with "…" at cut ends."""
    filler = "Officials met again to discuss routine budget matters for the region. " * 12
    busy = "At the summit Trump and Putin held a long summit meeting on Ukraine."
    doc = Document("Weekly roundup", filler + busy + " " + filler + " One more summit later.")
    explanation = match("summit Trump Putin", doc)
    assert explanation is not None
    snippet = explanation.snippet
    assert busy in snippet
    assert snippet.startswith("\u2026") and snippet.endswith("\u2026")
    assert len(snippet) <= 240 + 2
    assert "  " not in snippet and "\n" not in snippet


def test_snippet_keeps_original_casing_and_whole_words() -> None:
    """The snippet shows the text as written and does not cut words in half."""
    text = " ".join(["Lorem ipsum dolor sit amet."] * 30) + " The KRÉMLIN spoke. " + "Tail " * 80
    explanation = match("kremlin", Document("x", text))
    assert explanation is not None
    assert "KRÉMLIN" in explanation.snippet
    body = explanation.snippet.strip("\u2026")
    assert body.split()[0] in {"Lorem", "ipsum", "dolor", "sit", "amet.", "The"}
    assert body.split()[-1] in {"Tail", "spoke."}


def test_snippet_falls_back_to_the_title() -> None:
    """Without text, the snippet is the title."""
    explanation = match("Kremlin", Document("Kremlin\nsays no"))
    assert explanation is not None
    assert explanation.snippet == "Kremlin says no"


def test_match_returns_none_without_a_match() -> None:
    """match() is None when the document does not satisfy the query."""
    assert match("storm", SUMMIT) is None


def test_matches_text_counts_as_title_and_text() -> None:
    """matches(text) and explain(text) treat the text as both title and text."""
    query = compile_query("title:Kremlin text:summit")
    assert query.matches("Kremlin summit")
    assert query.explain("Kremlin summit") == ("Kremlin", "summit")


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("Trump NEAR Putin", "expected '/n' after NEAR, e.g. NEAR/5", 6),
        ("Trump NEAR/x Putin", "expected a number of words from 0 to 100 after 'NEAR/'", 11),
        ("Trump NEAR/500 Putin", "expected a number of words from 0 to 100", 11),
        ("Trump NEAR/5", "expected a term, phrase or '(' after 'NEAR/5'", 6),
        ("(a OR b) NEAR/5 c", "expected a term or phrase before 'NEAR/5'", 9),
        ("a NEAR/5 (b OR c)", "expected a term or phrase after 'NEAR/5'", 2),
        ("NEAR/5 Putin", "expected a term, phrase or '(' before 'NEAR/5'", 0),
        ("title:a NEAR/5 url:b", "expected both sides of 'NEAR/5' to search the same field", 8),
        ("Trump source:", "expected a term, phrase or '(' after 'source:'", 6),
        ("title:OR summit", "expected a term, phrase or '(' after 'title:'", 0),
        ("title:" * 60 + "x", "nested too deeply", 300),
    ],
)
def test_new_syntax_errors_say_what_was_expected(query: str, message: str, position: int) -> None:
    """Errors in NEAR and field scopes say what was expected, at the right position."""
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    assert message in str(caught.value)
    assert "expected" in str(caught.value)
    assert caught.value.position == position


def test_error_shows_query_and_caret() -> None:
    """The user sees the query and a caret under the problem, as pointer() prints it."""
    with pytest.raises(QueryError) as caught:
        compile_query("Trump NEAR Putin")
    assert caught.value.pointer() == "Trump NEAR Putin\n      ^"


def test_every_error_message_says_what_was_expected() -> None:
    """Each kind of parse error names what the parser expected."""
    broken = ["", '"a', "(a", "a)", "a AND", "AND a", "()", '""', "&", "a*b", "NOT a", "a NEAR"]
    for query in broken:
        with pytest.raises(QueryError, match="expected"):
            compile_query(query)


def test_documents_and_explanations_are_frozen_values() -> None:
    """Document, Hit and Explanation are immutable and compare by value."""
    assert Document("a") == Document("a", "", "", "")
    assert Hit("a", "title", 1) == Hit("a", "title", 1)
    with pytest.raises(AttributeError):
        SUMMIT.title = "x"  # type: ignore[misc]
