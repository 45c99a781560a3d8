"""Stories end to end: one alert per wire story, developments threaded, re-posts silent.

Three outlets carry the same wire copy; a day later one adds a new fact; then
another re-posts the original under a new headline. Real HTTP server, real
SMTP server, the whole pipeline through `once`.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_settings
from tests.scenario import NEW_FACT, WIRE, publish, run_once, squash, text_part, write_config
from tests.servers import LoopbackHTTPServer, SMTPRecorder

pytestmark = pytest.mark.slow


def message(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_wire_story_alerts_once_then_threads_its_development(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    smtp_server: SMTPRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three copies: one alert naming three outlets; a new fact: one threaded development."""
    headline = "Kremlin says Trump invited Putin to White House summit"
    feeds = [
        publish(http_server, outlet, [("summit", headline, WIRE)])
        for outlet in ("wire-a", "wire-b", "wire-c")
    ]
    config = write_config(tmp_path, feeds=feeds, smtp_port=smtp_server.port)
    text = config.read_text(encoding="utf-8")
    for outlet in ("wire-a", "wire-b", "wire-c"):  # each feed named after its outlet
        text = text.replace('name = "Example News"', f'name = "{outlet}"', 1)
    config.write_text(text, encoding="utf-8")

    first = run_once(config)

    assert len(smtp_server.messages) == 1, "three copies of one story give one alert"
    alert = message(smtp_server.messages[0])
    text = squash(text_part(smtp_server.messages[0]))
    assert text.count(headline) == 1
    assert "Also reported by:" in text
    assert sum(outlet in text for outlet in ("wire-a", "wire-b", "wire-c")) == 3
    assert first.delivery.sent == 1

    publish(
        http_server,
        "wire-a",
        [
            ("summit", headline, WIRE),
            ("denial", "White House denies Trump-Putin summit plan", [*WIRE[:2], NEW_FACT]),
        ],
    )
    run_once(config)

    assert len(smtp_server.messages) == 2
    update = message(smtp_server.messages[1])
    update_text = squash(text_part(smtp_server.messages[1]))
    assert "What is new:" in update_text
    assert "denied that any summit plan existed" in update_text.split("What is new:")[1]
    assert update["In-Reply-To"] == alert["Message-ID"]

    publish(
        http_server,
        "wire-b",
        [
            ("summit", headline, WIRE),
            ("summit-repost", "Putin invited to Washington, Kremlin says", WIRE),
        ],
    )
    last = run_once(config)

    assert len(smtp_server.messages) == 2, "a re-titled re-post sends nothing"
    assert sum(p.new_entries for p in last.polls) == 1
    assert load_settings(config).topics[0].name == "us-russia-summit"

    capsys.readouterr()
    assert main(["--config", str(config), "topics", "test", "us-russia-summit"]) == 0
    grouped = capsys.readouterr().out
    assert "in 1 stories" in grouped  # every article of the scenario is one story
    assert "joined the story:" in grouped  # and `topics test` says why each joined
