"""Coverage health: when no feed can be read for a while, say so instead of falling silent.

Once every configured feed has been failing for longer than
`digest.coverage_alert_after`, each channel that topics deliver to gets one
alert for that outage (its key names the outage, so a repeat is never sent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from monitor.config import Settings
from monitor.delivery.compose import render_coverage
from monitor.errors import redact_url
from monitor.models import FeedState
from monitor.store import DigestTaken
from monitor.store.interfaces import HealthRecords

log = logging.getLogger(__name__)


def outage_since(states: Mapping[str, FeedState], feed_urls: Sequence[str]) -> datetime | None:
    """When the last feed last worked, if every feed is failing now; else None."""
    if not feed_urls or any(url not in states for url in feed_urls):
        return None
    watched = [states[url] for url in feed_urls]
    if any(s.consecutive_failures == 0 for s in watched):
        return None
    successes = [s.last_success for s in watched if s.last_success is not None]
    return max(successes) if successes else None


def queue_coverage_alerts(
    store: HealthRecords, settings: Settings, routes: Mapping[str, Sequence[str]], now: datetime
) -> list[str]:
    """Queue one alert per channel for a long outage; return the keys queued this time."""
    states = {s.url: s for s in store.feed_states()}
    since = outage_since(states, [f.url for f in settings.feeds])
    if since is None or now - since < settings.digest.coverage_alert_after:
        return []
    failing = [
        (redact_url(f.url), states[f.url].last_error or "unknown error") for f in settings.feeds
    ]
    channels: dict[str, list[str]] = {}
    for topic, names in routes.items():
        for channel in names:
            channels.setdefault(channel, []).append(topic)
    queued = []
    for channel, topics in channels.items():
        key = f"nm-coverage-{since:%Y%m%d%H%M%S}-{channel}"
        rendered = render_coverage(key, topics=topics, failing=failing, since=since, now=now)
        try:
            store.save_digest(rendered, channel=channel, topics=topics, queued=[], now=now)
        except DigestTaken:
            continue  # this outage was already reported on this channel
        log.warning("coverage alert queued channel=%s since=%s", channel, since.isoformat())
        queued.append(key)
    return queued
