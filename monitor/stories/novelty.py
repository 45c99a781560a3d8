"""What is new: sentences that carry information not yet told (pure, persistable).

A sentence is reduced to its significant terms, names and figures. It is *told* when
an earlier sentence contains most of its terms (a paraphrase) and it brings no new
name or figure; it is *new* otherwise, provided it brings something the earlier text
lacked: a name, a figure, or at least two significant terms never used before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from monitor.stories.text import features, sentence_tokens

MIN_TERMS = 3  # shorter sentences ("Read more.", "Photo: AP") are never news on their own
MAX_KNOWN = 400  # sentences kept per story and per topic; the vocabulary keeps the rest


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    terms: frozenset[str]
    names: frozenset[str]
    numbers: frozenset[str]


def analyse(text: str) -> list[Sentence]:
    """The sentences of a text with their features; very short ones are left out."""
    return analyse_all(sentence_tokens(text))[0]


def as_sentence(text: str) -> Sentence:
    """One sentence with its features, however short (a title, a one-line entry)."""
    tokens = [token for _, piece in sentence_tokens(text) for token in piece]
    found, names, numbers = features(tokens)
    return Sentence(text, frozenset(found), frozenset(names), frozenset(numbers))


def analyse_all(pieces: list[tuple[str, list[str]]]) -> tuple[list[Sentence], Counter[str]]:
    """The sentences worth comparing, and the term counts of the whole text, from its
    sentences and their tokens (`text.sentence_tokens`)."""
    out = []
    counts: Counter[str] = Counter()
    for sentence, tokens in pieces:
        found, names, numbers = features(tokens)
        counts.update(found)
        if len(set(found)) >= MIN_TERMS:
            out.append(Sentence(sentence, frozenset(found), frozenset(names), frozenset(numbers)))
    return out, counts


class Told:
    """What has been told of a story (to everyone, or on one topic)."""

    __slots__ = ("_index", "names", "numbers", "sentences", "vocabulary")

    def __init__(self) -> None:
        self.sentences: list[tuple[str, ...]] = []  # tuples: the GC leaves them alone
        self.vocabulary: set[str] = set()
        self.names: set[str] = set()  # the words of the names told
        self.numbers: set[str] = set()
        self._index: dict[str, tuple[int, ...]] = {}

    def add(self, found: frozenset[str], names_: frozenset[str], numbers_: frozenset[str]) -> None:
        self.add_features(found, names_, numbers_)
        if len(self.sentences) >= MAX_KNOWN:
            return
        position = (len(self.sentences),)
        self.sentences.append(tuple(found))
        index = self._index
        get = index.get
        for term in found:
            index[term] = get(term, ()) + position

    def add_features(
        self, found: frozenset[str], names_: frozenset[str], numbers_: frozenset[str]
    ) -> None:
        """The sentence's terms, names and numbers, without the sentence."""
        self.vocabulary |= found
        self.names.update(word for name in names_ for word in name.split())
        self.numbers |= numbers_

    def tell(self, sentences: list[Sentence]) -> None:
        for sentence in sentences:
            self.add(sentence.terms, sentence.names, sentence.numbers)

    def overlap(self, found: frozenset[str]) -> float:
        """The largest share of `found` that one told sentence contains."""
        hits: dict[int, int] = {}
        for term in found:
            for position in self._index.get(term, ()):
                hits[position] = hits.get(position, 0) + 1
        return max(hits.values(), default=0) / len(found) if found else 1.0

    def is_new(self, sentence: Sentence, paraphrase: float) -> bool:
        name_words = {word for name in sentence.names for word in name.split()}
        fresh_facts = bool(name_words - self.names or sentence.numbers - self.numbers)
        if self.overlap(sentence.terms) >= paraphrase:
            return fresh_facts
        return fresh_facts or len(sentence.terms - self.vocabulary) >= 2

    def new_sentences(self, sentences: list[Sentence], paraphrase: float) -> list[Sentence]:
        """Those of `sentences` that are new, judged one after the other (a repeat is told)."""
        new = []
        for sentence in sentences:
            if self.is_new(sentence, paraphrase):
                new.append(sentence)
            self.add(sentence.terms, sentence.names, sentence.numbers)
        return new

    def fresh(self, sentences: list[Sentence], paraphrase: float) -> list[Sentence]:
        """Those of `sentences` that `new_sentences` would find new, leaving this unchanged.

        The text's own earlier sentences are kept apart (in room this one has left under
        MAX_KNOWN, as `new_sentences` would keep them): copying up to MAX_KNOWN told
        sentences for every article and topic cost more than judging them.
        """
        own = Told()
        room = MAX_KNOWN - len(self.sentences)
        new = []
        for sentence in sentences:
            name_words = {word for name in sentence.names for word in name.split()}
            fresh_facts = bool(
                name_words - self.names - own.names or sentence.numbers - self.numbers - own.numbers
            )
            if max(self.overlap(sentence.terms), own.overlap(sentence.terms)) >= paraphrase:
                is_new = fresh_facts
            else:
                unknown = sentence.terms - self.vocabulary - own.vocabulary
                is_new = fresh_facts or len(unknown) >= 2
            if is_new:
                new.append(sentence)
            if len(own.sentences) < room:
                own.add(sentence.terms, sentence.names, sentence.numbers)
            else:  # no room: only the vocabulary, names and numbers grow
                own.add_features(sentence.terms, sentence.names, sentence.numbers)
        return new

    def update(self, other: Told) -> None:
        """Take in everything `other` has told (two stories merged into one)."""
        for found in other.sentences:
            self.add(frozenset(found), frozenset(), frozenset())
        self.vocabulary |= other.vocabulary
        self.names |= other.names
        self.numbers |= other.numbers

    def to_record(self) -> dict[str, Any]:
        return {
            "sentences": [sorted(s) for s in self.sentences],
            "vocabulary": sorted(self.vocabulary),
            "names": sorted(self.names),
            "numbers": sorted(self.numbers),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Told:
        told = cls()
        for found in record["sentences"]:
            told.add(frozenset(found), frozenset(), frozenset())
        told.vocabulary = set(record["vocabulary"])
        told.names = set(record["names"])
        told.numbers = set(record["numbers"])
        return told
