"""URL normalisation shared by entry identity and story matching (pure, no I/O)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader; removing them never changes the page.
_TRACKING = re.compile(
    r"^(utm_[a-z0-9_]*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|"
    r"_hsenc|_hsmi|mkt_tok|igshid|ocid|cmpid|ncid|sr_share|rss|feed|at_medium|at_campaign|"
    r"__twitter_impression|ref_src|ref_url)$",
    re.IGNORECASE,
)


def canonical_url(url: str) -> str:
    """The URL without tracking parameters, fragment, default port or case noise in the host.

    Remaining query parameters are sorted so that reordering them does not
    change the identity. A trailing slash on the path is kept: sites differ.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and not (
        (scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def host_and_port(url: str) -> tuple[str, int]:
    """Where a URL is fetched from: its host (lower case, no trailing dot) and port (the
    scheme's default when none is written, 0 when the port is not a number)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        return host, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return host, 0
