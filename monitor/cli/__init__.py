"""The `news-monitor` command: a thin layer over the library.

Errors are caught once, here: the user sees the message and a hint, and a
traceback only with `-v`. Exit codes (README, "Exit codes"): 0 all well,
1 some feeds or channels failed (or the command could not do its work),
2 a config or usage error, 3 nothing could be polled or delivered.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from monitor import logs
from monitor.cli.exit_codes import CONFIG_ERROR, NOTHING_DONE, OK, SOME_FAILED
from monitor.errors import ConfigError, MonitorError, QueryError

__all__ = ["CONFIG_ERROR", "NOTHING_DONE", "OK", "SOME_FAILED", "build_parser", "main", "parse"]

DESCRIPTION = """\
news-monitor watches RSS, Atom and JSON feeds for the topics you configure,
cleans each matching article and sends digests of what is new by email,
signed webhook or as files.

The config file is --config, else $MONITOR_CONFIG, else config/monitor.toml;
every key can be overridden from the environment (MONITOR_STORE__URL, ...).
Global options may come before or after the command.

exit codes: 0 all well; 1 some feeds or channels failed; 2 config error;
3 nothing could be polled or delivered.
"""

COMMANDS = {
    "run": "run the service: poll feeds when due, send digests on each topic's schedule",
    "once": "poll every feed once, process, send what is due, and exit (for cron and tests)",
    "check": "validate the configuration; print every problem with its file, line and key",
    "init": "write a commented example config (at --config, else $MONITOR_CONFIG, "
    "else config/monitor.toml) to start from",
    "status": "show each feed's last success and error, and the outbox",
    "outbox": "manage undelivered digests: `outbox retry` re-queues failed deliveries",
    "feeds": "list, add (with autodiscovery), import and export (OPML) the feeds you follow",
    "topics": "list topics, or try a query on past news, a page or a file (`topics test`)",
    "digest": "`digest preview TOPIC`: show the next digest of a topic, sending nothing",
    "replay": "run an archive of articles (JSON Lines) through the topics: what each would "
    "have sent, as JSON Lines; nothing is stored or sent",
    "stories": "`stories mute ID`: send nothing more about a story; `stories unmute ID`",
    "web": "`web set-password`: set the web console's admin password (stored as an argon2 hash)",
    "store": "`store migrate` updates the schema; `store copy --to URL` moves the state "
    "into another store (e.g. from SQLite to PostgreSQL)",
    "extract": "show the text, title, date, author and lead image digests would use for "
    "each page (a URL, a saved file or -)",
}

# The global options and their values when not given (see _CommandParser).
GLOBAL_DEFAULTS: dict[str, Any] = {
    "config": None,
    "verbose": False,
    "quiet": False,
    "log_format": "text",
}


def _program_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("news-monitor")
    except PackageNotFoundError:  # run from a source tree that was not installed
        from monitor import __version__

        return __version__


class _VersionAction(argparse.Action):
    """--version, read from the installed metadata only when asked: importing
    importlib.metadata and reading it cost about 20 ms at every start (cron runs)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings,
            dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show the program's version and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"news-monitor {_program_version()}")
        parser.exit()


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """--config, -v, -q, --log-format; with `suppress`, an option not given sets nothing,
    so a value given before the command is not reset by the command's own parser."""

    def default(name: str) -> Any:
        return argparse.SUPPRESS if suppress else GLOBAL_DEFAULTS[name]

    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--config", "-c", metavar="FILE", default=default("config"), help="TOML config file"
    )
    loudness = group.add_mutually_exclusive_group()
    loudness.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        default=default("verbose"),
        help="debug logs and tracebacks on errors",
    )
    loudness.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=default("quiet"),
        help="print only problems: silent when all is well (for cron)",
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=default("log_format"),
        help="log lines for people (text, the default) or one JSON object per line",
    )


class _CommandParser(argparse.ArgumentParser):
    """The parser of a command or action: it accepts the global options too.

    Nested `add_subparsers` use the parent's class, so every command and action
    added anywhere in the tree accepts them without further code.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_global_options(self, suppress=True)


def _outbox_parser(command: argparse.ArgumentParser) -> None:
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    retry = actions.add_parser(
        "retry",
        help="re-queue failed deliveries and resume stopped channels",
        description="Put every failed delivery (or one channel's) back in the queue and "
        "resume channels stopped by a 410 Gone; they are sent at the next cycle.",
    )
    retry.add_argument("--channel", metavar="NAME", help="only this channel")


def _digest_parser(command: argparse.ArgumentParser) -> None:
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
    preview.add_argument("--recent", action="store_true", help="the latest stories, sent or not")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="news-monitor",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    _add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser
    )
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        actions = ACTIONS.get(name)
        if actions is not None:
            actions(command)
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


def _replay_parser(command: argparse.ArgumentParser) -> None:
    command.description = COMMANDS["replay"] + (
        ". Takes the articles of ARCHIVE (JSON Lines: id, time, source, url, title, and text or "
        "html) in time order through the topics' matching, stories and what-is-new, with the "
        "clock at each article's time and digests on each topic's schedule, in a temporary "
        "store. Prints one JSON line per (topic, article) that matched: its story, kind "
        "(new_story, development, also_reported, duplicate), whether it was sent, what was "
        "new and who else reported it. Bad lines are reported with their number and skipped."
    )
    command.add_argument("archive", metavar="ARCHIVE", help="a JSON Lines file of articles")
    command.add_argument(
        "--topic", action="append", metavar="NAME", help="only this topic (repeatable)"
    )
    command.add_argument("--out", metavar="FILE", help="write the lines here instead of stdout")


def _extract_parser(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="a page URL, a saved HTML file, or - (stdin)"
    )
    command.add_argument(
        "--base-url", metavar="URL", help="the address saved files came from (resolves links)"
    )
    command.add_argument("--json", action="store_true", help="one JSON object a line")


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


# Commands with actions or options of their own: name -> what adds them to its parser.
ACTIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "outbox": _outbox_parser,
    "feeds": _feeds_parser,
    "topics": _topics_parser,
    "digest": _digest_parser,
    "store": _store_parser,
    "replay": _replay_parser,
    "extract": _extract_parser,
    "stories": _stories_parser,
    "web": _web_parser,
}


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with every global option set (given or default)."""
    args = build_parser().parse_args(argv)
    for name, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    if args.verbose and args.quiet:  # one before the command, one after it
        build_parser().error("--verbose and --quiet cannot be used together")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logs.setup(verbose=args.verbose, json_lines=args.log_format == "json")
    if args.quiet:
        logging.getLogger().setLevel(logging.WARNING)
    from monitor.cli.handlers import handler  # the command's modules: only when it runs

    try:
        code = handler(args.command)(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below
        return code
    except BrokenPipeError:  # `news-monitor status | head -1`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by it
    except ConfigError as exc:
        from monitor.config.locate import located_problems

        for line in located_problems(exc.source, exc.problems):  # file:line: key: why
            print(line, file=sys.stderr)
        print("fix these and run `news-monitor check`", file=sys.stderr)
        return CONFIG_ERROR
    except QueryError as exc:
        print(f"error: {exc}\n{exc.pointer()}", file=sys.stderr)
        return CONFIG_ERROR
    except MonitorError as exc:
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return SOME_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
