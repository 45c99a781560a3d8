"""Sparse term vectors (term -> weight) as plain dicts: ranking, truncation, norm."""

from __future__ import annotations

import math


def rank(item: tuple[str, float]) -> tuple[float, str]:
    """Sort key: heaviest first, ties by term, so that every process ranks alike."""
    return -item[1], item[0]


def truncate(vector: dict[str, float], size: int) -> dict[str, float]:
    """The `size` heaviest terms of the vector."""
    if len(vector) <= size:
        return vector
    # (-weight, term) pairs sort in C, in the order `rank` gives
    ranked = sorted([(-weight, term) for term, weight in vector.items()])[:size]
    return {term: -weight for weight, term in ranked}


def norm(vector: dict[str, float]) -> float:
    """Euclidean norm (1.0 for an empty vector, so that dividing by it is safe)."""
    return math.sqrt(sum(v * v for v in vector.values())) or 1.0
