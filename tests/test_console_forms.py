"""The console's forms without a browser: a bad topic is not saved; a site's feed is found."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import ClientSession

from tests.console_session import PASSWORD, console_config, login_token, run_console
from tests.scenario import seed_feed
from tests.servers import LoopbackHTTPServer, Reply


async def _log_in(client: ClientSession, base: str) -> str:
    """Log in; return the session's CSRF token, read from a page."""
    token = await login_token(client, base)
    form = {"csrf": token, "password": PASSWORD}
    async with client.post(f"{base}/console/login", data=form) as response:
        found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert found is not None
    return found.group(1)


def test_a_topic_with_problems_is_not_saved(tmp_path: Path) -> None:
    """A query that does not parse or a schedule that is wrong: shown, and the file untouched."""
    config = console_config(tmp_path, password=True)
    before = config.read_text(encoding="utf-8")

    async def scenario(client: ClientSession, base: str) -> None:
        csrf = await _log_in(client, base)
        form = {"csrf": csrf, "name": "summit", "query": "(Putin AND summit", "schedule": ""}
        async with client.post(f"{base}/console/topics/save", data=form) as response:
            assert response.status == 422
            assert "topics[0].query" in await response.text()
        form = {"csrf": csrf, "name": "summit", "query": "Putin", "schedule": "every banana"}
        async with client.post(f"{base}/console/topics/save", data=form) as response:
            assert response.status == 422
            assert "topics[0].schedule" in await response.text()

    run_console(config, scenario)
    assert config.read_text(encoding="utf-8") == before


def test_adding_a_site_finds_its_feed(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    """Given a web page, the console adds the feed it advertises to the config file."""
    feed_url = http_server.route("/news/feed.xml", Reply(seed_feed(http_server)))
    page = '<html><head><link rel="alternate" type="application/rss+xml" href="/news/feed.xml">'
    http_server.route("/news/", Reply(page.encode(), headers={"Content-Type": "text/html"}))
    config = console_config(tmp_path, password=True)
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[fetch]\nallow_private = ["127.0.0.1"]\n',
        encoding="utf-8",
    )

    async def scenario(client: ClientSession, base: str) -> None:
        csrf = await _log_in(client, base)
        form = {"csrf": csrf, "url": f"{http_server.base}/news/", "name": ""}
        async with client.post(f"{base}/console/feeds/add", data=form) as response:
            text = await response.text()
            assert "advertised) added" in text
        async with client.get(f"{base}/console/feeds") as response:
            assert feed_url in await response.text()  # applied without restart

    run_console(config, scenario)
    assert f'url = "{feed_url}"' in config.read_text(encoding="utf-8")
