"""Each command's handler, by name, imported only when its command runs: a command loads
what it needs and no more (`once` by cron starts in a fraction of the time it would take
to import every command), and the worker processes, which re-import the program's entry
point, stay small."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]

# command -> (module in monitor.cli, function)
_HANDLERS = {
    "run": ("cycle_commands", "cmd_run"),
    "once": ("cycle_commands", "cmd_once"),
    "check": ("config_commands", "cmd_check"),
    "init": ("config_commands", "cmd_init"),
    "status": ("status_command", "cmd_status"),
    "outbox": ("delivery_commands", "cmd_outbox"),
    "feeds": ("feed_commands", "cmd_feeds"),
    "topics": ("topic_commands", "cmd_topics"),
    "digest": ("delivery_commands", "cmd_digest"),
    "store": ("admin_commands", "cmd_store"),
    "replay": ("topic_commands", "cmd_replay"),
    "extract": ("topic_commands", "cmd_extract"),
    "stories": ("delivery_commands", "cmd_stories"),
    "web": ("admin_commands", "cmd_web"),
}


def handler(command: str) -> Handler:
    """The function that runs `command`, its module imported now."""
    module, name = _HANDLERS[command]
    found: Handler = getattr(importlib.import_module(f"monitor.cli.{module}"), name)
    return found
