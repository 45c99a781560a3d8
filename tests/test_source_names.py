"""One name per source everywhere: the feed's name, else its site's title, else the host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import OK, main
from monitor.source_names import source_name
from tests.scenario import serve_feed
from tests.servers import LoopbackHTTPServer


def test_name_then_site_title_then_host() -> None:
    url = "https://news.example.org/world.rss"

    assert source_name("Example World", "Example News", url) == "Example World"
    assert source_name(None, "  Example\n News ", url) == "Example News"
    assert source_name("", "", url) == "news.example.org"
    assert source_name(None, None, "not a url") == "not a url"


@pytest.mark.parametrize(
    ("name", "expected"), [("Loopback Wire", "Loopback Wire"), (None, "Loopback News")]
)
def test_topics_test_digests_and_atom_agree(
    name: str | None,
    expected: str,
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same entry is credited to the same source by `topics test`, the digest and Atom."""
    feed = serve_feed(http_server)
    data = tmp_path / "data"
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "m.db"}"\n\n'
        f'[service]\ndata_dir = "{data}"\nbacklog = "all"\n\n'
        '[fetch]\nallow_private = ["127.0.0.1"]\n\n'
        f'[[feeds]]\nurl = "{feed}"\n' + (f'name = "{name}"\n' if name else "") + "\n"
        '[[topics]]\nname = "summit"\nquery = "summit"\nmatch = "summary"\n',
        encoding="utf-8",
    )

    assert main(["once", "-q", "-c", str(config)]) == OK
    assert main(["topics", "test", "summit", "-c", str(config)]) == OK

    shown = capsys.readouterr().out
    assert f"* Putin and Trump agree on a summit  ({expected}, " in shown
    digest = json.loads(next((data / "digests").glob("*.json")).read_text(encoding="utf-8"))
    assert [item["source"] for item in digest["sections"][0]["items"]] == [expected]
    atom = (data / "atom" / "summit.xml").read_text(encoding="utf-8")
    assert f"<source><title>{expected}</title></source>" in atom
