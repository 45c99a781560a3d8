"""The command line: help for every command, documented in the README, clean errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import COMMANDS, build_parser, main

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_and_is_in_the_readme(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command answers --help with its description and is documented in the README."""
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args([command, "--help"])

    assert caught.value.code == 0
    assert COMMANDS[command] in " ".join(capsys.readouterr().out.split())
    assert f"news-monitor {command}" in README


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m monitor --help` lists the commands."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_check_shows_query_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A query that does not parse is reported with its key and position."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        "[[topics]]\nname = \"summit\"\nquery = 'Trump AND (Putin OR'\n", encoding="utf-8"
    )

    code = main(["--config", str(config), "check"])

    out = capsys.readouterr().out
    assert code == 2
    assert "topics[0].query" in out and "position" in out


def test_check_accepts_the_bundled_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The example config in config/ passes check."""
    example = Path(__file__).parents[1] / "config" / "monitor.toml"

    assert main(["--config", str(example), "check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_config_error_in_once_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """`once` with a broken config prints the problem and exits 2 without a traceback."""
    config = tmp_path / "monitor.toml"
    config.write_text('[fetch]\ntimeout = "soon"\n', encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "fetch.timeout" in result.stderr
    assert "Traceback" not in result.stderr


def test_readme_lists_every_setting_with_its_default() -> None:
    """The README's settings table is the one generated from the config models."""
    from monitor.config import settings_table

    assert settings_table() in README
