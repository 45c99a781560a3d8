"""Article text trafilatura left out, put back: when to retry, and paragraphs it skipped.

Two classes of loss, each with its own test (measured with `bench/extraction_table.py`):

- the first pass is implausible (`implausible`): far shorter than the feed's summary or than
  the prose the page shows. The worker then retries with trafilatura's fallbacks.
- prose inside the article's own container that the extraction skipped (`missed`): text
  after an in-article ad, embed or newsletter box, text written straight into a `div`
  between `<br>`s, a standfirst. Put back at its place, between the paragraphs around it.
  Lines of a quotation or an embedded post (`<blockquote>`) in that container come back
  even when they do not read as prose: a tweet ends in its link, its attribution in a date.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from monitor.extract.blocks import Line, key
from monitor.extract.compare import shingles

Tree = Any  # lxml.html.HtmlElement (lxml ships no type stubs)

SUMMARY_RATIO = 1.0  # an article is longer than its summary: shorter, retry
PROSE_RATIO = 0.5  # the text holds under half of the page's prose: retry
PROSE_MIN_WORDS = 8  # a line of prose: at least 8 words, ending like a sentence
MATCH_MIN_WORDS = 6  # a page line found in the text marks where the article is
CONTAINER_SHARE = 0.8  # the article's container holds 80 % of the found lines' text
MISSED_MAX_SHARED = 0.5  # a line sharing less than half its 4-grams with the text is missed
LINK_MAX_DENSITY = 0.3  # lines mostly made of links are navigation, not the article
_SENTENCE_END = re.compile(r"""[.!?…]["'\u201d\u2019)\]]*$""")
# Not the article even inside its container: captions, asides, page furniture.
_FURNITURE_TAGS = frozenset(
    {"figure", "figcaption", "aside", "nav", "footer", "header", "form", "button", "label"}
)


def is_prose(line: Line) -> bool:
    """A sentence-like line: long enough, ending like a sentence, not a list of links."""
    return (
        line.word_count >= PROSE_MIN_WORDS
        and _SENTENCE_END.search(line.text) is not None
        and line.link_density <= LINK_MAX_DENSITY
    )


def implausible(text: str, lines: list[Line], *, summary: str | None, min_chars: int) -> bool:
    """Whether the first pass is too short to be the article: shorter than `min_chars`,
    than SUMMARY_RATIO x the feed's summary, or than PROSE_RATIO x the page's prose."""
    if len(text) < min_chars:
        return True
    if summary and len(text) < SUMMARY_RATIO * len(" ".join(summary.split())):
        return True
    prose = sum(len(line.text) for line in lines if is_prose(line))
    return len(text) < PROSE_RATIO * prose


def missed(text: str, lines: list[Line]) -> str:
    """`text` with the prose lines of the article's container that it lacks put back."""
    paragraphs = text.split("\n\n")
    keys = [key(p) for p in paragraphs]
    whole = " ".join(keys)
    found = [
        i
        for i, line in enumerate(lines)
        if line.word_count >= MATCH_MIN_WORDS and line.key in whole
    ]
    container = _container([lines[i] for i in found])
    if container is None or container.tag in ("body", "html"):
        return text  # no one element holds the article: every prose line would qualify
    grams = shingles(text)
    after: dict[int, list[str]] = {}  # paragraph index (-1: before the first) → lines
    last = -1
    found_set = set(found)
    for i, line in enumerate(lines):
        if i in found_set:
            last = next((k for k, p in enumerate(keys) if line.key in p), last)
            continue
        if not _inside(line.element, container):
            continue
        if not (is_prose(line) or _quoted(line.element, container)):
            continue
        line_grams = shingles(line.text)
        if line_grams and len(line_grams & grams) / len(line_grams) < MISSED_MAX_SHARED:
            after.setdefault(last, []).append(line.text)
            grams |= line_grams  # a repeated line is put back once
    if not after:
        return text
    out = after.get(-1, [])
    for k, paragraph in enumerate(paragraphs):
        out.append(paragraph)
        out.extend(after.get(k, []))
    return "\n\n".join(out)


def _container(found: list[Line]) -> Tree | None:
    """The deepest element holding CONTAINER_SHARE of the found lines' text."""
    total = sum(len(line.text) for line in found)
    if not total:
        return None
    weight: Counter[Tree] = Counter()
    depth: dict[Tree, int] = {}
    for line in found:
        chain = [line.element, *line.element.iterancestors()]
        for level, element in enumerate(reversed(chain)):
            weight[element] += len(line.text)
            depth[element] = level
    held = [e for e, w in weight.items() if w >= CONTAINER_SHARE * total]
    return max(held, key=lambda e: depth[e]) if held else None


def _quoted(element: Tree, container: Tree) -> bool:
    """`element` is in a `<blockquote>` below `container`: a quotation or an embedded post,
    whose lines are the article's whether or not they read as sentences."""
    node = element
    while node is not None and node is not container:
        if node.tag == "blockquote":
            return True
        node = node.getparent()
    return False


def _inside(element: Tree, container: Tree) -> bool:
    """`element` is `container` or below it, and not inside a caption, aside or the like."""
    node = element
    while node is not None:
        if node is container:
            return True
        if node.tag in _FURNITURE_TAGS:
            return False
        node = node.getparent()
    return False
