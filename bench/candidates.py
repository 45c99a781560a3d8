"""Which entries are worth a page fetch: pages fetched against matches confirmed, and recall.

The 50 NewsWCL50 articles (tests/data/clusters/query-newswcl50.jsonl: ten events, five
outlets each) and one full-text topic per event, written from the event as a user would.
Each article is an entry whose title is its headline and whose summary is the first
sentences of its text (what a feed carries; `--summary-chars`). For each way of choosing
candidates this prints the pages fetched, the (entry, topic) matches confirmed on the full
text, recall against every match the full text holds (what fetching every page would
find), and recall against the event labels.

    loosely   the old rule: a page for every entry that shares one word with a topic
    promising half of what the query requires held by the title and summary

`--farm N` runs the same comparison on the entries of bench/farm.py's `--news` farm (N
feeds, every entry, as a first poll without backlog would see them) with bench/endtoend.py's
five topics: the page text is the farm's own.

    python -m bench.candidates [--summary-chars 300] [--farm 1000]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from monitor.query import Document, TopicIndex, compile_query

DATA = Path(__file__).parent.parent / "tests" / "data" / "clusters" / "query-newswcl50.jsonl"

TOPICS = {
    "wcl50-0": '(Pompeo) AND ("Kim Jong Un" OR "Kim Jong-un" OR "North Korea") AND (met OR '
    "meeting OR visit OR secret*)",
    "wcl50-1": '(Comey) AND (memo OR memos) AND (released OR Congress OR leaked OR "turned over")',
    "wcl50-2": '("North Korea" OR Pyongyang) AND (nuclear OR missile) AND (test OR tests) AND '
    "(suspend* OR halt OR stop OR shut* OR close)",
    "wcl50-3": '(DNC OR "Democratic National Committee" OR "Democratic Party") AND (lawsuit OR '
    "sue OR suit) AND (Russia OR Russian) AND WikiLeaks",
    "wcl50-4": "(Macron) AND (Iran) AND (deal OR agreement OR accord OR pact)",
    "wcl50-5": '(Trump) AND (UK OR Britain OR "United Kingdom" OR London) AND (visit OR trip) '
    "AND July",
    "wcl50-6": "(caravan) AND (migrant OR migrants OR asylum) AND (border)",
    "wcl50-7": "(tariff OR tariffs) AND (steel OR aluminum) AND (delay* OR postpone* OR extend* "
    "OR exempt*)",
    "wcl50-8": "(Mueller) AND (question OR questions) AND (Trump)",
    "wcl50-9": "(Netanyahu) AND (Iran) AND (nuclear) AND (deal OR agreement OR files OR archive)",
}


def summary_of(text: str, chars: int) -> str:
    """The first sentences of `text`, up to about `chars` characters."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    out = ""
    for sentence in sentences:
        if out and len(out) + len(sentence) > chars:
            break
        out = f"{out} {sentence}".strip()
    return out[: chars * 2]


def farm_items(feeds: int) -> list[tuple[Document, Document]]:
    """(entry, article) documents of every entry of the --news farm's feeds."""
    from bench.farm import _news_entry, entry_count

    tags = re.compile(r"<[^>]+>")
    items = []
    for i in range(feeds):
        for n in range(entry_count(i)):
            title, summary, rest = _news_entry(i, n)
            text = tags.sub(" ", summary)
            items.append((Document(title, text), Document(title, text + tags.sub(" ", rest))))
    return items


def compare_on_farm(feeds: int) -> None:
    from bench.endtoend import topic_queries

    queries = {name: compile_query(q) for name, q in topic_queries().items()}
    index = TopicIndex(queries)
    items = farm_items(feeds)
    truth = sum(1 for _, full in items for q in queries.values() if q.match(full))
    print(f"farm: {feeds} feeds, {len(items)} entries, 5 topics; matches on the pages: {truth}\n")
    print("| rule | pages fetched | matches confirmed | pages per match | recall |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for rule in ("loosely", "promising"):
        fetched = found = 0
        for entry, full in items:
            selected = set(index.match(entry))
            wider = set(getattr(index, rule)(entry)) - selected
            if selected or wider:
                fetched += 1
                found += sum(1 for n in selected | wider if queries[n].match(full))
        print(
            f"| {rule} | {fetched} | {found} | {fetched / max(found, 1):.2f} | "
            f"{found / max(truth, 1):.0%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary-chars", type=int, default=300)
    parser.add_argument("--farm", type=int, default=0, help="the --news farm's N feeds instead")
    args = parser.parse_args()
    if args.farm:
        compare_on_farm(args.farm)
        return
    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    queries = {name: compile_query(q) for name, q in TOPICS.items()}
    index = TopicIndex(queries)
    truth = {  # (article, topic) pairs the full text matches
        (r["id"], name)
        for r in records
        for name, q in queries.items()
        if q.match(Document(r["title"] or "", r["text"], r["source"], r["url"]))
    }
    labelled = {(r["id"], r["cluster_id"]) for r in records}
    print(
        f"{len(records)} articles, {len(queries)} full-text topics, summaries of "
        f"~{args.summary_chars} characters ({'headline only' if not args.summary_chars else ''})"
    )
    print(f"matches on the full text: {len(truth)} ({len(truth & labelled)} of them on-event)\n")
    print(
        "| rule | pages fetched | matches confirmed | pages per match | recall (full text) "
        "| recall (event labels) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for rule in ("loosely", "promising"):
        fetched = 0
        found: set[tuple[str, str]] = set()
        for r in records:
            summary = summary_of(r["text"], args.summary_chars) if args.summary_chars else ""
            entry = Document(r["title"] or "", summary, r["source"], r["url"])
            selected = set(index.match(entry))
            wider = set(getattr(index, rule)(entry)) - selected
            if not selected and not wider:
                continue
            fetched += 1
            full = Document(r["title"] or "", r["text"], r["source"], r["url"])
            found |= {(r["id"], n) for n in selected | wider if queries[n].match(full)}
        per = fetched / max(len(found), 1)
        on_event = len(found & labelled) / max(len(truth & labelled), 1)
        print(
            f"| {rule} | {fetched} | {len(found)} | {per:.2f} | "
            f"{len(found) / max(len(truth), 1):.0%} | {on_event:.0%} |"
        )


if __name__ == "__main__":
    main()
