"""`feeds`: list, add (autodiscovery), import and export (OPML), remove, pause, resume, poll."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor.admin import feed_control
from monitor.admin.reload import notify_service
from monitor.cli.context import load_config, opened
from monitor.cli.tables import duration, table
from monitor.config import Settings, append_feeds, config_path
from monitor.errors import MonitorError, redact_text, redact_url
from monitor.pipeline.backlog import split_backlog
from monitor.sources.feed_finder import find_feed_at
from monitor.sources.opml import read_opml, write_opml


def cmd_feeds(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    if args.action == "import":
        try:
            document = Path(args.file).read_bytes()
        except OSError as exc:
            raise MonitorError(
                f"cannot read {args.file}: {exc.strerror}",
                hint="give the path of an OPML file exported from your feed reader",
            ) from None
        outlines = read_opml(document, source=args.file)
        added = append_feeds(file, [(o.url, o.title) for o in outlines])
        print(f"{len(outlines)} feeds in {args.file}; {added} added to {file}")
        settings = load_config(
            args
        )  # the file still loads: say so now rather than at the next start
        if added:
            print(notify_service(settings.store.url))
        return 0
    settings = load_config(args)
    if args.action == "export":
        document = write_opml([(f.url, f.name) for f in settings.feeds])
        if args.output:
            Path(args.output).write_bytes(document)
            print(f"{len(settings.feeds)} feeds written to {args.output}")
        else:
            sys.stdout.write(document.decode("utf-8"))
        return 0
    if args.action == "add":
        found = asyncio.run(find_feed_at(settings.fetch, args.url))
        added = append_feeds(file, [(found.url, args.name or found.title)])
        what = "added to" if added else "already in"
        print(f"{redact_url(found.url)} ({found.title or 'untitled'}, {found.how}) {what} {file}")
        backlog = settings.service.backlog
        old = split_backlog(found.entries, datetime.now(UTC) - backlog, undated_is_news=False)
        print(
            f"its first poll keeps {len(old.backlog)} of its {len(found.entries)} entries as "
            f"backlog (published more than {duration(backlog)} ago, or undated): recorded, "
            "not sent"
        )
        if added:
            print(notify_service(settings.store.url))
        return 0
    if args.action in ("remove", "pause", "resume", "poll"):
        return _feed_control(args, file, settings)
    rows = [
        [redact_url(f.url), f.name or "-", str(f.interval or settings.service.default_interval)]
        for f in settings.feeds
    ]
    print(table(["url", "name", "interval"], rows))
    return 0


def _feed_control(args: argparse.Namespace, file: Path, settings: Settings) -> int:
    if args.action == "poll":
        outcome = asyncio.run(feed_control.poll_from_command(settings, args.feed))
        print(_poll_lines(outcome))
        return 1 if outcome.report is not None and outcome.report.error else 0
    now = datetime.now(UTC)
    with opened(settings) as store:
        if args.action == "remove":
            feed, _ = feed_control.remove(file, settings, store, args.feed)
            print(
                f"{redact_url(feed.url)} removed from {file}; {notify_service(settings.store.url)}"
            )
        elif args.action == "pause":
            feed, changed = feed_control.pause(settings, store, args.feed, now)
            print(f"{redact_url(feed.url)} {'paused' if changed else 'was paused already'}")
        else:
            feed, changed = feed_control.resume(settings, store, args.feed)
            print(f"{redact_url(feed.url)} {'resumed' if changed else 'was not paused'}")
    return 0


def _poll_lines(outcome: feed_control.PollOutcome) -> str:
    report, url = outcome.report, redact_url(outcome.feed.url)
    if report is None:
        return f"{url}: a running service holds the store; it polls the feed at its next tick"
    if report.error:
        return f"{url}: failed: {redact_text(report.error)}"
    if report.not_modified:
        return f"{url}: not modified since the last poll"
    lines = [
        f"{url}: {report.new_entries} new entries, {report.matches} matches, "
        f"{report.developments} developments"
    ]
    lines += [f"  {entry.title}" for entry in outcome.entries]
    return "\n".join(lines)
