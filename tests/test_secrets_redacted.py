"""No secret leaves news-monitor: credentials planted in every kind of URL stay out of sight.

Feed, page, webhook and store URLs carry a password or a token; every command is run
through the public CLI on a real store, then the service itself with its listener. None
of the planted values may appear in any command's output, any log line (text or JSON,
tracebacks included), any file written under the data directory, the metrics or the
Atom feed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.errors import redact_text, redact_url
from tests.scenario import serve_seed, write_config
from tests.servers import LoopbackHTTPServer, free_port

SECRETS = ("FEEDPASS", "FEEDTOKEN", "PAGEKEY", "HOOKPASS", "HOOKSIG", "STOREPASS")

pytestmark = pytest.mark.slow


def test_redact_url_hides_userinfo_and_secret_parameters() -> None:
    """Userinfo and secret-looking query or fragment values become ***; the rest stays."""
    assert (
        redact_url("https://u:p@example.org/f?api_key=1&page=2&X-Amz-Signature=3#access_token=4")
        == "https://***@example.org/f?api_key=***&page=2&X-Amz-Signature=***#access_token=***"
    )
    assert redact_url("sqlite:////var/lib/monitor.db") == "sqlite:////var/lib/monitor.db"
    assert redact_text("failed: postgresql://root:pw@db/x (refused)") == (
        "failed: postgresql://***@db/x (refused)"
    )


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _serve(server: LoopbackHTTPServer) -> tuple[str, str]:
    """The feed and webhook URLs, with credentials; the page links carry an api_key."""
    serve_seed(server, utm="utm_source=rss&amp;api_key=PAGEKEY")
    host = server.base.removeprefix("http://")
    return (
        f"http://reader:FEEDPASS@{host}/world.rss?token=FEEDTOKEN",
        f"http://hooker:HOOKPASS@{host}/hook?sig=HOOKSIG",
    )


def test_planted_credentials_appear_nowhere(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every command's output, every log line, every file, the metrics and Atom: no secret."""
    feed_url, hook_url = _serve(http_server)
    config = write_config(
        tmp_path,
        feeds=[feed_url],
        hook_url=hook_url,
        extra='[[topics]]\nname = "to-files"\nquery = "Putin"\nschedule = "immediate"\n',
    )
    c = ["--config", str(config)]
    runs = [
        [*c, "-v", "once"],
        [*c, "--log-format", "json", "-v", "once"],
        [*c, "check"],
        [*c, "status"],
        [*c, "feeds", "list"],
        [*c, "feeds", "poll", feed_url],
        [*c, "feeds", "pause", feed_url],
        [*c, "feeds", "resume", feed_url],
        [*c, "topics", "list"],
        [*c, "topics", "test", "us-russia-summit"],
        [*c, "digest", "preview", "us-russia-summit", "--recent"],
        [*c, "outbox", "retry"],
        [*c, "store", "migrate"],
        [*c, "store", "copy", "--to", "postgresql://root:STOREPASS@127.0.0.1:1/none"],
    ]
    output = []
    for argv in runs:
        main(argv)
        captured = capfd.readouterr()
        output.append(captured.out + captured.err)
    monkeypatch.setenv("MONITOR_STORE__URL", "postgresql://root:STOREPASS@127.0.0.1:1/none")
    assert main([*c, "status"]) == 1
    captured = capfd.readouterr()
    output.append(captured.out + captured.err)
    monkeypatch.delenv("MONITOR_STORE__URL")
    everything = "\n".join(output)

    assert "reader:FEEDPASS" not in everything and "***@" in everything  # shown, redacted
    assert _leaks(everything) == [], everything
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files)  # the files channel wrote its digest
    for path in files:
        assert _leaks(path.read_text(encoding="utf-8", errors="replace")) == [], path

    served = _run_service(config, tmp_path)

    assert "news_monitor_polls_total" in served["metrics"]
    assert "<feed" in served["atom"]
    assert {name: _leaks(text) for name, text in served.items()} == {name: [] for name in served}


def _run_service(config: Path, cwd: Path) -> dict[str, str]:
    """`news-monitor run` with its listener: its log, /metrics and a topic's Atom feed."""
    address = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["MONITOR_LISTENER__ADDRESS"] = address
    env["MONITOR_SERVICE__TICK"] = "1s"
    log = cwd / "service.log"
    with log.open("wb") as sink:
        service = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "-v", "run"],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    pages: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 60  # waiting for the first finished tick, not timing it
        while time.monotonic() < deadline and "news_monitor_polls_total" not in pages.get(
            "metrics", ""
        ):
            try:
                with opener.open(f"http://{address}/metrics", timeout=2) as response:
                    pages["metrics"] = response.read().decode()
            except OSError:
                time.sleep(0.2)
        with opener.open(f"http://{address}/topics/us-russia-summit.xml", timeout=5) as response:
            pages["atom"] = response.read().decode()
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
    pages["log"] = log.read_text(encoding="utf-8", errors="replace")
    return pages
