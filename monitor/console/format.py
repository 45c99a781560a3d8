"""How the console writes times and durations: short, relative, with the exact time on hover."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import jinja2

from monitor.admin.intervals import short


def relative(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    delta = value - now
    amount = short(timedelta(seconds=int(abs(delta.total_seconds()))))
    if abs(delta) < timedelta(seconds=1):
        return "now"
    return f"in {amount}" if delta > timedelta(0) else f"{amount} ago"


def exact(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


KINDS = {
    "new_story": "new",
    "development": "development",
    "also_reported": "also reported",
    "duplicate": "copy",
}


def kind(value: str | None) -> str:
    """A report's place in its story, in the words the digests use."""
    return KINDS.get(value or "new_story", (value or "").replace("_", " "))


def register_filters(env: jinja2.Environment, clock: Callable[[], datetime]) -> None:
    env.filters["when"] = lambda value: relative(value, clock())
    env.filters["exact"] = exact
    env.filters["duration"] = short
    env.filters["kind"] = kind
