"""`once` (one cycle, for cron: summary, exit code, signals) and `run` (the service)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from monitor.cli.context import load_config
from monitor.cli.exit_codes import NOTHING_DONE, OK, SOME_FAILED
from monitor.config import config_path
from monitor.errors import redact_text, redact_url
from monitor.service.runtime import CycleReport, Runtime, once
from monitor.store import StoreError

if TYPE_CHECKING:
    from aiohttp import web

    from monitor.service.listener import Liveness


def summary(report: CycleReport) -> str:
    failed = [p for p in report.polls if p.error]
    lines = [
        f"feeds polled: {len(report.polls)} ({len(failed)} failed, "
        f"{sum(p.not_modified for p in report.polls)} not modified)",
        f"new entries: {sum(p.new_entries for p in report.polls)} "
        f"({sum(p.backlog for p in report.polls)} kept as backlog, not sent), "
        f"matches: {sum(p.matches for p in report.polls)}{_folded(report)}",
        f"digests queued: {len(report.digests)}; deliveries sent: {report.delivery.sent}, "
        f"to retry: {report.delivery.retrying}, failed: {report.delivery.failed}",
    ]
    lines += [f"  failed: {redact_url(p.url)}: {redact_text(p.error or '')}" for p in failed]
    return "\n".join(lines)


def _folded(report: CycleReport) -> str:
    """The matches that are not news of their own: counted, so that the summary adds up."""
    folded = sum(p.folded for p in report.polls)
    return f" (and {folded} folded into stories already reported)" if folded else ""


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
    settings = load_config(args)
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
        print(summary(report))
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
    from monitor.service.scheduling import serve  # the scheduler and listener: `run` only

    settings = load_config(args)
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
            reread=lambda: load_config(args),
            extend_listener=console if settings.web.console else None,
        )

    def console(app: web.Application, runtime: Runtime, liveness: Liveness) -> None:
        from monitor.console import add_console  # templates and pages: only when served

        add_console(app, runtime, liveness, config_path(args.config)[0])

    asyncio.run(main())
    return 0
