"""`outbox retry`, `digest preview` and `stories mute` / `unmute`: what is sent, what held back."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from monitor.admin import story_mutes
from monitor.cli.context import load_config, opened
from monitor.delivery.compose import build_digest, fold_stories, render
from monitor.delivery.outbox import with_other_reports
from monitor.errors import ConfigError
from monitor.models import Match
from monitor.service.runtime import DEFAULT_CHANNEL

RECENT_MATCHES = 500  # matches read for `digest preview --recent`: copies included


def cmd_outbox(args: argparse.Namespace) -> int:
    settings = load_config(args)
    with opened(settings) as store:
        count = store.retry_failed(datetime.now(UTC), channel=args.channel)
    where = f" for channel {args.channel!r}" if args.channel else ""
    print(f"{count} failed deliveries re-queued{where}; they are sent at the next cycle")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    settings = load_config(args)
    topics = {t.name: t for t in settings.topics}
    if args.topic not in topics:
        known = ", ".join(topics) or "none configured"
        raise ConfigError([f"topics: no topic named {args.topic!r} (known: {known})"])
    topic = topics[args.topic]
    with opened(settings) as store:
        if args.recent:  # the latest items sent or to be sent, oldest first, copies folded
            recent = store.recent_matches(topic.name, RECENT_MATCHES)
            stories = fold_stories([m for _, m, _ in reversed(recent) if m.alert])[::-1]
        else:
            waiting: dict[str, Match] = {}
            for channel in topic.channels or [DEFAULT_CHANNEL]:
                for queued in store.waiting(channel).get(topic.name, []):
                    waiting.setdefault(queued.match.url, queued.match)
            stories = list(waiting.values())
        if not stories:
            print(f"nothing waits for {topic.name!r}'s next digest (try --recent)")
            return 0
        stories = with_other_reports(store, [(topic, stories)])[0][1]
    digest = build_digest(
        "preview", [(topic, stories)], datetime.now(UTC), max_items=settings.digest.max_items
    )
    rendered = render(digest, images=settings.digest.images, item_words=settings.digest.item_words)
    if args.html:
        Path(args.html).write_text(rendered.html, encoding="utf-8")
        print(f"{rendered.subject}\nHTML written to {args.html}")
    else:
        print(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    settings = load_config(args)
    with opened(settings) as store:
        if args.action == "mute":
            title, changed = story_mutes.mute(store, args.id, datetime.now(UTC))
            state = "muted" if changed else "was muted already"
            print(f"{args.id} ({title}) {state}: nothing more about it is sent")
        else:
            changed = story_mutes.unmute(store, args.id)
            print(f"{args.id} {'unmuted' if changed else 'was not muted'}")
    return 0
