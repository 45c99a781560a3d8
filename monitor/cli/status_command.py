"""`status`: each feed's state and interval in force, the outbox and stopped channels."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from monitor.admin.intervals import effective_interval
from monitor.cli.context import load_config, opened
from monitor.cli.tables import ago, table
from monitor.errors import redact_text, redact_url
from monitor.poll_schedule import Rules


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_config(args)
    now = datetime.now(UTC)
    with opened(settings) as store:
        states = {s.url: s for s in store.feed_states()}
        hints = store.feed_hints()
        paused = store.paused_feeds()
        rules = Rules.from_settings(settings.service)
        rows = []
        for feed in settings.feeds:
            state = states.get(feed.url)
            every = effective_interval(feed, hints.get(feed.url), rules).describe()
            if state is None:
                rows.append([redact_url(feed.url), "never polled", "-", "-", "0", every, "now"])
                continue
            condition = "failing" if state.consecutive_failures else "ok"
            rows.append(
                [
                    redact_url(feed.url),
                    "paused" if feed.url in paused else condition,
                    ago(state.last_success, now),
                    redact_text(f"{state.last_error_class}: {state.last_error}")
                    if state.last_error
                    else "-",
                    str(state.consecutive_failures),
                    every,
                    "-" if feed.url in paused else ago(state.next_check, now),
                ]
            )
        print("Feeds")
        headers = ["url", "state", "last success", "last error", "failures", "every", "next"]
        print(table(headers, rows))
        counts_24h = store.match_counts(now - timedelta(hours=24))
        print("\nTopics")
        print(
            table(
                ["topic", "schedule", "channels", "matches 24h"],
                [
                    [
                        t.name,
                        t.schedule,
                        ", ".join(t.channels) or "files",
                        str(counts_24h.get(t.name, 0)),
                    ]
                    for t in settings.topics
                ],
            )
        )
        counts = store.outbox_counts()
        print(f"\nOutbox: {counts.pending} pending, {counts.sent} sent, {counts.failed} failed")
        for name, (reason, since) in store.stopped().items():
            print(f"channel {name!r} STOPPED {ago(since, now)}: {redact_text(reason)}")
        if counts.failed:
            print("replay failed deliveries with `news-monitor outbox retry [--channel NAME]`")
        waiting = [d for d in store.deliveries() if d.status != "sent"]
        if waiting:
            print(
                table(
                    ["digest", "channel", "status", "attempts", "next attempt", "last error"],
                    [
                        [
                            d.digest_key,
                            d.channel,
                            d.status,
                            str(d.attempts),
                            ago(d.next_attempt, now),
                            redact_text(d.last_error or "-"),
                        ]
                        for d in waiting
                    ],
                )
            )
    return 0
