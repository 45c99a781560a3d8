"""Finding the feed behind a URL a user gives: the feed itself, or a page that advertises one.

`feeds add URL` uses this: fetch the URL; if it parses as a feed, that is it;
if it is an HTML page, take the first feed it advertises (site feeds before
comment feeds); otherwise try the common feed paths of the site.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config import FetchSettings
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.feeds import parse_feed
from monitor.http import HttpClient
from monitor.models import Entry
from monitor.sources.autodiscovery import candidates, discover


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str
    title: str | None
    how: str  # "direct", "advertised" or "common path"
    entries: tuple[Entry, ...] = ()  # what the feed holds now


class NoFeedFound(MonitorError):
    hint = "give the feed's own URL, or a page that links to it"


async def find_feed(http: HttpClient, url: str) -> FoundFeed:
    """The feed at or behind `url`; raises NoFeedFound (or a FetchError for the URL itself)."""
    response = await http.get(url)
    try:
        parsed = parse_feed(response.body, url=response.url, headers=response.headers)
        return FoundFeed(response.url, parsed.title, "direct", tuple(parsed.entries))
    except ParseError:
        pass
    html = response.body.decode("utf-8", errors="replace")
    advertised = [(a.url, "advertised") for a in discover(html, response.url)]
    tried = [(c, "common path") for c in candidates(response.url)]
    for candidate, how in advertised + tried:
        try:
            answer = await http.get(candidate)
            parsed = parse_feed(answer.body, url=answer.url, headers=answer.headers)
        except (FetchError, ParseError):
            continue
        return FoundFeed(answer.url, parsed.title, how, tuple(parsed.entries))
    raise NoFeedFound(f"no feed found at or linked from {response.url}")


async def find_feed_at(settings: FetchSettings, url: str) -> FoundFeed:
    """find_feed with a client of its own, for one-shot commands."""
    async with HttpClient(settings) as http:
        return await find_feed(http, url)
