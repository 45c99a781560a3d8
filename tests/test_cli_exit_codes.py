"""The command line as cron runs it: global options anywhere, exit codes, --quiet.

Feeds and the webhook receiver are real HTTP servers on 127.0.0.1; `once` runs
through `main()` as the installed command would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import CONFIG_ERROR, NOTHING_DONE, OK, SOME_FAILED, main
from tests.scenario import serve_feed
from tests.servers import LoopbackHTTPServer, Reply


def write_config(tmp_path: Path, feeds: list[str], *, hook: str | None = None) -> Path:
    lines = [
        f'[store]\nurl = "sqlite:///{tmp_path / "monitor.db"}"',
        f'[service]\ndata_dir = "{tmp_path / "data"}"\nbacklog = "all"',
        '[fetch]\nallow_private = ["127.0.0.1"]',
    ]
    lines += [f'[[feeds]]\nurl = "{url}"' for url in feeds]
    channels = "[]"
    if hook is not None:
        lines.append(f'[[channels]]\nname = "hook"\ntype = "webhook"\nurl = "{hook}"')
        channels = '["hook"]'
    lines.append(
        f'[[topics]]\nname = "summit"\nquery = "summit"\nmatch = "summary"\nchannels = {channels}'
    )
    config = tmp_path / "monitor.toml"
    config.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return config


def test_global_options_after_the_command(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`once --config FILE -q` works like `--config FILE -q once`: silent when all is well."""
    config = write_config(tmp_path, [serve_feed(http_server)])

    code = main(["once", "--config", str(config), "--quiet"])

    captured = capsys.readouterr()
    assert code == OK
    assert captured.out == ""
    assert captured.err == ""


def test_global_options_after_an_action(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An option given after a command's action is read too (`feeds list -c FILE`)."""
    config = write_config(tmp_path, [serve_feed(http_server)])

    assert main(["feeds", "list", "-c", str(config)]) == OK
    assert "/news.rss" in capsys.readouterr().out


def test_all_well_prints_the_summary_without_quiet(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [serve_feed(http_server)])

    assert main(["--config", str(config), "once"]) == OK
    assert "feeds polled: 1 (0 failed" in capsys.readouterr().out


def test_some_feeds_failed_is_1_and_quiet_names_them(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """One feed answering 404 beside a good one: exit 1, the failure on stderr."""
    gone = http_server.url("/gone.rss")
    config = write_config(tmp_path, [serve_feed(http_server), gone])

    code = main(["once", "-q", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == SOME_FAILED
    assert captured.out == ""
    assert f"feed failed: {gone}" in captured.err
    assert "news.rss" not in captured.err


def test_every_feed_failed_is_3(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [http_server.url("/a.rss"), http_server.url("/b.rss")])

    assert main(["once", "--config", str(config)]) == NOTHING_DONE
    assert "feeds polled: 2 (2 failed" in capsys.readouterr().out


def test_nothing_delivered_is_3(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The feed is read, but the only channel refuses the digest: nothing got through."""
    hook = http_server.route("/hook", Reply(b"down", status=503))
    config = write_config(tmp_path, [serve_feed(http_server)], hook=hook)

    code = main(["once", "--quiet", "--config", str(config)])

    assert code == NOTHING_DONE
    assert "deliveries not accepted: 1 to retry" in capsys.readouterr().err


def test_delivered_is_0(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    hook = http_server.route("/hook", Reply(b"ok"))
    config = write_config(tmp_path, [serve_feed(http_server)], hook=hook)

    assert main(["once", "--config", str(config), "-q"]) == OK
    assert [r.path for r in http_server.requests if r.method == "POST"] == ["/hook"]


def test_config_error_is_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('[fetch]\ntimeout = "soon"\n', encoding="utf-8")

    assert main(["once", "--config", str(config)]) == CONFIG_ERROR
    assert "fetch.timeout" in capsys.readouterr().err


def test_version_and_quiet_with_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    """--version names the program; -q and -v together are a usage error (2)."""
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0
    assert capsys.readouterr().out.startswith("news-monitor 0.")

    with pytest.raises(SystemExit) as both:
        main(["-v", "once", "-q"])
    assert both.value.code == CONFIG_ERROR
    assert "--quiet" in capsys.readouterr().err


def test_installed_command_takes_options_after_the_command(tmp_path: Path) -> None:
    """The real process: `python -m monitor check --config FILE` exits 0 on a good file."""
    config = write_config(tmp_path, ["https://example.org/feed.xml"])

    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == OK, result.stderr
    assert result.stdout == ""
