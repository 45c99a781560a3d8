"""One service process per SQLite file: a second one is refused, with what to do instead.

SQLite has no row claims, so two services on one file would poll every feed twice
and could send a digest twice. The lock is an exclusive `flock` on `<file>.lock`
(never on the database itself: closing another descriptor of the database file
would drop SQLite's own POSIX locks). The kernel releases it when the process
ends, however it ends, so a crashed service never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from monitor.errors import MonitorError


class StoreInUse(MonitorError):
    hint = (
        "stop the other process first (`news-monitor status` works alongside it), "
        "or move to PostgreSQL to run several replicas (see the README)"
    )


class InstanceLock:
    """Held while a service or `once` uses the SQLite file at `database`."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.path.read_text(encoding="utf-8").strip() or "another process"
            raise StoreInUse(
                f"the store {self.path.with_suffix('')} is in use by {holder}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
