"""A topic written for one NewsWCL50 event finds exactly that event's five articles.

The data is tests/data/clusters/query-newswcl50.jsonl (see README-query.md there): ten
US-politics events of April 2018, each reported by five outlets from left to right.
"""

from __future__ import annotations

import json
from pathlib import Path

from monitor.query import Document, compile_query

DATA = Path(__file__).parent / "data" / "clusters" / "query-newswcl50.jsonl"

# The event: the Democratic National Committee sues Russia, the Trump campaign and
# WikiLeaks (cluster wcl50-3). Why this query:
# - who sues: outlets say "DNC", "Democratic National Committee" or "Democratic Party";
# - the act: "lawsuit", "sue" (plural folding also takes "sues"), or "suit" (Fox, HuffPost);
# - whom: Russia (or "Russian government") and WikiLeaks, which all five name. The other
#   nine events mention the DNC (Comey memos, Mueller's questions) and Russia and
#   WikiLeaks (Mueller), but none of them a lawsuit by the DNC.
DNC_SUES_RUSSIA = (
    '(DNC OR "Democratic National Committee" OR "Democratic Party")'
    " AND (lawsuit OR sue OR suit) AND (Russia OR Russian) AND WikiLeaks"
)


def test_dnc_lawsuit_topic_finds_exactly_its_event() -> None:
    """The DNC-sues-Russia query matches all five wcl50-3 articles and none of the other 45."""
    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 50
    query = compile_query(DNC_SUES_RUSSIA)
    found = {
        r["id"]
        for r in records
        if query.match(Document(r["title"] or "", r["text"], r["source"], r["url"]))
    }
    expected = {r["id"] for r in records if r["cluster_id"] == "wcl50-3"}
    assert len(expected) == 5
    assert found == expected


def test_dnc_lawsuit_explanations_point_at_the_lawsuit() -> None:
    """Each match explains itself with the terms found and a snippet naming the suit."""
    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    query = compile_query(DNC_SUES_RUSSIA)
    for r in records:
        if r["cluster_id"] != "wcl50-3":
            continue
        explanation = query.match(Document(r["title"] or "", r["text"]))
        assert explanation is not None
        assert "WikiLeaks" in explanation.terms
        assert 0 < len(explanation.snippet) <= 242
