"""`topics` (list, test), `replay` (an archive through the topics) and `extract` (a page's text)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import topic_trial
from monitor.cli.context import load_config, opened
from monitor.cli.tables import ago, table
from monitor.config import load_settings, parse_duration
from monitor.errors import ConfigError, redact_url
from monitor.query import Explanation, compile_query


def cmd_topics(args: argparse.Namespace) -> int:
    settings = load_config(args)
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
        print(table(["topic", "title", "schedule", "channels", "matches 24h"], rows))
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
        print(f"* {lead.title}  ({lead.source}, {ago(lead.when, now)})")
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


def cmd_replay(args: argparse.Namespace) -> int:
    from monitor import replay  # the extraction pool and a temporary store: only here

    settings = load_config(args)
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
