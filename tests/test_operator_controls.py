"""What an operator does by hand: remove, pause, resume and poll a feed; mute a story; reload."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor.admin.intervals import effective_interval
from monitor.admin.reload import service_pid
from monitor.admin.web_password import verify
from monitor.cli import NOTHING_DONE, SOME_FAILED, main
from monitor.config import FeedConfig, load_settings
from monitor.poll_schedule import Rules
from monitor.service.runtime import Runtime
from monitor.store import Store
from monitor.store.lock import InstanceLock
from monitor.store.schema import feeds, matches
from tests.scenario import serve_seed, write_config
from tests.servers import LoopbackHTTPServer

COMMENTED = "# my own note on this feed\n"


def _config(tmp_path: Path, server: LoopbackHTTPServer) -> tuple[Path, str]:
    feed_url = serve_seed(server)
    config = write_config(tmp_path, feeds=[feed_url], hook_url=f"{server.base}/hook")
    text = config.read_text(encoding="utf-8").replace("[[feeds]]", COMMENTED + "[[feeds]]")
    config.write_text(text + f'\n[[feeds]]\nurl = "{server.base}/other.rss"\n', encoding="utf-8")
    return config, feed_url


def test_pause_keeps_a_feed_unpolled_until_resumed(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A paused feed is not polled by `once`, shows as paused in `status`, and resumes."""
    config, feed_url = _config(tmp_path, http_server)
    assert main(["--config", str(config), "feeds", "pause", "Example News"]) == 0
    # the one feed left answers 404: nothing could be polled
    assert main(["--config", str(config), "once"]) == NOTHING_DONE
    assert not [r for r in http_server.requests if r.path == "/world.rss"]
    main(["--config", str(config), "status"])
    assert re.search(rf"{feed_url} +paused", capsys.readouterr().out)

    assert main(["--config", str(config), "feeds", "resume", feed_url]) == 0
    assert main(["--config", str(config), "once"]) == SOME_FAILED  # the 404 feed still fails
    assert [r for r in http_server.requests if r.path == "/world.rss"]


def test_remove_edits_the_file_keeping_its_comments(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """`feeds remove` drops the feed's table; every other line, comments included, stays."""
    config, _ = _config(tmp_path, http_server)
    before = config.read_text(encoding="utf-8")

    other = f"{http_server.base}/other.rss"
    assert main(["--config", str(config), "feeds", "remove", other]) == 0

    after = config.read_text(encoding="utf-8")
    assert [f.url for f in load_settings(config).feeds] == [f"{http_server.base}/world.rss"]
    assert COMMENTED in after and "[store]" in after
    assert before.replace(f'\n[[feeds]]\nurl = "{other}"\n', "").rstrip() == after.rstrip()


def test_unknown_feed_is_a_clean_error(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Naming a feed that is not configured says so, without a traceback."""
    config, _ = _config(tmp_path, http_server)
    assert main(["--config", str(config), "feeds", "pause", "Nope"]) == 1
    assert "no feed named or at 'Nope'" in capsys.readouterr().err


def test_poll_now_shows_what_it_found(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds poll NAME` polls one feed at once and lists the entries it stored."""
    config, feed_url = _config(tmp_path, http_server)
    assert main(["--config", str(config), "feeds", "poll", "Example News"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{feed_url}: ")
    assert "new entries, 1 matches" in out
    assert "Kremlin says Trump invited Putin" in out


def test_poll_while_the_service_holds_the_store_makes_the_feed_due(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the store locked by a service, `feeds poll` hands the feed to it for its next tick."""
    config, feed_url = _config(tmp_path, http_server)
    settings = load_settings(config)
    store = Store(settings.store.url)
    store.migrate()
    store.sync_feeds([feed_url])
    later = datetime.now(UTC) + timedelta(hours=1)
    with store.engine.begin() as conn:
        conn.execute(update(feeds).values(next_check=later))
    assert store.path is not None
    lock = InstanceLock(store.path)
    lock.acquire()
    try:
        assert main(["--config", str(config), "feeds", "poll", "Example News"]) == 0
    finally:
        lock.release()
    assert "polls the feed at its next tick" in capsys.readouterr().out
    assert store.feed_state(feed_url).next_check is not None
    assert store.feed_state(feed_url).next_check < later  # type: ignore[operator]
    store.close()


def test_muted_story_waits_unsent_until_unmuted(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A muted story's queued report is not offered to the next digest; unmuting brings it back."""
    config, _ = _config(tmp_path, http_server)
    main(["--config", str(config), "feeds", "poll", "Example News"])
    store = Store(load_settings(config).store.url)
    with store.engine.connect() as conn:
        story = conn.scalar(select(matches.c.story_id))
    assert story and store.waiting("hook")

    assert main(["--config", str(config), "stories", "mute", story]) == 0
    assert "muted: nothing more about it is sent" in capsys.readouterr().out
    assert store.waiting("hook") == {}
    assert main(["--config", str(config), "stories", "unmute", story]) == 0
    assert store.waiting("hook")
    assert main(["--config", str(config), "stories", "mute", "no-such-story"]) == 1
    store.close()


def test_reload_applies_a_shorter_interval_and_new_topics(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    """A reloaded config brings forward a feed whose interval shrank, and watches new topics."""
    config, feed_url = _config(tmp_path, http_server)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    async def scenario() -> tuple[datetime | None, list[str]]:
        async with Runtime(load_settings(config), clock=lambda: now) as runtime:
            await runtime.poll_now(feed_url)  # next check: in about 15 minutes
            text = config.read_text(encoding="utf-8")
            text = text.replace('name = "Example News"', 'name = "Example News"\ninterval = "2m"')
            text += '\n[[topics]]\nname = "kremlin"\nquery = "Kremlin"\n'
            config.write_text(text, encoding="utf-8")
            await runtime.reload(load_settings(config))
            return runtime.store.feed_state(feed_url).next_check, list(runtime.pipeline.topics)

    next_check, topics = asyncio.run(scenario())
    assert next_check == now + timedelta(minutes=2)
    assert topics == ["us-russia-summit", "kremlin"]


def test_effective_interval_names_its_reason() -> None:
    """Configured, default, adaptive or server hint: the interval in force and why."""
    rules = Rules(default_interval=timedelta(minutes=15), max_backoff=timedelta(hours=6))
    feed = FeedConfig(url="https://example.org/rss")  # type: ignore[arg-type]
    slow = FeedConfig(url="https://example.org/rss", interval="1h")  # type: ignore[arg-type]
    assert effective_interval(feed, None, rules).describe() == "15m (default)"
    assert effective_interval(slow, timedelta(minutes=30), rules).describe() == "1h (configured)"
    assert effective_interval(feed, timedelta(hours=3), rules).describe() == "3h (adaptive)"
    fixed = Rules(timedelta(minutes=15), timedelta(hours=6), adaptive=False)
    assert effective_interval(feed, timedelta(hours=2), fixed).why == "server hint"
    assert effective_interval(feed, timedelta(days=9), rules).interval == timedelta(days=1)


def test_set_password_stores_only_a_hash(
    tmp_path: Path, http_server: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`web set-password` reads the password from stdin and keeps an argon2 hash of it."""
    config, _ = _config(tmp_path, http_server)
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["--config", str(config), "web", "set-password"]) == 0
    text = config.read_text(encoding="utf-8")
    assert "correct horse" not in text and COMMENTED in text
    hashed = load_settings(config).admin_password_hash()
    assert hashed is not None and verify(hashed, "correct horse battery")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--config", str(config), "web", "set-password"]) == 1


def test_no_service_means_no_signal(tmp_path: Path) -> None:
    """A lock file left by a finished process names no service to reload."""
    (tmp_path / "monitor.db.lock").write_text("process 1", encoding="utf-8")
    assert service_pid(f"sqlite:///{tmp_path}/monitor.db") is None


@pytest.mark.slow
def test_sighup_reloads_a_running_service(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    """`news-monitor run` reads its config again on SIGHUP, and keeps running on a bad one."""
    config, _ = _config(tmp_path, http_server)
    service = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert service.stderr is not None
    try:
        lines = iter(service.stderr.readline, "")
        assert any("service started" in line for line in lines)
        assert service_pid(load_settings(config).store.url) == service.pid
        config.write_text(
            config.read_text(encoding="utf-8")
            + '\n[[topics]]\nname = "kremlin"\nquery = "Kremlin"\n',
            encoding="utf-8",
        )
        service.send_signal(signal.SIGHUP)
        assert any("config reloaded" in line and "topics=2" in line for line in lines)
        config.write_text(config.read_text(encoding="utf-8") + "\nbroken = [\n", encoding="utf-8")
        service.send_signal(signal.SIGHUP)
        assert any("config not reloaded" in line for line in lines)
        assert service.poll() is None
    finally:
        service.terminate()
        service.wait(60)
        service.stderr.close()
    assert service.returncode == 0
