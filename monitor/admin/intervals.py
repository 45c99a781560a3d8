"""Why a feed is polled as often as it is: the interval in force and where it comes from.

The same rule as monitor/poll_schedule.py's `after_success`, without the jitter: the
configured interval (or `service.default_interval`), lengthened by what the feed
asked for (its `<ttl>`, and with `service.adaptive` half its publishing gap), which
is capped at `service.max_interval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from monitor.config import FeedConfig
from monitor.poll_schedule import Rules


@dataclass(frozen=True, slots=True)
class Effective:
    interval: timedelta
    why: str  # "configured", "default", "adaptive" or "server hint"

    def describe(self) -> str:
        return f"{short(self.interval)} ({self.why})"


def effective_interval(feed: FeedConfig, hint: timedelta | None, rules: Rules) -> Effective:
    base = feed.interval or rules.default_interval
    why = "configured" if feed.interval else "default"
    if hint is not None:
        asked = min(hint, max(rules.max_interval, base))
        if asked > base:
            # the stored hint is the larger of <ttl> and the publishing gap; with
            # adaptation off it can only be the server's <ttl>
            return Effective(asked, "adaptive" if rules.adaptive else "server hint")
    return Effective(base, why)


def short(value: timedelta) -> str:
    """1h30m, 15m, 45s: how the config writes durations."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
