"""Telling a running service that its config changed: SIGHUP to the process holding the store.

A service on SQLite writes its process id into `<store file>.lock`
(monitor/store/lock.py); that is the process to signal. On PostgreSQL there may
be several replicas on several machines: the operator reloads them
(`systemctl reload news-monitor`, or `kill -HUP PID`).
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
from pathlib import Path

from monitor.store import engine_url


def service_pid(store_url: str) -> int | None:
    """The id of the live process holding the SQLite store, if any."""
    parsed = engine_url(store_url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    lock = Path(parsed.database + ".lock")
    try:
        found = re.fullmatch(r"process (\d+)", lock.read_text(encoding="utf-8").strip())
    except OSError:
        return None
    if found is None or int(found.group(1)) == os.getpid():
        return None
    # the file outlives its process, and a process id is reused: only a lock still
    # held means the process named in it is the service
    return int(found.group(1)) if _held(lock) else None


def _held(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock taken when nobody held it
    return False


def notify_service(store_url: str) -> str:
    """Ask the running service to reload; return one line saying what happened."""
    pid = service_pid(store_url)
    if pid is None:
        return "no running service found; it reads the change when it starts (or send it SIGHUP)"
    os.kill(pid, signal.SIGHUP)
    return f"the running service (process {pid}) reloads its config now"
