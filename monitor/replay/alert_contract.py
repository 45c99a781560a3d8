"""The alert contract, checked on the lines a replay gives (monitor/replay/archive_replay.py).

Per topic, in the order the articles were placed:

- a story's first article on the topic is a `new_story`, and it is sent; there is at
  most one `new_story` per story as it stood when each article was placed (`story_then`);
- a `development` has a non-empty `what_is_new` and is sent;
- `also_reported` and `duplicate` come only after the story was sent on the topic,
  carry no `what_is_new` and are not sent on their own;
- `also_reported_by` names each source once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("new_story", "development", "also_reported", "duplicate")


def contract_problems(alerts: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every breach of the contract, one sentence each naming the topic and article."""
    problems: list[str] = []
    opened: set[tuple[str, str]] = set()  # (topic, story_then) with a new_story
    started: set[tuple[str, str]] = set()  # (topic, final story) already sent
    for alert in alerts:
        topic, article, kind = alert["topic"], alert["article"], alert["kind"]
        where = f"topic {topic!r}, article {article!r}"
        then, story = (topic, alert["story_then"]), (topic, alert["story"])
        if kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
            continue
        repeated = [s for s, n in Counter(alert["also_reported_by"]).items() if n > 1]
        if repeated:
            problems.append(f"{where}: also reported by {', '.join(repeated)} more than once")
        if story not in started and kind != "new_story":
            problems.append(f"{where}: the story's first article is a {kind}, not a new_story")
        if kind == "new_story":
            if then in opened:
                problems.append(f"{where}: a second new_story in story {alert['story_then']}")
            opened.add(then)
        if kind == "development" and not alert["what_is_new"]:
            problems.append(f"{where}: a development with nothing in what_is_new")
        if kind in ("new_story", "development") and not alert["sent"]:
            problems.append(f"{where}: a {kind} that was never sent")
        if kind in ("also_reported", "duplicate") and (alert["what_is_new"] or alert["sent"]):
            problems.append(f"{where}: {kind}, yet sent or with something in what_is_new")
        started.add(story)
    return problems
