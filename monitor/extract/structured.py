"""The article body a page declares in its schema.org data (JSON-LD `articleBody`).

Many news pages render their text with JavaScript, or in markup trafilatura does not take
for an article, yet state the whole body in a `<script type="application/ld+json">` block
for search engines. When the extraction is implausible (`recover.implausible`), that body
is taken instead, if it is trustworthy (`instead_of`):

- one article only: a page declaring several bodies is a list of articles, not one;
- about as long as the extraction or longer, and holding most of it (the extraction is then
  a part of the article, or the same body read less well: trafilatura's fallback reads
  this body too, as one paragraph with any escaped markup left in);
- the page is not marked as not free to read: a paywalled page's declared body is for
  search engines, and the page is reported as a paywall as before.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from monitor.extract.blocks import image_labels, lines
from monitor.extract.compare import shingles

Tree = Any  # lxml.html.HtmlElement (lxml ships no type stubs)

CONTAINS_SHARE = 0.5  # the declared body holds half of the extraction's 4-grams or more
LENGTH_RATIO = 0.9  # and is not much shorter (a teaser, a truncated body)
ESCAPE_LAYERS = 3  # how many times a body's entities are decoded at most
_MARKUP = re.compile(r"<(p|br|div|span|a|em|strong|h\d)\b", re.IGNORECASE)
_BREAKS = re.compile(r"\s*\n\s*")
_WS = re.compile(r"[^\S\n]+")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)


def article_body(tree: Tree) -> str:
    """The page's one declared article body as paragraphs ("" when none, or several)."""
    bodies: set[str] = set()
    for script in tree.xpath("//script[contains(translate(@type, 'JSON', 'json'), 'ld+json')]"):
        source = script.text or ""
        if "articleBody" not in source:
            continue
        try:
            data = json.loads(source, strict=False)  # raw line breaks inside strings are common
        except (ValueError, RecursionError):
            continue  # malformed or absurdly nested: skipped, as trafilatura's metadata does
        bodies.update(body.strip() for body in _bodies(data) if body.strip())
    if len(bodies) != 1:
        return ""
    return _paragraphs(bodies.pop())


def instead_of(text: str, declared: str, *, min_chars: int) -> bool:
    """Whether `declared` should replace `text`: long enough, not shorter than LENGTH_RATIO
    x `text`, and holding CONTAINS_SHARE of `text`'s 4-grams."""
    if len(declared) < max(min_chars, LENGTH_RATIO * len(text)):
        return False
    mine = shingles(text)
    return not mine or len(mine & shingles(declared)) >= CONTAINS_SHARE * len(mine)


def _bodies(data: object, depth: int = 0) -> Iterator[str]:
    """Every `articleBody` string in a JSON-LD document (in `@graph`s and lists too)."""
    if depth > 20:  # hostile nesting
        return
    if isinstance(data, dict):
        for name, value in data.items():
            if name == "articleBody" and isinstance(value, str):
                yield value
            else:
                yield from _bodies(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _bodies(value, depth + 1)


def _paragraphs(body: str) -> str:
    """Plain text with a blank line between paragraphs; markup, when the body is HTML (some
    sites escape it once more), read one line per block element as the page's own text is,
    without the captions that repeat its images' alt texts."""
    if not _MARKUP.search(body) and _MARKUP.search(html.unescape(body)):
        body = html.unescape(body)
    if _MARKUP.search(body):
        try:
            fragment = lxml_html.fragment_fromstring(body, create_parent="div")
        except (etree.LxmlError, ValueError):
            return ""  # markup lxml cannot read: no declared body rather than a failed page
        captions = image_labels(fragment)
        parts = [line.text for line in lines(fragment) if line.key not in captions]
    else:
        parts = [_WS.sub(" ", part).strip() for part in _BREAKS.split(body)]
    return "\n\n".join(_unescaped(part) for part in parts if part)


def _unescaped(text: str) -> str:
    """`text` with entities escaped more times than its markup ("&amp;amp;quot;") decoded."""
    for _ in range(ESCAPE_LAYERS):
        if not _ENTITY.search(text):
            break
        text = _ENTITY.sub(lambda match: html.unescape(match.group()), text)
    return text
