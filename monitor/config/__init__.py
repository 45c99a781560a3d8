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
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from monitor.config.console_settings import WebSettings
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
from monitor.config.values import Duration, Schedule, parse_duration
from monitor.errors import ConfigError, redact_url

__all__ = [
    "DEFAULT_CONFIG",
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
    "config_path",
    "cross_check",
    "load_settings",
    "parse_duration",
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


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in (
            "email",
            "webhook",
            "apprise",
            "files",
        ):  # the discriminator tag pydantic adds
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _problem_lines(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        key = _dotted(tuple(item["loc"]))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"{key}: {message}")
    return lines


def cross_check(settings: Settings) -> list[str]:
    """Problems between keys: duplicate names, topics naming unknown channels, secret files."""
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
        with path.open("rb") as handle:
            existing = {f.get("url", "") for f in tomllib.load(handle).get("feeds", [])}
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


def config_path(explicit: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The config file to read and whether the user asked for it by name."""
    if explicit:
        return Path(explicit), True
    if os.environ.get("MONITOR_CONFIG"):
        return Path(os.environ["MONITOR_CONFIG"]), True
    return DEFAULT_CONFIG, False


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (see config_path) and the environment; raise ConfigError on problems.

    A missing default file is not an error: the embedded defaults apply.
    """
    file, explicit = config_path(path)
    toml_file: Path | None = None
    if file.is_file():
        try:
            with file.open("rb") as handle:
                tomllib.load(handle)  # syntax check first, for a message with line and column
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"(file): TOML syntax error: {exc}"], source=str(file)) from None
        except OSError as exc:
            raise ConfigError([f"(file): cannot read: {exc.strerror}"], source=str(file)) from None
        toml_file = file
    elif explicit:
        raise ConfigError([f"(file): {file} does not exist"], source=str(file))

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=toml_file)

    try:
        settings: Settings = _FromFile(**overrides)
    except ValidationError as exc:
        raise ConfigError(
            _problem_lines(exc), source=str(toml_file) if toml_file else None
        ) from None
    problems = cross_check(settings)
    if problems:
        raise ConfigError(problems, source=str(toml_file) if toml_file else None)
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
