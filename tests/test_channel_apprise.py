"""The Apprise channel, through Apprise's own JSON service to a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from monitor.channels.apprise import AppriseSender
from monitor.config import AppriseChannel, Settings
from monitor.errors import ConfigError, DeliveryError
from monitor.models import RenderedDigest
from tests.servers import LoopbackHTTPServer, Reply

DIGEST = RenderedDigest(
    key="nm-1",
    subject="US-Russia summit: Kremlin says Trump invited Putin",
    text="1. Kremlin says Trump invited Putin\n\nPresident Trump floated hosting Putin.",
    html="<p>unused</p>",
    json="{}",
    created=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
)


def sender(server: LoopbackHTTPServer) -> AppriseSender:
    url = server.url("/apprise").replace("http://", "json://")
    config = AppriseChannel(name="chat", type="apprise", urls=[url], timeout="5s")
    return AppriseSender(config, Settings(channels=[config]).apprise_urls(config))


def test_apprise_delivers_subject_and_text(http_server: LoopbackHTTPServer) -> None:
    """The digest's subject and text reach the service behind the Apprise URL."""
    http_server.route("/apprise", Reply(b"ok"))

    asyncio.run(sender(http_server).send(DIGEST))

    [request] = [r for r in http_server.requests if r.path == "/apprise"]
    body = json.loads(request.body)
    assert body["title"] == DIGEST.subject
    assert "President Trump floated hosting Putin." in body["message"]


def test_apprise_failure_is_transient(http_server: LoopbackHTTPServer) -> None:
    """A service that refuses the notification gives a DeliveryError to retry later."""
    http_server.route("/apprise", Reply(b"down", status=500))

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sender(http_server).send(DIGEST))

    assert not caught.value.permanent


def test_unknown_apprise_url_is_a_config_error() -> None:
    """A URL Apprise cannot read is refused when the channel is built, without its secret."""
    config = AppriseChannel(name="chat", type="apprise", urls=["nosuch://tok3n@host"])

    with pytest.raises(ConfigError) as caught:
        AppriseSender(config, ["nosuch://tok3n@host"])

    assert "tok3n" not in str(caught.value)
