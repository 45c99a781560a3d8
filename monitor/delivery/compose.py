"""Digests: when one is due, what it holds, and how it reads (text, HTML, JSON).

Pure functions: time comes in as `now`. Rendering produces strings; storing and
sending them is the outbox's job.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from functools import cache
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.config import Schedule, TopicConfig
from monitor.errors import redact_url
from monitor.models import Digest, Match, RenderedDigest, Section

if TYPE_CHECKING:
    from jinja2 import Environment

JSON_VERSION = 1
_SUBJECT_TITLE_MAX = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@cache
def _templates() -> Environment:
    """The templates, loaded on the first digest or Atom file: a cycle that renders
    nothing (cron's `once` with nothing new) does not import jinja2."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "atom.j2")),
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
    from apscheduler.triggers.cron import CronTrigger  # only for cron schedules

    trigger = CronTrigger.from_crontab(schedule.cron, timezone=ZoneInfo(timezone))
    anchor = last_digest or oldest_pending
    fire: datetime | None = trigger.get_next_fire_time(None, anchor + timedelta(microseconds=1))
    return fire is not None and fire <= now


def in_quiet_hours(now: datetime, quiet: tuple[time, time] | None, timezone: str) -> bool:
    """Whether `now` falls in the quiet hours (local time; the range may cross midnight)."""
    if quiet is None:
        return False
    start, end = quiet
    local = now.astimezone(ZoneInfo(timezone)).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def digest_key(channel: str, items: Sequence[Match], now: datetime) -> str:
    """A stable, unique id for this digest: the email Message-ID and webhook id."""
    digest = hashlib.sha256(
        "\n".join([channel, *(f"{m.topic} {m.url}" for m in items)]).encode()
    ).hexdigest()
    return f"nm-{now:%Y%m%d%H%M%S}-{digest[:20]}"


def fold_stories(items: Sequence[Match]) -> list[Match]:
    """One item per story, in the order the stories first appear.

    A story's items fold into the first when it opens the story (a new story, with the
    later ones' new sentences as what is new), else into the latest (an update); the
    others' outlets and the copies folded into each of them are "also reported by",
    each outlet once. Items without a story stand alone.
    """
    stories: dict[str, list[Match]] = {}
    for item in items:
        stories.setdefault(item.story_id or f"url:{item.url}", []).append(item)
    return [_capped(_fold(group)) for group in stories.values()]


# A story carried by hundreds of outlets would list every one in every format, several
# megabytes per digest (a first cycle over 1,000 feeds made a 17 MB email); a reader
# wants a few, and how many more.
OUTLETS_LISTED = 10
ARTICLES_LISTED = 20


def _capped(item: Match) -> Match:
    """The item with at most OUTLETS_LISTED outlets and ARTICLES_LISTED articles listed."""
    if len(item.also) <= OUTLETS_LISTED and len(item.folded) <= ARTICLES_LISTED:
        return item
    return replace(
        item,
        also=item.also[:OUTLETS_LISTED],
        also_more=item.also_more + max(len(item.also) - OUTLETS_LISTED, 0),
        folded=item.folded[:ARTICLES_LISTED],
        folded_more=item.folded_more + max(len(item.folded) - ARTICLES_LISTED, 0),
    )


def _fold(group: list[Match]) -> Match:
    if len(group) == 1:
        return group[0]
    shown = group[0] if group[0].story_kind == "new_story" else group[-1]
    folded = tuple((m.source, m.url) for m in group if m is not shown)
    also = other_outlets(shown, [*folded, *(r for m in group for r in m.also)])
    new = tuple(dict.fromkeys(s for m in group for s in m.new_sentences))
    return replace(shown, new_sentences=new, also=also, folded=folded)


def other_outlets(item: Match, reports: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """(outlet, url) of `reports`, each outlet once, the item's own left out."""
    seen = {item.source}
    out = []
    for source, url in reports:
        if source not in seen:
            seen.add(source)
            out.append((source, url))
    return tuple(out)


def build_digest(
    channel: str,
    topics: Sequence[tuple[TopicConfig, Sequence[Match]]],
    now: datetime,
    *,
    max_items: int = 20,
    replies_to: Sequence[str] = (),
) -> Digest:
    """One digest for a channel: a section per due topic, one item per story (copies
    folded, `fold_stories`), `max_items` stories in full and the rest as headlines."""
    folded = [(topic, fold_stories(items)) for topic, items in topics]
    sections = tuple(
        Section(
            topic=topic.name,
            title=topic.display_title,
            items=tuple(items[:max_items]),
            more=tuple(items[max_items:]),
        )
        for topic, items in folded
        if items
    )
    every = [m for _, items in topics for m in items]
    return Digest(
        key=digest_key(channel, every, now),
        channel=channel,
        created=now,
        sections=sections,
        replies_to=tuple(replies_to),
    )


def subject_for(digest: Digest) -> str:
    """One line: the topic and lead story (or the topics); control characters removed."""
    if not digest.sections:
        return "news-monitor: no new stories"
    first = digest.sections[0]
    lead = first.items[0].title if first.items else "new stories"
    if len(lead) > _SUBJECT_TITLE_MAX:
        lead = lead[: _SUBJECT_TITLE_MAX - 1].rstrip() + "…"
    more = digest.stories - 1
    if len(digest.sections) == 1:
        subject = f"{first.title}: {lead}" + (f" (+{more} more)" if more > 0 else "")
    else:
        names = ", ".join(s.title for s in digest.sections)
        subject = f"{digest.stories} new stories: {names} — {lead}"
    return _CONTROL.sub(" ", subject).strip()


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def safe_link(url: str | None) -> str | None:
    """Absolute http(s) links only, redacted; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    parts = urlsplit(url)
    return redact_url(url) if parts.scheme in ("http", "https") and parts.netloc else None


def _item_document(item: Match) -> dict[str, Any]:
    return {
        "title": item.title,
        "url": safe_link(item.url),
        "source": item.source,
        "published": item.published.isoformat() if item.published else None,
        "author": item.author,
        "text": item.text,
        "matched_terms": list(item.terms),
        "why": {
            "snippet": item.snippet,
            "hits": [{"term": t, "field": f, "count": c} for t, f, c in item.hits],
        },
        "note": item.note,
        "image": safe_link(item.image),
        "site_name": item.site_name,
        "language": item.language,
        "story": {
            "id": item.story_id,
            "kind": item.story_kind,
            "what_is_new": list(item.new_sentences),
            "articles": [
                {"source": source, "url": safe_link(url)}
                for source, url in ((item.source, item.url), *item.folded)
            ],
            "articles_more": item.folded_more,
            "also_reported_by": [
                {"source": source, "url": safe_link(url)} for source, url in item.also
            ],
            "also_reported_more": item.also_more,
        },
    }


def to_document(digest: Digest) -> dict[str, Any]:
    """The versioned JSON document webhooks receive (schema: monitor/schemas/)."""
    return {
        "version": JSON_VERSION,
        "type": "digest",
        "id": digest.key,
        "created": digest.created.isoformat(),
        "replies_to": list(digest.replies_to),
        "sections": [
            {
                "topic": {"name": section.topic, "title": section.title},
                "items": [_item_document(item) for item in section.items + section.more],
                "shown_in_full": len(section.items),
            }
            for section in digest.sections
        ],
    }


def capped(text: str, words: int) -> tuple[list[str], bool]:
    """The paragraphs of `text` up to `words` words (0: all), and whether it was cut."""
    out: list[str] = []
    left = words
    for paragraph in paragraphs(text):
        if words and left <= 0:
            return out, True
        parts = paragraph.split()
        if words and len(parts) > left:
            out.append(" ".join(parts[:left]) + " …")
            return out, True
        out.append(paragraph)
        left -= len(parts)
    return out, False


def all_new(item: Match) -> bool:
    """Whether an update's new sentences are (nearly) its whole text: shown once, then."""
    if item.story_kind != "development" or not item.new_sentences:
        return False
    text = " ".join(item.text.split())
    new = [" ".join(s.split()) for s in item.new_sentences]
    if not all(sentence in text for sentence in new):
        return False  # sentences of other articles folded in: listed apart
    return sum(len(s) for s in new) >= 0.9 * len(text)


def _shown(item: Match, words: int) -> dict[str, Any]:
    paras, cut = capped(item.text, words)
    return {
        "item": item,
        "paras": paras,
        "link": safe_link(item.url),
        "cut": cut,
        "what_is_new": () if all_new(item) else item.new_sentences,
    }


def render(digest: Digest, *, images: bool = False, item_words: int = 120) -> RenderedDigest:
    """Text, HTML and JSON of a digest; `images` shows lead images in the HTML part.

    Each item's text is cut after `item_words` words (0: never) with a "Read more" link;
    an update whose text is all new shows it once, without a "What is new" list.
    """
    sections = [
        {
            "section": section,
            "items": [_shown(item, item_words) for item in section.items],
            "more": [(item, safe_link(item.url)) for item in section.more],
        }
        for section in digest.sections
    ]
    subject = subject_for(digest)
    context = {"digest": digest, "sections": sections, "subject": subject, "images": images}
    return RenderedDigest(
        key=digest.key,
        subject=subject,
        text=_templates().get_template("digest.txt.j2").render(context),
        html=_templates().get_template("digest.html.j2").render(context),
        json=json.dumps(to_document(digest), ensure_ascii=False, indent=2),
        created=digest.created,
        replies_to=digest.replies_to,
        topics=tuple(section.topic for section in digest.sections),
    )


def render_atom(
    topic: TopicConfig, stories: Sequence[tuple[str, Match, datetime]], now: datetime
) -> str:
    """A topic's latest stories as an Atom 1.0 document (newest first).

    `stories` are (stable id, match, when it was found).
    """
    items = [(sid, m, found.isoformat(), safe_link(m.url)) for sid, m, found in stories]
    updated = max((found for _, _, found in stories), default=now)
    return (
        _templates()
        .get_template("topic.atom.j2")
        .render(topic=topic, items=items, updated=updated.isoformat())
    )


def render_coverage(
    key: str,
    *,
    topics: Sequence[str],
    failing: Sequence[tuple[str, str]],
    since: datetime,
    now: datetime,
) -> RenderedDigest:
    """An alert that no feed could be read since `since`: "no news" is not "all quiet".

    `failing` holds (redacted feed URL, last error) pairs.
    """
    hours = max(int((now - since).total_seconds() // 3600), 1)
    subject = _CONTROL.sub(" ", f"news-monitor: no feed could be read for {hours} h")
    lines = [
        f"No feed could be read since {since:%Y-%m-%d %H:%M} UTC, so the topics "
        f"{', '.join(topics)} may be missing news. The feeds and their last errors:",
        "",
        *(f" - {url}: {error}" for url, error in failing),
        "",
        "news-monitor keeps retrying them with backoff; `news-monitor status` shows their state.",
    ]
    text = "\n".join(lines) + "\n"
    items = "".join(f"<li>{escape(u)}: {escape(e)}</li>" for u, e in failing)
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{escape(subject)}</title></head>"
        '<body style="font-family:sans-serif;max-width:680px;margin:0 auto;padding:16px;">'
        f'<h1 style="font-size:20px;">{escape(subject)}</h1>'
        f"<p>{escape(lines[0])}</p><ul>{items}</ul><p>{escape(lines[-1])}</p></body></html>"
    )
    document = {
        "version": JSON_VERSION,
        "type": "coverage",
        "id": key,
        "created": now.isoformat(),
        "replies_to": [],
        "sections": [],
        "coverage": {
            "since": since.isoformat(),
            "topics": list(topics),
            "failing_feeds": [{"url": u, "error": e} for u, e in failing],
        },
    }
    return RenderedDigest(
        key=key,
        subject=subject,
        text=text,
        html=html,
        json=json.dumps(document, ensure_ascii=False, indent=2),
        created=now,
        topics=tuple(topics),
    )
