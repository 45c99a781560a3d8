"""Why a document matched: the terms found, where, how often, and a snippet around them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from monitor.query.nodes import Term
from monitor.query.normalize import Field, Prepared

__all__ = ["SNIPPET_CHARS", "Explanation", "Hit", "explain"]

SNIPPET_CHARS = 240
_ELLIPSIS = "\u2026"
_CHARS_PER_WORD = 7  # of English news text, spaces included: sizes the densest window


@dataclass(frozen=True, slots=True)
class Hit:
    """One positive term found in one field."""

    term: str  # as written in the query
    field: str  # "title" | "text" | "source" | "url"
    count: int


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a document matched a query."""

    terms: tuple[str, ...]  # positive terms found, query order, as written
    hits: tuple[Hit, ...]
    snippet: str  # text (or title) around the densest cluster of hits, "…" at cut ends


def explain(terms: Sequence[Term], doc: Prepared) -> Explanation:
    """The explanation of a document that matched a query with these positive terms."""
    found: list[str] = []
    hits: list[Hit] = []
    ranges: dict[str, list[tuple[int, int]]] = {}  # field → token ranges of hits
    for term in terms:
        seen = False
        for name in term.fields:
            field = doc[name]
            if not term.found_in(field):  # cheap for words: a set look-up
                continue
            starts = term.starts(field)
            if starts:
                seen = True
                hits.append(Hit(term.written, name, len(starts)))
                n = len(term.words)
                ranges.setdefault(name, []).extend((s, s + n) for s in starts)
        if seen and term.written not in found:
            found.append(term.written)
    return Explanation(tuple(found), tuple(hits), _snippet(doc, ranges))


def _snippet(doc: Prepared, ranges: dict[str, list[tuple[int, int]]]) -> str:
    for name in ("text", "title"):
        field = doc[name]
        if name in ranges and field.text.strip():
            return snippet(field, ranges[name])
    for name in ("text", "title"):  # hits only in source or url: show the start
        if doc[name].text.strip():
            return snippet(doc[name], [])
    return ""


def snippet(field: Field, ranges: list[tuple[int, int]], width: int = SNIPPET_CHARS) -> str:
    """At most `width` characters of `field` (plus "…"), around the densest run of hits."""
    text = field.text
    if len(text) <= width:  # all of it fits: no offsets needed
        return " ".join(text.split())
    if ranges:
        first, last = _densest(sorted(ranges), width // _CHARS_PER_WORD)
        start, end = field.char_range(first, last)
    else:
        start, end = 0, 0
    spare = max(width - (end - start), 0)
    lo = max(start - spare // 2, 0)
    hi = min(lo + width, len(text))
    lo = max(min(lo, hi - width), 0)
    if lo > 0 and not text[lo - 1].isspace():  # do not cut a word: start at the next one
        cut = _next_space(text, lo, start)
        lo = cut + 1 if cut >= 0 else lo
    if hi < len(text) and not text[hi].isspace():
        cut = text.rfind(" ", max(end, lo), hi)
        hi = cut if cut > lo else hi
    body = " ".join(text[lo:hi].split())
    return (_ELLIPSIS if lo > 0 else "") + body + (_ELLIPSIS if hi < len(text) else "")


def _densest(ranges: list[tuple[int, int]], words: int) -> tuple[int, int]:
    """First and last token of the most hits within `words` tokens (the first such run)."""
    ends = list(accumulate((end for _, end in ranges), max))  # ranges overlap little
    best, best_count, j = (ranges[0][0], ranges[0][1] - 1), 0, 0
    for i, (start, _) in enumerate(ranges):
        j = max(j, i)
        while j + 1 < len(ranges) and ranges[j + 1][1] - start <= words:
            j += 1
        if j - i + 1 > best_count:
            best_count, best = j - i + 1, (start, ends[j] - 1)
    return best


def _next_space(text: str, lo: int, limit: int) -> int:
    for i in range(lo, min(limit, len(text))):
        if text[i].isspace():
            return i
    return -1
