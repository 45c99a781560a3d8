"""The whole pipeline through `once`, against real servers on 127.0.0.1.

The seed story (tests/data/seed/, from ../shared/seed/) is served by a real HTTP
server; mail goes to a real aiosmtpd server and webhooks to a real HTTP receiver.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
from pathlib import Path

import pytest

from monitor.channels.webhook import verify
from monitor.cli import main
from monitor.config import load_settings
from monitor.service.runtime import once
from monitor.store import Store
from tests.scenario import (
    ARTICLE_PATH,
    SEED,
    run_once,
    seed_feed,
    serve_seed,
    squash,
    text_part,
    write_config,
)
from tests.servers import LoopbackHTTPServer, Reply, SMTPRecorder

EXPECTED = json.loads((SEED / "expected.json").read_text(encoding="utf-8"))
HOOK_SECRET = "whsec_c2VlZC1zZWNyZXQtZm9yLXRlc3Rz"

pytestmark = pytest.mark.slow


def test_seed_story_reaches_email_and_webhook_once(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    smtp_server: SMTPRecorder,
    monkeypatch: pytest.MonkeyPatch,
    store_url: str,
) -> None:
    """The Kremlin story is mailed with its clean text and a signed webhook, and only once."""
    monkeypatch.setenv("MONITOR_SECRETS__HOOK__SECRET", HOOK_SECRET)
    feed_url = serve_seed(http_server)
    config = write_config(
        tmp_path,
        feeds=[feed_url],
        smtp_port=smtp_server.port,
        hook_url=http_server.url("/hook"),
        store_url=store_url,
    )

    report = run_once(config)

    assert report.delivery.sent == 2
    assert len(smtp_server.messages) == 1
    text = squash(text_part(smtp_server.messages[0]))
    assert "Kremlin says Trump invited Putin to White House" in text
    assert "Storm batters" not in text
    words = squash(" ".join(EXPECTED["paragraphs"])).split()
    assert " ".join(words[:100]) in text  # the mail shows the start, capped at 120 words
    assert " ".join(words[-20:]) not in text
    assert "Read more: " in text
    for furniture in EXPECTED["must_not_contain"]:
        assert furniture not in text

    hooks = [r for r in http_server.requests if r.path == "/hook"]
    assert len(hooks) == 1
    assert verify(HOOK_SECRET, hooks[0].headers, hooks[0].body)
    document = json.loads(hooks[0].body)
    [section] = document["sections"]
    assert [item["title"] for item in section["items"]] == [
        "Kremlin says Trump invited Putin to White House"
    ]
    assert "utm_" not in section["items"][0]["url"]
    for paragraph in EXPECTED["paragraphs"]:  # the webhook has the whole text
        assert squash(paragraph) in squash(section["items"][0]["text"])
    assert hooks[0].headers["webhook-id"] == document["id"]
    assert email.message_from_bytes(smtp_server.messages[0])["Message-ID"].startswith("<nm-")

    second = run_once(config)

    assert second.digests == []
    assert len(smtp_server.messages) == 1
    assert len([r for r in http_server.requests if r.path == "/hook"]) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"reverse": True},
        {"utm": "utm_source=newsletter&amp;utm_campaign=spring"},
        {"reverse": True, "utm": "utm_medium=social"},
    ],
)
def test_entry_seen_again_is_not_reported_again(
    tmp_path: Path, http_server: LoopbackHTTPServer, change: dict[str, object], store_url: str
) -> None:
    """Reordered items or new utm_* parameters on a link do not make an entry new again."""
    feed_url = serve_seed(http_server)
    config = write_config(tmp_path, feeds=[feed_url], store_url=store_url)
    assert run_once(config).digests != []

    serve_seed(http_server, **change)
    again = run_once(config)

    assert again.digests == []
    assert sum(p.matches for p in again.polls) == 0


def test_link_identity_survives_tracking_parameters(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A feed without GUIDs is recognised by its link, whatever utm_* parameters it carries."""
    feed_url = serve_seed(http_server)
    no_guid = re.sub(rb"<guid[^>]*>.*?</guid>", b"", seed_feed(http_server))
    http_server.route("/world.rss", Reply(no_guid))
    config = write_config(tmp_path, feeds=[feed_url])
    assert len(run_once(config).digests) == 1

    changed = no_guid.replace(b"utm_source=rss&amp;utm_medium=feed", b"utm_source=x&amp;fbclid=1")
    http_server.route("/world.rss", Reply(changed))

    assert run_once(config).digests == []


def test_broken_feeds_are_logged_and_do_not_stop_the_others(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 500, a timeout and a non-XML answer are each logged with their URL; the good feed works."""
    good = serve_seed(http_server)
    broken = http_server.route("/error.rss", Reply(b"oops", status=500))
    slow = http_server.route("/slow.rss", Reply(hang=True))
    html = http_server.route(
        "/page.rss",
        Reply(b"<html><body><p>Hello</p></body></html>", headers={"Content-Type": "text/html"}),
    )
    config = write_config(tmp_path, feeds=[broken, slow, html, good])

    report = run_once(config)

    errors = {p.url: p.error for p in report.polls}
    assert errors[good] is None
    assert all(errors[url] for url in (broken, slow, html))
    assert len(report.digests) == 1
    for url in (broken, slow, html):
        assert any(
            url in record.getMessage() for record in caplog.records if record.levelname == "WARNING"
        )

    assert main(["--config", str(config), "status"]) == 0
    status = capsys.readouterr().out
    lines = {
        url: next(line for line in status.splitlines() if line.startswith(url))
        for url in (broken, slow, html, good)
    }
    assert "HTTP 500" in lines[broken]
    assert "timeout" in lines[slow]
    assert "not a feed" in lines[html]
    assert "ok" in lines[good]


def test_mail_server_down_keeps_digest_pending_until_it_is_back(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    smtp_server: SMTPRecorder,
    closed_port: int,
    store_url: str,
) -> None:
    """With SMTP down the digest stays pending; the next run delivers it exactly once."""
    feed_url = serve_seed(http_server)
    down = write_config(tmp_path, feeds=[feed_url], smtp_port=closed_port, store_url=store_url)

    first = run_once(down)

    assert first.delivery.sent == 0 and first.delivery.retrying == 1
    store = Store(load_settings(down).store.url)
    pending = store.deliveries()
    store.close()
    assert [(d.channel, d.status, d.attempts) for d in pending] == [("inbox", "pending", 1)]

    up = write_config(tmp_path, feeds=[feed_url], smtp_port=smtp_server.port, store_url=store_url)
    second = run_once(up)
    third = run_once(up)

    assert second.delivery.sent == 1 and third.delivery.sent == 0
    assert len(smtp_server.messages) == 1
    message = email.message_from_bytes(smtp_server.messages[0])
    assert pending[0].digest_key in message["Message-ID"]


def test_check_lists_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config with three mistakes gives three lines, each naming its key, and exit code 2."""
    config = tmp_path / "bad.toml"
    config.write_text(
        """
[fetch]
max_bytes = "lots"

[[feeds]]
url = "ftp://example.org/feed"

[[topics]]
name = "summit"
query = '(Trump AND Putin'
schedule = "every fortnight"
""",
        encoding="utf-8",
    )

    code = main(["--config", str(config), "check"])

    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 2
    assert len(lines) == 3, lines
    assert any("fetch.max_bytes" in line for line in lines)
    assert any("feeds[0].url" in line for line in lines)
    assert any("topics[0].schedule" in line for line in lines)


def test_topic_atom_feed_follows_the_stories(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """Each topic's stories are published as a well-formed Atom file any reader can follow."""
    import feedparser

    feed_url = serve_seed(http_server)
    config = write_config(tmp_path, feeds=[feed_url])

    run_once(config)

    atom = tmp_path / "data" / "atom" / "us-russia-summit.xml"
    parsed = feedparser.parse(atom.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    [entry] = parsed.entries
    assert entry.title == "Kremlin says Trump invited Putin to White House"
    assert entry.link == http_server.url(ARTICLE_PATH)
    assert "Ushakov still hopes" in entry.content[0].value


def test_topics_test_tries_a_query_on_past_entries(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`topics test` runs any query over stored entries and explains each hit; sends nothing."""
    feed_url = serve_seed(http_server)
    config = write_config(tmp_path, feeds=[feed_url])
    run_once(config)
    capsys.readouterr()

    assert main(["--config", str(config), "topics", "test", "storm OR power"]) == 0
    out = capsys.readouterr().out
    assert "1 entries in 1 stories" in out
    assert "Storm batters coastal towns" in out and "matched: storm (title x1)" in out

    assert main(["--config", str(config), "topics", "test", "us-russia-summit"]) == 0
    assert "Kremlin says Trump invited Putin" in capsys.readouterr().out

    assert main(["--config", str(config), "topics", "test", "Putin AND (summit"]) == 2
    assert "^" in capsys.readouterr().err
    assert not list((tmp_path / "data" / "digests").glob("*.json"))[1:]  # only once's digest


def test_digest_preview_shows_the_next_digest_and_sends_nothing(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    closed_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`digest preview` renders waiting stories (or --recent ones) without sending them."""
    feed_url = serve_seed(http_server)
    config = write_config(tmp_path, feeds=[feed_url], smtp_port=closed_port)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'schedule = "immediate"', 'schedule = "0 7 * * *"'
        ),
        encoding="utf-8",
    )
    run_once(config)  # the story waits for 7:00
    capsys.readouterr()

    assert main(["--config", str(config), "digest", "preview", "us-russia-summit"]) == 0
    out = capsys.readouterr().out
    html = tmp_path / "preview.html"
    assert (
        main(
            ["--config", str(config), "digest", "preview", "us-russia-summit", "--html", str(html)]
        )
        == 0
    )

    assert out.startswith("Subject: US-Russia summit: Kremlin says Trump invited Putin")
    assert " ".join(squash(EXPECTED["paragraphs"][0]).split()[:30]) in squash(out)
    assert "Read more: " in out  # the text is capped (digest.item_words)
    assert "Kremlin says Trump invited Putin" in html.read_text(encoding="utf-8")
    store = Store(load_settings(config).store.url)
    assert store.deliveries() == []  # nothing was queued or sent
    store.close()


def test_once_reports_progress_per_feed(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    """`once` reports (done, total) after each feed, ending at the number of feeds."""
    good = serve_seed(http_server)
    bad = http_server.route("/error.rss", Reply(b"", status=500))
    settings = load_settings(write_config(tmp_path, feeds=[good, bad]))
    seen: list[tuple[int, int]] = []

    asyncio.run(once(settings, progress=lambda done, total: seen.append((done, total))))

    assert sorted(seen) == [(1, 2), (2, 2)]
