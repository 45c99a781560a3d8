"""Many topics against one document: only the topics whose anchor words it contains.

Each query names anchor groups (`Query.required_terms`): sets of words such that every
matching document contains a word of each set (for `a AND (b OR c)`: {a} and {b, c}).
The index maps each anchor word to the (topic, group) pairs it satisfies. A document
is tokenised once, its words are looked up, and only the topics with every group
satisfied (plus the few queries without anchors) are evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.query.explain import Explanation
from monitor.query.matcher import Query
from monitor.query.normalize import Document, Prepared, prepare

__all__ = ["TopicIndex"]

_Pairs = list[tuple[int, int]]  # (topic number, bit of the group)


class TopicIndex:
    """Topic queries indexed by their anchor words; `match` finds the topics of a document."""

    __slots__ = (
        "_always",
        "_by_prefix",
        "_by_word",
        "_fields",
        "_full",
        "_names",
        "_prefix_lengths",
        "_prefix_set",
        "_queries",
        "_words",
    )

    def __init__(self, queries: Mapping[str, Query]) -> None:
        self._names = list(queries)
        self._by_word: dict[str, _Pairs] = {}
        self._by_prefix: dict[str, _Pairs] = {}
        self._full: list[int] = []  # per topic: the bits of all its groups
        self._always: list[int] = []
        fields: set[str] = set()
        self._queries = [queries[name] for name in self._names]
        for number, query in enumerate(self._queries):
            groups = query.required_terms
            if groups is None:
                self._full.append(0)
                self._always.append(number)
                continue
            self._full.append((1 << len(groups)) - 1)
            for bit, group in enumerate(groups):
                fields |= group.fields
                for word in group.words:
                    self._by_word.setdefault(word, []).append((number, 1 << bit))
                for prefix in group.prefixes:
                    self._by_prefix.setdefault(prefix, []).append((number, 1 << bit))
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})
        self._words = frozenset(self._by_word)
        self._prefix_set = frozenset(self._by_prefix)
        self._fields = sorted(fields)  # the fields whose words are looked up

    def __len__(self) -> int:
        return len(self._names)

    def candidates(self, doc: Prepared) -> list[int]:
        """Numbers of the topics that may match `doc`, ascending."""
        seen: dict[int, int] = {}
        by_word = self._by_word
        for word in self._words & doc.vocabulary(self._fields):  # set & set: walks the smaller
            for number, bit in by_word[word]:
                seen[number] = seen.get(number, 0) | bit
        if self._prefix_lengths:
            words = set().union(*(doc[name].raw for name in self._fields))
            for length in self._prefix_lengths:
                for prefix in self._prefix_set & {w[:length] for w in words}:
                    for number, bit in self._by_prefix[prefix]:
                        seen[number] = seen.get(number, 0) | bit
        full = self._full
        found = [number for number, bits in seen.items() if bits == full[number]]
        return sorted(found + self._always)

    def loosely(self, doc: Document) -> list[str]:
        """Names of the topics that share at least one anchor word with `doc`.

        The wider net for topics confirmed on an article's full text: an entry whose
        summary names only part of what a topic asks for is still worth fetching.
        """
        return [self._names[n] for n in sorted(self._loose(prepare(doc)))]

    def _loose(self, prepared: Prepared) -> set[int]:
        seen: set[int] = set(self._always)
        for word in self._words & prepared.vocabulary(self._fields):
            seen.update(number for number, _ in self._by_word[word])
        if self._prefix_lengths:
            words = set().union(*(prepared[name].raw for name in self._fields))
            for length in self._prefix_lengths:
                for prefix in self._prefix_set & {w[:length] for w in words}:
                    seen.update(number for number, _ in self._by_prefix[prefix])
        return seen

    def promising(self, doc: Document) -> list[str]:
        """Names of the topics `doc` (title and summary) holds enough of for its article
        to be worth fetching: at least half of what each requires (Query.promising_prepared).
        """
        prepared = prepare(doc)
        queries = self._queries
        return [
            self._names[n]
            for n in sorted(self._loose(prepared))
            if queries[n].promising_prepared(prepared)
        ]

    def topics(self, doc: Document) -> list[str]:
        """Names of the topics `doc` matches, in the order given; no explanations.

        The cheap first stage: which topics an entry's title and summary select.
        """
        prepared = prepare(doc)
        queries, names = self._queries, self._names
        return [
            names[n] for n in self.candidates(prepared) if queries[n].matches_prepared(prepared)
        ]

    def match(self, doc: Document) -> dict[str, Explanation]:
        """Topic name → explanation, for the topics `doc` matches, in the order given."""
        prepared = prepare(doc)
        matched: dict[str, Explanation] = {}
        for number in self.candidates(prepared):
            explanation = self._queries[number].match_prepared(prepared)
            if explanation is not None:
                matched[self._names[number]] = explanation
        return matched
