"""A compiled query: parse once, match many documents, explain each match."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.errors import QueryError
from monitor.query.explain import Explanation, explain
from monitor.query.nodes import Anchors, And, Node, Not, Or, Term, anchors, positive_terms
from monitor.query.normalize import Document, Prepared, prepare, prepare_text
from monitor.query.parser import parse
from monitor.query.promise import promising

__all__ = ["Query", "compile_query"]

_EMPTY = Document("")


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled topic query; build it with `compile_query`. Equal when the text is equal."""

    text: str
    _root: Node = field(repr=False, compare=False)
    _positive: tuple[Term, ...] = field(repr=False, compare=False)
    required_terms: tuple[Anchors, ...] | None = field(repr=False, compare=False)
    """Anchor groups: every matching document has a word of each; None: check them all."""

    def match(self, doc: Document) -> Explanation | None:
        """Why `doc` matches (terms, hits, snippet), or None when it does not."""
        return self.match_prepared(prepare(doc))

    def match_prepared(self, doc: Prepared) -> Explanation | None:
        """`match` on a document already tokenised (by `TopicIndex`, once for all topics)."""
        if not self._root.matches(doc):
            return None
        return explain(self._positive, doc)

    def matches_prepared(self, doc: Prepared) -> bool:
        """Whether a document already tokenised satisfies the query (no explanation)."""
        return self._root.matches(doc)

    def promising_prepared(self, doc: Prepared) -> bool:
        """Whether a title and summary hold enough of the query for the article to be
        worth fetching to confirm it (monitor/query/promise.py)."""
        return promising(self._root, doc)

    def matches(self, text: str) -> bool:
        """Whether `text`, taken as both title and text, satisfies the query."""
        return self._root.matches(prepare_text(text))

    def explain(self, text: str) -> tuple[str, ...]:
        """The positive terms found in `text`, in query order, as written; () on no match."""
        doc = prepare_text(text)
        if not self._root.matches(doc):
            return ()
        return tuple(dict.fromkeys(t.written for t in self._positive if t.matches(doc)))


def compile_query(text: str) -> Query:
    """Parse `text` into a Query, or raise QueryError saying what was expected where."""
    root = parse(text)
    # A query that matches a document with none of its words (NOT storm, a OR -b)
    # would flood the digest with every entry of every feed.
    if root.matches(prepare(_EMPTY)):
        error = QueryError(
            "expected at least one term that must appear",
            query=text,
            position=_blame_negation(root),
        )
        error.hint = "combine the exclusion with a wanted word, e.g. storm AND NOT drill"
        raise error
    first: dict[tuple[tuple[str, ...], bool, tuple[str, ...]], Term] = {}
    for term in positive_terms(root):  # `Trump OR trump` is one term
        first.setdefault((term.words, term.prefix, term.fields), term)
    return Query(text, root, tuple(first.values()), anchors(root))


def _blame_negation(node: Node) -> int:
    """Position of the negation that lets `node` match an empty document."""
    empty = prepare(_EMPTY)
    while not isinstance(node, Not | Term):
        # an OR matches empty through one branch; an AND through all, so any will do
        assert isinstance(node, And | Or)  # a NEAR never matches an empty document
        node = next(child for child in node.children if child.matches(empty))
    return node.position
