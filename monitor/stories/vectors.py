"""Sparse term vectors (term -> weight) as plain dicts: ranking, truncation, norm.

Ranking sorts by weight in C; terms of equal weight keep the vector's order, which is
the order its terms were added in: the same in every process, and kept by the JSON
records, so that every process ranks alike.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from operator import itemgetter

_WEIGHT = itemgetter(1)
_LOGS = [0.0, *map(math.log, range(1, 4096))]  # most counts are small: a list beats a call


def tf_idf(counts: Mapping[str, int], df: Mapping[str, int], documents: int) -> dict[str, float]:
    """(1 + log tf) * idf of each term, idf = log((1 + documents) / (1 + df)) + 1."""
    logs, log, size = _LOGS, math.log, len(_LOGS)
    idf_top = log(1 + documents) + 1
    weights = {}
    for term, tf in counts.items():
        seen = 1 + df[term]
        tf_part = 1 + (logs[tf] if tf < size else log(tf))
        weights[term] = tf_part * (idf_top - (logs[seen] if seen < size else log(seen)))
    return weights


def most_hits(hits: Mapping[str, int], size: int) -> list[tuple[str, int]]:
    """The `size` keys with the most hits, ties by key (tuples compared in C)."""
    # the many keys hit once are not needed when enough hit twice
    several = [(-n, key) for key, n in hits.items() if n > 1] if len(hits) > size else []
    if len(several) < size:
        several = [(-n, key) for key, n in hits.items()]
    return [(key, -n) for n, key in heapq.nsmallest(size, several)]


def heaviest(vector: dict[str, float], size: int) -> list[tuple[str, float]]:
    """The `size` heaviest (term, weight) pairs, heaviest first."""
    return sorted(vector.items(), key=_WEIGHT, reverse=True)[:size]


def truncate(vector: dict[str, float], size: int) -> dict[str, float]:
    """The `size` heaviest terms of the vector."""
    if len(vector) <= size:
        return vector
    return dict(heaviest(vector, size))


def norm(vector: dict[str, float]) -> float:
    """Euclidean norm (1.0 for an empty vector, so that dividing by it is safe)."""
    return math.sqrt(sum(v * v for v in vector.values())) or 1.0
