"""The topic query language: compile once, match many documents.

    (Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting)

Terms, "quoted phrases", AND, OR, NOT, `-term` / `-"phrase"` / `-(group)` as NOT,
parentheses and implicit AND between adjacent operands. Only uppercase AND/OR/NOT are
operators. Precedence: NOT > AND > OR. A trailing `*` makes the last word a prefix.

Both the query and the document go through `tokenize`, so matching is case- and
accent-insensitive and always on whole words: `Trump` matches "Trump's" but not
"Trumpet", and `US-Russia` is the phrase "us russia".

Pure: no I/O, nothing imported from the rest of monitor except its errors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from monitor.errors import QueryError

__all__ = ["Query", "compile_query", "tokenize"]

_WORD = re.compile(r"[^\W_]+")  # letters and digits; \w without the underscore
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_FIRST_MARK = "\u0300"  # no combining mark sits below it: skip the lookup for Latin text
_MAX_DEPTH = 50  # parentheses and NOTs; keeps a hostile config far from RecursionError


def tokenize(text: str) -> list[str]:
    """Lower-case, accent-free words of `text`, split on anything not a letter or digit."""
    if not text.isascii():  # the NFKD pass is the slow part; most feeds are ASCII
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(
            c for c in decomposed if c < _FIRST_MARK or not unicodedata.category(c).startswith("M")
        )
    # casefold after stripping: checked over all of Unicode, it adds no marks back
    return _WORD.findall(text.casefold())


class _Doc:
    """A document tokenised once: the set answers single words, the list answers phrases."""

    __slots__ = ("tokens", "vocab")

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.vocab = frozenset(self.tokens)


@dataclass(frozen=True, slots=True)
class _Term:
    """A word or phrase: consecutive tokens, the last one a prefix when `prefix`."""

    words: tuple[str, ...]
    prefix: bool
    written: str  # as the user wrote it, for explain()
    position: int

    def matches(self, doc: _Doc) -> bool:
        *head, last = self.words
        if any(word not in doc.vocab for word in head):  # cheap reject before scanning
            return False
        if not head:
            if self.prefix:
                return any(token.startswith(last) for token in doc.vocab)
            return last in doc.vocab
        tokens, n = doc.tokens, len(self.words)
        start = -1
        while True:  # list.index runs in C; try each place the first word occurs
            try:
                start = tokens.index(head[0], start + 1)
            except ValueError:
                return False
            if start + n > len(tokens):
                return False
            tail = tokens[start + n - 1]
            if tokens[start : start + n - 1] == head and (
                tail.startswith(last) if self.prefix else tail == last
            ):
                return True


@dataclass(frozen=True, slots=True)
class _Not:
    child: _Node
    position: int  # of the NOT or '-'

    def matches(self, doc: _Doc) -> bool:
        return not self.child.matches(doc)


@dataclass(frozen=True, slots=True)
class _And:
    children: tuple[_Node, ...]
    position: int

    def matches(self, doc: _Doc) -> bool:
        return all(child.matches(doc) for child in self.children)


@dataclass(frozen=True, slots=True)
class _Or:
    children: tuple[_Node, ...]
    position: int

    def matches(self, doc: _Doc) -> bool:
        return any(child.matches(doc) for child in self.children)


_Node: TypeAlias = "_Term | _Not | _And | _Or"


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled topic query; build it with `compile_query`. Equal when the text is equal."""

    text: str
    _root: _Node = field(repr=False, compare=False)
    _positive: tuple[_Term, ...] = field(repr=False, compare=False)

    def matches(self, text: str) -> bool:
        """Whether `text` satisfies the query."""
        return self._root.matches(_Doc(text))

    def explain(self, text: str) -> tuple[str, ...]:
        """The positive terms found in `text`, in query order, as written; () on no match."""
        doc = _Doc(text)
        if not self._root.matches(doc):
            return ()
        return tuple(term.written for term in self._positive if term.matches(doc))


def compile_query(text: str) -> Query:
    """Parse `text` into a Query, or raise QueryError with the offending position."""
    tokens = _lex(text)
    if not tokens:
        raise QueryError("the query is empty", query=text, position=0)
    root = _Parser(text, tokens).parse()
    # A query that matches a document with none of its words (NOT storm, a OR -b)
    # would flood the digest with every entry of every feed.
    if root.matches(_Doc("")):
        error = QueryError(
            "a query needs at least one term that must appear",
            query=text,
            position=_blame_negation(root),
        )
        error.hint = "combine the exclusion with a wanted word, e.g. storm AND NOT drill"
        raise error
    first: dict[tuple[tuple[str, ...], bool], _Term] = {}
    for term in _positive_terms(root, negated=False):
        first.setdefault((term.words, term.prefix), term)  # `Trump OR trump` is one term
    return Query(text, root, tuple(first.values()))


# --- lexing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Op:
    kind: str  # "AND", "OR", "NOT", "(", ")"
    position: int
    written: str  # "-" for a dash NOT, for messages


def _lex(query: str) -> list[_Op | _Term]:
    tokens: list[_Op | _Term] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Op(char, i, char))
            i += 1
        elif char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            tokens.append(_Op("NOT", i, "-"))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated quote", query=query, position=i)
            tokens.append(_make_term(query, query[i + 1 : end], i, quoted=True))
            i = end + 1
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in '()"':
                end += 1
            word = query[i:end]
            if word in _OPERATORS:
                tokens.append(_Op(word, i, word))
            else:
                tokens.append(_make_term(query, word, i, quoted=False))
            i = end
    return tokens


def _make_term(query: str, raw: str, start: int, *, quoted: bool) -> _Term:
    body = raw.rstrip()
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    star = body.find("*")
    if star >= 0:
        position = start + star + (1 if quoted else 0)
        raise QueryError("'*' is only allowed at the end of a word", query=query, position=position)
    words = tuple(tokenize(body))
    if not words and quoted:
        raise QueryError("empty phrase", query=query, position=start)
    if not words:
        hint = "; write -word to exclude a word" if raw == "-" else ""
        message = f"{raw!r} has no letters or digits to match{hint}"
        raise QueryError(message, query=query, position=start)
    written = " ".join(raw.split()) if quoted else raw
    return _Term(words, prefix, written, start)


# --- parsing: or := and (OR and)* ; and := unary ([AND] unary)* ; unary := NOT unary | primary


class _Parser:
    __slots__ = ("depth", "i", "query", "tokens")

    def __init__(self, query: str, tokens: list[_Op | _Term]) -> None:
        self.query, self.tokens, self.i, self.depth = query, tokens, 0, 0

    def parse(self) -> _Node:
        node = self._or()
        if self.i < len(self.tokens):  # only a stray ')' ends the top level early
            raise self._error("unmatched ')'", self.tokens[self.i].position)
        return node

    def _or(self) -> _Node:
        children = [self._and(after=None)]
        while self._kind() == "OR":
            children.append(self._and(after=self._take()))
        return children[0] if len(children) == 1 else _Or(tuple(children), children[0].position)

    def _and(self, after: _Op | None) -> _Node:
        children = [self._unary(after)]
        while (kind := self._kind()) in ("AND", "TERM", "(", "NOT"):
            # explicit AND demands an operand; adjacency is an implicit AND
            children.append(self._unary(self._take() if kind == "AND" else None))
        return children[0] if len(children) == 1 else _And(tuple(children), children[0].position)

    def _unary(self, after: _Op | None) -> _Node:
        token = self._peek()
        if isinstance(token, _Op) and token.kind == "NOT":
            self.i += 1
            return _Not(self._nested(lambda: self._unary(token), token), token.position)
        return self._primary(after)

    def _primary(self, after: _Op | None) -> _Node:
        token = self._peek()
        if isinstance(token, _Term):
            self.i += 1
            return token
        if token is not None and token.kind == "(":
            self.i += 1
            if self._kind() is None:
                raise self._error("unmatched '('", token.position)
            if self._kind() == ")":
                raise self._error("empty parentheses", token.position)
            node = self._nested(self._or, token)
            if self._kind() != ")":
                raise self._error("unmatched '('", token.position)
            self.i += 1
            return node
        # No operand here: blame the operator that wanted one, else what stands here.
        if after is not None:
            raise self._error(f"'{after.written}' needs a term after it", after.position)
        assert token is not None  # the parser only asks for an operand when tokens remain
        if token.kind == ")":
            raise self._error("unmatched ')'", token.position)
        raise self._error(f"'{token.written}' needs a term before it", token.position)

    def _nested(self, parse: Callable[[], _Node], opener: _Op) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self._error("the query is nested too deeply", opener.position)
        node = parse()
        self.depth -= 1
        return node

    def _peek(self) -> _Op | _Term | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _kind(self) -> str | None:
        token = self._peek()
        if token is None:
            return None
        return "TERM" if isinstance(token, _Term) else token.kind

    def _take(self) -> _Op:
        token = self.tokens[self.i]
        assert isinstance(token, _Op)
        self.i += 1
        return token

    def _error(self, message: str, position: int) -> QueryError:
        return QueryError(message, query=self.query, position=position)


def _blame_negation(node: _Node) -> int:
    """Position of the negation that lets `node` match an empty document."""
    empty = _Doc("")
    while not isinstance(node, _Not | _Term):
        # an OR matches empty through one branch; an AND through all, so any will do
        node = next(child for child in node.children if child.matches(empty))
    return node.position


def _positive_terms(node: _Node, *, negated: bool) -> Iterator[_Term]:
    """The terms under an even number of NOTs, left to right."""
    if isinstance(node, _Term):
        if not negated:
            yield node
    elif isinstance(node, _Not):
        yield from _positive_terms(node.child, negated=not negated)
    else:
        for child in node.children:
            yield from _positive_terms(child, negated=negated)
