"""Each topic's stories as an Atom feed file, so any feed reader can follow a topic.

Files are `<data_dir>/atom/<topic>.xml`, rewritten atomically after a cycle
that found something for the topic (and at start, so a new topic has its file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from monitor.channels.files import write_atomic
from monitor.config import TopicConfig
from monitor.delivery.compose import render_atom
from monitor.store import Store

ATOM_ENTRIES = 50


def atom_path(directory: Path, topic: str) -> Path:
    return directory / f"{topic}.xml"


def write_atom_feeds(
    store: Store,
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
        stories = [
            (f"{topic.name}-{row_id}", match, found)
            for row_id, match, found in store.recent_matches(topic.name, ATOM_ENTRIES)
        ]
        path = atom_path(directory, topic.name)
        write_atomic(path, render_atom(topic, stories, now).encode("utf-8"))
        written.append(path)
    return written
