"""Whether an article could complete a match its entry's title and summary began (pure).

A topic confirmed on the article's text also looks at entries whose summary names only
part of the query. Part means, from the query's structure: of the parts an AND requires,
the title and summary already hold at least half (rounded up), and the others are
still open, i.e. they could be found in the article's text (a `title:` term missing from
the title never will be, an excluded word already present rules the entry out). One
shared word is not enough for a query of three parts: such an entry is not worth a
page fetch. An OR is promising when one of its branches is.
"""

from __future__ import annotations

from monitor.query.nodes import And, Near, Node, Not, Or, Term
from monitor.query.normalize import Prepared

__all__ = ["open_to_text", "promising"]


def open_to_text(node: Node, doc: Prepared) -> bool:
    """Whether `node` holds on `doc`, or could once the article's text is added."""
    if isinstance(node, Term):
        return "text" in node.fields or node.matches(doc)
    if isinstance(node, Near):
        return "text" in node.fields or node.matches(doc)
    if isinstance(node, Not):
        return node.matches(doc)  # an excluded word already there stays a reason to drop it
    if isinstance(node, And):
        return all(open_to_text(child, doc) for child in node.children)
    return any(open_to_text(child, doc) for child in node.children)


def promising(node: Node, doc: Prepared) -> bool:
    """Whether `doc` (title and summary) holds enough of `node` to fetch the article."""
    if isinstance(node, Term):
        return node.matches(doc)
    if isinstance(node, Near):  # both words present, perhaps further apart than asked
        return node.left.matches(doc) or node.right.matches(doc)
    if isinstance(node, Not):
        return node.matches(doc)
    if isinstance(node, Or):
        return any(promising(child, doc) for child in node.children)
    parts = [child for child in node.children if not isinstance(child, Not)]
    if not all(open_to_text(child, doc) for child in node.children):
        return False
    held = sum(child.matches(doc) for child in parts)
    return held >= max(1, (len(parts) + 1) // 2)
