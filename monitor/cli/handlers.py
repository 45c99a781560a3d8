"""Each command's handler, by name: imported by `main` only when a command runs, so that
the worker processes (which re-import the program's entry point) stay small."""

from __future__ import annotations

from monitor.cli.admin_commands import cmd_store, cmd_web
from monitor.cli.config_commands import cmd_check, cmd_init
from monitor.cli.cycle_commands import cmd_once, cmd_run
from monitor.cli.delivery_commands import cmd_digest, cmd_outbox, cmd_stories
from monitor.cli.feed_commands import cmd_feeds
from monitor.cli.status_command import cmd_status
from monitor.cli.topic_commands import cmd_extract, cmd_replay, cmd_topics

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
