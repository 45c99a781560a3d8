"""Finding the stories an article may belong to: term statistics and an inverted index.

Each story is listed under its most significant terms; an article is compared only with
the stories listed under most of its own, never with every story in the window. The
document frequencies behind the TF-IDF weights, and how many articles carry each term
(over all stories, for the headline rules), live here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain
from typing import Any

from monitor.stories.records import Story
from monitor.stories.text import clean_title, terms
from monitor.stories.vectors import heaviest, most_hits, norm, tf_idf, truncate

# Sizes chosen on the dev corpus and the synthetic scaling runs of bench/stories.py:
# decisions identical to comparing with every story, at a fraction of the cost.
TITLE_WEIGHT = 3  # a headline term counts as three mentions in the text
VECTOR_TERMS = 60  # terms kept per article vector and per story centroid
QUERY_TERMS = 10  # an article's most significant terms, looked up in the index
INDEX_TERMS = 12  # a story's most significant terms, under which the index lists it
MAX_POSTING = 2000  # a term listed for more stories than this is no use to find one
HEADLINE_CANDIDATES = 30  # a headline has few terms: more stories are compared with it
TEXT_CANDIDATES = 5  # a text's story is among the five listed under most of its query terms
MERGE_CANDIDATES = 5  # stories compared with one that grew: listed under most of its central terms
MAX_DF_TERMS = 300_000  # beyond this the document frequencies are halved and thinned
MAX_PERSISTED_DF = 50_000


class StoryIndex:
    """Document frequencies, term spread, and the stories listed under their terms."""

    __slots__ = ("_postings", "df", "documents", "spread")

    def __init__(self) -> None:
        self._postings: dict[str, set[str]] = {}
        self.df: Counter[str] = Counter()
        self.documents = 0
        self.spread: dict[str, int] = {}  # term -> members carrying it, summed over stories

    def vector(self, title: str, counts: Counter[str]) -> dict[str, float]:
        """The article's unit TF-IDF vector (its `VECTOR_TERMS` heaviest terms); the
        article is counted in the document frequencies."""
        for term in terms(clean_title(title)):
            counts[term] += TITLE_WEIGHT
        self.documents += 1
        self.df.update(counts.keys())
        if len(self.df) > MAX_DF_TERMS:
            self.df = Counter({t: c // 2 for t, c in self.df.items() if c >= 2})
            self.documents //= 2
        weights = truncate(tf_idf(counts, self.df, self.documents), VECTOR_TERMS)
        size = norm(weights)
        return {term: w / size for term, w in weights.items()}

    def candidates(self, vector: dict[str, float], *, short: bool) -> list[str]:
        """Ids of the stories listed under most of the article's terms, most first.

        A headline is looked up under all its terms: the word its story is known by
        ("bitcoin") is common by then, and its low weight would leave it out.
        """
        looked_up = vector.items() if short else heaviest(vector, QUERY_TERMS)
        postings = [self._postings.get(term, ()) for term, _ in looked_up]
        hits = Counter(chain.from_iterable(p for p in postings if len(p) <= MAX_POSTING))
        size = HEADLINE_CANDIDATES if short else TEXT_CANDIDATES
        return [story_id for story_id, _ in most_hits(hits, size)]

    def neighbours(self, looked_up: Iterable[str], story_id: str) -> list[tuple[str, int]]:
        """Other stories listed under most of these terms, with how many they share."""
        hits: Counter[str] = Counter()
        for term in looked_up:
            posting = self._postings.get(term, ())
            if len(posting) <= MAX_POSTING:
                hits.update(posting)
        del hits[story_id]
        return most_hits(hits, MERGE_CANDIDATES)

    def add(self, story: Story) -> None:
        """List the story under its most significant terms."""
        story.index_terms = story.top_terms(INDEX_TERMS)
        for term in story.index_terms:
            self._postings.setdefault(term, set()).add(story.id)

    def remove(self, story: Story) -> None:
        for term in story.index_terms:
            posting = self._postings.get(term)
            if posting is not None:
                posting.discard(story.id)
                if not posting:
                    del self._postings[term]
        story.index_terms = ()

    def tally(self, story: Story, vector: Mapping[str, float]) -> None:
        """Count a new member's terms; keep counts only for the centroid's terms."""
        tally, centroid, spread = story.tally, story.centroid, self.spread
        for term in [t for t in tally if t not in centroid]:
            self.spread_add({term: tally.pop(term)}, -1)
        for term in vector:
            if term in centroid:
                tally[term] = tally.get(term, 0) + 1
                spread[term] = spread.get(term, 0) + 1

    def spread_add(self, tally: Mapping[str, int], sign: int) -> None:
        spread = self.spread
        for term, count in tally.items():
            total = spread.get(term, 0) + sign * count
            if total > 0:
                spread[term] = total
            else:
                spread.pop(term, None)

    def record(self) -> dict[str, Any]:
        """The document frequencies, for the book's record (the most frequent kept)."""
        if len(self.df) <= MAX_PERSISTED_DF:  # all of them: no need to sort
            return {"documents": self.documents, "df": dict(self.df)}
        df = sorted(self.df.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PERSISTED_DF]
        return {"documents": self.documents, "df": dict(df)}

    def load(self, record: Mapping[str, Any]) -> None:
        self.documents = int(record["documents"])
        self.df = Counter({str(t): int(c) for t, c in record["df"].items()})
