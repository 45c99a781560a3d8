"""monitor.poll_schedule: a feed's next check, as table tests with `now` and the RNG injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import ServiceSettings
from monitor.poll_schedule import (
    Rules,
    after_failure,
    after_success,
    backoff,
    document_hint,
    freshness,
    is_due,
    publishing_gap,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)
RULES = Rules(default_interval=15 * M, max_backoff=6 * H, max_interval=24 * H, jitter=0.1)
NO_JITTER = Rules(default_interval=15 * M, max_backoff=6 * H, max_interval=24 * H, jitter=0)


class Fixed:
    """An RNG that always lands at `share` of the way from a to b (0: low end, 1: high end)."""

    def __init__(self, share: float) -> None:
        self.share = share

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.share


MIDDLE, LOW, HIGH = Fixed(0.5), Fixed(0.0), Fixed(1.0)


@pytest.mark.parametrize(
    ("interval", "hint", "headers", "rng", "wait"),
    [
        (15 * M, None, {}, MIDDLE, 15 * M),  # the interval, jitter at its midpoint
        (15 * M, None, {}, LOW, 13.5 * M),  # -10%
        (15 * M, None, {}, HIGH, 16.5 * M),  # +10%
        (15 * M, 60 * M, {}, MIDDLE, 60 * M * 1.05),  # <ttl> 60: only lengthened by jitter
        (15 * M, 60 * M, {}, LOW, 60 * M),  # never below what was asked
        (15 * M, None, {"cache-control": "public, max-age=3600"}, LOW, 60 * M),
        (15 * M, None, {"cache-control": "max-age=60"}, MIDDLE, 15 * M),  # below the interval
        (15 * M, None, {"cache-control": "no-cache, max-age=3600"}, MIDDLE, 15 * M),
        (15 * M, None, {"cache-control": "max-age=999999999"}, LOW, 24 * H),  # max_interval
        (48 * H, None, {}, MIDDLE, 48 * H),  # an operator's interval beats max_interval
        (
            15 * M,
            None,
            {"expires": "Sat, 01 Mar 2025 14:00:00 GMT", "date": "Sat, 01 Mar 2025 12:00:00 GMT"},
            LOW,
            2 * H,
        ),
        (
            15 * M,
            None,
            {"expires": "Sat, 01 Mar 2025 14:00:00 GMT", "date": "Sat, 01 Mar 2025 13:30:00 GMT"},
            LOW,
            30 * M,  # Expires is read against the server's Date, not our clock
        ),
        (15 * M, None, {"expires": "0"}, MIDDLE, 15 * M),  # junk Expires is ignored
        (15 * M, 2 * H, {"cache-control": "max-age=3600"}, LOW, 2 * H),  # the larger ask wins
    ],
)
def test_after_success(
    interval: timedelta,
    hint: timedelta | None,
    headers: dict[str, str],
    rng: Fixed,
    wait: timedelta,
) -> None:
    """After a 200/304 the wait is the interval, raised by ttl and cache headers, with jitter."""
    got = after_success(NOW, interval=interval, hint=hint, headers=headers, rules=RULES, rng=rng)
    assert got - NOW == wait


@pytest.mark.parametrize(
    ("failures", "retry_after", "rng", "wait"),
    [
        (1, None, MIDDLE, 15 * M),
        (2, None, MIDDLE, 30 * M),
        (3, None, MIDDLE, 60 * M),
        (5, None, MIDDLE, 240 * M),
        (6, None, MIDDLE, 6 * H),  # 480 min capped at max_backoff
        (60, None, MIDDLE, 6 * H),  # never abandoned, never overflowing
        (6, None, HIGH, 6 * H),  # jitter never passes the cap
        (6, None, LOW, 6 * H * 0.9),
        (1, 3600.0, LOW, 60 * M),  # Retry-After beats a shorter backoff
        (1, 3600.0, HIGH, 66 * M),  # and is only ever lengthened
        (1, 60.0, MIDDLE, 15 * M),  # a shorter Retry-After does not shorten backoff
        (1, 10 * 86400.0, LOW, 6 * H),  # a ten-day Retry-After is capped: retried in 6 h
    ],
)
def test_after_failure(
    failures: int, retry_after: float | None, rng: Fixed, wait: timedelta
) -> None:
    """Failures back off exponentially up to max_backoff, and Retry-After is honoured."""
    got = after_failure(
        NOW, interval=15 * M, failures=failures, retry_after=retry_after, rules=RULES, rng=rng
    )
    assert got - NOW == wait


def test_recovery_returns_to_the_interval() -> None:
    """After a long outage, the first success schedules the plain interval again."""
    failing = after_failure(
        NOW, interval=15 * M, failures=40, retry_after=None, rules=NO_JITTER, rng=MIDDLE
    )
    assert failing - NOW == 6 * H
    recovered = after_success(
        failing, interval=15 * M, hint=None, headers={}, rules=NO_JITTER, rng=MIDDLE
    )
    assert recovered - failing == 15 * M


def _hourly(n: int, every: timedelta) -> list[datetime | None]:
    return [NOW - every * k for k in range(n)]


@pytest.mark.parametrize(
    ("ttl", "published", "adaptive", "hint"),
    [
        (None, [], True, None),
        (60, [], True, 60 * M),
        (None, _hourly(10, 6 * H), True, 3 * H),  # half the mean gap
        (None, _hourly(30, 6 * H), True, 3 * H),  # only the newest 10 count
        (None, _hourly(2, 6 * H), True, None),  # too few dated entries
        (None, [*_hourly(3, 6 * H), None, None], True, 3 * H),  # undated ones ignored
        (None, _hourly(10, 7 * 24 * H), True, 24 * H),  # weekly: capped at max_interval
        (None, _hourly(10, 6 * H), False, None),  # adaptation off
        (600, _hourly(10, 6 * H), True, 10 * H),  # the larger of ttl and rate
        (None, [NOW + 1000 * H, *_hourly(3, 2 * H)], True, H),  # future dates ignored
    ],
)
def test_document_hint(
    ttl: int | None, published: list[datetime | None], adaptive: bool, hint: timedelta | None
) -> None:
    """A document asks for its <ttl> and, when adaptive, half its mean publishing gap."""
    rules = Rules(15 * M, 6 * H, 24 * H, adaptive=adaptive)
    assert document_hint(ttl_minutes=ttl, published=published, now=NOW, rules=rules) == hint


@pytest.mark.parametrize(
    ("headers", "fresh"),
    [
        ({}, None),
        ({"cache-control": "max-age=120"}, 2 * M),
        ({"cache-control": 'max-age="120"'}, 2 * M),
        ({"cache-control": "max-age=0"}, None),
        ({"cache-control": "max-age=soon"}, None),
        ({"cache-control": "no-store"}, None),
        ({"cache-control": "private", "expires": "Sat, 01 Mar 2025 13:00:00 GMT"}, H),
        ({"expires": "Sat, 01 Mar 2025 11:00:00 GMT"}, None),  # already expired
        ({"cache-control": "max-age=60", "expires": "Sat, 01 Mar 2025 13:00:00 GMT"}, M),
    ],
)
def test_freshness(headers: dict[str, str], fresh: timedelta | None) -> None:
    """max-age wins over Expires; no-cache, no-store and junk mean no ask."""
    assert freshness(headers, NOW) == fresh


def test_publishing_gap_and_backoff_helpers() -> None:
    """The gap is a mean over the newest entries; backoff doubles and stops at the cap."""
    assert publishing_gap(_hourly(4, 2 * H), NOW) == 2 * H
    assert backoff(M, 1, H) == M
    assert backoff(M, 4, H) == 8 * M
    assert backoff(M, 10_000, H) == H


@pytest.mark.parametrize(
    ("next_check", "due"),
    [(None, True), (NOW - M, True), (NOW, True), (NOW + M, False)],
)
def test_is_due(next_check: datetime | None, due: bool) -> None:
    """A feed is due when never checked or when its next check has come."""
    assert is_due(next_check, NOW) is due


def test_rules_from_settings() -> None:
    """Rules carry the service settings, whose defaults are documented."""
    rules = Rules.from_settings(ServiceSettings(max_interval="2h", jitter=0.2, adaptive=False))
    assert (rules.max_interval, rules.jitter, rules.adaptive) == (2 * H, 0.2, False)
    assert rules.default_interval == 15 * M and rules.max_backoff == 6 * H
    defaults = ServiceSettings()
    assert (defaults.max_interval, defaults.jitter, defaults.adaptive) == (24 * H, 0.1, True)


def test_jitter_spreads_feeds_with_a_real_rng() -> None:
    """With a seeded RNG, 100 feeds of one interval land at many different times within ±10%."""
    import random

    rng = random.Random(6)
    times = {
        after_success(NOW, interval=15 * M, hint=None, headers={}, rules=RULES, rng=rng)
        for _ in range(100)
    }
    assert len(times) > 90
    assert all(13.5 * M <= t - NOW <= 16.5 * M for t in times)
