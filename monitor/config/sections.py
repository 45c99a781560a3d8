"""The settings, section by section: every key with its default and its meaning.

The README's settings table is generated from these models (`settings_table`).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from monitor.config.values import (
    _CLOCK_RANGE,
    AllowEntry,
    Backlog,
    Duration,
    HttpURL,
    Schedule,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreSettings(_Section):
    url: str = Field(
        "sqlite:///data/monitor.db",
        description="state store: sqlite:///FILE (one process) or postgresql://USER@HOST/DB "
        "(several replicas share the work)",
    )
    lease: Duration = Field(
        timedelta(minutes=15),
        description="how long a claimed feed stays with the process polling it; if that "
        "process dies, another takes the feed over after this",
    )
    claim_batch: int = Field(
        50,
        gt=0,
        description="feeds a replica claims at a time from a PostgreSQL store; more are "
        "claimed as these finish (SQLite: all due feeds at once)",
    )


class FetchSettings(_Section):
    allow_private: list[AllowEntry] = Field(
        default_factory=list,
        description="hosts, host:port pairs or CIDRs that may be fetched although not public",
    )
    timeout: Duration = Field(timedelta(seconds=30), description="total deadline per request")
    connect_timeout: Duration = Field(timedelta(seconds=10), description="deadline to connect")
    max_bytes: int = Field(5_000_000, gt=0, description="cap on a decoded response body")
    max_redirects: int = Field(5, ge=0, le=20, description="redirects followed per request")
    max_connections: int = Field(
        200,
        gt=0,
        description="concurrent requests in all; twice as many feeds are polled at once, "
        "which bounds the documents and pages a cycle holds in memory",
    )
    max_per_host: int = Field(4, gt=0, description="concurrent requests per host")
    user_agent: str = Field("news-monitor/0.1", description="User-Agent header sent")
    max_entries: int = Field(
        500, gt=0, description="entries kept per feed document, newest first; the rest ignored"
    )
    parse_workers: int = Field(0, ge=0, description="feed-parsing processes; 0 means one per core")
    parse_timeout: Duration = Field(
        timedelta(seconds=30), description="deadline to parse one feed document"
    )


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


class DigestSettings(_Section):
    images: bool = Field(
        False,
        description="show each article's lead image in HTML digests (a remote image: "
        "many mail clients block those, and loading one tells the site you read it)",
    )
    max_items: int = Field(
        20,
        gt=0,
        description="stories shown in full per topic and digest; the rest are listed as "
        "linked headlines, so that one digest stays small",
    )
    item_words: int = Field(
        120,
        ge=0,
        description="words of each story's text shown in a digest before a 'Read more' link "
        "(0: the whole text)",
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
    join_similarity: float = Field(
        0.2,
        gt=0,
        le=1,
        description="TF-IDF cosine between an article and a story's centroid from which the "
        "article may join the story",
    )
    similarity_half_life: Duration = Field(
        timedelta(days=1),
        description="time over which the similarity to a story is halved, counted from a day "
        "after the story's latest article: a later event with the same actors needs closer "
        "wording",
    )
    paraphrase_overlap: float = Field(
        0.6,
        gt=0,
        le=1,
        description="share of a sentence's terms found in one sentence already told from which "
        "it is a paraphrase (not new unless it brings a new name or figure)",
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
    backlog: Backlog = Field(
        timedelta(days=1),
        description="on a feed's first poll, entries published longer ago than this (or "
        "undated) are recorded but not sent; 0 sends none, 'all' sends every entry. A feed "
        "back from failing sends nothing older than its last good poll",
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


class FeedConfig(_Section):
    url: HttpURL = Field(description="address of an RSS, Atom or JSON feed")
    name: str | None = Field(None, description="shown in digests; defaults to the feed's title")
    interval: Duration | None = Field(None, description="poll interval, e.g. '15m'")
    backlog: Backlog | None = Field(
        None, description="this feed's service.backlog, e.g. '7d' for a weekly newsletter"
    )


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
    unsubscribe: str | None = Field(
        None,
        description="a mailto: or https: address that stops these emails, sent as "
        "List-Unsubscribe so mail clients offer an unsubscribe button",
    )

    @field_validator("unsubscribe")
    @classmethod
    def _unsubscribe_address(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(mailto:\S+@\S+|https://\S+)$", value):
            raise ValueError(
                f"{value!r} is not a mailto: or https: address; write e.g. "
                "'mailto:list-admin@example.org?subject=unsubscribe'"
            )
        return value


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
