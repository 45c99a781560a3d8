"""How a source is named to the reader, the same everywhere: digests, Atom, `topics test`.

The feed's name from the config, else the title the feed (or page) gives its
site, else the host of its address.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def source_name(feed_name: str | None, site_title: str | None, url: str) -> str:
    """'Example World' (configured), else 'Example News' (the site's title), else 'example.org'."""
    for candidate in (feed_name, site_title):
        text = " ".join((candidate or "").split())
        if text:
            return text
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return host or url
