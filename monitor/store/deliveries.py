"""Digests and their deliveries: stored before sent, claimed before sending.

A digest takes its queued stories only if no other process took them first
(`save_digest`); a delivery is claimed (`claim_deliveries`) so no two replicas send
one row, and marking its outcome ends the claim.
"""

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from monitor.models import (
    Delivery,
    DeliveryStatus,
    RenderedDigest,
)
from monitor.store.base import DigestTaken, StoreBase
from monitor.store.controls import story_mutes
from monitor.store.rows import (
    OutboxCounts,
    Queued,
    _delivery,
    _match,
)
from monitor.store.schema import (
    deliveries,
    digests,
    matches,
    queue,
    stopped_channels,
)


class OutboxStore(StoreBase):
    """Queued stories, rendered digests, deliveries and stopped channels."""

    def waiting(self, channel: str) -> dict[str, list[Queued]]:
        """Stories waiting for `channel`'s next digest, by topic, oldest first."""
        muted = select(story_mutes.c.story_id)
        query = (
            select(queue.c.id.label("queue_id"), queue.c.created.label("queued"), matches)
            .join(matches, matches.c.id == queue.c.match_id)
            .where(queue.c.channel == channel, queue.c.digest_key.is_(None))
            # a muted story waits unsent (`stories unmute` lets it go)
            .where(or_(matches.c.story_id.is_(None), matches.c.story_id.not_in(muted)))
            .order_by(queue.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out: dict[str, list[Queued]] = {}
        for row in rows:
            out.setdefault(row["topic"], []).append(
                Queued(row["queue_id"], _match(row), row["queued"])
            )
        return out

    def last_digest_time(self, topic: str, channel: str) -> datetime | None:
        """When `topic` last went out on `channel`."""
        with self.engine.connect() as conn:
            value: datetime | None = conn.scalar(
                select(func.max(digests.c.created))
                .join(queue, queue.c.digest_key == digests.c.key)
                .where(queue.c.topic == topic, queue.c.channel == channel)
            )
        return value

    def save_digest(
        self,
        rendered: RenderedDigest,
        *,
        channel: str,
        topics: Sequence[str],
        queued: Sequence[int],
        now: datetime,
    ) -> None:
        """Store a rendered digest, attach its queued stories and queue its delivery.

        All in one transaction: the digest is either queued whole or not at all. Raises
        DigestTaken (and stores nothing) when another process's digest took any of the
        `queued` stories first.
        """
        with self.engine.begin() as conn:
            try:
                conn.execute(self._digest_row(rendered, channel, topics))
            except IntegrityError:  # the same digest, saved by another process (or before)
                raise DigestTaken(rendered.key) from None
            taken = conn.execute(
                update(queue)
                .where(queue.c.id.in_(queued), queue.c.digest_key.is_(None))
                .values(digest_key=rendered.key)
            ).rowcount
            if taken != len(queued):  # raising rolls the whole digest back
                raise DigestTaken(rendered.key)
            conn.execute(
                insert(deliveries).values(
                    digest_key=rendered.key,
                    channel=channel,
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt=now,
                    created=now,
                )
            )

    @staticmethod
    def _digest_row(rendered: RenderedDigest, channel: str, topics: Sequence[str]) -> Any:
        return insert(digests).values(
            key=rendered.key,
            channel=channel,
            topic=",".join(topics),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            json=rendered.json,
            headers=json.dumps(dict(rendered.headers)),
            replies_to=json.dumps(list(rendered.replies_to)),
            created=rendered.created,
        )

    def rendered_digest(self, key: str) -> RenderedDigest:
        with self.engine.connect() as conn:
            row = conn.execute(select(digests).where(digests.c.key == key)).mappings().one()
        return RenderedDigest(
            key=row["key"],
            subject=row["subject"],
            text=row["text"],
            html=row["html"],
            json=row["json"],
            created=row["created"],
            headers=json.loads(row["headers"]),
            replies_to=tuple(json.loads(row["replies_to"] or "[]")),
            topics=tuple(name for name in row["topic"].split(",") if name),
        )

    def claim_deliveries(
        self, owner: str, now: datetime, lease: timedelta, *, ignore_backoff: bool = False
    ) -> list[Delivery]:
        """Claim the pending deliveries that are due, on channels not stopped, oldest first.

        Like `claim_feeds`: rows another process holds are skipped; the claim ends
        when the outcome is marked, or at `now + lease` if this process dies first.
        """
        wanted = [
            deliveries.c.status == DeliveryStatus.PENDING.value,
            or_(deliveries.c.claim_until.is_(None), deliveries.c.claim_until <= now),
            deliveries.c.channel.not_in(select(stopped_channels.c.channel)),
        ]
        if not ignore_backoff:
            wanted.append(deliveries.c.next_attempt <= now)
        rows = self._claim(deliveries.c.id, wanted, (deliveries.c.id,), None, owner, now + lease)
        return sorted((_delivery(row) for row in rows), key=lambda d: d.id)

    def deliveries(self, status: DeliveryStatus | None = None) -> list[Delivery]:
        query = select(deliveries).order_by(deliveries.c.id)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_delivery(row) for row in rows]

    def release_delivery(self, delivery_id: int) -> None:
        """Give up a claimed delivery untried: it stays pending for the next drain."""
        self._update_delivery(delivery_id)

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        self._update_delivery(
            delivery_id,
            status=DeliveryStatus.SENT.value,
            sent_at=now,
            last_error=None,
            next_attempt=None,
            attempts=deliveries.c.attempts + 1,
        )

    def mark_retry(self, delivery_id: int, error: str, next_attempt: datetime) -> None:
        self._update_delivery(
            delivery_id,
            last_error=error,
            next_attempt=next_attempt,
            attempts=deliveries.c.attempts + 1,
        )

    def mark_failed(self, delivery_id: int, error: str) -> None:
        self._update_delivery(
            delivery_id,
            status=DeliveryStatus.FAILED.value,
            last_error=error,
            next_attempt=None,
            attempts=deliveries.c.attempts + 1,
        )

    def stop_channel(self, channel: str, reason: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(stopped_channels.delete().where(stopped_channels.c.channel == channel))
            conn.execute(
                insert(stopped_channels).values(channel=channel, reason=reason, stopped_at=now)
            )

    def stopped(self) -> dict[str, tuple[str, datetime]]:
        """Stopped channels: name -> (reason, since when)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(stopped_channels)).mappings().all()
        return {row["channel"]: (row["reason"], row["stopped_at"]) for row in rows}

    def retry_failed(self, now: datetime, *, channel: str | None = None) -> int:
        """Put failed deliveries back in the queue and resume stopped channels; return how many."""
        query = update(deliveries).where(deliveries.c.status == DeliveryStatus.FAILED.value)
        resume = stopped_channels.delete()
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
            resume = resume.where(stopped_channels.c.channel == channel)
        with self.engine.begin() as conn:
            count = conn.execute(
                query.values(status=DeliveryStatus.PENDING.value, next_attempt=now)
            ).rowcount
            conn.execute(resume)
        return int(count)

    def outbox_counts(self) -> OutboxCounts:
        with self.engine.connect() as conn:
            result = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            rows: dict[str, int] = {status: count for status, count in result}
        return OutboxCounts(
            pending=rows.get(DeliveryStatus.PENDING.value, 0),
            sent=rows.get(DeliveryStatus.SENT.value, 0),
            failed=rows.get(DeliveryStatus.FAILED.value, 0),
        )

    def _update_delivery(self, delivery_id: int, **values: Any) -> None:
        values.update(claimed_by=None, claim_until=None)  # an outcome ends the claim
        with self.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
