"""Worker processes never outlive the service: SIGKILL it and its whole tree goes.

`news-monitor run` is started on a feed whose entries match a full-text topic, so both
process pools (feed parsing, extraction) start, with the forkserver and the resource
tracker behind them. The service is killed with SIGKILL (as the OOM killer would); every
process it had started must then exit on its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from tests.servers import LoopbackHTTPServer, Reply

PARAGRAPH = "<p>" + "The summit of the two presidents opened in Geneva today. " * 8 + "</p>"


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll `condition` until it holds or `seconds` pass (a wait for an event, not a timing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _feed(server: LoopbackHTTPServer) -> str:
    items = []
    for n in range(3):
        page = server.route(
            f"/pages/{n}",
            Reply(
                f"<html><body><article><h1>Summit {n}</h1>{PARAGRAPH * 3}"
                "</article></body></html>".encode(),
                headers={"Content-Type": "text/html"},
            ),
        )
        items.append(
            f"<item><title>Summit day {n}</title><link>{page}</link><guid>s{n}</guid>"
            f"<description>The summit, day {n}.</description></item>"
        )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>'
        + "".join(items)
        + "</channel></rss>"
    )
    return server.route(
        "/feed.xml", Reply(body.encode(), headers={"Content-Type": "application/rss+xml"})
    )


def test_sigkill_of_the_service_leaves_no_process(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """After a SIGKILL of `run`, its pool workers, forkserver and resource tracker all exit."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[store]
url = "sqlite:///monitor.db"
[fetch]
allow_private = ["127.0.0.1"]
parse_workers = 1
[extract]
workers = 1
[service]
tick = "1s"
backlog = "all"
[[feeds]]
url = "{_feed(http_server)}"
[[topics]]
name = "summit"
query = "summit"
match = "full_text"
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    service = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tree: list[psutil.Process] = []
    try:
        root = psutil.Process(service.pid)
        pages_fetched = lambda: sum(r.path.startswith("/pages/") for r in http_server.requests)  # noqa: E731
        # both pools are up once a page was fetched and 4 processes hang below the service
        assert _wait_for(
            lambda: pages_fetched() > 0 and len(root.children(recursive=True)) >= 4, 90
        )
        tree = root.children(recursive=True)
        service.send_signal(signal.SIGKILL)
        service.wait()

        _, alive = psutil.wait_procs(tree, timeout=30)

        assert alive == [], [p.cmdline() for p in alive]
    finally:
        for process in tree:  # only the processes this test started, by pid
            if process.is_running():
                process.kill()
        if service.poll() is None:
            service.kill()
            service.wait()
