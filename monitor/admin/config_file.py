"""Editing the config file in place: comments, order and layout stay as the user wrote them.

Every change is validated like `news-monitor check` (a copy is written next to
the file and loaded) before it replaces the file, so a bad edit never leaves a
config the service cannot start with.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from monitor.admin.query_check import query_problems
from monitor.config import Settings, load_settings
from monitor.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TopicFields:
    """A topic as a form or a command gives it; empty values are left out of the file."""

    name: str
    query: str
    title: str = ""
    match: str = "summary"
    schedule: str = "immediate"
    channels: Sequence[str] = ()
    urgent: bool = False

    def table(self) -> dict[str, Any]:
        values: dict[str, Any] = {"name": self.name}
        if self.title:
            values["title"] = self.title
        values["query"] = self.query
        if self.match != "summary":
            values["match"] = self.match
        if self.schedule != "immediate":
            values["schedule"] = self.schedule
        if self.channels:
            values["channels"] = list(self.channels)
        if self.urgent:
            values["urgent"] = True
        return values


class ConfigFile:
    """One TOML config file, loaded for editing; `save()` validates and replaces it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
            self.doc = tomlkit.parse(text)
        except (OSError, TOMLKitError) as exc:
            raise ConfigError([f"(file): cannot be edited: {exc}"], source=str(path)) from None

    def _tables(self, key: str) -> list[Table]:
        found = self.doc.get(key)
        return list(found) if isinstance(found, AoT) else []

    def _index(self, key: str, field: str, value: str) -> int | None:
        for i, table in enumerate(self._tables(key)):
            if table.get(field) == value:
                return i
        return None

    def remove_feed(self, url: str) -> bool:
        """Drop the [[feeds]] table of `url`; False if the file does not list it."""
        index = self._index("feeds", "url", url)
        if index is None:
            return False
        feeds = self.doc["feeds"]
        assert isinstance(feeds, AoT)
        feeds.body.pop(index)  # an AoT keeps its tables in .body
        if not feeds.body:
            del self.doc["feeds"]
        return True

    def put_topic(self, topic: TopicFields, *, replacing: str | None = None) -> None:
        """Add a topic, or replace the one named `replacing` keeping its place in the file."""
        index = self._index("topics", "name", replacing) if replacing else None
        if replacing and index is None:
            raise ConfigError([f"topics: no topic named {replacing!r} in the file"])
        if index is None:
            if self._index("topics", "name", topic.name) is not None:
                raise ConfigError([f"topics: a topic named {topic.name!r} exists already"])
            if "topics" not in self.doc:
                self.doc.append("topics", tomlkit.aot())
            topics = self.doc["topics"]
            assert isinstance(topics, AoT)
            topics.append(tomlkit.item(topic.table()))
            return
        table = self._tables("topics")[index]
        wanted = topic.table()
        for key in [k for k in table if k not in wanted]:
            del table[key]  # cleared in the form: back to its default
        for key, value in wanted.items():
            if table.get(key) != value:
                table[key] = value  # an unchanged key keeps its comment and place

    def delete_topic(self, name: str) -> bool:
        index = self._index("topics", "name", name)
        if index is None:
            return False
        topics = self.doc["topics"]
        assert isinstance(topics, AoT)
        topics.body.pop(index)
        if not topics.body:
            del self.doc["topics"]
        return True

    def set_key(self, section: str, key: str, value: str) -> None:
        """Set `[section] key = value`, adding the section at the end when it is missing."""
        table = self.doc.get(section)
        if not isinstance(table, Table):
            table = tomlkit.table()
            self.doc.append(section, table)
        table[key] = value

    def text(self) -> str:
        return tomlkit.dumps(self.doc)

    def save(self) -> Settings:
        """Validate the edited config like `check`, then replace the file; return the settings.

        Raises ConfigError (the file untouched) when the result has problems.
        """
        directory = self.path.parent if str(self.path.parent) else Path(".")
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".edit-", suffix=".toml", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(self.text())
            try:
                settings = load_settings(name)
            except ConfigError as exc:
                raise ConfigError(exc.problems, source=str(self.path)) from None
            problems = query_problems(settings, pointer=False)
            if problems:
                raise ConfigError(problems, source=str(self.path))
            if self.path.exists():
                os.chmod(name, self.path.stat().st_mode & 0o777)
            os.replace(name, self.path)
        finally:
            if os.path.exists(name):
                os.unlink(name)
        return settings
