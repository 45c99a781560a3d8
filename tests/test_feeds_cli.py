"""Feed management from the command line: OPML import/export, autodiscovery, `feeds add`."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.sources.autodiscovery import discover
from monitor.sources.opml import read_opml
from tests.servers import LoopbackHTTPServer, Reply

DATA = Path(__file__).parent / "data" / "discovery"
SEED_FEED = Path(__file__).parent / "data" / "seed" / "feed.xml"


def test_opml_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Import nested OPML, export it, import the export elsewhere: the same feeds."""
    config = tmp_path / "monitor.toml"
    config.write_text("# my feeds\n", encoding="utf-8")

    assert main(["--config", str(config), "feeds", "import", str(DATA / "subscriptions.opml")]) == 0
    first = [(f.url, f.name) for f in load_settings(config).feeds]
    exported = tmp_path / "out.opml"
    assert main(["--config", str(config), "feeds", "export", "-o", str(exported)]) == 0
    again = tmp_path / "again.toml"
    assert main(["--config", str(again), "feeds", "import", str(exported)]) == 0

    assert [url for url, _ in first] == [
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        "https://feeds.npr.org/1004/rss.xml",
        "https://rss.dw.com/rdf/rss-en-world",
        "https://feeds.feedburner.com/venturebeat/SZYF",
    ]
    assert ("https://feeds.npr.org/1004/rss.xml", "NPR World") in first  # text, no title
    assert [(f.url, f.name) for f in load_settings(again).feeds] == first
    assert config.read_text(encoding="utf-8").startswith("# my feeds\n")  # appended, not rewritten
    assert "4 feeds in" in capsys.readouterr().out


def test_importing_twice_adds_nothing(tmp_path: Path) -> None:
    """Feeds already in the config are not added again."""
    config = tmp_path / "monitor.toml"
    opml = str(DATA / "subscriptions.opml")
    main(["--config", str(config), "feeds", "import", opml])
    main(["--config", str(config), "feeds", "import", opml])

    assert len(load_settings(config).feeds) == 4


def test_opml_with_entities_is_refused() -> None:
    """An OPML file with a DOCTYPE/ENTITY is refused with a clear error."""
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>'

    with pytest.raises(ConfigError, match="DOCTYPE"):
        read_opml(evil)


@pytest.mark.parametrize(
    ("page", "url", "first"),
    [
        (
            "slashgear-002.html",
            "https://www.slashgear.com/the-vw-id-space-vizzion/",
            "https://www.slashgear.com/feed/",
        ),
        (
            "venturebeat-001.html",
            "https://venturebeat.com/2019/11/18/wework/",
            "https://feeds.feedburner.com/venturebeat/SZYF",
        ),
    ],
)
def test_autodiscovery_on_real_pages(page: str, url: str, first: str) -> None:
    """A real article page's advertised feeds are found, the site feed before comment feeds."""
    html = (DATA / page).read_text(encoding="utf-8", errors="replace")

    found = discover(html, url)

    assert found[0].url == first
    assert all("comment" in f"{f.title} {f.url}".lower() for f in found[1:])


def test_feeds_add_follows_a_page_to_its_feed(
    tmp_path: Path, http_server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds add PAGE` adds the feed the page advertises, with the feed's title."""
    http_server.route("/world.rss", Reply(SEED_FEED.read_bytes()))
    page = http_server.route(
        "/world/",
        Reply(
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/world.rss">'
            b"</head><body>World news</body></html>",
            headers={"Content-Type": "text/html"},
        ),
    )
    config = tmp_path / "monitor.toml"
    config.write_text('[fetch]\nallow_private = ["127.0.0.1"]\n', encoding="utf-8")

    assert main(["--config", str(config), "feeds", "add", page]) == 0

    [feed] = load_settings(config).feeds
    assert feed.url == http_server.url("/world.rss")
    assert feed.name == "Example News - World"
    assert "advertised" in capsys.readouterr().out
