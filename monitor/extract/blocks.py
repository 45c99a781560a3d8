"""The page as a reader sees it: one line of text per block element, in document order.

What the recovery rules compare trafilatura's text with: a line is the text of a block
element (paragraph, list item, heading, table cell, a `div`'s own text…) with its inline
children; scripts, styles, templates and forms' option lists are not text a reader sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Tree = Any  # lxml.html.HtmlElement (lxml ships no type stubs)

_WORD = re.compile(r"\w+")
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "select", "iframe"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "button", "dd", "details", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "label", "legend", "li", "main", "nav", "ol",
        "option", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Line:
    """One block's visible text, the block element it belongs to, and how much is link text."""

    text: str
    element: Tree
    link_chars: int
    key: str  # `key(text)`, computed once: every rule compares lines on it

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 0.0

    @property
    def word_count(self) -> int:
        return len(self.key.split())


def lines(tree: Tree) -> list[Line]:
    """The visible text of `tree`'s body, one whitespace-collapsed line per block."""
    body = tree.find(".//body")
    root = body if body is not None else tree
    out: list[Line] = []
    pieces: list[str] = []
    link_chars = 0
    owners: list[Tree] = [root]  # the open block elements, innermost last
    links = 0  # how many <a> elements are open

    def flush() -> None:
        nonlocal link_chars
        text = " ".join("".join(pieces).split())
        if text:
            out.append(Line(text, owners[-1], min(link_chars, len(text)), key(text)))
        pieces.clear()
        link_chars = 0

    def add(piece: str | None) -> None:
        nonlocal link_chars
        if piece:
            pieces.append(piece)
            if links:
                link_chars += len(" ".join(piece.split()))

    stack: list[tuple[Tree, bool]] = [(root, False)]
    while stack:  # iterative: a hostile page nests deeper than Python's recursion limit
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else None  # None: a comment
        if closing:
            links -= tag == "a"
            if tag in _BLOCKS:
                flush()
                owners.pop()
            add(node.tail)
            continue
        if tag is None or tag in _SKIP:
            add(node.tail)
            continue
        if tag in _BLOCKS:
            flush()
            owners.append(node)
        links += tag == "a"
        add(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    flush()
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens: what lines and extracted text are compared on."""
    return _WORD.findall(text.lower())


def key(text: str) -> str:
    """`text` as a space-padded run of words, for containment tests (` a b ` in ` x a b y `)."""
    return f" {' '.join(words(text))} "


def image_labels(tree: Tree) -> frozenset[str]:
    """The `key`s of the alternative texts and titles of the page's images: a paragraph
    repeating one is the image's caption, not the article."""
    labels = tree.xpath("//img/@alt | //img/@title")
    return frozenset(key(str(label)) for label in labels if str(label).strip())


def headlines(tree: Tree, *titles: str | None) -> frozenset[str]:
    """The `key`s of the page's headline as it gives it (its first `<h1>`, `og:title`,
    `titles`): a paragraph repeating it is the headline again, shown apart from the text by
    digests. Only the first `<h1>`: pages that head every section with one have them in
    the article."""
    found = [*tree.xpath("//meta[@property='og:title']/@content"), *titles]
    found += [element.text_content() for element in tree.xpath("(//h1)[1]")]
    return frozenset(key(str(title)) for title in found if title and str(title).strip())
