"""The topic query language: compile once, match many documents, explain each match.

    (Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting)
    title:(summit OR meeting) Trump NEAR/5 Putin -source:"Daily Mail"

Terms, "phrases", AND, OR, NOT, `-term`, parentheses, implicit AND, prefixes
(`summit*`), proximity (`NEAR/n`), field scopes (`title:` `text:` `source:` `url:`).
Matching is on whole words, case- and accent-insensitive, with English plurals and
possessives folded; see docs/queries.md. Pure: no I/O, nothing from the rest of
monitor but its errors.

    text.py     words, folding, a document tokenised once
    parser.py   query text → tree, errors that say what was expected
    nodes.py    the tree: how each node matches, which words it needs
    explain.py  terms, hits and a snippet for a match
    matcher.py  Query and compile_query
    index.py    TopicIndex: many topics against one document
"""

from monitor.query.explain import Explanation, Hit
from monitor.query.index import TopicIndex
from monitor.query.matcher import Query, compile_query
from monitor.query.nodes import Anchors
from monitor.query.normalize import Document, tokenize

__all__ = [
    "Anchors",
    "Document",
    "Explanation",
    "Hit",
    "Query",
    "TopicIndex",
    "compile_query",
    "tokenize",
]
