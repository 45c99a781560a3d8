"""The `news-monitor` command: a thin layer over the library.

Errors are caught once, here: the user sees the message and a hint, and a
traceback only with `-v`. Exit codes: 0 ok, 1 runtime failure, 2 bad config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from monitor import logs
from monitor.errors import ConfigError, MonitorError, QueryError

DESCRIPTION = """\
news-monitor watches RSS, Atom and JSON feeds for the topics you configure,
cleans each matching article and sends digests of what is new by email,
signed webhook or as files.

The config file is --config, else $MONITOR_CONFIG, else config/monitor.toml;
every key can be overridden from the environment (MONITOR_STORE__URL, ...).
"""

COMMANDS = {
    "run": "run the service: poll feeds when due, send digests on each topic's schedule",
    "once": "poll every feed once, process, send what is due, and exit (for cron and tests)",
    "check": "validate the configuration; print every problem with its key and exit 2",
    "status": "show each feed's last success and error, and the outbox",
    "outbox": "manage undelivered digests: `outbox retry` re-queues failed deliveries",
    "feeds": "list, add (with autodiscovery), import and export (OPML) the feeds you follow",
    "topics": "list topics, or try a query on past news, a page or a file (`topics test`)",
    "digest": "`digest preview TOPIC`: show the next digest of a topic, sending nothing",
    "stories": "`stories mute ID`: send nothing more about a story; `stories unmute ID`",
    "web": "`web set-password`: set the web console's admin password (stored as an argon2 hash)",
    "store": "`store migrate` updates the schema; `store copy --to URL` moves the state "
    "into another store (e.g. from SQLite to PostgreSQL)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="news-monitor",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", "-c", metavar="FILE", help="TOML config file")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="debug logs and tracebacks on errors"
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines for people (text, the default) or one JSON object per line",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "outbox":
            actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
            retry = actions.add_parser(
                "retry",
                help="re-queue failed deliveries and resume stopped channels",
                description="Put every failed delivery (or one channel's) back in the queue and "
                "resume channels stopped by a 410 Gone; they are sent at the next cycle.",
            )
            retry.add_argument("--channel", metavar="NAME", help="only this channel")
        if name == "feeds":
            _feeds_parser(command)
        if name == "store":
            _store_parser(command)
        if name == "topics":
            _topics_parser(command)
        if name == "stories":
            _stories_parser(command)
        if name == "web":
            _web_parser(command)
        if name == "digest":
            actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
            preview = actions.add_parser(
                "preview",
                help="render the stories waiting for a topic's next digest; sends nothing",
                description="Render what the topic's next digest would contain (the stories "
                "waiting in its channels' queues), or with --recent its latest stories, as "
                "text on the terminal or as an HTML file. Nothing is sent or marked.",
            )
            preview.add_argument("topic", help="a topic name")
            preview.add_argument("--html", metavar="FILE", help="write the HTML part here")
            preview.add_argument(
                "--recent", action="store_true", help="the latest stories, sent or not"
            )
    return parser


def _topics_parser(command: argparse.ArgumentParser) -> None:
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the configured topics, with matches in the last 24 hours")
    test = actions.add_parser(
        "test",
        help="show what a topic or query would match, with why; sends nothing",
        description="Match a topic's query (give its name) or any query (give the query) "
        "against the entries seen in the last --since, or against one page (--url) or "
        "saved file (--file). Results are grouped by story, each with the terms that "
        "matched and a snippet. Nothing is stored or sent.",
    )
    test.add_argument("target", help="a topic name, or a query such as 'Putin AND \"White House\"'")
    test.add_argument("--since", default="7d", help="how far back to look (default 7d)")
    where = test.add_mutually_exclusive_group()
    where.add_argument("--url", help="fetch and clean this page and match it instead")
    where.add_argument("--file", help="match this saved HTML page or text file instead")


def _store_parser(command: argparse.ArgumentParser) -> None:
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "migrate",
        help="apply the schema migrations the store lacks (every start does this too)",
        description="Apply the store's missing schema migrations and print their names. "
        "Replicas starting together on one PostgreSQL wait for each other: one migrates.",
    )
    copy = actions.add_parser(
        "copy",
        help="copy the whole store into another, empty one (e.g. SQLite to PostgreSQL)",
        description="Copy every feed state, entry seen, story, digest and delivery from the "
        "configured store into the empty store at --to, in one transaction, keeping ids. "
        "Stop the service first (a SQLite store is locked while it is copied); then point "
        "store.url at the new store.",
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="e.g. postgresql://user@host/news_monitor"
    )


def _stories_parser(command: argparse.ArgumentParser) -> None:
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    mute = actions.add_parser(
        "mute",
        help="send nothing more about a story (its reports are still kept)",
        description="Mute the story ID (shown in digests, `topics test` and the console): "
        "its new reports are stored but not sent until `stories unmute ID`.",
    )
    mute.add_argument("id", help="a story id")
    unmute = actions.add_parser(
        "unmute", help="send a muted story again; what waited goes with the next digest"
    )
    unmute.add_argument("id", help="a story id")


def _web_parser(command: argparse.ArgumentParser) -> None:
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "set-password",
        help="set the console's admin password; asks twice, or reads one line from stdin",
        description="Hash the password with argon2 and store the hash in web.password_file "
        "when it is set, else as web.password_hash in the config file; a running service "
        "picks it up at once. The password itself is never stored.",
    )


def _feeds_parser(command: argparse.ArgumentParser) -> None:
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the configured feeds with their state")
    add = actions.add_parser(
        "add",
        help="add a feed by its URL or a page that links to it (autodiscovery)",
        description="Fetch URL; if it is a feed, add it; if it is a web page, add the feed it "
        "advertises (<link rel=alternate>) or one at a common path (/feed, /rss.xml, ...). "
        "The feed is appended to the config file.",
    )
    add.add_argument("url", help="a feed URL or a web page")
    add.add_argument("--name", help="name shown in digests (default: the feed's title)")
    imp = actions.add_parser(
        "import",
        help="append the feeds of an OPML file to the config file",
        description="Read FILE.opml (nested folders are fine) and append each feed not yet "
        "configured as a [[feeds]] table at the end of the config file.",
    )
    imp.add_argument("file", help="an OPML file exported from another reader")
    for action, help_text in (
        ("remove", "take a feed out of the config file (its stories stay in the store)"),
        ("pause", "stop polling a feed until `feeds resume` (kept across restarts)"),
        ("resume", "poll a paused feed again"),
        ("poll", "poll a feed now and show what it found"),
    ):
        one = actions.add_parser(action, help=help_text, description=help_text)
        one.add_argument("feed", metavar="NAME|URL", help="the feed's name or URL")
    exp = actions.add_parser("export", help="write the configured feeds as OPML 2.0")
    exp.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(verbose=args.verbose, json_lines=args.log_format == "json")
    from monitor.commands import HANDLERS  # the whole application: only when a command runs

    try:
        return HANDLERS[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.source or 'config'}: {problem}", file=sys.stderr)
        print("fix these and run `news-monitor check`", file=sys.stderr)
        return 2
    except QueryError as exc:
        print(f"error: {exc}\n{exc.pointer()}", file=sys.stderr)
        return 2
    except MonitorError as exc:
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
