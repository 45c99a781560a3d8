"""Every command, not only `check`, points at the line of each config mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import CONFIG_ERROR, main


def test_once_names_the_file_line_and_key_of_each_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value stops `once` with exit 2 and `file:line: key: why` for each mistake."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        '[store]\nurl = "sqlite:///m.db"\n\n[fetch]\ntimeout = "soon"\n\n'
        '[[feeds]]\nurl = "https://example.org/feed"\ninterval = "often"\n',
        encoding="utf-8",
    )

    assert main(["once", "--config", str(config)]) == CONFIG_ERROR

    err = capsys.readouterr().err
    assert f"{config}:5: fetch.timeout: " in err
    assert f"{config}:9: feeds[0].interval: " in err
    assert "Traceback" not in err
