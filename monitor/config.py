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

import ipaddress
import json
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from monitor.errors import ConfigError

DEFAULT_CONFIG = Path("config/monitor.toml")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
# host | host:port | [v6]:port | v6 address | CIDR
_ALLOW_ENTRY = re.compile(
    r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?|[0-9A-Fa-f:.]+(/\d{1,3})?"
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '1h30m', '2d' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif text and _DURATION.sub("", text) == "":
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION.findall(text))
        else:
            raise ValueError(f"{value!r} is not a duration; write e.g. '30s', '15m', '1h30m', '2d'")
    else:
        raise ValueError("expected a duration such as '15m'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a topic's digest is due: 'immediate', 'every <duration>' or a cron line."""

    kind: Literal["immediate", "every", "cron"]
    every: timedelta | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = text.strip()
        if text == "immediate":
            return cls("immediate")
        if text.startswith("every "):
            return cls("every", every=parse_duration(text.removeprefix("every ")))
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(
                f"{text!r} is not a schedule; use 'immediate', 'every 1h' or a cron line "
                "'0 7 * * *' (minute hour day month weekday)"
            )
        from apscheduler.triggers.cron import CronTrigger  # validates the cron fields

        try:
            CronTrigger.from_crontab(text, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron line {text!r}: {exc}") from None
        return cls("cron", cron=text)

    def __str__(self) -> str:
        if self.kind == "every":
            return f"every {self.every}"
        return self.cron if self.kind == "cron" and self.cron else "immediate"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreSettings(_Section):
    url: str = Field("sqlite:///data/monitor.db", description="SQLAlchemy URL of the state store")


class FetchSettings(_Section):
    allow_private: list[str] = Field(
        default_factory=list,
        description="hosts, host:port pairs or CIDRs that may be fetched although not public",
    )
    timeout: Duration = Field(timedelta(seconds=30), description="total deadline per request")
    connect_timeout: Duration = Field(timedelta(seconds=10), description="deadline to connect")
    max_bytes: int = Field(5_000_000, gt=0, description="cap on a decoded response body")
    max_redirects: int = Field(5, ge=0, le=20, description="redirects followed per request")
    max_connections: int = Field(50, gt=0, description="concurrent requests in all")
    max_per_host: int = Field(4, gt=0, description="concurrent requests per host")
    user_agent: str = Field("news-monitor/0.1", description="User-Agent header sent")
    max_entries: int = Field(
        500, gt=0, description="entries kept per feed document, newest first; the rest ignored"
    )
    parse_workers: int = Field(0, ge=0, description="feed-parsing processes; 0 means one per core")
    parse_timeout: Duration = Field(
        timedelta(seconds=30), description="deadline to parse one feed document"
    )

    @field_validator("allow_private")
    @classmethod
    def _valid_entries(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            if not _ALLOW_ENTRY.fullmatch(entry):
                raise ValueError(f"{entry!r} is not a host, host:port, [v6 address]:port or CIDR")
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not a valid CIDR") from None
        return entries


class ExtractSettings(_Section):
    workers: int = Field(0, ge=0, description="extraction processes; 0 means one per core")
    timeout: Duration = Field(timedelta(seconds=30), description="deadline to clean one page")
    min_chars: int = Field(
        200, ge=0, description="pages with less main text fall back to the feed summary"
    )
    max_page_bytes: int = Field(
        3_000_000,
        gt=0,
        description="pages longer than this are cut (at a tag) before extraction",
    )
    recycle_every: int = Field(
        500, ge=0, description="pages after which a worker process is replaced; 0 never"
    )


_CLOCK_RANGE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)$")


class DigestSettings(_Section):
    images: bool = Field(
        False,
        description="show each article's lead image in HTML digests (a remote image: "
        "many mail clients block those, and loading one tells the site you read it)",
    )
    max_items: int = Field(
        20, gt=0, description="stories shown in full per topic; the rest are listed as headlines"
    )
    coverage_alert_after: Duration = Field(
        timedelta(hours=6),
        description="when no feed could be read for this long, each topic's channels get an "
        "alert, so that no news is not mistaken for quiet",
    )
    quiet_hours: str | None = Field(
        None,
        description="e.g. '22:00-07:00' (service.timezone): only urgent topics are sent then",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _valid_range(cls, value: str | None) -> str | None:
        if value is not None and not _CLOCK_RANGE.match(value.strip()):
            raise ValueError(f"{value!r} is not a time range; write e.g. '22:00-07:00'")
        return value

    def quiet_range(self) -> tuple[time, time] | None:
        """(start, end) local times of the quiet hours, if any."""
        if self.quiet_hours is None:
            return None
        match = _CLOCK_RANGE.match(self.quiet_hours.strip())
        assert match is not None
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        return time(h1, m1), time(h2, m2)


class ListenerSettings(_Section):
    address: str | None = Field(
        None,
        description="host:port of the optional HTTP listener (/healthz, /readyz, /metrics, "
        "/topics/<name>.xml), e.g. '127.0.0.1:8080'; unset: no listener",
    )

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}", value
        ):
            raise ValueError(f"{value!r} is not host:port, e.g. '127.0.0.1:8080'")
        return value

    def host_port(self) -> tuple[str, int] | None:
        if self.address is None:
            return None
        host, port = self.address.rsplit(":", 1)
        return host.strip("[]"), int(port)


class StoriesSettings(_Section):
    """How articles are grouped into stories and what counts as new (see monitor/stories/)."""

    window: Duration = Field(
        timedelta(days=3),
        description="an article joins a story only if the story had an article this recently; "
        "older stories are forgotten",
    )
    duplicate_similarity: float = Field(
        0.7,
        gt=0,
        le=1,
        description="estimated Jaccard similarity of word shingles (MinHash) from which a text "
        "is a copy of an earlier one (wire copy, re-post)",
    )
    shingle_words: int = Field(4, ge=1, le=10, description="words per shingle for copy detection")
    join_similarity: float = Field(
        0.15,
        gt=0,
        le=1,
        description="TF-IDF cosine between an article and a story's centroid from which the "
        "article may join the story",
    )
    similarity_half_life: Duration = Field(
        timedelta(days=1),
        description="time over which the similarity to a story is halved, counted from the "
        "story's nearest article: a later event with the same actors needs closer wording",
    )
    min_event_terms: int = Field(
        2,
        ge=0,
        description="significant terms an article must share with a story besides the names of "
        "people, places and organisations, so that stories with the same actors stay apart",
    )
    headline_cover: float = Field(
        0.4,
        gt=0,
        le=1,
        description="for a headline-only item: share of its TF-IDF weight (halved every "
        "similarity_half_life) on terms of a story's centroid, names included, from which it "
        "joins that story even below join_similarity",
    )
    paraphrase_overlap: float = Field(
        0.6,
        gt=0,
        le=1,
        description="share of a sentence's terms found in one sentence already told from which "
        "it is a paraphrase (not new unless it brings a new name or figure)",
    )
    min_new_sentences: int = Field(
        1, ge=1, description="new sentences an article needs to be a development"
    )


class ServiceSettings(_Section):
    data_dir: Path = Field(Path("data"), description="where digests without a channel go")
    tick: Duration = Field(timedelta(seconds=30), description="how often due work is looked for")
    default_interval: Duration = Field(
        timedelta(minutes=15), description="poll interval of feeds that set none"
    )
    max_backoff: Duration = Field(
        timedelta(hours=6), description="longest wait before retrying a failing feed"
    )
    max_interval: Duration = Field(
        timedelta(days=1),
        description="longest interval that server hints (ttl, max-age, Expires) or adapting "
        "to a feed's publishing rate may set",
    )
    adaptive: bool = Field(
        True,
        description="poll feeds that publish rarely less often: up to half their mean gap "
        "between entries, never below the configured interval nor above max_interval",
    )
    jitter: float = Field(
        0.1, ge=0, le=0.5, description="random share added to or taken from each wait (±)"
    )
    timezone: str = Field("UTC", description="time zone of cron schedules")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use e.g. 'UTC' or 'Europe/Paris'"
            ) from None
        return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


HttpURL = Annotated[str, BeforeValidator(_http_url)]


class FeedConfig(_Section):
    url: HttpURL = Field(description="address of an RSS, Atom or JSON feed")
    name: str | None = Field(None, description="shown in digests; defaults to the feed's title")
    interval: Duration | None = Field(None, description="poll interval, e.g. '15m'")


class TopicConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="short identifier")
    title: str | None = Field(None, description="display name")
    query: str = Field(
        min_length=1,
        description='terms, "phrases", AND, OR, NOT, NEAR/n, fields: see docs/queries.md',
    )
    match: Literal["summary", "full_text"] = Field(
        "full_text",
        description="full_text: confirm on the article's text (and find stories whose summary "
        "names only part of the query); summary: decide on title and summary alone",
    )
    schedule: str = Field("immediate", description="'immediate', 'every 1h' or a cron line")
    channels: list[str] = Field(default_factory=list, description="channel names to deliver to")
    urgent: bool = Field(False, description="sent during digest.quiet_hours too")

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        Schedule.parse(value)
        return value

    @property
    def display_title(self) -> str:
        return self.title or self.name

    @property
    def parsed_schedule(self) -> Schedule:
        return Schedule.parse(self.schedule)


class _Channel(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="referred to by topics")
    timeout: Duration = Field(timedelta(seconds=30), description="deadline for one delivery")


class EmailChannel(_Channel):
    type: Literal["email"]
    smtp_host: str
    smtp_port: int = Field(25, gt=0, lt=65536)
    security: Literal["none", "starttls", "tls"] | None = Field(
        None, description="none, starttls or tls; unset means STARTTLS when the server offers it"
    )
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    from_: str = Field(alias="from", description="sender address")
    to: list[str] = Field(min_length=1, description="recipient addresses")


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: HttpURL
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 signing key")
    secret_file: Path | None = None


class AppriseChannel(_Channel):
    type: Literal["apprise"]
    urls: list[SecretStr] = Field(
        default_factory=list,
        description="Apprise URLs (they carry tokens: prefer MONITOR_SECRETS__<NAME>__URLS)",
    )


class FilesChannel(_Channel):
    type: Literal["files"]
    directory: Path = Field(Path("data/digests"), description="where .eml/.html/.json go")


ChannelConfig = Annotated[
    EmailChannel | WebhookChannel | AppriseChannel | FilesChannel, Field(discriminator="type")
]


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
