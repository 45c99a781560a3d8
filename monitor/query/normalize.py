"""Text as the matcher sees it: normalised words, folded plurals, a document's fields.

Every string, query or document, goes through the same steps:

1. case and accents: NFKD, combining marks dropped, casefolded (`Krémlin` → `kremlin`);
2. words: runs of letters and digits; anything else separates words, so `US-Russia`,
   `US\u2013Russia` (en dash) and `US Russia` are the same two words;
3. apostrophes (straight, curly and modifier ones alike): a possessive `'s` is
   dropped and an apostrophe inside a word joins it (`Putin's` → `putin`, `O'Brien` → `obrien`);
4. plurals (`fold`): `summits` → `summit`, `boxes` → `box`, `parties` → `party`.

Prefix terms (`summit*`) compare with the words after step 3, before plural folding.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress
from typing import Final

__all__ = [
    "DEFAULT_FIELDS",
    "FIELDS",
    "Document",
    "Field",
    "Prepared",
    "fold",
    "prepare",
    "prepare_text",
    "tokenize",
    "words",
]

FIELDS: Final = ("title", "text", "source", "url")
DEFAULT_FIELDS: Final = ("title", "text")  # where an unscoped term looks

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc")  # straight, right, left, modifier
# ASCII: letters and digits lower-cased, the apostrophe kept, anything else a space
_ASCII_TABLE = str.maketrans(
    {chr(i): chr(i).lower() if chr(i).isalnum() or chr(i) == "'" else " " for i in range(128)}
)
_INVARIANT = frozenset({"news", "series", "species"})  # would fold onto another word
_ES_PLURALS = ("sses", "shes", "ches", "xes", "zzes")  # classes, wishes, churches, boxes
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Document:
    """One entry or article as the matcher sees it."""

    title: str
    text: str = ""  # feed summary, or the article's full text
    source: str = ""  # feed or outlet name
    url: str = ""


class _CharFolds(dict[str, str]):
    """Non-ASCII character → its lower-case, accent-free form, computed on first sight."""

    def __missing__(self, char: str) -> str:
        if char in _APOSTROPHES:
            value = "'"
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
            folded = bare.casefold().lower()  # casefold after stripping adds no marks back
            value = "".join(c if c.isalnum() else " " for c in folded)
        self[char] = value
        return value


_CHAR_FOLDS = _CharFolds()


def _normalise(text: str) -> str:
    """`text` with words lower-case and accent-free, and a space for anything else."""
    if not text.isascii():  # most feeds are ASCII but for their quotes: map only the rest
        text = _NON_ASCII.sub(lambda m: _CHAR_FOLDS[m.group()], text)
    return text.translate(_ASCII_TABLE)


def fold(word: str) -> str:
    """The singular of a normalised English word, by four predictable rules.

    Words under four letters, ending in -ss, -us or -is, and news/series/species stay;
    -sses -shes -ches -xes -zzes drop "es"; other words drop a final "s"; then a final
    "-ie" becomes "-y", so parties, party, movies and movie fold in pairs.
    """
    if len(word) >= 4 and word[-1] == "s" and word not in _INVARIANT:
        if word.endswith(_ES_PLURALS):
            word = word[:-2]
        elif not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    if word.endswith("ie") and len(word) >= 3:
        word = word[:-2] + "y"
    return word


_WORDS: dict[str, str] = {}  # token → word: outer apostrophes, possessive, inner ones gone
_FOLDED: dict[str, str] = {}  # token → folded word
_APOSTROPHES_ONLY: set[str] = set()


def _learn(tokens: set[str]) -> None:
    """Fill the caches for tokens not seen before."""
    if len(_FOLDED) + len(tokens) > _CACHE_LIMIT:
        _WORDS.clear()
        _FOLDED.clear()
    for token in tokens:
        word = token.strip("'")
        if "'" in word:
            if word.endswith("'s"):
                word = word[:-2]
            word = word.replace("'", "")
        _WORDS[token] = word
        _FOLDED[token] = fold(word)
        if not word:
            _APOSTROPHES_ONLY.add(token)


def _tokens(norm: str) -> list[str]:
    """The tokens of a normalised text that hold a letter or digit, known to the caches."""
    tokens = norm.split()
    unseen = set(tokens).difference(_FOLDED)
    if unseen:
        _learn(unseen)
    if "'" in norm and not _APOSTROPHES_ONLY.isdisjoint(tokens):  # a lone ' is no word
        tokens = [t for t in tokens if _WORDS[t]]
    return tokens


def tokenize(text: str) -> list[str]:
    """Lower-case, accent-free words of `text`, possessives and apostrophes removed."""
    return list(map(_WORDS.__getitem__, _tokens(_normalise(text))))


def words(text: str) -> list[str]:
    """The words of `text` as matched: `tokenize` and then `fold` on each."""
    return list(map(_FOLDED.__getitem__, _tokens(_normalise(text))))


class Field:
    """One field of a document, tokenised once; the rest is computed when first asked."""

    __slots__ = (
        "_parts",
        "_postings",
        "_raw",
        "_sorted",
        "_to_text",
        "_tokens",
        "folded",
        "norm",
        "text",
        "vocab",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm = _normalise(text)
        self._tokens = _tokens(self.norm)
        self.folded = list(map(_FOLDED.__getitem__, self._tokens))
        self.vocab = frozenset(self.folded)
        self._raw: list[str] | None = None
        self._sorted: list[str] | None = None
        self._postings: dict[str, list[int]] | None = None
        self._to_text: Callable[[int], int] | None = None
        self._parts: tuple[list[int], list[int]] | None = None

    @property
    def raw(self) -> list[str]:
        """The words before plural folding, for prefix terms."""
        if self._raw is None:
            self._raw = list(map(_WORDS.__getitem__, self._tokens))
        return self._raw

    def sorted_raw(self) -> list[str]:
        """The distinct unfolded words, sorted, for prefix look-ups by bisection."""
        if self._sorted is None:
            self._sorted = sorted(set(self.raw))
        return self._sorted

    def has_prefix(self, prefix: str) -> bool:
        """Whether some word (before folding) starts with `prefix`."""
        ordered = self.sorted_raw()
        i = bisect_left(ordered, prefix)
        return i < len(ordered) and ordered[i].startswith(prefix)

    def with_prefix(self, prefix: str) -> list[str]:
        """The distinct unfolded words that start with `prefix`."""
        ordered = self.sorted_raw()
        i = j = bisect_left(ordered, prefix)
        while j < len(ordered) and ordered[j].startswith(prefix):
            j += 1
        return ordered[i:j]

    def positions(self, word: str) -> list[int]:
        """Token indexes of the folded `word`, ascending."""
        if self._postings is None:
            self._postings = {}
        found = self._postings.get(word)
        if found is None:
            found = self._postings[word] = _find_all(self.folded, word)
        return found

    def raw_positions(self, word: str) -> list[int]:
        """Token indexes of the unfolded `word`, ascending."""
        return _find_all(self.raw, word)

    def char_range(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets in `text` from the start of token `first` to the end of `last`."""
        if self._parts is None:  # the normalised text has one separator, the space
            parts = self.norm.split(" ")
            ends = list(accumulate(map(len, parts)))  # computed in C, unlike a regex scan
            kept = list(compress(range(len(parts)), parts))
            if len(kept) != len(self.folded):  # lone apostrophes are no tokens
                kept = [i for i in kept if _WORDS[parts[i]]]
            self._parts = (kept, ends)
            self._to_text = _offset_map(self.text)
        kept, ends = self._parts
        i, j = kept[first], kept[last]
        a, b = (ends[i - 1] if i else 0) + i, ends[j] + j  # each part ends with one space
        assert self._to_text is not None
        return self._to_text(a), self._to_text(b - 1) + 1


def _find_all(tokens: list[str], word: str) -> list[int]:
    found, i = [], -1
    try:
        while True:  # list.index runs in C: Python only sees each occurrence
            i = tokens.index(word, i + 1)
            found.append(i)
    except ValueError:
        return found


def _offset_map(text: str) -> Callable[[int], int]:
    """Offset in `_normalise(text)` → offset in `text` (they differ after ß, ﬁ, …, marks)."""
    image_starts: list[int] = []  # where each irregular character's image starts
    image_ends: list[int] = []
    origins: list[int] = []
    shifts: list[int] = []  # normalised minus original offset after the character
    shift = 0
    for m in _NON_ASCII.finditer(text):
        size = len(_CHAR_FOLDS[m.group()])
        if size != 1:
            image_starts.append(m.start() + shift)
            image_ends.append(m.start() + shift + size)
            origins.append(m.start())
            shift += size - 1
            shifts.append(shift)

    if not origins:
        return _same

    def to_text(j: int) -> int:
        x = bisect_right(image_starts, j) - 1
        if x < 0:
            return j
        return origins[x] if j < image_ends[x] else j - shifts[x]

    return to_text


def _same(j: int) -> int:
    return j


class Prepared(dict[str, Field]):
    """A document's fields, each tokenised once, when a query first looks at it."""

    __slots__ = ("texts",)

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__()
        self.texts = texts

    def __missing__(self, name: str) -> Field:
        field = self[name] = Field(self.texts[name])
        return field

    def vocabulary(self, fields: Sequence[str] = FIELDS) -> frozenset[str]:
        """Every folded word in these fields."""
        vocabs = [self[name].vocab for name in fields]
        if not vocabs:  # an index of no topics, or of queries without anchor words
            return frozenset()
        return vocabs[0].union(*vocabs[1:]) if len(vocabs) > 1 else vocabs[0]


def prepare(doc: Document) -> Prepared:
    """A document ready for matching: each field is tokenised once, on first use."""
    return Prepared({"title": doc.title, "text": doc.text, "source": doc.source, "url": doc.url})


def prepare_text(text: str) -> Prepared:
    """A bare text that counts as both title and text (the `matches(text)` API)."""
    prepared = prepare(Document(text))
    prepared["title"] = prepared["text"] = Field(text)
    return prepared
