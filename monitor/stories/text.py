"""Text features for story matching: terms, names, numbers, sentences, shingles (pure, stdlib).

Everything here is deterministic across processes (no salted `hash()` of strings), so
what is derived from it can be persisted and compared after a restart.
"""

from __future__ import annotations

import re
import sys
from hashlib import blake2b
from typing import cast

_WORD = re.compile(r"[^\W_]+(?:['\u2019.,][^\W_]+)*%?")
_NUMBER = re.compile(r"\d")
# "MtGox", "Mt.Gox", "PayPal": a name written run together, split where a capital follows a small
# letter, so that it meets "Mt. Gox" (not "McDonald" nor "eBay")
_CAMEL = re.compile(r"(?!Ma?c[A-Z])[A-Z][a-z]+(?:\.?[A-Z][a-z]+)+")
_CAMEL_PART = re.compile(r"[A-Z][a-z]+")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SENTENCE_END = re.compile(r"[.!?][\"\u201d\u2019)]*\s+|\n+")
_TITLE_NOISE = re.compile(r"^\s*(?:UPDATE\s*\d*|REFILE|CORRECTED|WRAPUP\s*\d*)\s*[-:]\s*", re.I)
_ABBREVIATIONS = _wordset(
    "mr mrs ms dr st jr sr gov sen rep gen col lt sgt prof inc corp co ltd no vs mt ft "
    "jan feb mar apr aug sept sep oct nov dec u.s u.k u.n e.u d.c"
)

STOPWORDS = _wordset(
    """a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves said says say saying told tells tell just like
    will may might must shall us one two three new news according report reports reported also
    get got make made many much still even back now well way since year years week day days
    time today yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday
    mr mrs ms per via yet however among within without around across already another"""
)


def stem(word: str) -> str:
    """A light suffix stripper: enough to meet 'rejects', 'rejected' and 'rejecting'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _norm(token: str) -> str:
    token = token.lower().replace("\u2019", "'")
    if token.endswith(("'s", "'")):
        token = token.rsplit("'", 1)[0]
    return token.replace(".", "").replace("'", "") if not _NUMBER.match(token) else token


def clean_title(title: str) -> str:
    """The title without wire prefixes such as 'UPDATE 1-' or 'REFILE-'."""
    return _TITLE_NOISE.sub("", title).strip()


# Plain dicts emptied when full, not lru_cache: its entries are lists the garbage
# collector has to walk on every full pass; str -> str dicts it leaves alone.
CACHE_SIZE = 100_000
_words: dict[str, str] = {}
_terms: dict[str, str] = {}
_ids: dict[str, int] = {}
_SPLIT: set[str] = set()  # terms of run-together names, parts joined by a space


def _word(token: str) -> str:
    word = _words.get(token)
    if word is None:
        if len(_words) >= CACHE_SIZE:
            _words.clear()
        word = _words[token] = _norm(token).rstrip(".,")
    return word


def tokens(text: str) -> list[str]:
    """The raw word tokens of a text ("U.S.", "6.2%", "don't" are one token each)."""
    return _WORD.findall(text)


def word_ids(tokens: list[str]) -> list[int]:
    """Stable 64-bit ids of the words of raw tokens (as `words` gives them), for shingles.

    One cached lookup per token, in C when every token is known (the id is blake2b of
    the word, the same in every process); tokens that give no word have none.
    """
    known: list[int | None] = list(map(_ids.get, tokens))
    ids = (
        [_word_id(t) if i is None else i for t, i in zip(tokens, known, strict=True)]
        if None in known
        else cast(list[int], known)
    )
    return list(filter(None, ids)) if 0 in ids else ids


def _word_id(token: str) -> int:
    if len(_ids) >= CACHE_SIZE:
        _ids.clear()
    word = _word(token)
    found = _ids[token] = (
        int.from_bytes(blake2b(word.encode(), digest_size=8).digest()) if word else 0
    )
    return found


def words(text: str) -> list[str]:
    """Lower-case word tokens (numbers kept)."""
    cache = _words
    out = []
    for token in _WORD.findall(text):
        word = cache.get(token)
        if word is None:
            word = _word(token)
        if word:
            out.append(word)
    return out


def _term(token: str) -> str:
    """The term of one raw token, '' when it is not significant (cached: words repeat).

    A run-together name gives the terms of its parts, joined by a space.
    """
    term = _terms.get(token)
    if term is None:
        if len(_terms) >= CACHE_SIZE:
            _terms.clear()
            _SPLIT.clear()
        parts = [_term(p) for p in _CAMEL_PART.findall(token)] if _CAMEL.fullmatch(token) else []
        if parts and all(parts):
            term = " ".join(parts)
            _SPLIT.add(term)
        else:
            word = _word(token)
            if len(word) < 2 or word in STOPWORDS:
                term = ""
            else:
                term = sys.intern(word if _NUMBER.match(word) else stem(word))
        _terms[token] = term
    return term


def terms(text: str) -> list[str]:
    """Significant terms: stemmed words without stopwords and one-letter tokens."""
    return _terms_of(_WORD.findall(text))


def _terms_of(tokens: list[str]) -> list[str]:
    found = list(map(_terms.get, tokens))  # in C when every token is known
    if None in found:
        found = [_term(t) if term is None else term for t, term in zip(tokens, found, strict=True)]
    out = list(filter(None, found))
    if not _SPLIT.isdisjoint(out):  # run-together names give the terms of their parts
        out = [part for term in out for part in term.split()]
    return out


def numbers(text: str) -> set[str]:
    """The figures a text states ('6.2%', '14,000' -> '14000')."""
    return numbers_in(_WORD.findall(text))


def numbers_in(tokens: list[str]) -> set[str]:
    # str.isdecimal is what \d matches, without a regex call per token
    return {t.replace(",", "") for t in tokens if t[0].isdecimal()}


def _is_title_case(tokens: list[str]) -> bool:
    long = [t for t in tokens if len(t) > 3 and t[0].isalpha()]
    return bool(long) and sum(t[0].isupper() for t in long) >= 0.7 * len(long)


def names(text: str) -> set[str]:
    """Capitalised phrases ('Kim Jong Un', 'White House'), lower-cased and joined by spaces.

    A single capitalised word opening a sentence counts only when it is not a stopword;
    a line in Title Case (a headline) gives nothing, since every word is capitalised there.
    """
    found: set[str] = set()
    for sentence in split_sentences(text):
        found |= names_in(_WORD.findall(sentence))
    return found


def names_in(tokens: list[str]) -> set[str]:
    """The names among the tokens of one sentence (see `names`)."""
    found: set[str] = set()
    if _is_title_case(tokens):
        return found
    run: list[str] = []
    for i, token in enumerate([*tokens, "."]):
        if token[:1].isupper() and not (i == 0 and _word(token) in STOPWORDS):
            run.append(_word(token))
            continue
        if run:
            phrase = " ".join(w for w in run if w)
            if phrase and phrase not in STOPWORDS and len(phrase) > 1:
                found.add(sys.intern(phrase))
            run = []
    return found


def sentence_tokens(text: str) -> list[tuple[str, list[str]]]:
    """The sentences of a text, each with its raw tokens.

    The tokens of all sentences, in order, are those of the whole text: sentences end
    at whitespace, which no token spans.
    """
    return [(sentence, _WORD.findall(sentence)) for sentence in split_sentences(text)]


def features(tokens: list[str]) -> tuple[list[str], set[str], set[str]]:
    """Terms, names and figures of one sentence's tokens."""
    return _terms_of(tokens), names_in(tokens), numbers_in(tokens)


def split_sentences(text: str) -> list[str]:
    """Sentences of a text: split after . ! ? (not after 'Mr.' or 'U.S.') and at line breaks."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + (text[match.start()] != "\n")  # the stop belongs to the sentence
        piece = text[start:end]
        last = piece.rsplit(None, 1)[-1].lower().rstrip(".") if piece.strip() else ""
        next_char = text[match.end() : match.end() + 1]
        if "\n" not in match.group() and (
            last in _ABBREVIATIONS or len(last) == 1 or (next_char and next_char.islower())
        ):
            continue
        if piece.strip():
            out.append(piece.strip())
        start = match.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out
