"""Mail rules and auto-responders: List-Id, Auto-Submitted, List-Unsubscribe on every digest."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.channels.email import build_email
from monitor.cli import OK, main
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.models import RenderedDigest
from tests.scenario import serve_feed
from tests.servers import LoopbackHTTPServer, SMTPRecorder

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def digest(*topics: str) -> RenderedDigest:
    return RenderedDigest("d1", "News", "text", "<p>html</p>", "{}", NOW, topics=topics)


def test_one_topic_is_its_own_list() -> None:
    msg = build_email(
        digest("US_Russia.summit"), sender="Monitor <monitor@Example.ORG>", recipients=["a@b.c"]
    )

    assert msg["List-Id"] == "<us-russia-summit.news-monitor.example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in msg


def test_several_topics_are_named_after_the_channel_and_unsubscribe_is_offered() -> None:
    msg = build_email(
        digest("summit", "storms"),
        sender="monitor@bücher.example",
        recipients=["a@b.c"],
        channel="inbox",
        unsubscribe="mailto:admin@example.org?subject=unsubscribe",
    )

    assert msg["List-Id"] == "<inbox.news-monitor.xn--bcher-kva.example>"
    assert msg["List-Unsubscribe"] == "<mailto:admin@example.org?subject=unsubscribe>"


def test_a_digest_cannot_override_these_headers() -> None:
    forged = RenderedDigest("d", "s", "t", "h", "{}", NOW, headers={"List-Id": "<x.y>"})

    with pytest.raises(ValueError, match="List-Id"):
        build_email(forged, sender="m@e.org", recipients=["a@b.c"])


def test_unsubscribe_must_be_mailto_or_https(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        '[[channels]]\nname = "inbox"\ntype = "email"\nsmtp_host = "127.0.0.1"\n'
        'from = "m@e.org"\nto = ["a@b.c"]\nunsubscribe = "javascript:alert(1)"\n',
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "channels[0].unsubscribe" in caught.value.problems[0]


def test_sent_digest_carries_the_headers(
    tmp_path: Path, http_server: LoopbackHTTPServer, smtp_server: SMTPRecorder
) -> None:
    """Through `once`, stored and sent: the topic's List-Id survives the outbox."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "m.db"}"\n\n'
        '[fetch]\nallow_private = ["127.0.0.1"]\n\n'
        '[service]\nbacklog = "all"\n\n'
        f'[[feeds]]\nurl = "{serve_feed(http_server)}"\n\n'
        '[[topics]]\nname = "summit"\nquery = "summit"\nmatch = "summary"\n'
        'channels = ["inbox"]\n\n'
        '[[channels]]\nname = "inbox"\ntype = "email"\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {smtp_server.port}\nsecurity = "none"\n'
        'from = "News Monitor <monitor@example.org>"\nto = ["me@example.org"]\n'
        'unsubscribe = "https://example.org/unsubscribe?list=summit"\n',
        encoding="utf-8",
    )

    assert main(["once", "-q", "-c", str(config)]) == OK

    (raw,) = smtp_server.messages
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["List-Id"] == "<summit.news-monitor.example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe"] == "<https://example.org/unsubscribe?list=summit>"
