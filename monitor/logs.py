"""Log output: `key=value` lines for people, JSON lines for machines; secrets never printed.

Messages in news-monitor are written as an event followed by `key=value`
fields ("feed failed feed_url=… error_class=timeout failures=2"); the JSON format turns
those into fields. A filter scrubs credentials from every record, whoever logged
it: userinfo in URLs and secret-looking query values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from monitor.errors import redact_text

_FIELD = re.compile(r"(?:^|\s)([a-z_]+)=(.*?)(?=\s[a-z_]+=|$)")
NOISY = ("apscheduler", "trafilatura", "htmldate", "courlan", "charset_normalizer", "aiohttp")


def split_fields(message: str) -> tuple[str, dict[str, str]]:
    """("feed failed", {"feed_url": …}) from "feed failed feed_url=…"."""
    first = _FIELD.search(message)
    if first is None:
        return message, {}
    event = message[: first.start()].strip()
    return event, {key: value.strip() for key, value in _FIELD.findall(message[first.start() :])}


class RedactSecrets(logging.Filter):
    """Rewrites every URL in a record's message to its redacted form."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg = redact_text(message)
            record.args = None
        return True


class _Redacted(logging.Formatter):
    """The whole formatted line redacted, tracebacks included (they quote URLs too)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(self.inner.format(record))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event, fields = split_fields(record.getMessage())
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": event,
            **fields,
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def setup(*, verbose: bool, json_lines: bool) -> None:
    """Configure the root logger once, for the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(
        _Redacted(
            JSONFormatter()
            if json_lines
            else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
