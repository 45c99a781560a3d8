"""Durable delivery: digests are stored before they are sent, and marked sent only after.

`queue_due_digests` gathers, per channel, the stories of every due topic into
one stored, rendered digest with its pending delivery, in one transaction.
`drain` sends what is due; a transient failure is retried with exponential
backoff and jitter (never sooner than the server's Retry-After); a permanent
one is kept as failed, for `status`, never dropped. Each channel is sent to in its own
task, so a channel that hangs until its timeout, or fails in any way, never delays or
stops another channel. A crash between the server
accepting and the row being marked means one repeat with the same id, which a
receiver can drop: at-least-once, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.channels.base import Channel
from monitor.config import DigestSettings, TopicConfig, bounded
from monitor.delivery.compose import build_digest, in_quiet_hours, is_due, other_outlets, render
from monitor.errors import DeliveryError
from monitor.models import Delivery, Match
from monitor.store import DigestTaken, Queued
from monitor.store.interfaces import DeliveryRecords, DigestRecords

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=1)  # a channel's Retry-After is honoured up to this
SEND_LEASE = timedelta(minutes=15)  # a dead sender's deliveries are taken over after this


@dataclass(frozen=True, slots=True)
class DrainReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def retry_delay(attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
    """Exponential backoff with ±20 % jitter, at least the server's Retry-After."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    delay: timedelta = base * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, bounded(retry_after, cap=MAX_RETRY_AFTER, what="Retry-After"))
    return delay


def queue_due_digests(
    store: DigestRecords,
    topics: Sequence[TopicConfig],
    *,
    channels: Sequence[str],
    now: datetime,
    settings: DigestSettings,
    timezone: str = "UTC",
) -> list[str]:
    """For each channel, gather its due topics into one digest, render and store it.

    Returns the keys of the digests queued.
    """
    by_name = {topic.name: topic for topic in topics}
    quiet = in_quiet_hours(now, settings.quiet_range(), timezone)
    queued = []
    for channel in channels:
        due: list[tuple[TopicConfig, list[Queued]]] = []
        for name, waiting in store.waiting(channel).items():
            topic = by_name.get(name)
            if topic is None or (quiet and not topic.urgent):
                continue  # a topic removed from the config keeps its stories queued
            if is_due(
                topic.parsed_schedule,
                last_digest=store.last_digest_time(name, channel),
                oldest_pending=waiting[0].queued,
                now=now,
                timezone=timezone,
            ):
                due.append((topic, waiting))
        if not due:
            continue
        stories = [(topic, [q.match for q in waiting]) for topic, waiting in due]
        digest = build_digest(
            channel,
            with_other_reports(store, stories),
            now,
            max_items=settings.max_items,
            replies_to=_earlier_digests(store, stories, channel),
        )
        try:
            store.save_digest(
                render(digest, images=settings.images, item_words=settings.item_words),
                channel=channel,
                topics=[topic.name for topic, _ in due],
                queued=[q.id for _, waiting in due for q in waiting],
                now=now,
            )
        except DigestTaken:  # another replica's digest took these stories a moment ago
            log.info("digest built elsewhere channel=%s", channel)
            continue
        log.info(
            "digest queued channel=%s key=%s topics=%s stories=%d",
            channel,
            digest.key,
            ",".join(t.name for t, _ in due),
            digest.stories,
        )
        queued.append(digest.key)
    return queued


def with_other_reports(
    store: DigestRecords, stories: list[tuple[TopicConfig, list[Match]]]
) -> list[tuple[TopicConfig, list[Match]]]:
    """Each item's "also reported by": the other outlets of the copies folded into it."""
    out = []
    for topic, matches in stories:
        folded = store.folded_copies(topic.name, (m.story_id for m in matches if m.story_id))
        out.append(
            (topic, [replace(m, also=other_outlets(m, folded.get(m.url, []))) for m in matches])
        )
    return out


def _earlier_digests(
    store: DigestRecords, stories: list[tuple[TopicConfig, list[Match]]], channel: str
) -> list[str]:
    """Digests this one follows up: those that already told a story it now updates."""
    earlier: list[str] = []
    for topic, matches in stories:
        for m in matches:
            if m.story_id and m.story_kind == "development":
                earlier += store.earlier_digests(m.story_id, topic.name, channel)
    return list(dict.fromkeys(earlier))


async def drain(
    store: DeliveryRecords,
    channels: Mapping[str, Channel],
    *,
    now: datetime,
    ignore_backoff: bool = False,
    rng: random.Random | None = None,
    owner: str = "local",
    lease: timedelta = SEND_LEASE,
) -> DrainReport:
    """Send every due delivery once; each channel's failure stays with that channel.

    Deliveries are claimed first (`owner`, `lease`), so replicas sharing the store
    never send the same row at once; stopped channels' deliveries wait, pending.
    Channels are sent to concurrently, each one's deliveries in order.
    """
    rng = rng or random.Random()
    due = await asyncio.to_thread(
        store.claim_deliveries, owner, now, lease, ignore_backoff=ignore_backoff
    )
    if any(d.attempts == 0 for d in due):
        # a digest reaches the disk before anyone can receive it
        await asyncio.to_thread(store.make_durable)
    by_channel: dict[str, list[Delivery]] = {}
    for delivery in due:
        by_channel.setdefault(delivery.channel, []).append(delivery)
    outcomes = await asyncio.gather(
        *(
            _drain_channel(store, name, channels.get(name), deliveries, now=now, rng=rng)
            for name, deliveries in by_channel.items()
        )
    )
    return DrainReport(
        sent=sum(o.sent for o in outcomes),
        retrying=sum(o.retrying for o in outcomes),
        failed=sum(o.failed for o in outcomes),
    )


async def _drain_channel(
    store: DeliveryRecords,
    name: str,
    channel: Channel | None,
    deliveries: list[Delivery],
    *,
    now: datetime,
    rng: random.Random,
) -> DrainReport:
    """One channel's due deliveries, in order; whatever happens stays in this channel."""
    sent = retrying = failed = 0
    for index, delivery in enumerate(deliveries):
        if channel is None:
            await asyncio.to_thread(
                store.mark_failed, delivery.id, f"no channel named {name!r} is configured"
            )
            failed += 1
            continue
        try:
            outcome = await _deliver(store, channel, delivery, now=now, rng=rng)
        except Exception:  # a bug in one channel must not stop the others
            log.exception("delivery crashed channel=%s digest=%s", name, delivery.digest_key)
            await asyncio.to_thread(
                store.mark_retry,
                delivery.id,
                "internal error",
                now + retry_delay(delivery.attempts + 1, None, rng),
            )
            outcome = "retrying"
        sent += outcome == "sent"
        retrying += outcome == "retrying"
        failed += outcome in ("failed", "stopped")
        if outcome == "stopped":  # released, still pending, until `outbox retry`
            for later in deliveries[index + 1 :]:
                await asyncio.to_thread(store.release_delivery, later.id)
            break
    return DrainReport(sent=sent, retrying=retrying, failed=failed)


async def _deliver(
    store: DeliveryRecords,
    channel: Channel,
    delivery: Delivery,
    *,
    now: datetime,
    rng: random.Random,
) -> str:
    """Send one delivery and record the outcome: "sent", "retrying", "failed" or "stopped"."""
    digest = await asyncio.to_thread(store.rendered_digest, delivery.digest_key)
    try:
        await channel.send(digest)
    except DeliveryError as exc:
        if exc.stop_channel:
            await asyncio.to_thread(store.stop_channel, delivery.channel, str(exc), now)
        if exc.permanent:
            await asyncio.to_thread(store.mark_failed, delivery.id, str(exc))
            log.error(
                "delivery failed for good channel=%s digest=%s error=%s",
                delivery.channel,
                delivery.digest_key,
                exc,
            )
            return "stopped" if exc.stop_channel else "failed"
        when = now + retry_delay(delivery.attempts + 1, exc.retry_after, rng)
        await asyncio.to_thread(store.mark_retry, delivery.id, str(exc), when)
        log.warning(
            "delivery will be retried channel=%s digest=%s at=%s error=%s",
            delivery.channel,
            delivery.digest_key,
            when.isoformat(),
            exc,
        )
        return "retrying"
    await asyncio.to_thread(store.mark_sent, delivery.id, now)
    log.info("delivered channel=%s digest=%s", delivery.channel, delivery.digest_key)
    return "sent"
