"""Counters and gauges for Prometheus' text format (exposition 0.0.4), without a client library.

Values are printed exactly (`{value:g}` would turn a Unix time into 1.73e+09).

The service owns one `Metrics`; the cycle adds what its reports say, and
`/metrics` renders it. Labels are few and bounded (error classes, outcomes), and
rendered redacted all the same, should a URL ever become one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from monitor.errors import redact_text

# name -> (type, help)
DEFINITIONS: dict[str, tuple[str, str]] = {
    "news_monitor_polls_total": ("counter", "Feed polls, by outcome (ok, not_modified, error)."),
    "news_monitor_poll_errors_total": ("counter", "Failed feed polls, by error class."),
    "news_monitor_fetched_bytes_total": ("counter", "Decoded bytes of feed documents fetched."),
    "news_monitor_entries_total": ("counter", "New entries seen."),
    "news_monitor_matches_total": ("counter", "Entries that matched a topic."),
    "news_monitor_developments_total": ("counter", "Matches that update a known story."),
    "news_monitor_digests_total": ("counter", "Digests queued for delivery."),
    "news_monitor_deliveries_total": ("counter", "Delivery attempts, by outcome."),
    "news_monitor_outbox_depth": ("gauge", "Deliveries waiting, by status (pending, failed)."),
    "news_monitor_tick_lag_seconds": ("gauge", "How late the last tick started."),
    "news_monitor_last_tick_timestamp_seconds": ("gauge", "When the last tick finished."),
}

Labels = tuple[tuple[str, str], ...]


@dataclass
class Metrics:
    values: dict[str, dict[Labels, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self.values[name]
        series[key] = series.get(key, 0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[name][tuple(sorted(labels.items()))] = value

    def get(self, name: str, **labels: str) -> float:
        return self.values[name].get(tuple(sorted(labels.items())), 0)

    def render(self) -> str:
        lines = []
        for name, (kind, text) in DEFINITIONS.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            for labels, value in sorted(self.values.get(name, {}).items()):
                inside = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                number = _number(value, whole=name.endswith("_timestamp_seconds"))
                lines.append(f"{name}{{{inside}}} {number}" if inside else f"{name} {number}")
        return "\n".join(lines) + "\n"


def _number(value: float, *, whole: bool = False) -> str:
    """The value exactly: integers without a fraction or exponent, other floats as
    Python's shortest round-trip form; `whole` (timestamps) keeps the whole seconds."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if whole or value == int(value):
        return str(math.floor(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return redact_text(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
