"""When each feed is checked next: pure functions of what a poll learned, with `now` passed in.

After a success (200 or 304) the wait is the feed's interval (`feeds[].interval`, else
`service.default_interval`), raised by

* the document's hint, remembered between polls (a 304 carries no document):
  RSS `<ttl>` and, with `service.adaptive`, half the mean gap between the feed's newest
  entries (a feed that publishes weekly is not polled every 15 minutes);
* the response's freshness: `Cache-Control: max-age` (else `Expires` minus the server's
  `Date`), unless `no-cache`/`no-store`.

Server hints and adaptation are capped at `service.max_interval` (a feed is never pushed
out of sight). After a failure the wait doubles per consecutive failure from the interval,
capped at `service.max_backoff`, and never below a `Retry-After` (itself capped at
`max_backoff`): a failing feed is retried for ever and recovers on its first success.

Every number a server sends (Retry-After, max-age, Expires, <ttl>) is bounded
(`config.bounded`, at most a year and logged when cut) before any date arithmetic, so a
hostile `Retry-After: 99999999999999` is an ordinary long wait, never an OverflowError.

Every wait is spread by ±`service.jitter` (a random share, from an injectable RNG) so
feeds configured alike do not all fire in the same tick; waits the server asked for are
only ever lengthened by jitter, never shortened.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

from monitor.config import ServiceSettings, bounded

ADAPT_SAMPLE = 10  # newest entries whose publishing gaps are averaged
ADAPT_MIN_ENTRIES = 3  # fewer dated entries than this say nothing about a feed's rate
_ZERO = timedelta(0)


class Rng(Protocol):
    """The part of random.Random used here; tests pass a fixed one."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Rules:
    """The scheduling settings, read once from `service.*`."""

    default_interval: timedelta
    max_backoff: timedelta
    max_interval: timedelta = timedelta(days=1)  # the defaults of service.*
    adaptive: bool = True
    jitter: float = 0.1

    @classmethod
    def from_settings(cls, service: ServiceSettings) -> Rules:
        return cls(
            default_interval=service.default_interval,
            max_backoff=service.max_backoff,
            max_interval=service.max_interval,
            adaptive=service.adaptive,
            jitter=service.jitter,
        )


def document_hint(
    *,
    ttl_minutes: int | None,
    published: Sequence[datetime | None],
    now: datetime,
    rules: Rules,
) -> timedelta | None:
    """What a feed document asks for: its <ttl>, and half its publishing gap when adaptive."""
    hints = [bounded(ttl_minutes * 60.0, what="RSS ttl")] if ttl_minutes else []
    if rules.adaptive:
        gap = publishing_gap(published, now)
        if gap is not None:
            hints.append(gap / 2)
    if not hints:
        return None
    return min(max(hints), rules.max_interval)


def publishing_gap(published: Sequence[datetime | None], now: datetime) -> timedelta | None:
    """Mean gap between the newest dated entries (future dates ignored); None if too few."""
    dates = sorted((d for d in published if d is not None and d <= now), reverse=True)
    newest = dates[:ADAPT_SAMPLE]
    if len(newest) < ADAPT_MIN_ENTRIES:
        return None
    return (newest[0] - newest[-1]) / (len(newest) - 1)


def freshness(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long the response says it stays fresh: max-age, else Expires minus Date."""
    directives = _cache_control(headers.get("cache-control", ""))
    if "no-cache" in directives or "no-store" in directives:
        return None
    max_age = directives.get("max-age")
    if max_age is not None:
        if not max_age.isdigit() or not max_age.strip("0"):
            return None
        return bounded(float(max_age), what="Cache-Control max-age")
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    origin = _http_date(headers.get("date")) or now  # the server's clock, when it tells it
    left = expires - origin
    return left if left > _ZERO else None


def after_success(
    now: datetime,
    *,
    interval: timedelta,
    hint: timedelta | None,
    headers: Mapping[str, str],
    rules: Rules,
    rng: Rng,
) -> datetime:
    """The next check after a 200 or a 304."""
    wait = _spread(interval, rules.jitter, rng)
    asked = max(hint or _ZERO, freshness(headers, now) or _ZERO)
    asked = min(asked, max(rules.max_interval, interval))
    if asked > interval:
        wait = max(wait, _lengthen(asked, rules.jitter, rng))
    return now + wait


def after_failure(
    now: datetime,
    *,
    interval: timedelta,
    failures: int,
    retry_after: float | None,
    rules: Rules,
    rng: Rng,
) -> datetime:
    """The next check after the `failures`-th failure in a row (1 for the first)."""
    cap = max(rules.max_backoff, interval)
    wait = min(backoff(interval, failures, cap), cap)
    wait = min(_spread(wait, rules.jitter, rng), cap)
    if retry_after is not None and retry_after > 0:
        asked = bounded(retry_after, cap=cap, what="Retry-After")
        wait = max(wait, _lengthen(asked, rules.jitter, rng))
    return now + wait


def backoff(interval: timedelta, failures: int, cap: timedelta) -> timedelta:
    """interval * 2^(failures-1), computed without overflowing for long outages."""
    wait = interval
    for _ in range(max(failures - 1, 0)):
        if wait >= cap:
            return cap
        wait *= 2
    return min(wait, cap)


def is_due(next_check: datetime | None, now: datetime) -> bool:
    """A feed never checked, or whose next check has come."""
    return next_check is None or next_check <= now


_SHARED_RNG = random.Random()


def default_rng() -> Rng:
    """The process-wide RNG used when none is injected."""
    return _SHARED_RNG


def _spread(wait: timedelta, jitter: float, rng: Rng) -> timedelta:
    return wait * (1 + rng.uniform(-jitter, jitter)) if jitter else wait


def _lengthen(wait: timedelta, jitter: float, rng: Rng) -> timedelta:
    return wait * (1 + rng.uniform(0, jitter)) if jitter else wait


def _cache_control(value: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in value.lower().split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name] = arg.strip().strip('"')
    return directives


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
