"""The query tree: terms, NEAR, NOT, AND, OR; how each matches and which words it needs."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TypeAlias

from monitor.query.normalize import DEFAULT_FIELDS, Field, Prepared

__all__ = ["Anchors", "And", "Near", "Node", "Not", "Or", "Term", "anchors", "positive_terms"]


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase: consecutive words, the last one a prefix when `prefix`.

    `words` are folded (`fold`), except a prefix, which is compared with unfolded words.
    """

    words: tuple[str, ...]
    prefix: bool
    written: str  # as the user wrote it, for explanations
    position: int
    fields: tuple[str, ...] = DEFAULT_FIELDS  # where it is searched
    scoped: bool = False  # whether a field scope set `fields`

    def matches(self, doc: Prepared) -> bool:
        if len(self.words) == 1 and not self.prefix:  # the common case, kept fast
            word = self.words[0]
            for name in self.fields:  # noqa: SIM110 - any(genexpr) costs a frame on the hot path
                if word in doc[name].vocab:
                    return True
            return False
        for name in self.fields:  # noqa: SIM110 - as above
            if self.found_in(doc[name]):
                return True
        return False

    def found_in(self, field: Field) -> bool:
        words = self.words
        if len(words) == 1:
            return field.has_prefix(words[0]) if self.prefix else words[0] in field.vocab
        vocab = field.vocab
        if any(word not in vocab for word in words[:-1]):  # cheap reject before positions
            return False
        return bool(self.starts(field))

    def starts(self, field: Field) -> list[int]:
        """Token indexes where the term occurs in `field`."""
        *head, last = self.words
        if not head:
            if self.prefix:
                each = [field.raw_positions(word) for word in field.with_prefix(last)]
                return sorted(i for positions in each for i in positions)
            return field.positions(last)
        folded, raw, n = field.folded, field.raw, len(self.words)
        found = []
        for start in field.positions(head[0]):
            end = start + n - 1
            if end >= len(folded) or folded[start:end] != head:
                continue
            if raw[end].startswith(last) if self.prefix else folded[end] == last:
                found.append(start)
        return found


@dataclass(frozen=True, slots=True)
class Near:
    """Two terms with at most `distance` other words between them, in either order."""

    left: Term
    right: Term
    distance: int
    position: int  # of the NEAR operator
    written: str  # "NEAR/5"

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields both sides search; NEAR looks within one field at a time."""
        return tuple(name for name in self.left.fields if name in self.right.fields)

    def matches(self, doc: Prepared) -> bool:
        return any(self._near_in(doc[name]) for name in self.fields)

    def _near_in(self, field: Field) -> bool:
        if not (self.left.found_in(field) and self.right.found_in(field)):
            return False
        a_len, b_len, d = len(self.left.words), len(self.right.words), self.distance
        b_starts = self.right.starts(field)
        for a in self.left.starts(field):
            # right after left: it starts within d words of left's end
            i = bisect_left(b_starts, a + a_len)
            if i < len(b_starts) and b_starts[i] <= a + a_len + d:
                return True
            # right before left: it ends within d words of left's start
            i = bisect_left(b_starts, a - d - b_len)
            if i < len(b_starts) and b_starts[i] <= a - b_len:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    position: int  # of the NOT or '-'

    def matches(self, doc: Prepared) -> bool:
        return not self.child.matches(doc)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    position: int

    def matches(self, doc: Prepared) -> bool:
        for child in self.children:  # noqa: SIM110 - a loop: no generator frame per call
            if not child.matches(doc):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    position: int

    def matches(self, doc: Prepared) -> bool:
        for child in self.children:  # noqa: SIM110 - a loop: no generator frame per call
            if child.matches(doc):
                return True
        return False


Node: TypeAlias = "Term | Near | Not | And | Or"


def scoped(node: Node, field: str) -> Node:
    """`node` with every unscoped term limited to `field`; an inner scope wins."""
    if isinstance(node, Term):
        return node if node.scoped else replace(node, fields=(field,), scoped=True)
    if isinstance(node, Near):
        left, right = scoped(node.left, field), scoped(node.right, field)
        assert isinstance(left, Term) and isinstance(right, Term)
        return replace(node, left=left, right=right)
    if isinstance(node, Not):
        return replace(node, child=scoped(node.child, field))
    return replace(node, children=tuple(scoped(child, field) for child in node.children))


def walk(node: Node) -> Iterator[Node]:
    """Every node under `node`, itself first."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)


def positive_terms(node: Node, *, negated: bool = False) -> Iterator[Term]:
    """The terms under an even number of NOTs, left to right."""
    if isinstance(node, Term):
        if not negated:
            yield node
    elif isinstance(node, Near):
        if not negated:
            yield node.left
            yield node.right
    elif isinstance(node, Not):
        yield from positive_terms(node.child, negated=not negated)
    else:
        for child in node.children:
            yield from positive_terms(child, negated=negated)


@dataclass(frozen=True, slots=True)
class Anchors:
    """Words of which any matching document contains at least one (in some field).

    `words` are folded words; `prefixes` match the start of an unfolded word.
    """

    words: frozenset[str]
    prefixes: frozenset[str]
    fields: frozenset[str]  # where they may occur

    def cost(self) -> tuple[int, int]:
        """Fewer anchors first; then longer words, which tend to be rarer."""
        shortest = min((len(w) for w in self.words | self.prefixes), default=0)
        return (len(self.words) + 3 * len(self.prefixes), -shortest)

    def order(self) -> tuple[tuple[int, int], list[str], list[str]]:
        """`cost`, then the words themselves, so that ties break the same in every run."""
        return (self.cost(), sorted(self.words), sorted(self.prefixes))


MAX_GROUPS = 3  # anchor groups kept per query: enough to prune, few to look up


def anchors(node: Node) -> tuple[Anchors, ...] | None:
    """Anchor groups: a match holds one word of every group. None: no safe anchors (NOT)."""
    if isinstance(node, Term):
        *head, last = node.words
        fields = frozenset(node.fields)
        if not head and node.prefix:
            return (Anchors(frozenset(), frozenset([last]), fields),)
        candidates = head if node.prefix else node.words
        return (Anchors(frozenset([max(candidates, key=len)]), frozenset(), fields),)
    if isinstance(node, Near):
        return anchors(And((node.left, node.right), node.position))
    if isinstance(node, Not):
        return None
    parts = [anchors(child) for child in node.children]
    if isinstance(node, And):  # every child must match: each child's groups hold
        groups = sorted({g for part in parts if part for g in part}, key=Anchors.order)
        return tuple(groups[:MAX_GROUPS]) or None
    if any(part is None for part in parts):  # OR: any child may be the one that matches
        return None
    cheapest = [min(part, key=Anchors.order) for part in parts if part]
    return (
        Anchors(
            frozenset().union(*(g.words for g in cheapest)),
            frozenset().union(*(g.prefixes for g in cheapest)),
            frozenset().union(*(g.fields for g in cheapest)),
        ),
    )
