"""`once` stopped by SIGTERM or SIGINT: what was saved stays, the rest waits for the next run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from monitor.cli import main
from tests.servers import LoopbackHTTPServer, Reply
from tests.test_end_to_end import seed_feed, serve_seed

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, feeds: list[str]) -> Path:
    lines = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path}/monitor.db"
[fetch]
allow_private = ["127.0.0.1"]
timeout = "60s"
[extract]
workers = 1
[service]
data_dir = "{tmp_path}/data"
backlog = "all"  # the seed story is from 2018: news here
[[topics]]
name = "summit"
query = "Putin AND Trump"
{lines}""",
        encoding="utf-8",
    )
    return path


def stored_entries(tmp_path: Path, feed: str) -> int:
    database = tmp_path / "monitor.db"
    if not database.exists():
        return 0
    with sqlite3.connect(database) as conn:
        try:
            row = conn.execute(
                "SELECT count(*) FROM entries WHERE feed_url = ?", (feed,)
            ).fetchone()
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0
    return int(row[0])


def digests(tmp_path: Path) -> list[str]:
    titles = []
    for file in sorted((tmp_path / "data" / "digests").glob("*.json")):
        document = json.loads(file.read_text(encoding="utf-8"))
        titles += [item["title"] for s in document["sections"] for item in s["items"]]
    return titles


@pytest.mark.parametrize(
    ("sig", "code", "group"),
    [
        (signal.SIGTERM, 143, False),  # `timeout`, `kill PID`
        (signal.SIGTERM, 143, True),  # systemd's stop: the whole group
        (signal.SIGINT, 130, True),  # Ctrl-C in a terminal: the whole group
    ],
)
def test_stopped_once_saves_what_it_polled_and_the_next_run_does_the_rest(
    tmp_path: Path, http_server: LoopbackHTTPServer, sig: signal.Signals, code: int, group: bool
) -> None:
    """One line, the signal's exit code, no process left; the next run polls the rest and
    sends what the stopped one queued."""
    quick = serve_seed(http_server)
    slow = http_server.route("/slow.rss", Reply(hang=True))
    config = write_config(tmp_path, [quick, slow])
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    try:
        deadline = time.monotonic() + 60
        # wait for the condition: the quick feed saved, the slow one in flight
        while not (
            stored_entries(tmp_path, quick)
            and any(r.path == "/slow.rss" for r in http_server.requests)
        ):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the quick feed was never saved"
            time.sleep(0.05)
        children = psutil.Process(process.pid).children(recursive=True)
        assert children  # the extraction and parse workers (and their forkserver)
        if group:
            os.killpg(process.pid, sig)  # the workers and their forkserver get it too
        else:
            process.send_signal(sig)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == code, err[-3000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"stopped by {sig.name}: 1 feeds polled and saved, 1 left for the next run; "
        "nothing sent this time (what is queued waits)"
    )
    assert out == ""
    _, alive = psutil.wait_procs(children, timeout=10)  # the forkserver sees its parent go
    assert [c for c in alive if c.status() != psutil.STATUS_ZOMBIE] == []
    assert digests(tmp_path) == []

    http_server.route("/slow.rss", Reply(seed_feed(http_server).replace(b"world", b"slow")))
    assert main(["--config", str(config), "once"]) == 0

    assert stored_entries(tmp_path, slow) == 2
    assert stored_entries(tmp_path, quick) == 2
    assert digests(tmp_path) == ["Kremlin says Trump invited Putin to White House"]
