"""Where a dotted key (`feeds[2].url`, `fetch.timeout`) is written in a TOML file.

tomllib keeps no positions, so the text is scanned line by line: table
headers (`[fetch]`, `[[feeds]]`, counted) and `key = value` lines. Good enough
to point a person at the line; a key set only in the environment, or written
in a form the scan does not follow (inline tables), gets its table's line or
none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")
_PART = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")
_LINE_IN_ERROR = re.compile(r"\(at line (\d+), column \d+\)")


def _parts(key: str) -> list[str | int]:
    """'feeds[2].url' -> ['feeds', 2, 'url']."""
    parts: list[str | int] = []
    for name, index in _PART.findall(key):
        parts.append(name)
        if index:
            parts.append(int(index))
    return parts


def _name(text: str) -> str:
    return ".".join(p.strip().strip("\"'") for p in text.split("."))


def _lines(text: str) -> list[tuple[int, tuple[str | int, ...], str | None]]:
    """(line number, table path, assigned key or None for a header) of each header and key."""
    found: list[tuple[int, tuple[str | int, ...], str | None]] = []
    table: tuple[str | int, ...] = ()
    counts: dict[str, int] = {}
    in_string: str | None = None  # the delimiter of a multi-line string being skipped
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            name = _name(header.group(2))
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = (*name.split("."), counts[name])
            else:
                table = tuple(name.split("."))
            found.append((number, table, None))
            continue
        assign = _ASSIGN.match(line)
        if assign:
            found.append((number, table, _name(assign.group(1))))
            for quotes in ('"""', "'''"):
                if line.count(quotes) % 2 == 1:
                    in_string = quotes
    return found


def line_of(text: str, key: str) -> int | None:
    """The line where `key` is set, else the line of the nearest table holding it, else None."""
    wanted = tuple(_parts(key))
    best: tuple[int, int] | None = None  # (how much of the key matched, line)
    for number, table, assigned in _lines(text):
        path = table if assigned is None else (*table, *assigned.split("."))
        if wanted[: len(path)] != path or not path:
            continue
        if best is None or len(path) > best[0]:
            best = (len(path), number)
    return None if best is None else best[1]


def line_in_syntax_error(message: str) -> int | None:
    """The line tomllib names in a syntax error: '... (at line 3, column 7)'."""
    match = _LINE_IN_ERROR.search(message)
    return int(match.group(1)) if match else None


def key_of(problem: str) -> str:
    """The dotted key a problem line starts with (`feeds[0].url: ...` -> `feeds[0].url`)."""
    return problem.split(": ", 1)[0]


def in_file_order(where: str, text: str, problems: Sequence[str]) -> list[str]:
    """Each problem as `file:line: key: …` (`file: key: …` when the line is unknown), by line."""
    located = []
    for problem in problems:
        key = key_of(problem)
        line = line_in_syntax_error(problem) if key == "(file)" else line_of(text, key)
        located.append((line or 0, f"{where}:{line}: {problem}" if line else f"{where}: {problem}"))
    return [text for _, text in sorted(located, key=lambda pair: pair[0])]


def located_problems(source: str | None, problems: Sequence[str]) -> list[str]:
    """`problems` of the config file `source` (None: no file) as `file:line: key: …` lines."""
    if source is None:
        return [f"config: {problem}" for problem in problems]
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""  # the problems say why the file cannot be read
    return in_file_order(source, text, problems)
