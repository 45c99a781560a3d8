"""An operator's bad day with the config and the store: clean errors, never a traceback.

Every case goes through the public CLI (`monitor.cli.main`) on real files; the
message must name the key or path, show the bad value (redacted) and say how to fix
it, and the exit code is 2 for a config mistake, 1 for a store that cannot be used.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import MAX_DURATION, load_settings


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return code, text


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MONITOR_CONFIG", "MONITOR_STORE__URL", "MONITOR_FETCH__ALLOW_PRIVATE"):
        monkeypatch.delenv(name, raising=False)


def test_every_bad_entry_is_reported_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong TOML types, bad allow_private entries, a cron that never fires: all at once."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        """
[fetch]
allow_private = ["127.0.0.1:99999", "bad host!", "10.0.0.0/8"]
max_bytes = "lots"
[[feeds]]
url = 5
[[topics]]
name = "a"
query = "x"
schedule = 7
[[topics]]
name = "b"
query = "y"
schedule = "0 0 30 2 *"
""",
        encoding="utf-8",
    )

    code, text = _run(["--config", str(config), "check"], capsys)

    assert code == 2
    lines = [line for line in text.splitlines() if line.startswith(str(config))]
    assert len(lines) == 6, text
    assert (
        "fetch.allow_private[0]: '127.0.0.1:99999': port 99999 is not between 1 and 65535" in text
    )
    assert "fetch.allow_private[1]: 'bad host!' is not a host" in text
    assert "fetch.max_bytes:" in text and "(got 'lots')" in text and "whole number" in text
    assert "feeds[0].url: expected a URL in quotes" in text and "(got 5)" in text
    assert "topics[0].schedule:" in text and "(got 7); write it in quotes" in text
    assert "topics[1].schedule: the cron line '0 0 30 2 *' never fires" in text


def test_absurd_durations_are_cut_to_the_maximum_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """'99999999999d' or a float beyond range becomes the documented maximum, with a warning."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        '[digest]\ncoverage_alert_after = "99999999999999999999d"\n[service]\ntick = 1e400\n',
        encoding="utf-8",
    )

    settings = load_settings(config)

    assert settings.digest.coverage_alert_after == MAX_DURATION
    assert settings.service.tick == MAX_DURATION
    assert sum("cut to 365 days" in r.getMessage() for r in caplog.records) == 2


def test_malformed_json_in_a_list_variable_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """MONITOR_FETCH__ALLOW_PRIVATE='[1,' is reported by name, with how lists are written."""
    config = tmp_path / "monitor.toml"
    config.write_text("[fetch]\n", encoding="utf-8")
    monkeypatch.setenv("MONITOR_FETCH__ALLOW_PRIVATE", "[1,")

    code, text = _run(["--config", str(config), "check"], capsys)

    assert code == 2
    assert "MONITOR_FETCH__ALLOW_PRIVATE: not valid JSON" in text and "'[\"127.0.0.1\"]'" in text


def test_a_config_that_is_not_utf8_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Latin-1 config file: the byte, its line, and 'save the file as UTF-8'."""
    config = tmp_path / "monitor.toml"
    config.write_bytes(b'[fetch]\nuser_agent = "caf\xe9"\n')

    code, text = _run(["--config", str(config), "once"], capsys)

    assert code == 2
    assert "not UTF-8 text: byte 0xe9 on line 2; save the file as UTF-8" in text


def test_no_config_found_says_where_it_looked_and_init_writes_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`once` without a config creates nothing and points at `init`; `init` writes the example."""
    monkeypatch.chdir(tmp_path)

    code, text = _run(["once"], capsys)

    assert code == 2
    assert "no config file found" in text and "news-monitor init" in text
    assert str(tmp_path / "config" / "monitor.toml") in text
    assert not (tmp_path / "data").exists()  # no store was created

    assert _run(["init"], capsys)[0] == 0
    written = (tmp_path / "config" / "monitor.toml").read_text(encoding="utf-8")
    assert written.startswith("# news-monitor") and "[[topics]]" in written
    assert _run(["check"], capsys)[0] == 0
    code, text = _run(["init"], capsys)
    assert code == 1 and "exists already" in text
    assert (tmp_path / "config" / "monitor.toml").read_text(encoding="utf-8") == written


def test_the_bundled_example_is_what_init_writes() -> None:
    """config/monitor.toml is init's example, its paths pointing at the repository's data/."""
    from monitor.config import example_config

    repository = (Path(__file__).parents[1] / "config" / "monitor.toml").read_text(encoding="utf-8")
    assert (
        example_config()
        .replace('"sqlite:///data/', '"sqlite:///../data/')
        .replace(
            'url = "sqlite:///../data/monitor.db"\n',
            'url = "sqlite:///../data/monitor.db"   # data/ next to config/\n',
        )
        .replace(
            '# data_dir = "data"      #',
            'data_dir = "../data"     #',
        )
        == repository
    )


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative SQLite path lands next to the config file, whatever the working directory."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "monitor.toml").write_text(
        '[store]\nurl = "sqlite:///state/monitor.db"\n[service]\ndata_dir = "out"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert _run(["--config", str(folder / "monitor.toml"), "once"], capsys)[0] == 0

    assert (folder / "state" / "monitor.db").is_file()
    assert list(elsewhere.iterdir()) == []
    assert load_settings(folder / "monitor.toml").service.data_dir == folder / "out"


def test_missing_import_file_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds import` of a file that is not there says so and changes nothing."""
    config = tmp_path / "monitor.toml"
    config.write_text("[fetch]\n", encoding="utf-8")

    code, text = _run(["--config", str(config), "feeds", "import", "nothere.opml"], capsys)

    assert code == 1
    assert "cannot read nothere.opml: No such file or directory" in text
    assert config.read_text(encoding="utf-8") == "[fetch]\n"


@pytest.mark.parametrize("case", ["not sqlite", "parent is a file", "read-only"])
def test_unusable_stores_are_store_errors(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store that is not SQLite, sits under a regular file or is read-only: one clean line."""
    if case == "not sqlite":
        (tmp_path / "notes.txt").write_text("shopping list\n" * 100, encoding="utf-8")
        url, expected = "sqlite:///notes.txt", "file is not a database"
    elif case == "parent is a file":
        (tmp_path / "afile").write_text("x", encoding="utf-8")
        url, expected = "sqlite:///afile/monitor.db", "afile is a file, not a folder"
    else:  # mode=ro: read-only even for root, who ignores file permissions
        sqlite3.connect(tmp_path / "ro.db").close()
        url = f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true"
        expected = "attempt to write a readonly database"
    config = tmp_path / "monitor.toml"
    config.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")

    code, text = _run(["--config", str(config), "status"], capsys)

    assert code == 1
    assert text.startswith("error: cannot ") and expected in text, text
    assert len(text.strip().splitlines()) == 1
