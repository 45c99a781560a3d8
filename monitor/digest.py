"""Digests: when one is due, what it holds, and how it reads (text, HTML, JSON).

Pure functions: time comes in as `now`. Rendering produces strings; storing and
sending them is the outbox's job.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.config import Schedule, TopicConfig
from monitor.models import Digest, Match, RenderedDigest

JSON_VERSION = 1
_SUBJECT_TITLE_MAX = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

_env = Environment(
    loader=PackageLoader("monitor", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def is_due(
    schedule: Schedule,
    *,
    last_digest: datetime | None,
    oldest_pending: datetime,
    now: datetime,
    timezone: str = "UTC",
) -> bool:
    """Whether a topic with pending matches should get its digest now.

    `every` topics get their first digest at once, then one per period; cron
    topics wait for the next fire time after their last digest (or, before the
    first one, after the oldest pending match), so a missed time during a
    restart is made up at the next check rather than skipped.
    """
    if schedule.kind == "immediate":
        return True
    if schedule.kind == "every":
        assert schedule.every is not None
        return last_digest is None or last_digest + schedule.every <= now
    assert schedule.cron is not None
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=ZoneInfo(timezone))
    anchor = last_digest or oldest_pending
    fire: datetime | None = trigger.get_next_fire_time(None, anchor + timedelta(microseconds=1))
    return fire is not None and fire <= now


def digest_key(topic: str, items: Sequence[Match], now: datetime) -> str:
    """A stable, unique id for this digest: the email Message-ID and webhook id."""
    digest = hashlib.sha256("\n".join([topic, *(m.url for m in items)]).encode()).hexdigest()
    return f"nm-{now:%Y%m%d%H%M%S}-{digest[:20]}"


def build_digest(topic: TopicConfig, items: Sequence[Match], now: datetime) -> Digest:
    return Digest(
        key=digest_key(topic.name, items, now),
        topic=topic.name,
        topic_title=topic.display_title,
        created=now,
        items=tuple(items),
    )


def subject_for(digest: Digest) -> str:
    """One line: topic and lead story; control characters (CR/LF) removed."""
    lead = digest.items[0].title if digest.items else "no new stories"
    if len(lead) > _SUBJECT_TITLE_MAX:
        lead = lead[: _SUBJECT_TITLE_MAX - 1].rstrip() + "…"
    more = len(digest.items) - 1
    subject = f"{digest.topic_title}: {lead}" + (f" (+{more} more)" if more > 0 else "")
    return _CONTROL.sub(" ", subject).strip()


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def to_document(digest: Digest) -> dict[str, Any]:
    """The versioned JSON document webhooks receive (schema: monitor/schemas/)."""
    return {
        "version": JSON_VERSION,
        "type": "digest",
        "id": digest.key,
        "created": digest.created.isoformat(),
        "topic": {"name": digest.topic, "title": digest.topic_title},
        "items": [
            {
                "title": item.title,
                "url": item.url,
                "source": item.source,
                "published": item.published.isoformat() if item.published else None,
                "author": item.author,
                "text": item.text,
                "matched_terms": list(item.terms),
                "note": item.note,
            }
            for item in digest.items
        ],
    }


def render(digest: Digest) -> RenderedDigest:
    context = {
        "digest": digest,
        "items": [(item, paragraphs(item.text)) for item in digest.items],
        "subject": subject_for(digest),
    }
    return RenderedDigest(
        key=digest.key,
        subject=context["subject"],  # type: ignore[arg-type]
        text=_env.get_template("digest.txt.j2").render(context),
        html=_env.get_template("digest.html.j2").render(context),
        json=json.dumps(to_document(digest), ensure_ascii=False, indent=2),
        created=digest.created,
    )
