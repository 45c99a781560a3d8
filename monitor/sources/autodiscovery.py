"""Feed autodiscovery: which feeds does a web page advertise? (pure, no I/O)

Reads `<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">`
from the page's HTML; the site's own feeds come before comment feeds. When a
page advertises nothing, `COMMON_PATHS` are the places worth trying.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
    "application/rdf+xml": "rdf",
}
COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json")


@dataclass(frozen=True, slots=True)
class Advertised:
    url: str
    title: str | None
    kind: str  # rss, atom, json, rdf


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v for k, v in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        if tag == "link":
            self.links.append(values)


def discover(html: str, page_url: str) -> list[Advertised]:
    """The feeds the page advertises, absolute, site feeds first, comment feeds last."""
    collector = _LinkCollector()
    collector.feed(html)
    base = urljoin(page_url, collector.base) if collector.base else page_url
    found: dict[str, Advertised] = {}
    for link in collector.links:
        rels = (link.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((link.get("type") or "").split(";")[0].strip().lower())
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or kind is None or not href:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https"):
            found.setdefault(url, Advertised(url, link.get("title"), kind))
    return sorted(found.values(), key=lambda feed: _is_comment_feed(feed))


def _is_comment_feed(feed: Advertised) -> bool:
    text = f"{feed.title or ''} {feed.url}".lower()
    return "comment" in text


def candidates(page_url: str) -> list[str]:
    """Common feed locations on the page's site, to try when it advertises none."""
    parts = urlsplit(page_url)
    return [f"{parts.scheme}://{parts.netloc}{path}" for path in COMMON_PATHS]
