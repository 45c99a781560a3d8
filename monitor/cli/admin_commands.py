"""`store` (migrate, copy to another store) and `web set-password` (the console's admin)."""

from __future__ import annotations

import argparse
import getpass
import sys

from monitor.admin import web_password
from monitor.admin.reload import notify_service
from monitor.cli.context import load_config
from monitor.config import config_path
from monitor.errors import redact_url
from monitor.store import Store
from monitor.store.copy import copy_store
from monitor.store.lock import InstanceLock


def cmd_store(args: argparse.Namespace) -> int:
    settings = load_config(args)
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


def cmd_web(args: argparse.Namespace) -> int:
    file, _ = config_path(args.config)
    settings = load_config(args)
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
