"""Near-identical text: one-permutation MinHash over word shingles, and an LSH band index.

One-permutation hashing (Li, Owen and Zhang, 2012) hashes each shingle once with a
stable 64-bit hash, puts it in one of K bins and keeps each bin's minimum; empty bins
borrow from the next full bin to their right (rotation densification, Shrivastava and
Li, 2014), so two signatures agree in a bin with probability close to the Jaccard
similarity of the shingle sets. That is K times cheaper than K independent
permutations and needs nothing outside the standard library.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

# Words per shingle. Fixed, not a setting: every signature stored with the stories was
# made with it, and signatures of another size cannot be compared with them. 4 is the
# usual choice for near-duplicate news text (word 4-grams, as in ScrapingHub's measure).
SHINGLE_WORDS = 4
SIGNATURE_SIZE = 64
BANDS = 16  # 16 bands of 4 rows: pairs above ~0.5 Jaccard usually share a band
_ROWS = SIGNATURE_SIZE // BANDS
_EMPTY = (1 << 64) - 1
_SPAN = (1 << 64) // SIGNATURE_SIZE


def signature(ids: Sequence[int], size: int) -> array[int]:
    """The densified one-permutation MinHash of a text's shingles of `size` words.

    `ids` are the text's word ids (`text.word_ids`). A shingle's hash is the hash of
    the tuple of its word ids: tuples of ints hash alike in every process, unlike
    strings, whose hash is salted. A text shorter than `size` words is one shingle.
    """
    if len(ids) <= size:
        grams = [tuple(ids)] if ids else []
    else:
        grams = list(zip(*(ids[i:] for i in range(size)), strict=False))
    bins = [_EMPTY] * SIGNATURE_SIZE
    for gram in grams:
        value = hash(gram) & _EMPTY
        slot, rest = value % SIGNATURE_SIZE, value // SIGNATURE_SIZE
        if rest < bins[slot]:
            bins[slot] = rest
    full = [i for i, v in enumerate(bins) if v != _EMPTY]
    if full and len(full) < SIGNATURE_SIZE:
        out = list(bins)
        for i in range(SIGNATURE_SIZE):
            if bins[i] == _EMPTY:
                distance = 1
                while bins[(i + distance) % SIGNATURE_SIZE] == _EMPTY:
                    distance += 1
                borrowed = bins[(i + distance) % SIGNATURE_SIZE]
                out[i] = (borrowed + distance * _SPAN) % _EMPTY
        bins = out
    return array("Q", bins)


def similarity(a: array[int], b: array[int]) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures.

    Only the bins a shingle fell into count (values below `_SPAN`; the densified ones
    are borrowed and are there for the LSH bands): matches over the bins full in
    either signature. For a headline, a few shingles in 64 bins, that is close to the
    exact Jaccard; the densified bins would count the same borrowed value many times.
    """
    matches = full = 0
    for x, y in zip(a, b, strict=True):
        if x < _SPAN or y < _SPAN:
            full += 1
            matches += x == y
    return matches / full if full else 0.0


def band_keys(sig: array[int]) -> list[int]:
    """One bucket key per band (tuples of ints hash the same in every process)."""
    return [hash((band, *sig[band * _ROWS : (band + 1) * _ROWS])) for band in range(BANDS)]


class BandIndex:
    """LSH buckets: article keys by band key, to find near-duplicate candidates quickly.

    Buckets and band keys are tuples, not lists: tuples of strings and ints are left
    alone by the cyclic garbage collector, whose passes would otherwise grow with the
    number of articles in the window.
    """

    __slots__ = ("_buckets", "_keys_of")

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[str, ...]] = {}
        self._keys_of: dict[str, tuple[int, ...]] = {}

    def add(self, key: str, sig: array[int]) -> None:
        keys = tuple(band_keys(sig))
        self._keys_of[key] = keys
        buckets = self._buckets
        for band_key in keys:
            buckets[band_key] = (*buckets.get(band_key, ()), key)

    def candidates(self, sig: array[int]) -> set[str]:
        found: set[str] = set()
        for band_key in band_keys(sig):
            found.update(self._buckets.get(band_key, ()))
        return found

    def remove(self, key: str) -> None:
        for band_key in self._keys_of.pop(key, ()):
            bucket = self._buckets.get(band_key)
            if bucket is not None:
                rest = tuple(k for k in bucket if k != key)
                if rest:
                    self._buckets[band_key] = rest
                else:
                    del self._buckets[band_key]

    def __len__(self) -> int:
        return len(self._keys_of)


def to_hex(sig: array[int]) -> str:
    return sig.tobytes().hex()


def from_hex(text: str) -> array[int]:
    sig = array("Q")
    sig.frombytes(bytes.fromhex(text))
    return sig
