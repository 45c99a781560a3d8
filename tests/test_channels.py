"""Delivery channels against real loopback servers: aiosmtpd for email, http.server for webhooks."""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import hmac
import logging
import socket
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from monitor.channels import (
    Channel,
    EmailSender,
    FileWriter,
    WebhookSender,
    build_channel,
    build_email,
    sign,
    verify,
)
from monitor.config import EmailChannel, FilesChannel, WebhookChannel
from monitor.errors import (
    BlockedError,
    ConfigError,
    DeliveryError,
    FetchTimeout,
    NetworkError,
)
from monitor.models import RenderedDigest, Response
from tests.servers import LoopbackHTTPServer, Reply, SMTPRecorder, free_port

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "a shared secret"
PASSWORD = "s3cret-Pa55word"


def clock() -> datetime:
    return NOW


def make_digest(**overrides: Any) -> RenderedDigest:
    fields: dict[str, Any] = {
        "key": "d-7f3a9c",
        "subject": "Climate: 2 new stories",
        "text": "Zürich café \u2013 naïve text\n\nSecond paragraph.\n",
        "html": "<p>Zürich café \u2013 <b>naïve</b> html</p>",
        "json": '{"topic": "climate", "items": ["Zürich"]}',
        "created": NOW,
        "headers": {},
    }
    fields.update(overrides)
    return RenderedDigest(**fields)


def email_config(port: int, **overrides: Any) -> EmailChannel:
    data: dict[str, Any] = {
        "type": "email",
        "name": "mail",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "from": "News Monitor <news@example.org>",
        "to": ["Reader <reader@example.org>"],
        "timeout": "5s",
    }
    data.update(overrides)
    return EmailChannel.model_validate(data)


def webhook_config(url: str, timeout: str = "5s") -> WebhookChannel:
    return WebhookChannel.model_validate(
        {"type": "webhook", "name": "hook", "url": url, "timeout": timeout}
    )


class AiohttpPoster:
    """A minimal Poster with monitor.http.HttpClient's contract, on aiohttp.

    Any status comes back as a Response; redirects are not followed; hosts
    other than loopback raise BlockedError (standing in for the address policy).
    """

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None = None,
    ) -> Response:
        if urlsplit(url).hostname != "127.0.0.1":
            raise BlockedError("address not allowed", url=url)
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.post(url, data=body, headers=dict(headers), allow_redirects=False) as resp,
            ):
                return Response(
                    url=str(resp.url),
                    status=resp.status,
                    headers={k.lower(): v for k, v in resp.headers.items()},
                    body=await resp.read(),
                )
        except TimeoutError:
            raise FetchTimeout("timed out", url=url) from None
        except aiohttp.ClientError as exc:
            raise NetworkError(f"network error ({type(exc).__name__})", url=url) from None


def deliver(channel: Channel, digest: RenderedDigest | None = None) -> None:
    asyncio.run(channel.send(digest or make_digest()))


def failure(channel: Channel, digest: RenderedDigest | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        deliver(channel, digest)
    assert info.value.channel == channel.name
    return info.value


def hook(url: str, secret: str | None = SECRET, timeout: str = "5s") -> WebhookSender:
    return WebhookSender(webhook_config(url, timeout), secret, AiohttpPoster(), clock)


# --- email ---------------------------------------------------------------------------


def test_email_is_delivered_as_multipart_alternative(smtp_server: SMTPRecorder) -> None:
    """A digest arrives as text+HTML alternatives with a stable Message-ID and threading headers."""
    digest = make_digest(
        subject="Climate\r\nBcc: evil@example.org",
        headers={"In-Reply-To": "<d-previous@news-monitor>"},
    )
    deliver(EmailSender(email_config(smtp_server.port), None), digest)

    assert smtp_server.envelopes == [("news@example.org", ["reader@example.org"])]
    msg = email.message_from_bytes(smtp_server.messages[0], policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == "<d-7f3a9c@news-monitor>"
    assert msg["In-Reply-To"] == "<d-previous@news-monitor>"
    assert msg["Subject"] == "Climate Bcc: evil@example.org"
    assert msg["Bcc"] is None
    assert msg["From"] == "News Monitor <news@example.org>"
    assert msg["Date"].datetime == NOW
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = (p.get_content().replace("\r\n", "\n").strip() for p in parts)
    assert text == make_digest().text.strip()
    assert html == make_digest().html


def test_build_email_refuses_to_override_identity_headers() -> None:
    """Digest headers may add threading headers but never replace From, To or Message-ID."""
    with pytest.raises(ValueError):
        build_email(make_digest(headers={"Message-ID": "<x@y>"}), sender="a@b", recipients=["c@d"])
    msg = build_email(
        make_digest(headers={"References": "<a@b>\n<c@d>"}), sender="a@b", recipients=["c@d"]
    )
    assert msg["References"] == "<a@b> <c@d>"


@pytest.mark.parametrize(("reply", "permanent"), [("550 no such user", True), ("451 later", False)])
def test_email_refusal_maps_to_permanence(
    smtp_server: SMTPRecorder, reply: str, permanent: bool
) -> None:
    """An SMTP 5xx reply is a permanent failure, a 4xx reply a transient one."""
    smtp_server.refuse_with = reply
    error = failure(EmailSender(email_config(smtp_server.port), None))
    assert error.permanent is permanent
    assert reply.split()[0] in str(error)


def test_email_server_down_is_transient(closed_port: int) -> None:
    """A refused connection is retried later."""
    error = failure(EmailSender(email_config(closed_port), None))
    assert not error.permanent
    assert str(closed_port) in str(error)


def test_email_silent_server_is_transient() -> None:
    """A server that accepts the connection but never greets is cut off at the channel timeout."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        error = failure(EmailSender(email_config(port, timeout="0.3s"), None))
    assert not error.permanent


def test_email_disconnect_is_transient() -> None:
    """A server that greets and then hangs up is retried later."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def greet_and_hang_up() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"220 hello\r\n")

        thread = threading.Thread(target=greet_and_hang_up)
        thread.start()
        error = failure(EmailSender(email_config(listener.getsockname()[1]), None))
        thread.join()
    assert not error.permanent


def test_email_required_starttls_not_offered_is_permanent(smtp_server: SMTPRecorder) -> None:
    """security = "starttls" against a server without STARTTLS fails without sending in clear."""
    error = failure(EmailSender(email_config(smtp_server.port, security="starttls"), None))
    assert error.permanent
    assert smtp_server.messages == []


def test_email_username_without_password_is_a_config_error() -> None:
    """A username with no password is reported when the channel is built, not at send time."""
    with pytest.raises(ConfigError):
        EmailSender(email_config(25, username="news"), None)


@pytest.fixture(scope="module")
def auth_smtp_port() -> Iterator[int]:
    """An aiosmtpd server that offers AUTH without TLS and rejects every login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    def reject(*args: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, authenticator=reject, auth_require_tls=False
    )
    controller.start()
    yield port
    controller.stop()


def test_email_auth_failure_is_permanent_and_hides_password(
    auth_smtp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A 535 login refusal is permanent, hints at the credentials and never shows the password."""
    caplog.set_level(logging.DEBUG)
    sender = EmailSender(email_config(auth_smtp_port, username="news"), PASSWORD)
    error = failure(sender)
    assert error.permanent
    assert "535" in str(error)
    assert "password" in error.hint
    for text in (str(error), repr(error), repr(sender), caplog.text):
        assert PASSWORD not in text


# --- webhook -------------------------------------------------------------------------


def test_webhook_posts_signed_json(http_server: LoopbackHTTPServer) -> None:
    """The receiver gets the JSON with Standard Webhooks headers that verify() accepts."""
    url = http_server.route("/hook", Reply(b"ok"))
    deliver(hook(url))

    (request,) = http_server.requests
    digest = make_digest()
    assert request.body == digest.json.encode("utf-8")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == digest.key
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp())) == "1714564800"
    assert verify(SECRET, request.headers, request.body)
    assert verify(SECRET, request.headers, request.body, now=NOW + timedelta(minutes=1))
    assert not verify(SECRET, request.headers, request.body, now=NOW + timedelta(hours=1))
    assert not verify("another secret", request.headers, request.body)
    assert not verify(SECRET, request.headers, request.body + b" ")


def test_webhook_whsec_secret_is_base64_key(http_server: LoopbackHTTPServer) -> None:
    """A "whsec_" secret signs with its base64-decoded bytes, as Standard Webhooks defines."""
    key = b"\x00\x01binary key\xff"
    secret = "whsec_" + base64.b64encode(key).decode()
    deliver(hook(http_server.route("/hook", Reply(b"ok")), secret))

    (request,) = http_server.requests
    signed = f"{request.headers['webhook-id']}.1714564800.".encode() + request.body
    expected = base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode()
    assert request.headers["webhook-signature"] == f"v1,{expected}"
    assert sign(secret, "d-7f3a9c", 1714564800, request.body) == f"v1,{expected}"
    assert verify(secret, request.headers, request.body)


def test_webhook_bad_whsec_secret_is_a_config_error() -> None:
    """A "whsec_" secret that is not base64 is reported when the channel is built."""
    with pytest.raises(ConfigError):
        build_channel(
            webhook_config("http://127.0.0.1/"),
            secret="whsec_!!!",
            poster=AiohttpPoster(),
            clock=clock,
        )


def test_webhook_without_secret_is_unsigned(http_server: LoopbackHTTPServer) -> None:
    """Without a secret no signature header is sent."""
    deliver(hook(http_server.route("/hook", Reply(b"ok")), None))
    (request,) = http_server.requests
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == "d-7f3a9c"


@pytest.mark.parametrize(
    ("status", "headers", "permanent", "retry_after", "hint"),
    [
        (410, {}, True, None, "removed"),
        (503, {"Retry-After": "120"}, False, 120, ""),
        (503, {"Retry-After": "Wed, 01 May 2024 12:05:00 GMT"}, False, 300, ""),
        (429, {}, False, None, ""),
        (408, {}, False, None, ""),
        (400, {}, True, None, "rejected"),
        (302, {"Location": "/elsewhere"}, True, None, "redirects are not followed"),
    ],
)
def test_webhook_status_maps_to_outcome(
    http_server: LoopbackHTTPServer,
    status: int,
    headers: dict[str, str],
    permanent: bool,
    retry_after: float | None,
    hint: str,
) -> None:
    """Each answer status gives the documented permanence, Retry-After and hint."""
    http_server.route("/elsewhere", Reply(b"ok"))
    error = failure(hook(http_server.route("/hook", Reply(b"no", status, headers))))
    assert error.permanent is permanent
    assert error.retry_after == retry_after
    assert hint in error.hint
    assert f"HTTP {status}" in str(error)
    assert [r.path for r in http_server.requests] == ["/hook"]


def test_webhook_messages_hide_the_path(http_server: LoopbackHTTPServer) -> None:
    """Errors name only the receiver's origin, since webhook paths often carry tokens."""
    error = failure(hook(http_server.route("/hooks/T0K3N", Reply(b"", 500))))
    assert "T0K3N" not in str(error)
    assert http_server.base in str(error)


def test_webhook_blocked_address_is_permanent() -> None:
    """An address the HTTP client refuses to reach is not retried."""
    error = failure(hook("http://10.0.0.1/hooks/T0K3N"))
    assert error.permanent
    assert "T0K3N" not in str(error)


def test_webhook_receiver_down_is_transient(closed_port: int) -> None:
    """A refused connection is retried later."""
    error = failure(hook(f"http://127.0.0.1:{closed_port}/hook"))
    assert not error.permanent


def test_webhook_timeout_is_transient(http_server: LoopbackHTTPServer) -> None:
    """A receiver that does not answer within the channel timeout is retried later."""
    error = failure(hook(http_server.route("/hook", Reply(hang=True)), timeout="0.3s"))
    assert not error.permanent


# --- files ---------------------------------------------------------------------------


def files_config(directory: Path) -> FilesChannel:
    return FilesChannel.model_validate({"type": "files", "name": "disk", "directory": directory})


def test_files_writes_eml_html_and_json(tmp_path: Path) -> None:
    """Three files named after the creation time and key appear, and the .eml parses."""
    directory = tmp_path / "new" / "digests"
    deliver(FileWriter(files_config(directory)))

    names = sorted(p.name for p in directory.iterdir())
    stem = "20240501T120000Z-d-7f3a9c"
    assert names == [f"{stem}.eml", f"{stem}.html", f"{stem}.json"]  # no temporary files left
    assert (directory / f"{stem}.json").read_text("utf-8") == make_digest().json
    assert (directory / f"{stem}.html").read_text("utf-8") == make_digest().html
    msg = email.message_from_bytes((directory / f"{stem}.eml").read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert msg["Message-ID"] == "<d-7f3a9c@news-monitor>"
    assert msg["To"] == "reader@localhost"
    assert msg.get_content_type() == "multipart/alternative"


def test_files_replace_rather_than_rewrite(tmp_path: Path) -> None:
    """A retry swaps in a new file (new inode) instead of rewriting the old one in place."""
    channel = FileWriter(files_config(tmp_path))
    deliver(channel, make_digest(json='{"v": 1}'))
    path = tmp_path / "20240501T120000Z-d-7f3a9c.json"
    before = path.stat().st_ino
    reader = path.open("rb")  # a reader holding the old file keeps seeing it whole
    deliver(channel, make_digest(json='{"v": 2}'))
    with reader:
        assert reader.read() == b'{"v": 1}'
    assert path.read_bytes() == b'{"v": 2}'
    assert path.stat().st_ino != before
    assert len(list(tmp_path.iterdir())) == 3


def test_files_unsafe_key_characters_are_replaced(tmp_path: Path) -> None:
    """A key with a slash cannot escape the directory."""
    deliver(FileWriter(files_config(tmp_path)), make_digest(key="../x/y"))
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "20240501T120000Z-.._x_y.eml"


def test_files_unwritable_directory_is_transient(tmp_path: Path) -> None:
    """An OSError becomes a transient DeliveryError naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    error = failure(FileWriter(files_config(blocker / "digests")))
    assert not error.permanent
    assert str(blocker) in str(error)


def test_build_channel_picks_the_implementation(tmp_path: Path) -> None:
    """build_channel returns the channel class that matches the config type."""
    poster = AiohttpPoster()
    kinds: list[tuple[type[Channel], EmailChannel | WebhookChannel | FilesChannel]] = [
        (EmailSender, email_config(25)),
        (WebhookSender, webhook_config("http://127.0.0.1/")),
        (FileWriter, files_config(tmp_path)),
    ]
    for kind, config in kinds:
        channel = build_channel(config, secret=None, poster=poster, clock=clock)
        assert isinstance(channel, kind)
        assert channel.name == config.name
