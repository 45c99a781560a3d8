"""Plain, frozen data passed between the stages of the pipeline.

Stages take and return these, never feedparser dicts, trafilatura documents or
ORM rows: each third-party shape is converted in its own home module.
All datetimes are timezone-aware (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer, body already decoded from its Content-Encoding."""

    url: str  # the final URL, after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, as the feed told it."""

    feed_url: str
    key: str  # stable identity within the feed: GUID, else normalised link, else a hash
    title: str
    link: str | None
    summary: str  # plain text
    published: datetime | None = None
    author: str | None = None
    content: str | None = None  # the feed's full content (plain text) when it carries one


@dataclass(frozen=True, slots=True)
class Article:
    """The cleaned page behind an entry."""

    url: str  # final URL of the page
    title: str | None
    text: str  # paragraphs separated by blank lines
    author: str | None = None
    date: str | None = None  # as trafilatura gives it (ISO date)
    site_name: str | None = None
    language: str | None = None  # ISO 639-1 code when known
    canonical_url: str | None = None  # rel=canonical / og:url of the page
    image: str | None = None  # lead image (og:image), absolute URL


class ErrorClass(StrEnum):
    """Why a fetch or parse failed, as `status` shows it."""

    BLOCKED = "blocked"  # address policy, scheme, refused by us
    TIMEOUT = "timeout"
    TOO_LARGE = "too large"
    HTTP = "http error"
    NETWORK = "network"
    NOT_A_FEED = "not a feed"
    PARSE = "parse error"
    RATE_LIMITED = "rate-limited"


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers of one feed between polls."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_checked: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_class: str | None = None
    consecutive_failures: int = 0
    next_check: datetime | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """An entry that matched a topic, with what the reader will see."""

    topic: str
    entry_key: str
    feed_url: str
    url: str  # canonical URL of the story
    title: str
    text: str  # the article text, or the feed summary when extraction failed
    source: str  # feed name or host
    published: datetime | None
    terms: tuple[str, ...] = ()  # query terms that matched
    note: str | None = None  # e.g. why the feed summary is shown instead of the article
    author: str | None = None
    image: str | None = None  # lead image of the article (og:image), absolute http(s)
    site_name: str | None = None
    language: str | None = None
    story_id: str | None = None  # the story this article belongs to (monitor.stories)
    story_kind: str | None = None  # new_story, development, also_reported, duplicate
    story_reason: str | None = None  # why it joined its story
    new_sentences: tuple[str, ...] = ()  # what is new, for a development
    also: tuple[tuple[str, str], ...] = ()  # other (outlet, url) reports, filled at digest time
    folded: tuple[tuple[str, str], ...] = ()  # (outlet, url) of the story's other articles
    also_more: int = 0  # outlets beyond those in `also` (a digest lists a few)
    folded_more: int = 0  # articles beyond those in `folded`
    # waiting for the same digest, folded into this item (monitor.delivery.compose.fold_stories)
    snippet: str | None = None  # the text around the best hit of the query
    hits: tuple[tuple[str, str, int], ...] = ()  # (term, field, count): why it matched

    @property
    def alert(self) -> bool:
        """Whether this match goes into a digest (copies and repeats are folded instead)."""
        return self.story_kind not in ("duplicate", "also_reported")


@dataclass(frozen=True, slots=True)
class Section:
    """One topic's part of a digest: the stories shown in full and the overflow."""

    topic: str
    title: str
    items: tuple[Match, ...]
    more: tuple[Match, ...] = ()  # past the per-digest cap: listed as headlines only


@dataclass(frozen=True, slots=True)
class Digest:
    """What one channel receives at once: every due topic routed to it."""

    key: str  # idempotency key: Message-ID, webhook id
    channel: str
    created: datetime
    sections: tuple[Section, ...]
    replies_to: tuple[str, ...] = ()  # earlier digests that carried these stories

    @property
    def stories(self) -> int:
        return sum(len(s.items) + len(s.more) for s in self.sections)


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """A digest as bytes-ready text; channels only ever see this."""

    key: str
    subject: str
    text: str
    html: str
    json: str
    created: datetime
    headers: Mapping[str, str] = field(default_factory=dict)
    replies_to: tuple[str, ...] = ()  # keys of earlier digests of the same stories (threading)
    topics: tuple[str, ...] = ()  # names of the topics it holds (mail's List-Id)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanent failure, kept for `status` and retry


@dataclass(frozen=True, slots=True)
class Delivery:
    """One digest on its way through one channel."""

    id: int
    digest_key: str
    channel: str
    status: DeliveryStatus
    attempts: int
    next_attempt: datetime | None
    last_error: str | None
    sent_at: datetime | None = None
