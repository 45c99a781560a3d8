"""Benchmark: TopicIndex against a naive loop over every topic's regexes, same run.

    .venv/bin/python bench/matching.py                      # 1,000 topics x 10,000 entries
    .venv/bin/python bench/matching.py --topics 200 --entries 1000

Entries are the corpus clusters (stream.jsonl: UCI headlines, NewsWCL50 articles) and
the article truth texts, repeated as feed-like variants (title only, title + ~400-char
summary, title + full text) up to --entries. Topics are generated with a fixed seed
from words, entities and outlets that occur in those texts, mixing AND/OR/NOT,
phrases, prefixes, field scopes and NEAR.

The naive loop is what matching looked like before the index: for every entry, every
topic, walk the query tree and run one compiled, case-insensitive, word-bounded regex
per term (one per NEAR) over the entry's text. It gets the same normalised text (words
case-, accent-, plural- and possessive-folded and joined by spaces) so that the two
give identical results, which the run checks entry by entry on the naive sample.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.errors import QueryError
from monitor.query import Document, Query, TopicIndex, compile_query
from monitor.query.nodes import And, Near, Node, Not, Or, Term
from monitor.query.normalize import tokenize, words

CORPUS = Path("/work/shared/corpus")
_STOP_WORDS = """about above after again against also among another around because been before
    being below between both could does doing down during each even every first from
    further have having here into just last like made make many more most much must
    next only other over same says said should since some still such than that their
    them then there these they this those through under until very want were what when
    where which while whom will with would year years your week told according"""
STOP = frozenset(_STOP_WORDS.split())
Naive = Callable[[dict[str, tuple[str, str]]], bool]


def load_documents() -> list[Document]:
    """Every corpus item with a title or text, as a Document."""
    docs = []
    with (CORPUS / "clusters" / "stream.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            r = json.loads(line)
            docs.append(Document(r["title"] or "", r["text"] or "", r["source"], r["url"]))
    with (CORPUS / "articles" / "truth.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            r = json.loads(line)
            head, _, body = r["text"].strip().partition("\n")  # no headline: first paragraph
            docs.append(Document(head.strip(), body.strip(), r["url"].split("/")[2], r["url"]))
    return docs


def entries(docs: list[Document], n: int, rng: random.Random) -> list[Document]:
    """`n` feed-like entries: the documents in turn as title only, summary or full text."""
    out = []
    for i in range(n):
        doc = docs[i % len(docs)]
        mode = (i // len(docs)) % 3
        if mode == 0 or not doc.text:
            out.append(doc)
        elif mode == 1:
            cut = doc.text.find(" ", 350 + rng.randrange(100))
            out.append(Document(doc.title, doc.text[: cut if cut > 0 else None], doc.source))
        else:
            out.append(Document(doc.title, "", doc.source, doc.url))
    return out


def topics(docs: list[Document], n: int, rng: random.Random) -> dict[str, str]:
    """`n` topic queries built from words, entities and outlets of the documents.

    Each topic starts from one document and takes its specific words (in 2 to 2% of
    the documents) and named entities, as a user following that story would; OR
    alternatives are other specific words, exclusions are common words.
    """
    entity = re.compile(r"\b[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,}){1,2}\b")
    per_doc: list[tuple[set[str], set[str]]] = []
    df: Counter[str] = Counter()
    for doc in docs:
        body = f"{doc.title}. {doc.text}"
        content = {w for w in tokenize(body) if len(w) > 3 and w.isalpha() and w not in STOP}
        names = {f'"{name}"' for name in entity.findall(body)}
        df.update(sorted(content | names))
        per_doc.append((content, names))
    limit = max(len(docs) // 50, 3)
    specific = sorted(w for w, c in df.items() if 2 <= c <= limit)
    common = [w for w, _ in df.most_common(300) if not w.startswith('"')]
    sources = sorted({d.source for d in docs if d.source.isascii() and '"' not in d.source})
    out: dict[str, str] = {}
    while len(out) < n:
        content, names = rng.choice(per_doc)
        own = sorted(w for w in content | names if 2 <= df[w] <= limit)
        words_ = sorted(w for w in content if 2 <= df[w] <= limit)
        if len(own) < 4 or len(words_) < 2:
            continue
        a, b, c, d = rng.sample(own, 4)
        other, common_word = rng.choice(specific), rng.choice(common)
        query = [
            f"({a} OR {other}) AND ({b} OR {c})",
            f"{a} {b} -{common_word}",
            f"title:({a} OR {b}) {c}",
            f"{a} NEAR/{rng.randrange(1, 12)} {b}",
            f"{rng.choice(words_)[:6]}* AND {b}",
            f'source:"{rng.choice(sources)}" AND ({a} OR {b})',
            f"({a} OR {other}) AND ({b} OR {c}) AND ({d} OR {rng.choice(specific)})",
            f"{a} {b} AND NOT ({common_word} OR {rng.choice(common)})",
            f"text:{a} OR title:({b} {c})",
        ][rng.randrange(9)]
        try:
            compile_query(query)
        except QueryError:
            continue
        out[f"topic-{len(out):04d}"] = query
    return out


# --- the naive loop ------------------------------------------------------------------


def naive_compile(node: Node) -> Naive:
    """The query tree as closures over one regex per term; no index, no shortcuts."""
    if isinstance(node, Term):
        return _regex_term(node)
    if isinstance(node, Near):
        return _regex_near(node)
    if isinstance(node, Not):
        child = naive_compile(node.child)
        return lambda doc: not child(doc)
    children = [naive_compile(c) for c in node.children]
    if isinstance(node, And):
        return lambda doc: all(child(doc) for child in children)
    assert isinstance(node, Or)
    return lambda doc: any(child(doc) for child in children)


def _pattern(term: Term) -> str:
    body = " ".join(re.escape(w) for w in term.words)
    return rf"\b{body}" + (r"" if term.prefix else r"\b")


def _regex_term(term: Term) -> Naive:
    assert not (term.prefix and len(term.words) > 1), "the generator makes no prefix phrases"
    regex = re.compile(_pattern(term), re.IGNORECASE)
    slot = 1 if term.prefix else 0  # prefixes look at unfolded words
    fields = term.fields
    return lambda doc: any(regex.search(doc[f][slot]) for f in fields)


def _regex_near(node: Near) -> Naive:
    a, b, n = _pattern(node.left), _pattern(node.right), node.distance
    regex = re.compile(rf"{a}(?: \S+){{0,{n}}} {b}|{b}(?: \S+){{0,{n}}} {a}", re.IGNORECASE)
    fields = node.fields
    return lambda doc: any(regex.search(doc[f][0]) for f in fields)


def naive_text(doc: Document) -> dict[str, tuple[str, str]]:
    """Each field as folded words and as unfolded words, joined by spaces."""
    fields = {"title": doc.title, "text": doc.text, "source": doc.source, "url": doc.url}
    return {k: (" ".join(words(v)), " ".join(tokenize(v))) for k, v in fields.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=1000, help="entries for the naive loop")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    docs = load_documents()
    stream = entries(docs, args.entries, rng)
    generated = topics(docs, args.topics, rng)
    queries: dict[str, Query] = {k: compile_query(v) for k, v in generated.items()}
    step = max(len(stream) // args.naive, 1)
    sample = stream[::step]

    gc.collect()
    gc.freeze()  # the corpus, topics and closures are long-lived: keep them out of GC passes
    clock = time.process_time  # CPU time of this process: other load on the machine does not count
    start = clock()
    index = TopicIndex(queries)
    built = clock() - start
    start = clock()
    results = [set(index.match(doc)) for doc in stream]
    fast = clock() - start
    start = clock()
    names = [set(index.topics(doc)) for doc in stream]
    fast_names = clock() - start
    assert names == results, "topics() and match() disagree"

    # The naive loop and the index take turns on the same chunks of the sample, so that a
    # change of machine speed during the run weighs on both alike.
    compiled = {name: naive_compile(q._root) for name, q in queries.items()}
    fast_sample: list[set[str]] = []
    naive_results: list[set[str]] = []
    fast_on_sample = names_on_sample = slow = 0.0
    for chunk in range(0, len(sample), 25):
        part = sample[chunk : chunk + 25]
        start = clock()
        fast_sample.extend(set(index.match(doc)) for doc in part)
        fast_on_sample += clock() - start
        start = clock()
        for doc in part:
            index.topics(doc)
        names_on_sample += clock() - start
        start = clock()
        for doc in part:
            text = naive_text(doc)
            naive_results.append({name for name, check in compiled.items() if check(text)})
        slow += clock() - start

    differ = [i for i, (a, b) in enumerate(zip(fast_sample, naive_results, strict=True)) if a != b]
    matched = sum(len(r) for r in results)
    with_match = sum(1 for r in results if r)
    print(f"topics {len(queries)}, entries {len(stream)}, index built in {built * 1000:.0f} ms")
    print(f"matches: {matched} (topic, entry) pairs; {with_match} entries match some topic")
    n, k = len(stream), len(sample)
    print(f"index.match  (with explanations): {n / fast:,.0f} entries/s, all {n} entries")
    print(f"index.topics (names only):        {n / fast_names:,.0f} entries/s, all {n} entries")
    print(
        f"naive loop:                       {k / slow:,.1f} entries/s, {k} entries (every {step})"
    )
    print(f"on the same {k} entries (CPU time, taking turns):")
    for label, spent in (("index.match ", fast_on_sample), ("index.topics", names_on_sample)):
        print(f"  {label} {k / spent:,.0f} entries/s, ratio {slow / spent:,.0f}x")
    same = "identical" if not differ else f"DIFFERENT on {len(differ)} entries, first {differ[:5]}"
    print(f"results on the sample: {same}")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
