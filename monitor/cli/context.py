"""What every command needs: the settings, checked, and the store, opened and closed."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.admin.query_check import query_problems
from monitor.config import Settings, config_path, load_settings
from monitor.errors import ConfigError
from monitor.store import Store


@contextmanager
def opened(settings: Settings) -> Iterator[Store]:
    """The store, migrated, closed again when the command is done."""
    store = Store(settings.store.url)
    try:
        store.migrate()
        yield store
    finally:
        store.close()


def load_config(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    problems = query_problems(settings)
    if problems:
        raise ConfigError(problems, source=str(config_path(args.config)[0]))
    return settings
