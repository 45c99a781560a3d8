"""The one error tree of news-monitor.

    MonitorError                 base: a message for the user and a hint how to fix it
    ├── ConfigError              the configuration is wrong (one problem per line, dotted keys)
    ├── QueryError               a topic query does not parse (query text and position)
    ├── StoreError               the store cannot be opened or used (redacted URL or path)
    ├── StoreInUse               another service holds this SQLite store (store/lock.py)
    ├── FetchError               a download failed (redacted URL, error class)
    │   ├── BlockedError         refused by us: scheme or address policy, too many redirects
    │   ├── FetchTimeout         the total deadline passed
    │   ├── TooLargeError        the body passed the byte cap
    │   ├── HTTPStatusError      the server answered with an error status
    │   └── NetworkError         connection refused, reset, DNS failure, TLS error
    ├── ParseError               the bytes are not a feed we can read (redacted URL)
    ├── ExtractError             a page gave no main text (redacted URL)
    ├── DeliveryError            a channel did not accept a digest (channel, permanent?)
    ├── NoFeedFound              `feeds add`: no feed at or behind that URL (sources/feed_finder.py)
    ├── UnknownFeed              a feed name or URL that is not configured (admin/feed_control.py)
    ├── UnknownStory             a story id the store does not know (admin/story_mutes.py)
    ├── WeakPassword             `web set-password`: too short or empty (admin/web_password.py)
    └── ConsoleRefused           the console will not listen as asked (console/routes.py)

Third-party errors (aiohttp, feedparser, trafilatura, smtplib, SQLAlchemy) are translated
into these in the module that uses the library, so the rest of the code and the CLI only
ever see this tree. URLs are always stored redacted. The CLI turns them into exit codes:
ConfigError and QueryError 2, the rest 1 (`once` gives 3 when nothing could be done).

Some exceptions never leave their module and are not part of the tree: `Unsure`
(feeds/fastpath.py: hand the document to feedparser), `NotReadable` (feeds/common.py: skip
one item), `Refused` (http/policy.py: an address the policy blocks, raised inside aiohttp's
resolver and translated to BlockedError), `DigestTaken` (store: another replica built that
digest first). A `ValueError` raised in monitor/config/ is pydantic's way to reject a value
and reaches the user as a ConfigError line; `replay` reports one per bad archive line.
Anything else that escapes is a bug: the CLI prints it with a traceback under `-v`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.models import ErrorClass

_SECRET_PARAM = re.compile(
    r"(token|key|secret|password|passwd|pass|auth|sig|signature|session|code|apikey|access"
    r"|credential)",
    re.IGNORECASE,
)
# Any URL inside free text (error messages, tracebacks): scheme://… up to a space or quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """The URL as it may be shown anywhere: no userinfo, no secret-looking parameter values.

    The one redaction of news-monitor: logs, CLI output, errors, digests, the Atom feeds
    and metrics all show URLs through it (or through `redact_text`).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query, fragment = _redact_pairs(parts.query), _redact_pairs(parts.fragment)
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing secret: as written (urlunsplit would drop sqlite:////'s slashes)
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_pairs(text: str) -> str:
    """`a=1&token=x` with secret-looking values replaced by ***; other text unchanged."""
    if "=" not in text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(_SECRET_PARAM.search(k) for k, _ in pairs):
        return text
    return urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted (see redact_url)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


class MonitorError(Exception):
    """Base of every error news-monitor reports to its user."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(redact_text(message))  # whatever prints it, no secret goes out
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class ConfigError(MonitorError):
    """The configuration has problems; `problems` holds one line each ("key: why")."""

    hint = "fix the configuration and run `news-monitor check`"

    def __init__(self, problems: list[str], *, source: str | None = None) -> None:
        self.problems = [redact_text(problem) for problem in problems]
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"{len(problems)} problem(s){where}:\n" + "\n".join(self.problems))


class QueryError(MonitorError):
    """A topic query does not parse; `position` is the 0-based character offset."""

    hint = "check the quotes and parentheses near the marked position"

    def __init__(self, message: str, *, query: str, position: int) -> None:
        self.query = query
        self.position = position
        super().__init__(f"{message} at position {position + 1}")

    def pointer(self) -> str:
        """Two lines: the query and a caret under the offending position."""
        return f"{self.query}\n{' ' * self.position}^"


class FetchError(MonitorError):
    """A download failed. `url` is already redacted."""

    error_class: ErrorClass = ErrorClass.NETWORK

    def __init__(
        self, message: str, *, url: str, hint: str | None = None, retry_after: float | None = None
    ) -> None:
        self.url = redact_url(url)
        self.retry_after = retry_after
        super().__init__(f"{message}: {self.url}", hint=hint)


class BlockedError(FetchError):
    error_class = ErrorClass.BLOCKED
    hint = "only public http(s) addresses are fetched; list trusted hosts in fetch.allow_private"


class FetchTimeout(FetchError):
    error_class = ErrorClass.TIMEOUT
    hint = "the server is slow or unreachable; it will be retried with backoff"


class TooLargeError(FetchError):
    error_class = ErrorClass.TOO_LARGE
    hint = "raise fetch.max_bytes if this source is trusted"


class HTTPStatusError(FetchError):
    error_class = ErrorClass.HTTP

    def __init__(self, status: int, *, url: str, retry_after: float | None = None) -> None:
        self.status = status
        if status in (429, 503):
            self.error_class = ErrorClass.RATE_LIMITED
        super().__init__(f"HTTP {status}", url=url, retry_after=retry_after)


class NetworkError(FetchError):
    error_class = ErrorClass.NETWORK


class ParseError(MonitorError):
    """The bytes are not a feed we can read."""

    hint = "check that the URL points at an RSS, Atom or JSON feed"

    def __init__(self, message: str, *, url: str, not_a_feed: bool = False) -> None:
        self.url = redact_url(url)
        self.error_class = ErrorClass.NOT_A_FEED if not_a_feed else ErrorClass.PARSE
        super().__init__(f"{message}: {self.url}")


class ExtractError(MonitorError):
    """A page gave no main text; the entry is reported with its feed summary.

    `reason` is a short stable code for notes and logs: "not html", "consent wall",
    "paywall", "javascript required", "too little text", "no main text", "timeout",
    "worker crashed", "failed".
    """

    def __init__(self, message: str, *, url: str, reason: str = "no main text") -> None:
        self.url = redact_url(url)
        self.reason = reason
        super().__init__(f"{message}: {self.url}")


class DeliveryError(MonitorError):
    """A channel did not accept a digest.

    `permanent` failures (SMTP 5xx, HTTP 4xx other than 408/429) are not retried
    automatically; the others are retried with backoff, no sooner than `retry_after`.
    `stop_channel` (a webhook answering 410 Gone) stops every delivery to the
    channel until an operator runs `news-monitor outbox retry`.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        permanent: bool = False,
        retry_after: float | None = None,
        hint: str | None = None,
        stop_channel: bool = False,
    ) -> None:
        self.channel = channel
        self.permanent = permanent or stop_channel
        self.retry_after = retry_after
        self.stop_channel = stop_channel
        super().__init__(f"channel {channel!r}: {message}", hint=hint)


class StoreError(MonitorError):
    """The store cannot be opened or used as asked."""
