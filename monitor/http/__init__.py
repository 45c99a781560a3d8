"""The one HTTP client of news-monitor: aiohttp lives in this package and nowhere else.

client.py   HttpClient: deadlines, redirects checked hop by hop, errors translated
policy.py   the address policy and the resolver / socket checks enforcing it
decode.py   bounded decoding of (possibly stacked) gzip/deflate bodies
"""

from monitor.http.client import HttpClient
from monitor.http.policy import is_allowed_address

__all__ = ["HttpClient", "is_allowed_address"]
