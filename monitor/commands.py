"""What each `news-monitor` command does, on top of the library.

Imported by monitor/cli.py only when a command runs, so that the worker
processes (which re-import the program's entry point) stay small.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from monitor import topic_trial
from monitor.admin import feed_control, story_mutes, web_password
from monitor.admin.config_file import query_problems
from monitor.admin.intervals import effective_interval
from monitor.admin.reload import notify_service
from monitor.cli import CONFIG_ERROR, NOTHING_DONE, OK, SOME_FAILED
from monitor.config import (
    Settings,
    append_feeds,
    config_path,
    cross_check,
    example_config,
    load_settings,
    parse_duration,
    read_settings,
)
from monitor.config.locate import in_file_order, key_of
from monitor.config_audit import audit
from monitor.delivery.compose import build_digest, fold_stories, render
from monitor.delivery.outbox import with_other_reports
from monitor.errors import ConfigError, MonitorError, redact_text, redact_url
from monitor.models import Match
from monitor.pipeline.backlog import split_backlog
from monitor.poll_schedule import Rules
from monitor.query import Explanation, compile_query
from monitor.service.listener import Liveness
from monitor.service.runtime import (
    DEFAULT_CHANNEL,
    CycleReport,
    Runtime,
    once,
)
from monitor.service.scheduling import serve
from monitor.sources.feed_finder import find_feed_at
from monitor.sources.opml import read_opml, write_opml
from monitor.store import Store, StoreError
from monitor.store.copy import copy_store
from monitor.store.lock import InstanceLock

log = logging.getLogger("monitor")

RECENT_MATCHES = 500  # matches read for `digest preview --recent`: copies included


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
    """Every problem known without the network, one line each: file:line: key: what. fix."""
    file, _ = config_path(args.config)
    try:
        text = file.read_text(encoding="utf-8") if file.is_file() else ""
    except (OSError, UnicodeDecodeError):
        text = ""  # read_settings says why
    where = str(file) if file.is_file() else "(defaults and environment)"
    warnings: list[str] = []
    try:
        settings = read_settings(args.config)
    except ConfigError as exc:
        errors = in_file_order(where, text, exc.problems)
    else:
        findings = audit(settings, datetime.now(UTC))
        found = {f.key for f in findings}
        errors = [p for p in cross_check(settings) if key_of(p) not in found]
        errors += query_problems(settings)
        errors += [str(f) for f in findings if not f.warning]
        warnings = [str(f) for f in findings if f.warning]
        errors, warnings = (
            in_file_order(where, text, errors),
            in_file_order(where, text, warnings),
        )
    for problem in errors + warnings:  # each kind in the order of the file
        print(problem)
    if errors:
        counted = "1 problem" if len(errors) == 1 else f"{len(errors)} problems"
        print(f"{counted}: fix them and run `news-monitor check` again", file=sys.stderr)
        return CONFIG_ERROR
    if not args.quiet:
        print(
            f"{where}: OK ({len(settings.feeds)} feeds, {len(settings.topics)} topics, "
            f"{len(settings.channels)} channels"
            + (f", {len(warnings)} warnings)" if warnings else ")")
        )
    return OK


def cmd_init(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    if file.exists():
        raise MonitorError(
            f"{file} exists already", hint="edit it, or give another path with --config"
        )
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(example_config(), encoding="utf-8")
    except OSError as exc:
        raise MonitorError(f"cannot write {file}: {exc.strerror}") from None
    print(f"wrote {file}: add your feeds, topics and channels, then run `news-monitor check`")
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
    lines += [f"  failed: {redact_url(p.url)}: {redact_text(p.error or '')}" for p in failed]
    return "\n".join(lines)


def _problems(report: CycleReport) -> str:
    """What went wrong in a cycle, one line each; empty when all went well."""
    lines = [f"feed failed: {p.url}: {p.error}" for p in report.polls if p.error]
    delivery = report.delivery
    if delivery.retrying or delivery.failed:
        lines.append(
            f"deliveries not accepted: {delivery.retrying} to retry, {delivery.failed} failed "
            "(see `news-monitor status`)"
        )
    return "\n".join(lines)


def exit_code(report: CycleReport) -> int:
    """3 when every feed failed or no delivery got through, 1 when some did, else 0."""
    failed_polls = sum(1 for p in report.polls if p.error)
    delivery = report.delivery
    undelivered = delivery.retrying + delivery.failed
    if (report.polls and failed_polls == len(report.polls)) or (undelivered and not delivery.sent):
        return NOTHING_DONE
    return SOME_FAILED if failed_polls or undelivered else OK


def cmd_once(args: argparse.Namespace) -> int:
    settings = _load(args)
    progress = None
    if sys.stderr.isatty() and len(settings.feeds) > 1 and not args.quiet:
        progress = _progress_bar
        if not args.verbose:
            logging.getLogger().setLevel(logging.WARNING)  # the bar replaces per-feed lines
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

    try:
        report = asyncio.run(main())
    except StoreError as exc:  # no state to read or write: nothing could be polled
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return NOTHING_DONE
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
    if not args.quiet:
        print(_summary(report))
    elif problems := _problems(report):
        print(problems, file=sys.stderr)
    return exit_code(report)


def _progress_bar(done: int, total: int) -> None:
    """One line on the terminal, redrawn: `[#####-----] 120/1000 feeds`."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total} feeds{end}")
    sys.stderr.flush()


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(args)
    if settings.web.console:
        from monitor.console.routes import check_exposure

        check_exposure(settings)  # before anything starts

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        hangup = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, hangup.set)  # reload the config
        await serve(
            settings,
            stop,
            hangup=hangup,
            reread=lambda: _load(args),
            extend_listener=console if settings.web.console else None,
        )

    def console(app: web.Application, runtime: Runtime, liveness: Liveness) -> None:
        from monitor.console import add_console  # templates and pages: only when served

        add_console(app, runtime, liveness, config_path(args.config)[0])

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
                    _when(state.last_success, now),
                    redact_text(f"{state.last_error_class}: {state.last_error}")
                    if state.last_error
                    else "-",
                    str(state.consecutive_failures),
                    every,
                    "-" if feed.url in paused else _when(state.next_check, now),
                ]
            )
        print("Feeds")
        headers = ["url", "state", "last success", "last error", "failures", "every", "next"]
        print(_table(headers, rows))
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
            print(f"channel {name!r} STOPPED {_when(since, now)}: {redact_text(reason)}")
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
                            redact_text(d.last_error or "-"),
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
        settings = _load(args)  # the file still loads: say so now rather than at the next start
        if added:
            print(notify_service(settings.store.url))
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
        print(f"{redact_url(found.url)} ({found.title or 'untitled'}, {found.how}) {what} {file}")
        backlog = settings.service.backlog
        old = split_backlog(found.entries, datetime.now(UTC) - backlog, undated_is_news=False)
        print(
            f"its first poll keeps {len(old.backlog)} of its {len(found.entries)} entries as "
            f"backlog (published more than {_duration(backlog)} ago, or undated): recorded, "
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
    print(_table(["url", "name", "interval"], rows))
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
            print(f"{feed.url} removed from {file}; {notify_service(settings.store.url)}")
        elif args.action == "pause":
            feed, changed = feed_control.pause(settings, store, args.feed, now)
            print(f"{feed.url} {'paused' if changed else 'was paused already'}")
        else:
            feed, changed = feed_control.resume(settings, store, args.feed)
            print(f"{feed.url} {'resumed' if changed else 'was not paused'}")
    return 0


def _poll_lines(outcome: feed_control.PollOutcome) -> str:
    report = outcome.report
    if report is None:
        return (
            f"{outcome.feed.url}: a running service holds the store; "
            "it polls the feed at its next tick"
        )
    if report.error:
        return f"{outcome.feed.url}: failed: {report.error}"
    if report.not_modified:
        return f"{outcome.feed.url}: not modified since the last poll"
    lines = [
        f"{outcome.feed.url}: {report.new_entries} new entries, {report.matches} matches, "
        f"{report.developments} developments"
    ]
    lines += [f"  {entry.title}" for entry in outcome.entries]
    return "\n".join(lines)


def cmd_stories(args: argparse.Namespace) -> int:
    settings = _load(args)
    with opened(settings) as store:
        if args.action == "mute":
            title, changed = story_mutes.mute(store, args.id, datetime.now(UTC))
            state = "muted" if changed else "was muted already"
            print(f"{args.id} ({title}) {state}: nothing more about it is sent")
        else:
            changed = story_mutes.unmute(store, args.id)
            print(f"{args.id} {'unmuted' if changed else 'was not muted'}")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    settings = _load(args)
    if sys.stdin.isatty():
        password = getpass.getpass("new admin password: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ; nothing changed", file=sys.stderr)
            return 1
    else:  # a script or a secret manager pipes it in
        password = sys.stdin.readline().rstrip("\n")
    where = web_password.store_hash(file, settings, web_password.hash_password(password))
    print(f"password hash stored in {where}; {notify_service(settings.store.url)}")
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
            title, why = asyncio.run(topic_trial.on_page(settings, query, args.url))
        else:
            title, why = asyncio.run(topic_trial.on_file(settings, query, Path(args.file)))
        print(f"{'MATCHES' if why else 'does not match'}: {title}")
        if why:
            _print_why(why)
        return 0 if why else 1
    with opened(settings) as store:
        hits = topic_trial.on_stored(store, query, now - parse_duration(args.since), settings.feeds)
    groups = topic_trial.by_story(hits)
    print(f"{len(hits)} entries in {len(groups)} stories matched since {args.since} ago\n")
    for group in groups:
        lead = group[0]
        print(f"* {lead.title}  ({lead.source}, {_when(lead.when, now)})")
        if lead.url:
            print(f"  {redact_url(lead.url)}")
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


def cmd_replay(args: argparse.Namespace) -> int:
    from monitor import replay  # the extraction pool and a temporary store: only here

    settings = _load(args)
    if not args.verbose:  # one line per digest built would drown the summary
        logging.getLogger("monitor.delivery.outbox").setLevel(logging.WARNING)
    topics = settings.topics
    if args.topic:
        known = {t.name for t in topics}
        unknown = [name for name in args.topic if name not in known]
        if unknown:
            names = ", ".join(sorted(known)) or "none configured"
            raise ConfigError([f"--topic: no topic named {n!r} (known: {names})" for n in unknown])
        topics = [t for t in topics if t.name in args.topic]
    path = Path(args.archive)
    if args.out and not Path(args.out).parent.is_dir():
        print(f"error: cannot write {args.out}: no such directory", file=sys.stderr)
        return 1
    try:
        with path.open(encoding="utf-8") as lines:
            articles, problems = replay.read_archive(lines)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"error: cannot read {path}: {reason}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"{path}: {problem}; skipped", file=sys.stderr)
    alerts = asyncio.run(replay.replay(settings, articles, topics))
    output = "".join(alert.to_json() + "\n" for alert in alerts)
    if args.out:
        try:
            Path(args.out).write_text(output, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(output)
    sent = sum(alert.sent for alert in alerts)
    print(
        f"{len(articles)} articles replayed ({len(problems)} lines skipped): "
        f"{len(alerts)} matches, {sent} sent" + (f"; written to {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from monitor import page_text

    settings = load_settings(args.config)
    return page_text.run(settings, args.sources, base_url=args.base_url, as_json=args.json)


HANDLERS = {
    "run": cmd_run,
    "once": cmd_once,
    "check": cmd_check,
    "init": cmd_init,
    "status": cmd_status,
    "outbox": cmd_outbox,
    "feeds": cmd_feeds,
    "topics": cmd_topics,
    "digest": cmd_digest,
    "store": cmd_store,
    "replay": cmd_replay,
    "extract": cmd_extract,
    "stories": cmd_stories,
    "web": cmd_web,
}
