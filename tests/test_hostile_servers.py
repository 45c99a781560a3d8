"""Hostile servers and process edges: bounded hints, isolated channels, clean exits.

A feed or webhook answering 429 with an absurd Retry-After, a max-age or <ttl> beyond
any date, a feed whose one item crashes the parser, `status | head -1`, a listener
address already taken: each is an ordinary outcome, never a traceback, and never
holds up another feed or channel.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import MAX_DURATION
from monitor.delivery.outbox import MAX_RETRY_AFTER, retry_delay
from monitor.poll_schedule import Rules, after_failure, after_success, document_hint, freshness
from monitor.store import Store
from tests.scenario import serve_seed, write_config
from tests.servers import LoopbackHTTPServer, Reply, SMTPRecorder

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULES = Rules(
    default_interval=timedelta(minutes=15),
    max_backoff=timedelta(hours=6),
    max_interval=timedelta(days=1),
    jitter=0.1,
)
HUGE = "9" * 400  # beyond a float: inf


def test_huge_server_hints_are_bounded() -> None:
    """Retry-After, max-age and <ttl> of any size give a wait within the documented caps."""
    rng = random.Random(1)
    interval = timedelta(minutes=15)

    failed = after_failure(
        NOW, interval=interval, failures=1, retry_after=float(HUGE), rules=RULES, rng=rng
    )
    assert NOW + RULES.max_backoff <= failed <= NOW + RULES.max_backoff * 1.1

    assert freshness({"cache-control": f"max-age={HUGE}"}, NOW) == MAX_DURATION
    fresh = after_success(
        NOW,
        interval=interval,
        hint=None,
        headers={"cache-control": f"max-age={HUGE}"},
        rules=RULES,
        rng=rng,
    )
    assert fresh <= NOW + RULES.max_interval * 1.1

    hint = document_hint(ttl_minutes=10**30, published=[], now=NOW, rules=RULES)
    assert hint == RULES.max_interval

    assert retry_delay(1, float(HUGE), rng) == MAX_RETRY_AFTER
    assert retry_delay(1, float("nan"), rng) <= timedelta(minutes=2)


def test_feed_answering_429_with_a_huge_retry_after(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The feed waits max_backoff at most; the other feed of the cycle is read as usual."""
    good = serve_seed(http_server)
    slow = http_server.route("/slow.rss", Reply(b"", 429, {"Retry-After": "9" * 30}))
    config = write_config(tmp_path, feeds=[slow, good])

    main(["--config", str(config), "once"])

    out = capsys.readouterr()
    assert "Traceback" not in out.err and "failed: " in out.out
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    states = {s.url: s for s in store.feed_states()}
    store.close()
    assert states[good].last_success is not None
    next_check = states[slow].next_check
    assert next_check is not None
    assert next_check - datetime.now(UTC) <= timedelta(hours=6) * 1.1


def test_webhook_with_a_huge_retry_after_does_not_hold_up_email(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    smtp_server: SMTPRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The webhook's digest waits (at most a day); the email channel gets its digest now."""
    feed = serve_seed(http_server)
    hook = http_server.route("/busy-hook", Reply(b"busy", 429, {"Retry-After": HUGE}))
    config = write_config(tmp_path, feeds=[feed], smtp_port=smtp_server.port, hook_url=hook)

    main(["--config", str(config), "once"])

    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert len(smtp_server.messages) == 1
    assert "deliveries sent: 1, to retry: 1" in out.out
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    waiting = [d for d in store.deliveries() if d.status != "sent"]
    store.close()
    assert [d.channel for d in waiting] == ["hook"]
    next_attempt = waiting[0].next_attempt
    assert next_attempt is not None
    assert next_attempt - datetime.now(UTC) <= MAX_RETRY_AFTER + timedelta(minutes=1)


BAD_ITEM_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Storm hits the coast</title><link>https://news.example.org/1</link><guid>1</guid>
<description>A storm hit the coast.</description></item>
<item><title>Storm &#99999999; warning</title><link>https://news.example.org/2</link><guid>2</guid>
<description>Bad character.</description></item>
<item><title>Storm passes</title><link>https://news.example.org/3</link><guid>3</guid>
<description>The storm passed.</description></item>
</channel></rss>"""


def test_one_bad_item_is_skipped_and_the_rest_of_the_feed_kept(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An invalid character reference costs its item only, with a warning naming it."""
    feed = http_server.route(
        "/bad-item.rss", Reply(BAD_ITEM_FEED, headers={"Content-Type": "application/rss+xml"})
    )
    config = write_config(tmp_path, feeds=[feed])

    main(["--config", str(config), "once"])

    out = capsys.readouterr()
    assert "new entries: 2" in out.out and "0 failed" in out.out
    warning = next(line for line in out.err.splitlines() if "skipped 1 bad item" in line)
    assert "WARNING" in warning and "item 2 'Storm &#99999999; warning'" in warning


def _config_with_feeds(tmp_path: Path, count: int) -> Path:
    config = tmp_path / "monitor.toml"
    feeds = "".join(f'[[feeds]]\nurl = "https://feed{n}.example.org/rss"\n' for n in range(count))
    config.write_text(f'[store]\nurl = "sqlite:///monitor.db"\n{feeds}', encoding="utf-8")
    return config


def test_status_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`news-monitor status | head -1`: one line out, nothing on stderr."""
    config = _config_with_feeds(tmp_path, 2000)  # more than a pipe buffer of output
    monitor = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "status"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert monitor.stdout is not None and monitor.stderr is not None
    first = monitor.stdout.readline()
    monitor.stdout.close()  # what `head -1` does after its line
    error = monitor.stderr.read()
    monitor.stderr.close()

    assert monitor.wait(timeout=60) == 141
    assert first == b"Feeds\n" and error == b""


def test_listener_address_in_use_is_a_clean_error(tmp_path: Path) -> None:
    """`run` with a taken listener.address says which setting and exits 1."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        config = _config_with_feeds(tmp_path, 0)
        host, port = taken.getsockname()
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            env={"MONITOR_LISTENER__ADDRESS": f"{host}:{port}", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        taken.close()

    assert result.returncode == 1
    assert f"error: listener.address {host}:{port}: cannot listen" in result.stderr
    assert "Traceback" not in result.stderr
