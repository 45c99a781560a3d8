"""Email: build a MIME message from a rendered digest, and send it with aiosmtplib.

aiosmtplib's errors are translated into DeliveryError here and nowhere else:
SMTP 5xx replies (and configuration the server cannot serve, such as required
STARTTLS it does not offer) are permanent; 4xx replies, refused connections,
timeouts and disconnects are transient. The password never appears in a
message or log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from monitor.channels.base import Channel
from monitor.config import EmailChannel
from monitor.errors import ConfigError, DeliveryError
from monitor.models import RenderedDigest

log = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN = "news-monitor"
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_RESERVED = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "list-id",
    "list-unsubscribe",
    "auto-submitted",
}
_LABEL_UNSAFE = re.compile(r"[^a-z0-9-]+")
_AUTH_HINT = "check the channel's username and password"


def clean_header(value: str) -> str:
    """`value` on one line: control characters and line breaks become spaces, runs collapse."""
    kept = (" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return " ".join("".join(kept).split())


def list_id(digest: RenderedDigest, *, channel: str, sender: str) -> str:
    """`<topic.news-monitor.HOST>` (RFC 2919), HOST the sender's domain, so a mail rule can
    file each topic; a digest holding several topics is named after its channel instead."""
    label = digest.topics[0] if len(digest.topics) == 1 else channel
    label = _LABEL_UNSAFE.sub("-", label.lower()).strip("-") or "digest"
    domain = (parseaddr(sender)[1] or sender).rpartition("@")[2].strip().lower()
    try:
        host = domain.encode("idna").decode("ascii") if domain else "localhost"
    except UnicodeError:
        host = "localhost"
    return f"<{label}.news-monitor.{host}>"


def build_email(
    digest: RenderedDigest,
    *,
    sender: str,
    recipients: Sequence[str],
    channel: str = "email",
    unsubscribe: str | None = None,
) -> EmailMessage:
    """multipart/alternative (text, then HTML) with Message-ID `<key@news-monitor>`.

    It says it is automatic (`Auto-Submitted: auto-generated`, RFC 3834: auto-responders
    stay silent), carries a `List-Id` for mail rules and, when the channel gives an
    address, `List-Unsubscribe` (RFC 2369). Extra `digest.headers` (In-Reply-To,
    References, ...) are added with their values put on one line; a name that is
    malformed or one of the headers set here raises ValueError.
    """
    msg = EmailMessage()
    msg["Subject"] = clean_header(digest.subject)
    msg["From"] = clean_header(sender)
    msg["To"] = ", ".join(clean_header(r) for r in recipients)
    msg["Date"] = format_datetime(digest.created)
    msg["Message-ID"] = f"<{clean_header(digest.key)}@{MESSAGE_ID_DOMAIN}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Id"] = list_id(digest, channel=channel, sender=sender)
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{clean_header(unsubscribe)}>"
    if digest.replies_to:  # a development threads under the digests that told its story
        earlier = [f"<{clean_header(key)}@{MESSAGE_ID_DOMAIN}>" for key in digest.replies_to]
        msg["In-Reply-To"] = earlier[-1]
        msg["References"] = " ".join(earlier)
    for name, value in digest.headers.items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED:
            raise ValueError(f"digest header {name!r} cannot be set")
        msg[name] = clean_header(value)
    # quoted-printable keeps the message 7-bit: no reliance on the server's 8BITMIME.
    msg.set_content(digest.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(digest.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


class EmailSender(Channel):
    """Sends digests through one SMTP server (see EmailChannel for the settings)."""

    def __init__(self, config: EmailChannel, password: str | None) -> None:
        if config.username is not None and not password:
            raise ConfigError(
                [f"channel {config.name!r}: username is set but no password was given"]
            )
        self.name = config.name
        self.config = config
        self._password = password if config.username is not None else None
        self._sender = parseaddr(config.from_)[1] or config.from_
        self._recipients = [parseaddr(to)[1] or to for to in config.to]

    def __repr__(self) -> str:
        return f"EmailSender(name={self.name!r}, host={self.config.smtp_host!r})"

    async def send(self, digest: RenderedDigest) -> None:
        import aiosmtplib  # on the first email: a cycle that sends none does without it

        try:
            message = build_email(
                digest,
                sender=self.config.from_,
                recipients=self.config.to,
                channel=self.name,
                unsubscribe=self.config.unsubscribe,
            )
        except ValueError as exc:
            raise DeliveryError(
                f"cannot build the email: {exc}", channel=self.name, permanent=True
            ) from exc
        security = self.config.security
        timeout = self.config.timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                refused, _ = await aiosmtplib.send(
                    message,
                    sender=self._sender,
                    recipients=self._recipients,
                    hostname=self.config.smtp_host,
                    port=self.config.smtp_port,
                    username=self.config.username,
                    password=self._password,
                    timeout=timeout,
                    use_tls=security == "tls",
                    start_tls={"none": False, "starttls": True, "tls": False, None: None}[security],
                )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._error(exc) from exc
        if refused:  # accepted for the other recipients: a retry would send it twice
            log.warning(
                "some recipients refused",
                extra={"channel": self.name, "key": digest.key, "refused": sorted(refused)},
            )
        log.info("email sent", extra={"channel": self.name, "key": digest.key})

    def _where(self) -> str:
        return f"{self.config.smtp_host}:{self.config.smtp_port}"

    def _redact(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _error(self, exc: Exception) -> DeliveryError:
        """The DeliveryError for an aiosmtplib (or socket) failure."""
        import aiosmtplib  # loaded by `send` already

        where = self._where()
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            replies = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return DeliveryError(
                self._redact(f"{where} refused every recipient ({replies})"),
                channel=self.name,
                permanent=all(code >= 500 for code in codes),
                hint="check the channel's `to` addresses",
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            auth = isinstance(exc, aiosmtplib.SMTPAuthenticationError)
            what = "refused the login" if auth else "answered"
            return DeliveryError(
                self._redact(f"{where} {what}: {exc.code} {exc.message}"),
                channel=self.name,
                permanent=exc.code >= 500,
                hint=_AUTH_HINT if auth else None,
            )
        if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            reason = str(exc) or "no answer in time"
            return DeliveryError(f"{where}: {self._redact(reason)}", channel=self.name)
        if isinstance(exc, aiosmtplib.SMTPConnectError):  # names host and port itself
            return DeliveryError(self._redact(str(exc)), channel=self.name)
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
            return DeliveryError(self._redact(f"{where}: {exc}"), channel=self.name)
        if isinstance(exc, aiosmtplib.SMTPException):
            # STARTTLS or AUTH required but not offered, and the like: fix the settings.
            return DeliveryError(
                self._redact(f"{where}: {exc}"),
                channel=self.name,
                permanent=True,
                hint="check the channel's security setting and what the server offers",
            )
        return DeliveryError(self._redact(f"{where}: {exc}"), channel=self.name)
