"""`news-monitor replay`: the whole pipeline over an archive, and the alert contract.

Archives are real articles from the dev corpus (tests/data/clusters/README-stories.md).
Every replay's output is checked against the contract (monitor/replay/alert_contract.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.replay.alert_contract import contract_problems

DATA = Path(__file__).parent / "data" / "clusters"
WCL50 = DATA / "stories-newswcl50.jsonl"
UCI = DATA / "replay-uci.jsonl"
EVERYTHING = "said OR says OR the OR of OR to OR in OR and OR for OR on"


def config(tmp_path: Path, *topics: tuple[str, str, str]) -> Path:
    """A config whose store must never be created by a replay."""
    text = f'[store]\nurl = "sqlite:///{tmp_path}/configured.db"\n'
    for name, query, schedule in topics:
        text += f"\n[[topics]]\nname = {name!r}\nquery = {query!r}\nschedule = {schedule!r}\n"
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def replay(tmp_path: Path, archive: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / "alerts.jsonl"
    cfg = tmp_path / "monitor.toml"
    assert main(["--config", str(cfg), "replay", str(archive), "--out", str(out), *args]) == 0
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert contract_problems(alerts) == []
    assert not (tmp_path / "configured.db").exists(), "the configured store is never touched"
    return alerts


def gold(archive: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in archive.read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row["cluster_id"] for row in rows}


def test_replay_of_five_events_keeps_the_contract_and_the_events_apart(tmp_path: Path) -> None:
    """25 full texts on five events: every article matched, no story mixes two events."""
    config(tmp_path, ("all", EVERYTHING, "every 6h"))

    alerts = replay(tmp_path, WCL50)

    events = gold(WCL50)
    assert sorted(a["article"] for a in alerts) == sorted(events)
    clusters_of_story: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        clusters_of_story[alert["story"]].add(events[alert["article"]])
    assert all(len(clusters) == 1 for clusters in clusters_of_story.values())
    assert len(clusters_of_story) <= 7  # five events, each mostly one story
    developments = [a for a in alerts if a["kind"] == "development"]
    assert developments and all(a["what_is_new"] and a["sent"] for a in developments)


def test_replay_of_wire_headlines_folds_copies_and_names_their_outlets(tmp_path: Path) -> None:
    """Headlines only: near-identical wire headlines are folded, their outlets named once."""
    config(tmp_path, ("ebay", "eBay OR Icahn", "every 1h"), ("fed", "Fed OR Plosser", "every 1h"))

    alerts = replay(tmp_path, UCI)

    ebay = [a for a in alerts if a["topic"] == "ebay"]
    assert {a["article"] for a in ebay} >= {"uci-58", "uci-59"}
    copy = next(a for a in ebay if a["article"] == "uci-59")
    assert copy["kind"] in ("duplicate", "also_reported") and not copy["sent"]
    sent = [a for a in ebay if a["sent"]]
    named = [source for a in sent for source in a["also_reported_by"]]
    assert "bnn.ca" in named
    assert {a["topic"] for a in alerts} == {"ebay", "fed"}


def test_one_topic_only_and_bad_lines_reported_with_their_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad lines are named by number and skipped; the good ones are all replayed."""
    config(tmp_path, ("ebay", "eBay OR Icahn", "immediate"), ("fed", "Fed", "immediate"))
    lines = UCI.read_text(encoding="utf-8").splitlines()
    broken = [*lines[:3], "{not json", '{"id": "x", "url": "https://e.org/x"}', *lines[3:]]
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join(broken) + "\n", encoding="utf-8")

    alerts = replay(tmp_path, archive, "--topic", "ebay")

    err = capsys.readouterr().err
    assert "line 4: not JSON" in err
    assert "line 5: 'time' is missing" in err
    assert {a["topic"] for a in alerts} == {"ebay"}
    titles = {row["id"]: row["title"].lower() for row in map(json.loads, lines)}
    expected = {key for key, title in titles.items() if "ebay" in title or "icahn" in title}
    assert {a["article"] for a in alerts} == expected


def test_an_html_article_is_cleaned_by_the_extraction_stage(tmp_path: Path) -> None:
    """The page's navigation is not the article: only the cleaned text is matched."""
    config(tmp_path, ("summit", "summit", "immediate"), ("menu", "subscribe", "immediate"))
    paragraph = (
        "<p>President Donald Trump invited Russian President Vladimir Putin to a summit at "
        "the White House, the Kremlin said on Monday, describing a proposal made during a "
        "phone call between the two leaders in March, when relations were already strained "
        "after both countries expelled dozens of diplomats.</p>"
    )
    html = (
        "<html><head><title>Summit</title></head><body><nav>Home | Subscribe</nav>"
        f"<article><h1>Kremlin says Trump invited Putin</h1>{paragraph * 2}</article>"
        "<footer>Subscribe today</footer></body></html>"
    )
    row = {
        "id": "a1",
        "time": "2018-04-02T10:00:00Z",
        "source": "Wire",
        "url": "https://e.org/1",
        "title": "Kremlin says Trump invited Putin",
        "html": html,
    }
    archive = tmp_path / "archive.jsonl"
    archive.write_text(json.dumps(row) + "\n", encoding="utf-8")

    alerts = replay(tmp_path, archive)

    assert [(a["topic"], a["kind"], a["sent"]) for a in alerts] == [("summit", "new_story", True)]


def test_an_unknown_topic_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, ("fed", "Fed", "immediate"))

    assert main(["--config", str(cfg), "replay", str(UCI), "--topic", "ecb"]) == 2

    assert "--topic: no topic named 'ecb' (known: fed)" in capsys.readouterr().err


def line(article: str, kind: str, **changes: Any) -> dict[str, Any]:
    alert = {
        "topic": "t",
        "article": article,
        "story": "st-1",
        "story_then": "st-1",
        "kind": kind,
        "sent": kind in ("new_story", "development"),
        "what_is_new": ["A new fact."] if kind == "development" else [],
        "also_reported_by": [],
    }
    return alert | changes


def test_the_contract_checker_names_each_breach() -> None:
    """Each way of breaking the contract is reported with its topic and article."""
    good = [line("a", "new_story"), line("b", "development"), line("c", "duplicate")]
    assert contract_problems(good) == []

    problems = contract_problems(
        [
            line("a", "development"),
            line("b", "new_story"),
            line("c", "new_story", story="st-2", story_then="st-1"),
            line("d", "development", what_is_new=[]),
            line("e", "new_story", story="st-3", story_then="st-3", sent=False),
            line("f", "also_reported", sent=True),
            line("g", "development", also_reported_by=["AP", "AP"]),
        ]
    )

    assert problems == [
        "topic 't', article 'a': the story's first article is a development, not a new_story",
        "topic 't', article 'c': a second new_story in story st-1",
        "topic 't', article 'd': a development with nothing in what_is_new",
        "topic 't', article 'e': a new_story that was never sent",
        "topic 't', article 'f': also_reported, yet sent or with something in what_is_new",
        "topic 't', article 'g': also reported by AP more than once",
    ]


def test_an_archive_that_cannot_be_read_or_an_output_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line naming the file and why, exit 1, no traceback."""
    cfg = config(tmp_path, ("fed", "Fed", "immediate"))

    missing = tmp_path / "missing.jsonl"
    assert main(["--config", str(cfg), "replay", str(missing)]) == 1
    out = tmp_path / "no" / "alerts.jsonl"
    assert main(["--config", str(cfg), "replay", str(UCI), "--out", str(out)]) == 1

    err = capsys.readouterr().err
    assert f"error: cannot read {missing}: No such file or directory" in err
    assert f"error: cannot write {out}: no such directory" in err
    assert "Traceback" not in err
