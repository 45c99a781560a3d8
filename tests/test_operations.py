"""Running as a service: SIGTERM ends `run` cleanly, JSON logs, secrets never logged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.logs import split_fields
from tests.scenario import serve_seed, write_config
from tests.servers import LoopbackHTTPServer, Reply, SMTPRecorder


def test_fields_are_split_from_messages() -> None:
    """A 'event key=value …' message becomes an event and fields, values may hold spaces."""
    event, fields = split_fields("feed failed url=http://a/b class=http error failures=2")

    assert event == "feed failed"
    assert fields == {"url": "http://a/b", "class": "http error", "failures": "2"}


@pytest.mark.slow
def test_run_delivers_then_stops_cleanly_on_sigterm(
    tmp_path: Path, http_server: LoopbackHTTPServer, smtp_server: SMTPRecorder
) -> None:
    """`news-monitor run` mails the story, then SIGTERM ends it with code 0 and nothing lost."""
    feed_url = serve_seed(http_server)
    secret_feed = http_server.route("/private.rss", Reply(b"nope", status=403))
    leaky = secret_feed.replace("http://", "http://reader:hunter2@") + "?token=abc123"
    config = write_config(
        tmp_path, feeds=[feed_url, leaky], smtp_port=smtp_server.port, extra='tick = "0.2s"'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--log-format", "json", "--config", str(config), "run"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.messages:  # wait for the condition, not for a time
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no digest arrived"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, err[-3000:]
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = [r["event"] for r in records]
    assert "service started" in events and events[-1] == "service stopped"
    failed = [r for r in records if r["event"] == "feed failed"]
    assert failed and failed[0]["error_class"] == "http error"
    assert "hunter2" not in err and "abc123" not in err
    assert len(smtp_server.messages) == 1
