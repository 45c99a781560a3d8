"""The one HTTP client of news-monitor: aiohttp lives here and nowhere else.

Every request goes through the same guards, in this order:

1. the URL: http or https only, and an IP-literal host must pass the address
   policy (aiohttp does not ask the resolver about literals);
2. the resolver: answers that are not public (or listed in fetch.allow_private)
   are dropped before aiohttp can connect to them;
3. the socket: the address about to be connected to is checked once more
   (aiohttp's socket_factory hook), whatever path led aiohttp to it;
4. the body: read in chunks, decoded here with bounded zlib steps, cut at
   fetch.max_bytes of *decoded* bytes;
5. the deadline: fetch.timeout covers connecting, every redirect hop and the
   whole body, so a server trickling one byte a second is still cut off.

aiohttp and OS errors are translated into monitor.errors at this edge.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiohttp
from yarl import URL

from monitor.config import FetchSettings
from monitor.errors import (
    BlockedError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
)
from monitor.headers import parse_retry_after
from monitor.http.decompress import read_body
from monitor.http.policy import Policy, PolicyResolver, Refused, blocked
from monitor.models import Response

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _lower_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _redirect_target(resp: aiohttp.ClientResponse, url: str) -> str | None:
    location = resp.headers.get("Location")
    if resp.status not in _REDIRECTS or not location:
        return None
    # Only get() follows, so the 301/302/303 "POST becomes GET" rule never has work to do.
    try:
        return str(URL(url).join(URL(location)))
    except ValueError:
        hint = "the server sent a malformed Location header"
        raise BlockedError("bad redirect target", url=url, hint=hint) from None


def _status_error(resp: aiohttp.ClientResponse, url: str) -> HTTPStatusError:
    retry = parse_retry_after(resp.headers.get("Retry-After"), datetime.now(UTC))
    return HTTPStatusError(resp.status, url=url, retry_after=retry)


def _translate(exc: Exception, url: str) -> FetchError:
    """One aiohttp or OS error as ours."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, Refused):
        refused = exc.os_error
        return blocked(refused.host, ", ".join(refused.addresses), url)
    if isinstance(exc, TimeoutError):
        return FetchTimeout("could not connect in time (fetch.connect_timeout)", url=url)
    if isinstance(exc, aiohttp.InvalidURL):
        return BlockedError("not a valid URL", url=url, hint="check the URL")
    if isinstance(exc, aiohttp.ClientSSLError):
        return NetworkError(f"TLS error ({exc.os_error})", url=url)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return NetworkError("DNS lookup failed", url=url, hint="check the host name")
    detail = getattr(exc, "strerror", None) or type(exc).__name__
    return NetworkError(f"connection failed: {detail}", url=url)


class HttpClient:
    """One aiohttp session for the whole service, created lazily inside the running loop."""

    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._policy = Policy(settings.allow_private)
        self._timeout = settings.timeout.total_seconds()
        self._session: aiohttp.ClientSession | None = None
        self._resolver: PolicyResolver | None = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None:
            await self._resolver.close()  # the connector only closes resolvers it made
            self._resolver = None

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> Response:
        """GET with redirects followed (each hop checked); 304 returned; >= 400 raised."""
        wanted = {"If-None-Match": etag, "If-Modified-Since": last_modified, "Accept": accept}
        headers = {name: value for name, value in wanted.items() if value}
        return await self._within(self._timeout, url, self._follow(url, headers))

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float | None = None
    ) -> Response:
        """POST without following redirects; the Response comes back whatever its status."""
        seconds = self._timeout if timeout is None else timeout
        return await self._within(seconds, url, self._post(url, body, dict(headers)))

    async def _follow(self, url: str, headers: dict[str, str]) -> Response:
        start = url
        for _hop in range(self._settings.max_redirects + 1):
            async with self._open("GET", url, headers) as resp:
                target = _redirect_target(resp, url)
                if target is None:
                    if resp.status >= 400:
                        raise _status_error(resp, url)
                    return await self._response(resp, url)
            url = target
        message = f"more than {self._settings.max_redirects} redirects (fetch.max_redirects)"
        hint = "the server redirects in a loop or too often; use the final URL"
        raise BlockedError(message, url=start, hint=hint)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        async with self._open("POST", url, headers, body) as resp:
            return await self._response(resp, url)

    async def _response(self, resp: aiohttp.ClientResponse, url: str) -> Response:
        body = await read_body(resp, self._settings.max_bytes, url)
        return Response(url=url, status=resp.status, headers=_lower_headers(resp), body=body)

    async def _within(self, seconds: float, url: str, work: Awaitable[Response]) -> Response:
        try:
            async with asyncio.timeout(seconds):
                return await work
        except TimeoutError:
            message = f"no complete answer within {seconds:g} s (fetch.timeout)"
            raise FetchTimeout(message, url=url) from None

    @asynccontextmanager
    async def _open(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """One request, no redirects followed, with aiohttp's errors translated."""
        self._check_url(url)
        session = self._client()
        try:
            async with session.request(
                method, url, headers=headers, data=body, allow_redirects=False
            ) as resp:
                yield resp
        except (aiohttp.ClientError, OSError) as exc:
            # InvalidURL's own text repeats the URL, secrets included: do not chain it.
            cause = None if isinstance(exc, aiohttp.InvalidURL) else exc
            raise _translate(exc, url) from cause

    def _check_url(self, url: str) -> None:
        """Scheme, and IP-literal hosts: aiohttp connects to literals without the resolver."""
        try:
            parsed = URL(url)
            host, port = parsed.host, parsed.port
        except ValueError:
            raise BlockedError("not a valid URL", url=url, hint="check the URL") from None
        if parsed.scheme not in ("http", "https"):
            hint = "only http and https URLs are fetched"
            raise BlockedError(f"scheme {parsed.scheme!r} is not fetched", url=url, hint=hint)
        if not host or port is None:
            raise BlockedError("no host in URL", url=url, hint="check the URL")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: the resolver judges its answers
        if not self._policy.allows(ip, port, host):
            raise blocked(host, str(ip), url)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            settings = self._settings
            connect = settings.connect_timeout.total_seconds()
            self._resolver = PolicyResolver(self._policy)
            connector = aiohttp.TCPConnector(
                limit=settings.max_connections,
                limit_per_host=settings.max_per_host,
                resolver=self._resolver,
                socket_factory=self._policy.socket_for,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no proxies from the environment
                auto_decompress=False,  # we decode, bounded (see decode.py)
                cookie_jar=aiohttp.DummyCookieJar(),  # no cookies carried between feeds
                headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect),  # see _within
            )
        return self._session
