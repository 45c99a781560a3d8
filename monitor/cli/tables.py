"""Plain-text output shared by the commands: durations, times ago, aligned tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "-"
    delta = value - now
    seconds = int(abs(delta.total_seconds()))
    amount = str(timedelta(seconds=seconds)) if seconds < 86400 else f"{seconds // 86400}d"
    return f"in {amount}" if delta.total_seconds() > 0 else f"{amount} ago"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    )
