"""What each `news-monitor` command does, on top of the library.

Imported by monitor/cli.py only when a command runs, so that the worker
processes (which re-import the program's entry point) stay small.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import backtest
from monitor.backlog import split_backlog
from monitor.config import Settings, append_feeds, config_path, load_settings, parse_duration
from monitor.digest import build_digest, render
from monitor.errors import ConfigError, redact_url
from monitor.models import Match
from monitor.opml import read_opml, write_opml
from monitor.query import Explanation, compile_query
from monitor.service import DEFAULT_CHANNEL, CycleReport, once, query_problems, serve
from monitor.store import Store
from monitor.store.copy import copy_store
from monitor.store.lock import InstanceLock
from monitor.subscribe import find_feed_at

log = logging.getLogger("monitor")


@contextmanager
def opened(settings: Settings) -> Iterator[Store]:
    """The store, migrated, closed again when the command is done."""
    store = Store(settings.store.url)
    try:
        store.migrate()
        yield store
    finally:
        store.close()


def _load(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    problems = query_problems(settings)
    if problems:
        raise ConfigError(problems, source=str(config_path(args.config)[0]))
    return settings


def cmd_check(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    try:
        settings = _load(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.source or file}: {problem}")
        return 2
    where = file if file.is_file() else "the embedded defaults"
    print(
        f"{where}: OK ({len(settings.feeds)} feeds, {len(settings.topics)} topics, "
        f"{len(settings.channels)} channels)"
    )
    return 0


def _summary(report: CycleReport) -> str:
    failed = [p for p in report.polls if p.error]
    lines = [
        f"feeds polled: {len(report.polls)} ({len(failed)} failed, "
        f"{sum(p.not_modified for p in report.polls)} not modified)",
        f"new entries: {sum(p.new_entries for p in report.polls)} "
        f"({sum(p.backlog for p in report.polls)} kept as backlog, not sent), "
        f"matches: {sum(p.matches for p in report.polls)}",
        f"digests queued: {len(report.digests)}; deliveries sent: {report.delivery.sent}, "
        f"to retry: {report.delivery.retrying}, failed: {report.delivery.failed}",
    ]
    lines += [f"  failed: {p.url}: {p.error}" for p in failed]
    return "\n".join(lines)


def cmd_once(args: argparse.Namespace) -> int:
    settings = _load(args)
    progress = _progress_bar if sys.stderr.isatty() and len(settings.feeds) > 1 else None
    if progress is not None and not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)  # the bar replaces per-feed info lines
    signals: list[int] = []

    async def main() -> CycleReport:
        # SIGTERM (cron timeout, systemd) or Ctrl-C: finish what is being saved, then stop
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stopping(sig: int) -> None:
            signals.append(sig)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping, sig)
        return await once(settings, progress=progress, stop=stop)

    report = asyncio.run(main())
    if signals:
        name = signal.Signals(signals[0]).name
        polled = len(report.polls)
        print(
            f"\nstopped by {name}: {polled} feeds polled and saved, {report.left} left for "
            "the next run; nothing sent this time (what is queued waits)"
            if report.stopped
            else f"\nstopped by {name} after the cycle's work was done",
            file=sys.stderr,
        )
        return 128 + signals[0]
    print(_summary(report))
    return 0


def _progress_bar(done: int, total: int) -> None:
    """One line on the terminal, redrawn: `[#####-----] 120/1000 feeds`."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total} feeds{end}")
    sys.stderr.flush()


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(args)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
    return 0


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "-"
    delta = value - now
    seconds = int(abs(delta.total_seconds()))
    amount = str(timedelta(seconds=seconds)) if seconds < 86400 else f"{seconds // 86400}d"
    return f"in {amount}" if delta.total_seconds() > 0 else f"{amount} ago"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    )


def cmd_status(args: argparse.Namespace) -> int:
    settings = _load(args)
    now = datetime.now(UTC)
    with opened(settings) as store:
        states = {s.url: s for s in store.feed_states()}
        rows = []
        for feed in settings.feeds:
            state = states.get(feed.url)
            if state is None:
                rows.append([feed.url, "never polled", "-", "-", "0", "now"])
                continue
            rows.append(
                [
                    feed.url,
                    "failing" if state.consecutive_failures else "ok",
                    _when(state.last_success, now),
                    f"{state.last_error_class}: {state.last_error}" if state.last_error else "-",
                    str(state.consecutive_failures),
                    _when(state.next_check, now),
                ]
            )
        print("Feeds")
        print(_table(["url", "state", "last success", "last error", "failures", "next"], rows))
        counts_24h = store.match_counts(now - timedelta(hours=24))
        print("\nTopics")
        print(
            _table(
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
            print(f"channel {name!r} STOPPED {_when(since, now)}: {reason}")
        if counts.failed:
            print("replay failed deliveries with `news-monitor outbox retry [--channel NAME]`")
        waiting = [d for d in store.deliveries() if d.status != "sent"]
        if waiting:
            print(
                _table(
                    ["digest", "channel", "status", "attempts", "next attempt", "last error"],
                    [
                        [
                            d.digest_key,
                            d.channel,
                            d.status,
                            str(d.attempts),
                            _when(d.next_attempt, now),
                            d.last_error or "-",
                        ]
                        for d in waiting
                    ],
                )
            )
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    settings = _load(args)
    with opened(settings) as store:
        count = store.retry_failed(datetime.now(UTC), channel=args.channel)
    where = f" for channel {args.channel!r}" if args.channel else ""
    print(f"{count} failed deliveries re-queued{where}; they are sent at the next cycle")
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    settings = _load(args)
    source = Store(settings.store.url)
    try:
        if args.action == "migrate":
            applied = source.migrate()
            names = ", ".join(applied) if applied else "none: the schema is up to date"
            print(f"{redact_url(settings.store.url)}: migrations applied: {names}")
            return 0
        lock = None if source.path is None else InstanceLock(source.path)
        if lock is not None:
            lock.acquire()  # no service may write to the file while it is copied
        target = Store(args.to)
        try:
            copied = copy_store(source, target, _copy_progress if sys.stderr.isatty() else None)
        finally:
            target.close()
            if lock is not None:
                lock.release()
    finally:
        source.close()
    total = sum(copied.values())
    print(f"copied {total} rows to {redact_url(args.to)}")
    for table, count in copied.items():
        print(f"  {table:<17} {count:>9}")
    print(f"now set store.url (or MONITOR_STORE__URL) to {redact_url(args.to)}")
    return 0


def _copy_progress(table: str, rows: int) -> None:
    sys.stderr.write(f"\r{table}: {rows} rows\033[K")
    sys.stderr.flush()


def cmd_feeds(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    if args.action == "import":
        outlines = read_opml(Path(args.file).read_bytes(), source=args.file)
        added = append_feeds(file, [(o.url, o.title) for o in outlines])
        print(f"{len(outlines)} feeds in {args.file}; {added} added to {file}")
        _load(args)  # the file still loads: say so now rather than at the next start
        return 0
    settings = _load(args)
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
        print(f"{found.url} ({found.title or 'untitled'}, {found.how}) {what} {file}")
        backlog = settings.service.backlog
        old = split_backlog(found.entries, datetime.now(UTC) - backlog, undated_is_news=False)
        print(
            f"its first poll keeps {len(old.backlog)} of its {len(found.entries)} entries as "
            f"backlog (published more than {_duration(backlog)} ago, or undated): recorded, "
            "not sent"
        )
        return 0
    rows = [
        [f.url, f.name or "-", str(f.interval or settings.service.default_interval)]
        for f in settings.feeds
    ]
    print(_table(["url", "name", "interval"], rows))
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    settings = _load(args)
    now = datetime.now(UTC)
    if args.action == "list":
        with opened(settings) as store:
            counts = store.match_counts(now - timedelta(hours=24))
        rows = [
            [
                t.name,
                t.display_title,
                t.schedule,
                ", ".join(t.channels) or "files",
                str(counts.get(t.name, 0)),
            ]
            for t in settings.topics
        ]
        print(_table(["topic", "title", "schedule", "channels", "matches 24h"], rows))
        return 0
    named = {t.name: t.query for t in settings.topics}
    query = compile_query(named.get(args.target, args.target))
    print(f"query: {query.text}")
    if args.url or args.file:
        if args.url:
            title, why = asyncio.run(backtest.on_page(settings, query, args.url))
        else:
            title, why = asyncio.run(backtest.on_file(settings, query, Path(args.file)))
        print(f"{'MATCHES' if why else 'does not match'}: {title}")
        if why:
            _print_why(why)
        return 0 if why else 1
    with opened(settings) as store:
        hits = backtest.on_stored(store, query, now - parse_duration(args.since))
    groups = backtest.by_story(hits)
    print(f"{len(hits)} entries in {len(groups)} stories matched since {args.since} ago\n")
    for group in groups:
        lead = group[0]
        print(f"* {lead.title}  ({lead.source}, {_when(lead.when, now)})")
        if lead.url:
            print(f"  {lead.url}")
        _print_why(lead.explanation, indent="  ")
        for other in group[1:]:
            print(f"  also: {other.title} ({other.source})")
            if other.joined:
                print(f"    joined the story: {other.joined}")
    return 0


def _print_why(why: Explanation, indent: str = "") -> None:
    where = ", ".join(f"{h.term} ({h.field} x{h.count})" for h in why.hits)
    print(f"{indent}matched: {where}")
    if why.snippet:
        print(f"{indent}{why.snippet}")


def cmd_digest(args: argparse.Namespace) -> int:
    settings = _load(args)
    topics = {t.name: t for t in settings.topics}
    if args.topic not in topics:
        known = ", ".join(topics) or "none configured"
        raise ConfigError([f"topics: no topic named {args.topic!r} (known: {known})"])
    topic = topics[args.topic]
    with opened(settings) as store:
        if args.recent:
            stories = [m for _, m, _ in store.recent_matches(topic.name, settings.digest.max_items)]
        else:
            waiting: dict[str, Match] = {}
            for channel in topic.channels or [DEFAULT_CHANNEL]:
                for queued in store.waiting(channel).get(topic.name, []):
                    waiting.setdefault(queued.match.url, queued.match)
            stories = list(waiting.values())
    if not stories:
        print(f"nothing waits for {topic.name!r}'s next digest (try --recent)")
        return 0
    digest = build_digest(
        "preview", [(topic, stories)], datetime.now(UTC), max_items=settings.digest.max_items
    )
    rendered = render(digest, images=settings.digest.images)
    if args.html:
        Path(args.html).write_text(rendered.html, encoding="utf-8")
        print(f"{rendered.subject}\nHTML written to {args.html}")
    else:
        print(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0


HANDLERS = {
    "run": cmd_run,
    "once": cmd_once,
    "check": cmd_check,
    "status": cmd_status,
    "outbox": cmd_outbox,
    "feeds": cmd_feeds,
    "topics": cmd_topics,
    "digest": cmd_digest,
    "store": cmd_store,
}
