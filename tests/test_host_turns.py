"""Feeds of one site wait for that site's connections without holding up other sites."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.urls import host_and_port
from tests.scenario import run_once, write_config
from tests.servers import LoopbackHTTPServer, Reply, Request

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Site</title>
<item><title>Weather for the weekend</title><link>http://127.0.0.1/weather</link></item>
</channel></rss>"""


@pytest.fixture
def other_site() -> Iterator[LoopbackHTTPServer]:
    server = LoopbackHTTPServer()  # another port: another host to the HTTP client
    yield server
    server.close()


def test_many_feeds_of_one_site_do_not_hold_up_another_site(
    tmp_path: Path,
    http_server: LoopbackHTTPServer,
    other_site: LoopbackHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twelve feeds on one site, one on another; two feeds at once in all, one connection a
    site. The busy site answers only once the other site has been asked: the other site's
    feed must get its place while the busy site's feeds queue for their one connection."""
    monkeypatch.setenv("MONITOR_FETCH__MAX_CONNECTIONS", "2")
    monkeypatch.setenv("MONITOR_FETCH__MAX_PER_HOST", "1")
    other_asked = threading.Event()
    events: list[str] = []

    def busy(request: Request) -> Reply:
        other_asked.wait(5)  # the fetch times out first (2 s) if the other site never is
        events.append("busy site answers")
        return Reply(FEED, headers={"Content-Type": "application/rss+xml"})

    def other(request: Request) -> Reply:
        events.append("other site asked")
        other_asked.set()
        return Reply(FEED, headers={"Content-Type": "application/rss+xml"})

    busy_feeds = [http_server.route(f"/feed{i}.rss", Reply(dynamic=busy)) for i in range(12)]
    other_feed = other_site.route("/feed.rss", Reply(dynamic=other))
    report = run_once(write_config(tmp_path, feeds=[*busy_feeds, other_feed]))

    assert [p.url for p in report.polls if p.error] == []
    assert events[0] == "other site asked"
    assert events.count("busy site answers") == 12


def test_a_host_is_its_name_and_port() -> None:
    assert host_and_port("http://Example.org/feed") == ("example.org", 80)
    assert host_and_port("https://example.org./feed") == ("example.org", 443)
    assert host_and_port("http://example.org:8080/a") == host_and_port("http://EXAMPLE.org:8080/b")
    assert host_and_port("http://example.org:8080/a") != host_and_port("http://example.org:8081/a")
    assert host_and_port("http://example.org:port/a") == ("example.org", 0)  # the fetch reports it
