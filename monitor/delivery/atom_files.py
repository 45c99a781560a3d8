"""Each topic's stories as an Atom feed file, so any feed reader can follow a topic.

Files are `<data_dir>/atom/<topic>.xml`, rewritten atomically after a cycle
that found something for the topic and when the config is reloaded (and at start,
for a new topic that has no file yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from monitor.channels.files import write_atomic
from monitor.config import TopicConfig
from monitor.delivery.compose import fold_stories, render_atom
from monitor.models import Match
from monitor.store.interfaces import MatchHistory

ATOM_ENTRIES = 50  # stories per topic feed
RECENT_MATCHES = 500  # matches read to find them: copies and updates fold into their story


def _folded(
    topic: str, recent: Sequence[tuple[int, Match, datetime]]
) -> list[tuple[str, Match, datetime]]:
    """One entry per story (newest first), copies folded as in digests: the entry id is
    the story's, updated when the story last had news on the topic."""
    alerts = [(row_id, m, found) for row_id, m, found in reversed(recent) if m.alert]
    updated: dict[str, tuple[int, datetime]] = {}
    for row_id, m, found in alerts:
        key = m.story_id or f"url:{m.url}"
        first_id = updated.get(key, (row_id, found))[0]
        updated[key] = (first_id, found)
    entries = []
    for item in fold_stories([m for _, m, _ in alerts]):
        first_id, found = updated[item.story_id or f"url:{item.url}"]
        entries.append((f"{topic}-{item.story_id or first_id}", item, found))
    entries.sort(key=lambda entry: entry[2], reverse=True)
    return entries[:ATOM_ENTRIES]


def atom_path(directory: Path, topic: str) -> Path:
    return directory / f"{topic}.xml"


def write_atom_feeds(
    store: MatchHistory,
    topics: Sequence[TopicConfig],
    names: Iterable[str],
    directory: Path,
    now: datetime,
) -> list[Path]:
    """Rewrite the Atom files of the topics in `names`; return the paths written."""
    wanted = set(names)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in topics:
        if topic.name not in wanted:
            continue
        stories = _folded(topic.name, store.recent_matches(topic.name, RECENT_MATCHES))
        path = atom_path(directory, topic.name)
        write_atomic(path, render_atom(topic, stories, now).encode("utf-8"))
        written.append(path)
    return written
