"""The delivery cycle: queue the digests that are due (and the alert when no feed can be
read), then drain the outbox. The store is only called from worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime

from monitor.channels.base import Channel
from monitor.config import Settings
from monitor.delivery.outbox import DrainReport, drain, queue_due_digests
from monitor.delivery.source_health import queue_coverage_alerts
from monitor.store import Store


async def deliver_due(
    store: Store,
    settings: Settings,
    channels: Mapping[str, Channel],
    routes: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    owner: str,
    ignore_backoff: bool,
) -> tuple[list[str], DrainReport]:
    """The keys of the digests queued now, and what the drain sent."""
    keys = await asyncio.to_thread(
        queue_due_digests,
        store,
        settings.topics,
        channels=list(channels),
        settings=settings.digest,
        now=now,
        timezone=settings.service.timezone,
    )
    keys += await asyncio.to_thread(queue_coverage_alerts, store, settings, routes, now)
    report = await drain(
        store,
        channels,
        now=now,
        ignore_backoff=ignore_backoff,
        owner=owner,
        lease=settings.store.lease,
    )
    return keys, report
