"""Query text → tree, or a QueryError that says what was expected and where.

    or     := and (OR and)*
    and    := unary ([AND] unary)*          adjacency is an implicit AND
    unary  := (NOT | -) unary | near
    near   := scoped (NEAR/n scoped)*       both sides terms or phrases
    scoped := FIELD: scoped | primary       title: text: source: url:
    primary:= term | "phrase" | ( or )

Nesting (parentheses, NOT, field scopes) stops at `MAX_DEPTH`, so no query can
exhaust the stack; NEAR distances stop at `MAX_DISTANCE`. No regex comes from users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.errors import QueryError
from monitor.query.nodes import And, Near, Node, Not, Or, Term, scoped, walk
from monitor.query.normalize import FIELDS, fold, tokenize

__all__ = ["MAX_DEPTH", "MAX_DISTANCE", "parse"]

MAX_DEPTH = 50  # parentheses, NOTs and field scopes; far from RecursionError
MAX_DISTANCE = 100  # words between the sides of NEAR/n
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_OPERAND = "a term, phrase or '('"


@dataclass(frozen=True, slots=True)
class _Op:
    kind: str  # "AND", "OR", "NOT", "NEAR", "FIELD", "(", ")"
    position: int
    written: str  # as written, for messages: "-", "NEAR/5", "title:"
    value: str = ""  # the field of a FIELD
    distance: int = 0  # of a NEAR


def parse(query: str) -> Node:
    """The tree of `query`; QueryError when it does not parse."""
    tokens = _lex(query)
    if not tokens:
        raise QueryError("the query is empty: expected a term or phrase", query=query, position=0)
    root = _Parser(query, tokens).parse()
    for node in walk(root):
        if isinstance(node, Near) and not node.fields:
            message = f"expected both sides of '{node.written}' to search the same field"
            raise QueryError(message, query=query, position=node.position)
    return root


# --- lexing -------------------------------------------------------------------------


def _lex(query: str) -> list[_Op | Term]:
    tokens: list[_Op | Term] = []
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
                message = "unterminated quote: expected a closing '\"'"
                raise QueryError(message, query=query, position=i)
            tokens.append(_make_term(query, query[i + 1 : end], i, quoted=True))
            i = end + 1
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in '()"':
                end += 1
            word = query[i:end]
            name, colon, _ = word.partition(":")
            if word in _OPERATORS:
                tokens.append(_Op(word, i, word))
            elif word == "NEAR" or word.startswith("NEAR/"):
                tokens.append(_near(query, word, i))
            elif colon and name.lower() in FIELDS:
                tokens.append(_Op("FIELD", i, f"{name}:", value=name.lower()))
                end = i + len(name) + 1  # what follows the colon is lexed on its own
            else:
                tokens.append(_make_term(query, word, i, quoted=False))
            i = end
    return tokens


def _near(query: str, word: str, start: int) -> _Op:
    digits = word[len("NEAR/") :]
    if word == "NEAR":
        raise QueryError("expected '/n' after NEAR, e.g. NEAR/5", query=query, position=start)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 3 or int(digits) > MAX_DISTANCE:
        message = f"expected a number of words from 0 to {MAX_DISTANCE} after 'NEAR/'"
        raise QueryError(message, query=query, position=start + len("NEAR/"))
    return _Op("NEAR", start, word, distance=int(digits))


def _make_term(query: str, raw: str, start: int, *, quoted: bool) -> Term:
    body = raw.rstrip()
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    star = body.find("*")
    if star >= 0:
        position = start + star + (1 if quoted else 0)
        message = "'*' in the middle of a word: expected '*' only at the end of a word"
        raise QueryError(message, query=query, position=position)
    words = tokenize(body)
    if not words and quoted:
        message = "empty phrase: expected letters or digits between the quotes"
        raise QueryError(message, query=query, position=start)
    if not words:
        hint = "; write -word to exclude a word" if raw == "-" else ""
        message = f"expected a term with letters or digits, found {raw!r}{hint}"
        raise QueryError(message, query=query, position=start)
    folded = [fold(word) for word in words]
    if prefix:  # a prefix is compared with unfolded words: `news*` must not become `new*`
        folded[-1] = words[-1]
    written = " ".join(raw.split()) if quoted else raw
    return Term(tuple(folded), prefix, written, start)


# --- parsing ------------------------------------------------------------------------


class _Parser:
    __slots__ = ("depth", "i", "query", "tokens")

    def __init__(self, query: str, tokens: list[_Op | Term]) -> None:
        self.query, self.tokens, self.i, self.depth = query, tokens, 0, 0

    def parse(self) -> Node:
        node = self._or()
        if self.i < len(self.tokens):  # only a stray ')' ends the top level early
            message = "unmatched ')': expected AND, OR, a term or the end of the query"
            raise self._error(message, self.tokens[self.i].position)
        return node

    def _or(self) -> Node:
        children = [self._and(after=None)]
        while self._kind() == "OR":
            children.append(self._and(after=self._take()))
        return children[0] if len(children) == 1 else Or(tuple(children), children[0].position)

    def _and(self, after: _Op | None) -> Node:
        children = [self._unary(after)]
        while (kind := self._kind()) in ("AND", "TERM", "(", "NOT", "FIELD"):
            # explicit AND demands an operand; adjacency is an implicit AND
            children.append(self._unary(self._take() if kind == "AND" else None))
        return children[0] if len(children) == 1 else And(tuple(children), children[0].position)

    def _unary(self, after: _Op | None) -> Node:
        token = self._peek()
        if isinstance(token, _Op) and token.kind == "NOT":
            self.i += 1
            return Not(self._nested(lambda: self._unary(token), token), token.position)
        return self._near(after)

    def _near(self, after: _Op | None) -> Node:
        left = self._scoped(after)
        pairs: list[Node] = []
        while self._kind() == "NEAR":
            op = self._take()
            if not isinstance(left, Term):
                raise self._error(f"expected a term or phrase before '{op.written}'", op.position)
            right = self._scoped(op)
            if not isinstance(right, Term):
                raise self._error(f"expected a term or phrase after '{op.written}'", op.position)
            pairs.append(Near(left, right, op.distance, op.position, op.written))
            left = right  # a NEAR/3 b NEAR/3 c: a near b, and b near c
        if not pairs:
            return left
        return pairs[0] if len(pairs) == 1 else And(tuple(pairs), pairs[0].position)

    def _scoped(self, after: _Op | None) -> Node:
        token = self._peek()
        if isinstance(token, _Op) and token.kind == "FIELD":
            self.i += 1
            if self._kind() not in ("TERM", "(", "FIELD"):
                raise self._error(f"expected {_OPERAND} after '{token.written}'", token.position)
            node = self._nested(lambda: self._scoped(token), token)
            return scoped(node, token.value)
        return self._primary(after)

    def _primary(self, after: _Op | None) -> Node:
        token = self._peek()
        if isinstance(token, Term):
            self.i += 1
            return token
        if token is not None and token.kind == "(":
            self.i += 1
            if self._kind() is None:
                raise self._error("unmatched '(': expected ')'", token.position)
            if self._kind() == ")":
                message = f"empty parentheses: expected {_OPERAND} inside"
                raise self._error(message, token.position)
            node = self._nested(self._or, token)
            if self._kind() != ")":
                raise self._error("unmatched '(': expected ')'", token.position)
            self.i += 1
            return node
        # No operand here: blame the operator that wanted one, else what stands here.
        if after is not None:
            raise self._error(f"expected {_OPERAND} after '{after.written}'", after.position)
        assert token is not None  # the parser only asks for an operand when tokens remain
        if token.kind == ")":
            raise self._error(f"unmatched ')': expected {_OPERAND}", token.position)
        raise self._error(f"expected {_OPERAND} before '{token.written}'", token.position)

    def _nested(self, parse: Callable[[], Node], opener: _Op) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            message = (
                f"the query is nested too deeply: expected at most {MAX_DEPTH} levels"
                " of parentheses, NOT and field scopes"
            )
            raise self._error(message, opener.position)
        node = parse()
        self.depth -= 1
        return node

    def _peek(self) -> _Op | Term | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _kind(self) -> str | None:
        token = self._peek()
        if token is None:
            return None
        return "TERM" if isinstance(token, Term) else token.kind

    def _take(self) -> _Op:
        token = self.tokens[self.i]
        assert isinstance(token, _Op)
        self.i += 1
        return token

    def _error(self, message: str, position: int) -> QueryError:
        return QueryError(message, query=self.query, position=position)
