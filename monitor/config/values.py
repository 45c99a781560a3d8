"""Value types of the settings: durations, schedules, URLs, clock ranges (pure)."""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
# host | host:port | [v6]:port | v6 address | CIDR
_ALLOW_ENTRY = re.compile(
    r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?|[0-9A-Fa-f:.]+(/\d{1,3})?"
)
_PORT = re.compile(r"(?:^[A-Za-z0-9.-]+|\])(?::(\d{1,5}))$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# The longest duration news-monitor accepts from anywhere: a setting, a Retry-After, a
# Cache-Control max-age, an RSS <ttl>. Longer ones are cut to this (and logged), so no
# date arithmetic can overflow and nothing is put off for more than a year.
MAX_DURATION = timedelta(days=365)

log = logging.getLogger("monitor.config")


def bounded(seconds: float, *, cap: timedelta = MAX_DURATION, what: str = "duration") -> timedelta:
    """`seconds` as a timedelta no longer than `cap` (logged when cut); NaN and <0 give 0."""
    if math.isnan(seconds) or seconds <= 0:
        return timedelta(0)
    if seconds > cap.total_seconds():
        log.warning("%s of %.6g s cut to %s", what, seconds, cap)
        return cap
    return timedelta(seconds=seconds)


def parse_duration(value: Any, *, allow_zero: bool = False) -> timedelta:
    """'90s', '15m', '1h30m', '2d' or a number of seconds -> timedelta (`allow_zero`: 0 too)."""
    if isinstance(value, timedelta):
        return min(value, MAX_DURATION)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond any float
            seconds = math.inf
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif text and _DURATION.sub("", text) == "":
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION.findall(text))
        else:
            raise ValueError(f"{value!r} is not a duration; write e.g. '30s', '15m', '1h30m', '2d'")
    else:
        raise ValueError(f"expected a duration such as '15m', not {type(value).__name__}")
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("a duration must be positive")
    return bounded(seconds, what=f"duration {value!r}"[:80])


def _span(value: Any) -> timedelta:
    return parse_duration(value, allow_zero=True)


# `backlog = "all"`: a first poll sends every entry, however old (a century back reaches
# any feed's archive and stays far from datetime's limits).
ALL_BACKLOG = timedelta(days=36500)


def _backlog(value: Any) -> timedelta:
    if isinstance(value, str) and value.strip().lower() == "all":
        return ALL_BACKLOG
    return _span(value)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Backlog = Annotated[timedelta, BeforeValidator(_backlog)]  # a span, or "all"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a topic's digest is due: 'immediate', 'every <duration>' or a cron line."""

    kind: Literal["immediate", "every", "cron"]
    every: timedelta | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = text.strip()
        if text == "immediate":
            return cls("immediate")
        if text.startswith("every "):
            return cls("every", every=parse_duration(text.removeprefix("every ")))
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(
                f"{text!r} is not a schedule; use 'immediate', 'every 1h' or a cron line "
                "'0 7 * * *' (minute hour day month weekday)"
            )
        from apscheduler.triggers.cron import CronTrigger  # validates the cron fields

        try:
            CronTrigger.from_crontab(text, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron line {text!r}: {exc}") from None
        return cls("cron", cron=text)  # a line that never fires is valid: cross_check names it

    @property
    def never_fires(self) -> bool:
        """A cron line naming a date no month has ('0 0 31 2 *'): the digest never goes out."""
        if self.kind != "cron" or self.cron is None:
            return False
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(self.cron, timezone="UTC")
        # a fixed start: whether a line ever fires does not depend on today
        return trigger.get_next_fire_time(None, datetime(2001, 1, 1, tzinfo=UTC)) is None

    def __str__(self) -> str:
        if self.kind == "every":
            return f"every {self.every}"
        return self.cron if self.kind == "cron" and self.cron else "immediate"


def allow_entry(entry: str) -> str:
    """One `fetch.allow_private` entry, checked: host, host:port, [v6]:port or CIDR."""
    if not _ALLOW_ENTRY.fullmatch(entry):
        raise ValueError(
            f"{entry!r} is not a host, host:port, [v6 address]:port or CIDR; "
            "write e.g. '127.0.0.1', 'localhost:8080' or '10.0.0.0/8'"
        )
    port = _PORT.search(entry)
    if port and not 0 < int(port.group(1)) < 65536:
        raise ValueError(f"{entry!r}: port {port.group(1)} is not between 1 and 65535")
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not a valid CIDR; write e.g. '10.0.0.0/8'") from None
    return entry


AllowEntry = Annotated[str, AfterValidator(allow_entry)]

_CLOCK_RANGE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)$")


def _http_url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError('expected a URL in quotes, e.g. "https://example.org/feed"')
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


HttpURL = Annotated[str, BeforeValidator(_http_url)]
