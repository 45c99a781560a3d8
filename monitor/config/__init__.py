"""Settings: declared once, with defaults and help, loaded from TOML and the environment.

Precedence, highest first: arguments > environment (`MONITOR_…`, nested with `__`)
> the TOML file > the secrets directory. Secrets (SMTP password, webhook secret)
can come from the environment (`MONITOR_SECRETS__<CHANNEL>__<FIELD>`), from a
file named by `password_file` / `secret_file`, and only as a last resort from
the TOML itself.

Every problem becomes one line "key: why"; `load_settings` raises ConfigError
with all of them, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from monitor.config.console_settings import WebSettings
from monitor.config.paths import resolve_paths
from monitor.config.problems import env_problems, problem_lines
from monitor.config.sections import (
    AppriseChannel,
    ChannelConfig,
    DigestSettings,
    EmailChannel,
    ExtractSettings,
    FeedConfig,
    FetchSettings,
    FilesChannel,
    ListenerSettings,
    ServiceSettings,
    StoreSettings,
    StoriesSettings,
    TopicConfig,
    WebhookChannel,
    _Section,
)
from monitor.config.values import (
    ALL_BACKLOG,
    MAX_DURATION,
    Duration,
    Schedule,
    bounded,
    parse_duration,
)
from monitor.errors import ConfigError, redact_url

__all__ = [
    "ALL_BACKLOG",
    "DEFAULT_CONFIG",
    "MAX_DURATION",
    "AppriseChannel",
    "ChannelConfig",
    "DigestSettings",
    "Duration",
    "EmailChannel",
    "ExtractSettings",
    "FeedConfig",
    "FetchSettings",
    "FilesChannel",
    "ListenerSettings",
    "Schedule",
    "ServiceSettings",
    "Settings",
    "StoreSettings",
    "StoriesSettings",
    "TopicConfig",
    "WebSettings",
    "WebhookChannel",
    "append_feeds",
    "bounded",
    "config_path",
    "cross_check",
    "example_config",
    "load_settings",
    "parse_duration",
    "read_settings",
    "read_toml",
    "settings_table",
]

DEFAULT_CONFIG = Path("config/monitor.toml")


class Settings(BaseSettings):
    """The whole configuration of news-monitor."""

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    store: StoreSettings = StoreSettings()
    fetch: FetchSettings = FetchSettings()
    extract: ExtractSettings = ExtractSettings()
    digest: DigestSettings = DigestSettings()
    listener: ListenerSettings = ListenerSettings()
    stories: StoriesSettings = StoriesSettings()
    service: ServiceSettings = ServiceSettings()
    web: WebSettings = WebSettings()
    feeds: list[FeedConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    secrets: dict[str, dict[str, SecretStr]] = Field(
        default_factory=dict,
        description="channel secrets from the environment: MONITOR_SECRETS__<CHANNEL>__<FIELD>",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        sources.append(file_secret_settings)
        return tuple(sources)

    def apprise_urls(self, channel: AppriseChannel) -> list[str]:
        """The channel's Apprise URLs: MONITOR_SECRETS__<NAME>__URLS (space-separated) or TOML."""
        from_env = self.secrets.get(channel.name.lower(), {}).get("urls")
        if from_env is not None:
            return from_env.get_secret_value().split()
        return [url.get_secret_value() for url in channel.urls]

    def channel(self, name: str) -> ChannelConfig:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def admin_password_hash(self) -> str | None:
        """The console's argon2 hash: web.password_file, else web.password_hash; None if unset."""
        if self.web.password_file is not None:
            try:
                return self.web.password_file.read_text(encoding="utf-8").strip() or None
            except FileNotFoundError:
                return None
        return self.web.password_hash.get_secret_value() if self.web.password_hash else None

    def secret(self, channel: EmailChannel | WebhookChannel) -> str | None:
        """The channel's password or signing secret: environment, then file, then TOML."""
        field = "password" if isinstance(channel, EmailChannel) else "secret"
        from_env = self.secrets.get(channel.name.lower(), {}).get(field)
        if from_env is not None:
            return from_env.get_secret_value()
        path = channel.password_file if isinstance(channel, EmailChannel) else channel.secret_file
        if path is not None:
            return path.read_text(encoding="utf-8").strip()
        value = channel.password if isinstance(channel, EmailChannel) else channel.secret
        return value.get_secret_value() if value is not None else None


def _never_firing_in(document: dict[str, Any]) -> list[str]:
    """Cron lines that never fire in a TOML document that did not validate as a whole."""
    problems = []
    topics = document.get("topics")
    for i, topic in enumerate(topics if isinstance(topics, list) else []):
        text = topic.get("schedule") if isinstance(topic, dict) else None
        try:
            schedule = Schedule.parse(text) if isinstance(text, str) else None
        except ValueError:
            continue  # the validation error names it already
        if schedule is not None and schedule.never_fires:
            problems.append(_never_fires(i, schedule))
    return problems


def _never_fires(i: int, schedule: Schedule) -> str:
    return (
        f"topics[{i}].schedule: the cron line {schedule.cron!r} never fires (a day that the "
        "month never has?); check its day and month fields"
    )


def cross_check(settings: Settings) -> list[str]:
    """Problems between keys: duplicate names, topics naming unknown channels, secret files,
    schedules that never fire."""
    problems = []
    seen: dict[str, int] = {}
    for i, channel in enumerate(settings.channels):
        if channel.name in seen:
            problems.append(f"channels[{i}].name: {channel.name!r} is used twice")
        seen[channel.name] = i
        file = getattr(channel, "password_file", None) or getattr(channel, "secret_file", None)
        if file is not None and not Path(file).is_file():
            key = "password_file" if isinstance(channel, EmailChannel) else "secret_file"
            problems.append(f"channels[{i}].{key}: {file} is not a readable file")
    names: set[str] = set()
    for i, topic in enumerate(settings.topics):
        if topic.name in names:
            problems.append(f"topics[{i}].name: {topic.name!r} is used twice")
        names.add(topic.name)
        if topic.parsed_schedule.never_fires:
            problems.append(_never_fires(i, topic.parsed_schedule))
        for channel_name in topic.channels:
            if channel_name not in seen:
                known = ", ".join(sorted(seen)) or "none configured"
                problems.append(
                    f"topics[{i}].channels: no channel named {channel_name!r} (known: {known})"
                )
    urls: set[str] = set()
    for i, feed in enumerate(settings.feeds):
        if feed.url in urls:
            problems.append(f"feeds[{i}].url: {feed.url} is listed twice")
        urls.add(feed.url)
    # a claim must outlive the poll it covers, or a slow poll could be taken over mid-way
    if settings.store.lease < 2 * settings.fetch.timeout:
        problems.append(
            f"store.lease: {settings.store.lease} is shorter than twice fetch.timeout "
            f"({settings.fetch.timeout}); another replica could poll a feed still being polled"
        )
    if not re.match(r"^(sqlite|postgres(ql)?)(\+\w+)?://", settings.store.url):
        problems.append(
            "store.url: use sqlite:///FILE or postgresql://USER@HOST/DATABASE "
            f"(got {redact_url(settings.store.url)!r})"
        )
    return problems


def append_feeds(path: Path, feeds: list[tuple[str, str | None]]) -> int:
    """Append [[feeds]] tables to the TOML file for URLs it does not list yet; return how many.

    The file is appended to, never rewritten, so the user's comments and layout stay.
    """
    existing: set[str] = set()
    if path.is_file():
        listed = read_toml(path).get("feeds", [])
        if isinstance(listed, list):
            existing = {f.get("url", "") for f in listed if isinstance(f, dict)}
    blocks = []
    for url, name in feeds:
        if url in existing:
            continue
        existing.add(url)
        block = f"\n[[feeds]]\nurl = {json.dumps(url)}\n"
        if name:
            block += f"name = {json.dumps(name, ensure_ascii=False)}\n"
        blocks.append(block)
    if blocks:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(blocks))
    return len(blocks)


def example_config() -> str:
    """The commented example configuration that `news-monitor init` writes."""
    return resources.files("monitor.config").joinpath("example.toml").read_text(encoding="utf-8")


def config_path(explicit: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The config file to read and whether the user asked for it by name."""
    if explicit:
        return Path(explicit), True
    if os.environ.get("MONITOR_CONFIG"):
        return Path(os.environ["MONITOR_CONFIG"]), True
    return DEFAULT_CONFIG, False


def _not_found(file: Path, explicit: bool) -> ConfigError:
    """Where we looked for a config file and how to create one."""
    if explicit:
        how = "--config" if not os.environ.get("MONITOR_CONFIG") else "$MONITOR_CONFIG"
        return ConfigError(
            [
                f"(file): {file} does not exist (named by {how}); create it with "
                f"`news-monitor --config {file} init`, or fix the path"
            ],
            source=str(file),
        )
    return ConfigError(
        [
            f"(file): no config file found: --config not given, $MONITOR_CONFIG not set, "
            f"and no {file.absolute()}; write a commented example there with "
            "`news-monitor init`, or pass --config FILE"
        ],
        source=str(file),
    )


def read_toml(file: Path) -> dict[str, Any]:
    """The TOML document in `file`; ConfigError (with line and column) if it is not one."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError([f"(file): cannot read: {exc.strerror}"], source=str(file)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                f"(file): not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}; "
                "save the file as UTF-8"
            ],
            source=str(file),
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"(file): TOML syntax error: {exc}"], source=str(file)) from None


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (see config_path) and the environment; raise ConfigError on problems.

    Relative paths in the settings (a SQLite file, data_dir, secret files, a files
    channel's directory) are resolved against the config file's folder.
    """
    settings = read_settings(path, **overrides)
    problems = cross_check(settings)
    if problems:
        file, _ = config_path(path)
        raise ConfigError(problems, source=str(file) if file.is_file() else None)
    return settings


def read_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Like load_settings, without cross_check: for `check`, which reports all problems."""
    file, explicit = config_path(path)
    if not file.is_file():
        raise _not_found(file, explicit)
    document = read_toml(file)  # a message with line and column, or the byte not UTF-8

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=file)

    try:
        settings: Settings = _FromFile(**overrides)
    except ValidationError as exc:
        # what cross_check would say of the schedules, so that one run says everything
        problems = problem_lines(exc) + _never_firing_in(document)
        raise ConfigError(problems, source=str(file)) from None
    except SettingsError as exc:  # a list or table in the environment that is not JSON
        raise ConfigError(
            env_problems(Settings, os.environ) or [f"(environment): {exc}"], source=str(file)
        ) from None
    settings = resolve_paths(settings, file.parent)
    return settings


def _default_text(value: Any) -> str:
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0 and seconds >= size:
                return f"{seconds // size}{unit}"
        return f"{value.total_seconds():g}s"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return "[]" if not value else str(value)
    return str(value)


def settings_table() -> str:
    """The README's table of every section setting: key, default, meaning (from the models)."""
    lines = ["| section | key | default | meaning |", "| --- | --- | --- | --- |"]
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, _Section)):
            continue
        for name, info in model.model_fields.items():
            default = info.get_default(call_default_factory=True)
            key = info.alias or name
            lines.append(
                f"| `{section}` | `{key}` | `{_default_text(default)}` | {info.description or ''} |"
            )
    return "\n".join(lines)
