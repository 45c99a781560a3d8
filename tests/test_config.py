"""Settings: TOML + environment + secrets, and one clear line per problem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import (
    EmailChannel,
    Schedule,
    WebhookChannel,
    load_settings,
    parse_duration,
)
from monitor.errors import ConfigError

CONTRACT = """
[store]
url = "sqlite:///data/monitor.db"

[fetch]
allow_private = ["127.0.0.1"]

[[feeds]]
url = "https://example.org/world.rss"
name = "Example World"
interval = "15m"

[[topics]]
name = "us-russia-summit"
title = "US-Russia summit"
query = '(Trump OR "White House") AND (Putin OR Kremlin) AND (summit OR meeting)'
schedule = "immediate"
channels = ["inbox", "hook"]

[[channels]]
name = "inbox"
type = "email"
smtp_host = "127.0.0.1"
smtp_port = 2525
from = "monitor@example.org"
to = ["me@example.org"]

[[channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9000/hook"
"""


@pytest.fixture
def contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MONITOR_CONFIG", "MONITOR_STORE__URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "monitor.toml"
    path.write_text(CONTRACT, encoding="utf-8")
    return path


def test_contract_shape_loads(contract: Path) -> None:
    """The documented config shape loads into typed settings."""
    settings = load_settings(contract)

    assert settings.store.url == f"sqlite:///{contract.parent / 'data/monitor.db'}"
    assert settings.fetch.allow_private == ["127.0.0.1"]
    assert settings.feeds[0].interval == timedelta(minutes=15)
    assert settings.topics[0].parsed_schedule == Schedule("immediate")
    inbox = settings.channel("inbox")
    assert isinstance(inbox, EmailChannel)
    assert inbox.from_ == "monitor@example.org" and inbox.smtp_port == 2525


def test_environment_overrides_nested_keys(contract: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MONITOR_<SECTION>__<KEY> wins over the file; lists are given as JSON."""
    monkeypatch.setenv("MONITOR_STORE__URL", "sqlite:////tmp/other.db")
    monkeypatch.setenv("MONITOR_FETCH__TIMEOUT", "7s")
    monkeypatch.setenv("MONITOR_FETCH__ALLOW_PRIVATE", '["10.0.0.0/8"]')

    settings = load_settings(contract)

    assert settings.store.url == "sqlite:////tmp/other.db"
    assert settings.fetch.timeout == timedelta(seconds=7)
    assert settings.fetch.allow_private == ["10.0.0.0/8"]
    assert settings.feeds[0].url == "https://example.org/world.rss"  # the rest stays


def test_config_file_from_environment(contract: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MONITOR_CONFIG names the file when --config is not given."""
    monkeypatch.setenv("MONITOR_CONFIG", str(contract))

    assert load_settings().topics[0].name == "us-russia-summit"


def test_secrets_environment_then_file_then_toml(
    contract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel secret comes from the environment first, then its file, then the TOML."""
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text("from-file\n", encoding="utf-8")
    text = contract.read_text(encoding="utf-8").replace(
        'url = "http://127.0.0.1:9000/hook"',
        f'url = "http://127.0.0.1:9000/hook"\nsecret = "from-toml"\nsecret_file = "{secret_file}"',
    )
    contract.write_text(text, encoding="utf-8")
    hook = load_settings(contract).channel("hook")
    assert isinstance(hook, WebhookChannel)

    assert load_settings(contract).secret(hook) == "from-file"
    monkeypatch.setenv("MONITOR_SECRETS__HOOK__SECRET", "from-env")
    assert load_settings(contract).secret(hook) == "from-env"
    assert "from-toml" not in repr(load_settings(contract))


def test_missing_default_file_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any config file, the error names the places looked at and `init`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    (problem,) = caught.value.problems
    assert "MONITOR_CONFIG not set" in problem and "news-monitor init" in problem
    assert str(tmp_path / "config/monitor.toml") in problem


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    """A config file asked for by name must exist."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    """A TOML syntax error is one problem with its line and column."""
    path = tmp_path / "bad.toml"
    path.write_text('[store]\nurl = "unterminated\n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert len(caught.value.problems) == 1
    assert "line 2" in caught.value.problems[0]


@pytest.mark.parametrize(
    ("snippet", "key", "why"),
    [
        ('[[feeds]]\nurl = "file:///etc/passwd"', "feeds[0].url", "not an http(s) URL"),
        ('[fetch]\ntimeout = "soon"', "fetch.timeout", "not a duration"),
        ('[fetch]\ntimout = "5s"', "fetch.timout", "unknown key"),
        ('[service]\ntimezone = "Mars/Olympus"', "service.timezone", "unknown time zone"),
        (
            '[[topics]]\nname = "t"\nquery = "a"\nschedule = "61 * * * *"',
            "topics[0].schedule",
            "bad cron line",
        ),
        (
            '[[topics]]\nname = "t"\nquery = "a"\nchannels = ["nope"]',
            "topics[0].channels",
            "no channel named 'nope'",
        ),
        ('[[channels]]\nname = "x"\ntype = "pigeon"', "channels[0]", "does not match"),
    ],
)
def test_each_problem_names_its_key(tmp_path: Path, snippet: str, key: str, why: str) -> None:
    """Each kind of mistake is reported as 'key: why'."""
    path = tmp_path / "bad.toml"
    path.write_text(snippet, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert any(p.startswith(key) and why in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h30m", 5400), ("2d", 172800), ("90", 90), (45, 45)],
)
def test_durations(text: str | int, seconds: int) -> None:
    """Durations are written with units or as seconds."""
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_schedules() -> None:
    """Schedules are immediate, every <duration>, or a five-field cron line."""
    assert Schedule.parse("every 1h") == Schedule("every", every=timedelta(hours=1))
    assert Schedule.parse("0 7 * * *") == Schedule("cron", cron="0 7 * * *")
    with pytest.raises(ValueError, match="not a schedule"):
        Schedule.parse("daily")
