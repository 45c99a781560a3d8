"""Sparse term vectors (term -> weight) as plain dicts: ranking, truncation, norm.

Ranking sorts by weight in C; terms of equal weight keep the vector's order, which is
the order its terms were added in: the same in every process, and kept by the JSON
records, so that every process ranks alike.
"""

from __future__ import annotations

import math
from operator import itemgetter

_WEIGHT = itemgetter(1)


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
