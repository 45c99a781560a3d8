"""`news-monitor extract`: a page's text as digests would use it, from a URL or a file."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import DATA
from tests.servers import LoopbackHTTPServer, Reply

SEED = DATA / "seed" / "kremlin-says-trump-invited-putin.html"
EXPECTED = json.loads((DATA / "seed" / "expected.json").read_text(encoding="utf-8"))
BASE = "https://news.example.com/news/kremlin/"
WALL = b"""<!DOCTYPE html><html><head><title>Before you continue</title></head><body>
<div class="cookie-banner"><h2>We value your privacy</h2>
<p>We and our partners use cookies to understand how you use our site.</p>
<button>Accept all</button> <button>Manage settings</button></div></body></html>"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text('[fetch]\nallow_private = ["127.0.0.1"]\ntimeout = "5s"\n', encoding="utf-8")
    return path


@pytest.mark.slow
def test_saved_file_gives_title_date_author_and_the_paragraphs(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A saved page prints its metadata, a blank line, then the paragraphs digests show."""
    assert main(["--config", str(config), "extract", str(SEED)]) == 0

    out = capsys.readouterr().out
    head, _, text = out.partition("\n\n")
    assert head.splitlines() == [
        f"== {SEED}",
        f"Title: {EXPECTED['title']}",
        "Date: 2018-04-02",
        "Author: Example News staff",
    ]
    assert [" ".join(p.split()) for p in text.strip().split("\n\n")] == [
        " ".join(p.split()) for p in EXPECTED["paragraphs"]
    ]


@pytest.mark.slow
def test_url_and_file_as_json_lines(
    config: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json writes one object a line, in the order given; a URL is fetched like a feed's
    page, and --base-url resolves a saved file's relative lead image."""
    url = http_server.route(
        "/news/kremlin", Reply(SEED.read_bytes(), headers={"Content-Type": "text/html"})
    )
    saved = SEED.read_bytes().replace(
        b"</head>", b'<meta property="og:image" content="/img/kremlin.jpg"></head>'
    )
    file = config.parent / "saved.html"
    file.write_bytes(saved)

    base = "https://news.example.com/a/"
    code = main(["--config", str(config), "extract", "--json", "--base-url", base, url, str(file)])

    assert code == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["source"], first["url"], first["title"]) == (url, url, EXPECTED["title"])
    assert first["text"] == second["text"]
    assert second["image"] == "https://news.example.com/img/kremlin.jpg"
    assert {"date", "author", "site_name", "language", "canonical_url"} <= set(second)


@pytest.mark.slow
def test_failed_sources_are_named_and_the_others_still_print(
    config: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file and a consent wall are reported on stderr with why, no traceback;
    the good page between them is printed and the exit code is 1."""
    wall = http_server.route("/wall", Reply(WALL, headers={"Content-Type": "text/html"}))
    missing = config.parent / "missing.html"

    code = main(["--config", str(config), "extract", str(missing), str(SEED), wall])

    assert code == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"== {SEED}\n")
    assert f"error: {missing}: cannot read" in captured.err
    assert f"error: {wall}: the page is a consent wall" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.slow
def test_json_failure_line_carries_the_reason(
    config: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """In --json mode a failed page is a line with its `error` reason code."""
    wall = http_server.route("/wall", Reply(WALL, headers={"Content-Type": "text/html"}))

    assert main(["--config", str(config), "extract", "--json", wall]) == 1

    line = json.loads(capsys.readouterr().out)
    assert (line["source"], line["error"]) == (wall, "consent wall")


@pytest.mark.slow
def test_standard_input_with_a_base_url(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-` reads the page from standard input; --base-url is then its address."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SEED.read_bytes())))

    assert main(["--config", str(config), "extract", "--json", "--base-url", BASE, "-"]) == 0

    line = json.loads(capsys.readouterr().out)
    assert (line["source"], line["url"], line["title"]) == ("-", BASE, EXPECTED["title"])
