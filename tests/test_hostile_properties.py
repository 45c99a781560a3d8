"""Property tests on hostile input: the only outcomes are a result or one of our errors.

* the config loader, on arbitrary TOML documents (built from the real setting names and
  values of every type, absurd ones included), arbitrary bytes, and arbitrary
  `MONITOR_…` environment maps: Settings or ConfigError;
* the feed reader, on real feeds (the corpus, and tests/data/feeds) mutated: bytes
  flipped, cut, spans dropped, hostile snippets inserted: ParsedFeed or ParseError.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import Settings, load_settings
from monitor.errors import ConfigError, ParseError
from monitor.feeds import ParsedFeed, parse_feed

HERE = Path(__file__).parent
FEEDS = sorted(
    path
    for folder in (HERE / "data" / "feeds", HERE.parents[1] / "shared" / "corpus" / "feeds")
    if folder.is_dir()
    for path in folder.iterdir()
    if path.suffix in (".xml", ".rss", ".atom", ".json", ".rdf")
)
SECTIONS = {
    name: list(field.annotation.model_fields)  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
    if hasattr(field.annotation, "model_fields")
}
LISTS = {
    "feeds": ["url", "name", "interval"],
    "topics": ["name", "title", "query", "match", "schedule", "channels", "urgent"],
    "channels": ["name", "type", "url", "smtp_host", "smtp_port", "to", "from", "timeout"],
}

SCALAR = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "15m",
            "0s",
            "-5m",
            "9" * 40 + "d",
            "1e400",
            "every 1h",
            "every 99999999999w",
            "0 0 30 2 *",
            "0 7 * * *",
            "immediate",
            "https://example.org/feed",
            "http://u:p@127.0.0.1:99999/x",
            "127.0.0.1:99999",
            "webhook",
            "email",
            "files",
            "apprise",
            "sqlite:///x.db",
            "postgresql://u:p@127.0.0.1:1/db",
            "22:00-07:00",
            "Europe/Nowhere",
        ]
    ),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3))
ENV_NAMES = st.sampled_from(
    [f"MONITOR_{s.upper()}__{k.upper()}" for s, keys in SECTIONS.items() for k in keys]
    + [f"MONITOR_{name.upper()}" for name in (*SECTIONS, *LISTS, "SECRETS")]
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string (or, rarely, a syntax error: also fine)


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    lines = []
    for section, keys in SECTIONS.items():
        chosen = draw(st.lists(st.sampled_from([*keys, "unknown_key"]), max_size=3, unique=True))
        if chosen:
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(draw(VALUE))}" for key in chosen]
    for table, keys in LISTS.items():
        for _ in range(draw(st.integers(0, 2))):
            lines.append(f"[[{table}]]")
            for key in draw(st.lists(st.sampled_from(keys), max_size=5, unique=True)):
                lines.append(f"{key} = {_toml_value(draw(VALUE))}")
    return "\n".join(lines) + "\n"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _load(document: bytes, environ: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder, _environment(environ):
        path = Path(folder) / "monitor.toml"
        path.write_bytes(document)
        try:
            assert isinstance(load_settings(path), Settings)
        except ConfigError as error:
            assert error.problems and all(isinstance(p, str) and p for p in error.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml_documents())
def test_config_loader_on_arbitrary_toml(document: str) -> None:
    """Any TOML built from the real keys gives Settings or a ConfigError, never another error."""
    _load(document.encode("utf-8", "surrogatepass"), {})


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_config_loader_on_arbitrary_bytes(document: bytes) -> None:
    """Any bytes as a config file give Settings or a ConfigError."""
    _load(document, {})


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(ENV_NAMES, st.one_of(st.text(max_size=20), VALUE.map(json.dumps))))
def test_config_loader_on_arbitrary_environment(environ: dict[str, str]) -> None:
    """Any MONITOR_… environment gives Settings or a ConfigError."""
    environ = {k: v.replace("\x00", "") for k, v in environ.items()}  # the OS refuses NUL
    _load(b"", environ)


HOSTILE = [
    b"&#99999999;",
    b"&#xD800;",
    b"&#0;",
    b"\x00",
    b"]]>",
    b"<![CDATA[",
    b'<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">]>',
    b"&a;",
    b"<ttl>99999999999999999999999</ttl>",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b'<?xml version="1.0" encoding="bogus"?>',
    b"<pubDate>Mon, 99 Foo 99999 99:99:99 +9999</pubDate>",
]


@st.composite
def mutated_feeds(draw: st.DrawFn) -> bytes:
    body = draw(st.sampled_from(FEEDS)).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["insert", "flip", "cut", "drop"]))
        if kind == "insert":
            body = body[:at] + draw(st.sampled_from(HOSTILE)) + body[at:]
        elif kind == "flip" and body:
            at = min(at, len(body) - 1)
            body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
        elif kind == "cut":
            body = body[:at]
        else:
            body = body[:at] + body[at + draw(st.integers(1, 200)) :]
    return body


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_feeds())
def test_feed_reader_on_mutated_real_feeds(body: bytes) -> None:
    """A mutated real feed gives a ParsedFeed or a ParseError, never another error."""
    try:
        parsed = parse_feed(body, url="https://feeds.example.org/feed", headers={})
    except ParseError:
        return
    assert isinstance(parsed, ParsedFeed)
    for entry in parsed.entries:  # what the store will keep: text it can encode
        for text in (entry.title, entry.summary, entry.content or "", entry.author or ""):
            text.encode("utf-8")
            assert "\x00" not in text
