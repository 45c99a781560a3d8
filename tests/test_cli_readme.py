"""The README's Commands section and `--help` agree: every command, action and option
the parser knows is documented there, and everything documented there exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from monitor.cli import GLOBAL_DEFAULTS, build_parser

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Commands") : README.index("## Configuration")]
CODE = re.findall(r"`([^`]+)`", SECTION)
GLOBAL = {"config", "verbose", "quiet", "log_format", "help", "version"}


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], list[str]]:
    """Every command path (("feeds", "add"), ...) with the option strings of its own options."""
    found: dict[tuple[str, ...], list[str]] = {}
    own = [a for a in parser._actions if a.dest not in GLOBAL and a.option_strings]
    found[path] = [flag for action in own for flag in action.option_strings]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= commands(child, (*path, name))
    return found


TREE = commands(build_parser())
GLOBAL_FLAGS = [
    flag
    for action in build_parser()._actions
    if action.dest in GLOBAL and action.option_strings
    for flag in action.option_strings
]


def rows_of(path: tuple[str, ...]) -> list[str]:
    """The README table rows that document `news-monitor PATH`."""
    name = " ".join(("news-monitor", *path))
    return [r for r in SECTION.splitlines() if r.startswith("|") and f"`{name}" in r]


def test_every_command_action_and_option_is_in_the_readme() -> None:
    missing = []
    for path, flags in TREE.items():
        if not path:
            continue
        rows = rows_of(path)
        if not rows:
            missing.append(" ".join(path))
        missing += [
            f"{' '.join(path)} {flag}" for flag in flags if not any(flag in r for r in rows)
        ]
    option_rows = [r for r in SECTION.splitlines() if r.startswith("| `-")]
    missing += [flag for flag in GLOBAL_FLAGS if not any(f"`{flag}" in r for r in option_rows)]

    assert missing == []
    assert set(GLOBAL_DEFAULTS) | {"help", "version"} == GLOBAL


def test_everything_the_readme_documents_exists() -> None:
    known = {flag for flags in TREE.values() for flag in flags} | set(GLOBAL_FLAGS)
    unknown = []
    for span in CODE:
        words = span.split()
        if words[0] == "news-monitor":
            # lower-case words after the program name are commands and actions;
            # placeholders (URL, TOPIC) are upper case, options start with '-'
            path = tuple(w for w in words[1:3] if re.fullmatch(r"[a-z][a-z-]*", w))
            for depth in range(1, len(path) + 1):
                if path[:depth] not in TREE:
                    unknown.append(span)
                    break
        if words[0] == "news-monitor" or span.startswith("-"):  # not `python -m monitor`
            flags = re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", span)
            unknown += [f for f in flags if f not in known]

    assert unknown == []
