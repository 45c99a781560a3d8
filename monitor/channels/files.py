"""Files: write each digest as `.eml`, `.html` and `.json` into one directory.

Names are `<created, UTC, %Y%m%dT%H%M%SZ>-<key>.<ext>`, so a retry overwrites
the same files. Each file is written atomically: a temporary file in the same
directory, fsync, then os.replace; a reader never sees half a digest file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from datetime import UTC
from email.policy import SMTP
from pathlib import Path

from monitor.channels.base import Channel
from monitor.channels.email import build_email
from monitor.config import FilesChannel
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

SENDER = "news-monitor@localhost"
RECIPIENT = "reader@localhost"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def stem(digest: RenderedDigest) -> str:
    """The file name without extension; characters unsafe in names become '_'."""
    created = digest.created.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{created}-{_UNSAFE.sub('_', digest.key)}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync_dir(directory: Path) -> None:
    """Make the renames durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FileWriter(Channel):
    """Writes digests into `config.directory` (created when missing)."""

    def __init__(self, config: FilesChannel) -> None:
        self.name = config.name
        self.directory = config.directory

    def __repr__(self) -> str:
        return f"FileWriter(name={self.name!r}, directory={str(self.directory)!r})"

    async def send(self, digest: RenderedDigest) -> None:
        try:
            eml = build_email(digest, sender=SENDER, recipients=[RECIPIENT], channel=self.name)
        except ValueError as exc:
            raise DeliveryError(
                f"cannot build the email: {exc}", channel=self.name, permanent=True
            ) from exc
        files = {
            ".html": digest.html.encode("utf-8"),
            ".json": digest.json.encode("utf-8"),
            ".eml": eml.as_bytes(policy=SMTP),
        }
        await asyncio.to_thread(self._write, stem(digest), files)

    def _write(self, name: str, files: dict[str, bytes]) -> None:
        path = self.directory
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for ext, data in files.items():
                path = self.directory / (name + ext)
                write_atomic(path, data)
            _fsync_dir(self.directory)
        except OSError as exc:
            raise DeliveryError(
                f"cannot write {path}: {exc.strerror or exc}",
                channel=self.name,
                hint="check that the directory exists or can be created, is writable and has space",
            ) from exc
