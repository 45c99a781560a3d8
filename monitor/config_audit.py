"""What `check` finds in a configuration that loads: problems known without the network.

Each finding names its dotted key, says what is wrong and how to fix it, in
plain words. Errors would make a feed, topic or channel fail at run time;
warnings are legal but probably not what the user meant (an unsigned webhook).
"""

from __future__ import annotations

import ipaddress
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from monitor.config import EmailChannel, Settings, WebhookChannel
from monitor.http.policy import is_allowed_address
from monitor.urls import host_and_port

_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


@dataclass(frozen=True, slots=True)
class Finding:
    key: str  # dotted, as in the TOML: channels[1].url
    problem: str  # what is wrong, one sentence
    fix: str  # how to fix it, one sentence
    warning: bool = False

    def __str__(self) -> str:
        severity = "warning: " if self.warning else ""
        return f"{self.key}: {severity}{self.problem}. {self.fix}"


def audit(settings: Settings) -> list[Finding]:
    """Every finding, in the order of the keys in the file (feeds, topics, channels)."""
    return [
        *_blocked_feeds(settings),
        *_duplicate_feed_names(settings),
        *_silent_schedules(settings),
        *_channel_findings(settings),
        *_open_listener(settings),
    ]


def _reached(url: str) -> tuple[str, int, list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """(host, port, the addresses known without DNS: IP literals and localhost) of a URL."""
    host, port = host_and_port(url)
    if host == "localhost" or host.endswith(".localhost"):
        return host, port, list(_LOOPBACK)
    try:
        return host, port, [ipaddress.ip_address(host)]
    except ValueError:
        return host, port, []  # a name: only DNS can tell


def _blocked(url: str, allow_private: list[str]) -> str | None:
    """The host when the address policy will refuse every address it is known to reach."""
    host, port, addresses = _reached(url)
    if addresses and not any(is_allowed_address(a, port, host, allow_private) for a in addresses):
        return host
    return None


def _policy_fix(host: str, port: int) -> str:
    return (
        f'Add "{host}" (or "{host}:{port}") to fetch.allow_private if you trust it, '
        "or use a public address"
    )


def _blocked_feeds(settings: Settings) -> list[Finding]:
    findings = []
    for i, feed in enumerate(settings.feeds):
        host = _blocked(feed.url, settings.fetch.allow_private)
        if host is not None:
            findings.append(
                Finding(
                    f"feeds[{i}].url",
                    f"{host} is not a public address, so every poll of this feed will be refused",
                    _policy_fix(host, _reached(feed.url)[1]),
                )
            )
    return findings


def _duplicate_feed_names(settings: Settings) -> list[Finding]:
    counts = Counter(feed.name for feed in settings.feeds if feed.name)
    seen: set[str] = set()
    findings = []
    for i, feed in enumerate(settings.feeds):
        if feed.name and counts[feed.name] > 1:
            if feed.name in seen:
                findings.append(
                    Finding(
                        f"feeds[{i}].name",
                        f"{feed.name!r} names another feed too, so digests cannot tell "
                        "their stories apart",
                        "Give each feed its own name",
                        warning=True,
                    )
                )
            seen.add(feed.name)
    return findings


def _silent_schedules(settings: Settings) -> list[Finding]:
    findings = []
    for i, topic in enumerate(settings.topics):
        schedule = topic.parsed_schedule
        if schedule.never_fires:
            findings.append(
                Finding(
                    f"topics[{i}].schedule",
                    f"{schedule.cron!r} never fires (no such date), so this topic's digest "
                    "would never be sent",
                    "Pick a day that every chosen month has, e.g. '0 7 28 2 *' or '0 7 * * *'",
                )
            )
    return findings


def _channel_findings(settings: Settings) -> list[Finding]:
    findings = []
    for i, channel in enumerate(settings.channels):
        if isinstance(channel, EmailChannel | WebhookChannel):
            field = "password_file" if isinstance(channel, EmailChannel) else "secret_file"
            path = getattr(channel, field)
            if path is not None:
                trouble = _unreadable(path)
                if trouble is not None:
                    findings.append(
                        Finding(
                            f"channels[{i}].{field}",
                            f"{path} {trouble}",
                            "Point it at a file the service's user can read, holding the secret",
                        )
                    )
                    continue  # the secret checks below would only repeat this
        if isinstance(channel, WebhookChannel):
            host = _blocked(channel.url, settings.fetch.allow_private)
            if host is not None:
                findings.append(
                    Finding(
                        f"channels[{i}].url",
                        f"{host} is not a public address, so every delivery to this "
                        "webhook will be refused",
                        _policy_fix(host, _reached(channel.url)[1]),
                    )
                )
            if not settings.secret(channel):
                env = f"MONITOR_SECRETS__{channel.name.upper()}__SECRET"
                findings.append(
                    Finding(
                        f"channels[{i}].secret",
                        f"webhook {channel.name!r} has no secret, so its deliveries are "
                        "unsigned and a receiver cannot tell them from forgeries",
                        f"Set {env}, secret_file or secret",
                        warning=True,
                    )
                )
        if isinstance(channel, EmailChannel) and channel.username and not settings.secret(channel):
            env = f"MONITOR_SECRETS__{channel.name.upper()}__PASSWORD"
            findings.append(
                Finding(
                    f"channels[{i}].username",
                    f"username is set but channel {channel.name!r} has no password, so "
                    "every email would be refused",
                    f"Set {env} or password_file, or remove username",
                )
            )
    return findings


def _unreadable(path: Path) -> str | None:
    """Why the file cannot serve as a secret, or None when it can."""
    if not path.exists():
        return "does not exist"
    if path.is_dir():
        return "is a directory"
    try:
        with path.open("rb") as handle:
            data = handle.read(1 << 16)
    except OSError as exc:
        return f"cannot be read by this user (uid {os.getuid()}): {exc.strerror}"
    if not data.strip():
        return "is empty"
    return None


def _open_listener(settings: Settings) -> list[Finding]:
    where = settings.listener.host_port()
    if where is None:
        return []
    try:
        address = ipaddress.ip_address(where[0])
    except ValueError:
        return []  # a name: only DNS can tell where it listens
    if not (address.is_unspecified or address.is_global):
        return []  # loopback or a private network, as the README advises
    return [
        Finding(
            "listener.address",
            f"{where[0]} can be reached from other networks, and the listener has no "
            "authentication",
            "Listen on 127.0.0.1 or a private address, behind a proxy if others need it",
            warning=True,
        )
    ]
