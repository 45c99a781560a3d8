"""`check`: every problem known without the network, in one pass, as `file:line: key: what. fix`."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from monitor.cli import CONFIG_ERROR, OK, main
from monitor.config import read_settings
from monitor.config.locate import line_of
from monitor.config_audit import audit

# Each problem is on a line of its own, numbered in the comment at its end.
BROKEN = """\
[fetch]
allow_private = ["10.0.0.5"]

[[feeds]]
url = "http://192.168.1.9/feed.xml"   # 5: a private address not allowed
name = "Home"

[[feeds]]
url = "https://example.org/a.xml"
name = "Home"                         # 10: a name used twice (warning)

[[topics]]
name = "leap"
query = "summit"
schedule = "0 0 31 2 *"               # 15: never fires
channels = ["hook", "nope"]           # 16: an unknown channel

[[topics]]
name = "leap"                         # 19: a topic name used twice
query = "meeting"

[[channels]]
name = "hook"
type = "webhook"
url = "http://localhost:9000/hook"    # 25: loopback, not allowed

[[channels]]
name = "mail"
type = "email"
smtp_host = "127.0.0.1"
from = "monitor@example.org"
to = ["me@example.org"]
password_file = "{secret_dir}"        # 33: a directory, not a file
"""


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text(text, encoding="utf-8")
    return config


def test_every_problem_in_one_pass_with_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Errors of every kind come out together, each on the line where the key is written."""
    config = write(tmp_path, BROKEN.format(secret_dir=tmp_path))

    code = main(["check", "--config", str(config)])

    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert code == CONFIG_ERROR
    located = [line for line in out if line.startswith(f"{config}:")]
    keys = {
        "5": "feeds[0].url",
        "15": "topics[0].schedule",
        "16": "topics[0].channels",
        "19": "topics[1].name",
        "25": "channels[0].url",
        "33": "channels[1].password_file",
        "10": "feeds[1].name",
        "22": "channels[0].secret",  # the webhook's table: it has no secret key at all
    }
    found = {
        m.group(1): m.group(2)
        for m in (re.match(rf"{config}:(\d+): (\S+): ", x) for x in located)
        if m
    }
    assert found == keys
    assert captured.err == "6 problems: fix them and run `news-monitor check` again\n"
    warnings = [line for line in located if ": warning: " in line]
    assert len(warnings) == 2 and located[-2:] == warnings  # warnings after the errors


def test_each_line_says_what_is_wrong_and_how_to_fix_it(tmp_path: Path) -> None:
    config = write(tmp_path, BROKEN.format(secret_dir=tmp_path))
    findings = {f.key: f for f in audit(read_settings(config))}

    blocked = findings["channels[0].url"]
    assert "localhost is not a public address" in blocked.problem
    assert '"localhost:9000"' in blocked.fix and "fetch.allow_private" in blocked.fix
    assert "never fires" in findings["topics[0].schedule"].problem
    assert findings["channels[1].password_file"].problem.endswith("is a directory")
    unsigned = findings["channels[0].secret"]
    assert unsigned.warning and "MONITOR_SECRETS__HOOK__SECRET" in unsigned.fix
    assert str(unsigned).startswith("channels[0].secret: warning: webhook 'hook' has no secret")


def test_allowed_and_public_addresses_pass(tmp_path: Path) -> None:
    """allow_private lets a private host through; names that need DNS are not judged."""
    config = write(
        tmp_path,
        '[fetch]\nallow_private = ["127.0.0.1:9000", "192.168.1.0/24"]\n\n'
        '[[feeds]]\nurl = "http://192.168.1.9/feed.xml"\n\n'
        '[[feeds]]\nurl = "https://feeds.example.org/feed.xml"\n\n'
        '[[channels]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:9000/h"\n'
        'secret = "s3cret"\n',
    )

    assert audit(read_settings(config)) == []


def test_secret_files_empty_or_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    locked = tmp_path / "locked"
    locked.write_text("s3cret", encoding="utf-8")
    locked.chmod(0)
    config = write(
        tmp_path,
        f'[[channels]]\nname = "a"\ntype = "webhook"\nurl = "https://e.org/a"\n'
        f'secret_file = "{empty}"\n\n'
        f'[[channels]]\nname = "b"\ntype = "webhook"\nurl = "https://e.org/b"\n'
        f'secret_file = "{locked}"\n',
    )

    findings = {f.key: f.problem for f in audit(read_settings(config))}

    assert findings["channels[0].secret_file"] == f"{empty} is empty"
    if os.getuid() != 0:  # root reads any file
        assert "cannot be read by this user" in findings["channels[1].secret_file"]


def test_a_schedule_that_fires_is_fine_and_a_leap_day_fires(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[[topics]]\nname = "a"\nquery = "x"\nschedule = "0 7 29 2 *"\n\n'
        '[[topics]]\nname = "b"\nquery = "x"\nschedule = "0 0 31 4,6,9,11 *"\n',
    )

    assert [f.key for f in audit(read_settings(config))] == ["topics[1].schedule"]


def test_warnings_alone_exit_0_and_quiet_still_prints_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path, '[[channels]]\nname = "hook"\ntype = "webhook"\nurl = "https://e.org/h"\n'
    )

    assert main(["check", "-q", "-c", str(config)]) == OK
    assert capsys.readouterr().out == (
        f"{config}:1: channels[0].secret: warning: webhook 'hook' has no secret, so its "
        "deliveries are unsigned and a receiver cannot tell them from forgeries. "
        "Set MONITOR_SECRETS__HOOK__SECRET, secret_file or secret\n"
    )


def test_validation_and_syntax_errors_carry_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, '[service]\ntick = "1m"\n\n[fetch]\ntimeout = "soon"\n')
    assert main(["check", "-c", str(config)]) == CONFIG_ERROR
    assert capsys.readouterr().out.startswith(f"{config}:5: fetch.timeout: ")

    write(tmp_path, '[fetch]\ntimeout = "soon\n')
    assert main(["check", "-c", str(config)]) == CONFIG_ERROR
    assert capsys.readouterr().out.startswith(f"{config}:2: (file): TOML syntax error")


def test_line_of_follows_tables_arrays_and_multiline_strings() -> None:
    text = (
        "[store]\n"  # 1
        'url = "sqlite:///x"\n'  # 2
        "[[topics]]\n"  # 3
        'name = "a"\n'  # 4
        "query = '''\n"  # 5
        "name = not a key\n"  # 6
        "'''\n"  # 7
        "[[topics]]\n"  # 8
        'name = "b"\n'  # 9
        "fetch.timeout = 3\n"  # 10: a dotted key inside topics[1], not [fetch]
    )

    assert line_of(text, "store.url") == 2
    assert line_of(text, "topics[1].name") == 9
    assert line_of(text, "topics[0].query") == 5
    assert line_of(text, "topics[1].schedule") == 8  # not written: its table
    assert line_of(text, "fetch.timeout") is None
    assert line_of(text, "secrets.hook.secret") is None
