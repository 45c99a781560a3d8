"""Copy detection: which placed article a text is near-identical to (MinHash + LSH bands)."""

from __future__ import annotations

from array import array
from collections.abc import Callable

from monitor.stories import fingerprint


class CopyFinder:
    """The signatures of the articles in the window, found by their LSH bands."""

    __slots__ = ("_bands", "threshold")

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold  # estimated Jaccard similarity from which a text is a copy
        self._bands = fingerprint.BandIndex()

    def add(self, key: str, sig: array[int]) -> None:
        self._bands.add(key, sig)

    def remove(self, key: str) -> None:
        self._bands.remove(key)

    def original(
        self, sig: array[int], sig_of: Callable[[str], array[int]]
    ) -> tuple[str, float] | None:
        """The key of the most similar article at or above the threshold, and how similar."""
        best: tuple[str, float] | None = None
        for key in sorted(self._bands.candidates(sig)):
            similarity = fingerprint.similarity(sig, sig_of(key))
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (key, similarity)
        return best
