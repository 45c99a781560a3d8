"""Relative paths in the settings are relative to the config file's folder, not to the cwd.

`news-monitor --config /etc/news-monitor/monitor.toml once`, started from any directory,
then uses the same SQLite file, data directory and secret files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config import Settings

_SQLITE = "sqlite:///"


def _under(folder: Path, path: Path | None) -> Path | None:
    return path if path is None or path.is_absolute() else folder / path


def sqlite_url(url: str, folder: Path) -> str:
    """A sqlite:///relative/file URL made absolute (sqlite:////abs and :memory: unchanged)."""
    scheme, sep, rest = url.partition(":///")
    if not sep or not scheme.startswith("sqlite") or not rest or rest.startswith("/"):
        return url
    if rest.startswith((":memory:", "file:")):  # in memory, or an SQLite URI filename
        return url
    return f"{scheme}:///{folder.absolute() / rest}"


def resolve_paths(settings: Settings, folder: Path) -> Settings:
    """`settings` with every relative path joined to `folder`."""
    channels: list[Any] = []
    for channel in settings.channels:
        update: dict[str, Any] = {}
        for key in ("password_file", "secret_file", "directory"):
            value = getattr(channel, key, None)
            if isinstance(value, Path) and not value.is_absolute():
                update[key] = folder / value
        channels.append(channel.model_copy(update=update) if update else channel)
    return settings.model_copy(
        update={
            "store": settings.store.model_copy(
                update={"url": sqlite_url(settings.store.url, folder)}
            ),
            "service": settings.service.model_copy(
                update={"data_dir": _under(folder, settings.service.data_dir)}
            ),
            "channels": channels,
        }
    )
