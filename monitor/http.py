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
import functools
import ipaddress
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import AddrInfoType
from yarl import URL

from monitor.config import FetchSettings
from monitor.errors import (
    BlockedError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    TooLargeError,
)
from monitor.models import Response

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_STEP = 64 * 1024  # bytes read from the socket, and produced by one zlib call, at a time
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ALLOW_HINT = "only public addresses are fetched; add {host!r} to fetch.allow_private if trusted"


def is_allowed_address(ip: IPAddress, port: int, host: str, allow_private: Sequence[str]) -> bool:
    """Whether we may connect to `ip`:`port`, reached through the URL host `host`."""
    if _is_public(ip):
        return True
    return any(_entry_allows(_parse_entry(entry), ip, port, host) for entry in allow_private)


def _is_public(ip: IPAddress) -> bool:
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if inner is not None:  # ::ffff:10.0.0.1 reaches 10.0.0.1: judge what is reached
        return _is_public(inner)
    # is_global alone lets multicast through, and site-local fec0::/10 is in no list.
    special = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
    special = special or ip.is_reserved or ip.is_unspecified
    special = special or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    return ip.is_global and not special


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 address leads to."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class _Entry(NamedTuple):
    network: IPNetwork | None  # a CIDR entry
    host: str  # a host name or address entry, normalised; "" for CIDRs and bad entries
    port: int | None  # from a host:port entry


@functools.lru_cache(maxsize=256)
def _parse_entry(entry: str) -> _Entry:
    """'10.0.0.0/8', 'feeds.internal', '127.0.0.1:8080' or '[::1]:8080'."""
    text = entry.strip().lower()
    try:
        if "/" in text:
            return _Entry(ipaddress.ip_network(text, strict=False), "", None)
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            return _Entry(None, host, int(rest[1:]) if rest.startswith(":") else None)
        if text.count(":") == 1:  # more than one colon is a bare IPv6 address
            host, _, port = text.partition(":")
            return _Entry(None, _normal_host(host), int(port))
    except ValueError:
        return _Entry(None, "", None)  # a malformed entry allows nothing, rather than crash a poll
    return _Entry(None, _normal_host(text), None)


def _entry_allows(entry: _Entry, ip: IPAddress, port: int, host: str) -> bool:
    reached = {ip}
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if inner is not None:
        reached.add(inner)
    if entry.network is not None:
        return any(address in entry.network for address in reached)
    if not entry.host or (entry.port is not None and entry.port != port):
        return False
    if entry.host == _normal_host(host):
        return True
    try:
        return ipaddress.ip_address(entry.host) in reached
    except ValueError:
        return False


def _normal_host(host: str) -> str:
    return host.strip().lower().strip("[]").rstrip(".")


class _Refused(OSError):
    """Raised by the resolver or the socket factory; aiohttp wraps it in a connector error."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        super().__init__(f"{host} leads only to non-public addresses {addresses}")
        self.host = host
        self.addresses = addresses


class _Policy:
    """One client's address policy, applied by the URL check, the resolver and the socket factory.

    Private addresses it approved (they matched allow_private, possibly by host name) are
    remembered, so the socket factory, which sees only the address, can let them through.
    """

    def __init__(self, allow_private: Sequence[str]) -> None:
        self._allow = tuple(allow_private)
        self._approved: set[tuple[IPAddress, int]] = set()  # bounded by the allow list

    def allows(self, ip: IPAddress, port: int, host: str) -> bool:
        if not is_allowed_address(ip, port, host, self._allow):
            return False
        if not _is_public(ip):
            self._approved.add((ip, port))
        return True

    def socket_for(self, addr_info: AddrInfoType) -> socket.socket:
        """aiohttp's socket factory: the last check, on the address about to be connected."""
        family, kind, proto, _, sockaddr = addr_info
        ip, port = ipaddress.ip_address(sockaddr[0]), int(sockaddr[1])
        if not (_is_public(ip) or (ip, port) in self._approved):
            raise _Refused(str(ip), [str(ip)])
        return socket.socket(family, kind, proto)


class _PolicyResolver(AbstractResolver):
    """The default resolver, minus the answers the address policy refuses."""

    def __init__(self, policy: _Policy) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        allows = self._policy.allows
        kept = [a for a in answers if allows(ipaddress.ip_address(a["host"]), port, host)]
        if not kept:
            raise _Refused(host, [a["host"] for a in answers])
        return kept

    async def close(self) -> None:
        await self._inner.close()


def _blocked(host: str, address: str, url: str) -> BlockedError:
    message = f"refused non-public address {address} of host {host}"
    return BlockedError(message, url=url, hint=_ALLOW_HINT.format(host=host))


class _Layer:
    """One Content-Encoding (gzip or deflate) undone in steps of at most _STEP bytes."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding == "gzip"
        self._inflater: zlib._Decompress | None = None
        self._head = b""  # the first byte of a stream, until a second says which kind it is
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        data, self._head = self._head + data, b""
        while data and not self._done:
            if self._inflater is None:
                if len(data) < 2:
                    self._head = data
                    return
                self._inflater = self._start(data)
            # max_length bounds each output; what zlib could not take waits in unconsumed_tail.
            out = self._inflater.decompress(data, _STEP)
            if out:
                yield out
            if self._inflater.eof:  # gzip may hold several members back to back
                data, self._inflater = self._inflater.unused_data, None
                self._done = not self._gzip
            else:
                data = self._inflater.unconsumed_tail

    def flush(self) -> bytes:
        # Only zlib's pending state is left (our loop passed all input): well under _STEP.
        return self._inflater.flush() if self._inflater is not None else b""

    def _start(self, head: bytes) -> zlib._Decompress:
        if self._gzip:  # a member; what follows one must be another (zlib says if not)
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the RFC, but some servers send it raw.
        wrapped = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


class _Decoder:
    """Raw body chunks in, decoded bytes out; TooLargeError once past the cap."""

    def __init__(self, codings: list[str], cap: int, url: str) -> None:
        self._layers = [_Layer(coding) for coding in reversed(codings)]  # last applied first
        self._cap = cap
        self._url = url
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        self._push(0, data)

    def finish(self) -> bytes:
        for level, layer in enumerate(self._layers):
            self._push(level + 1, layer.flush())
        return b"".join(self._parts)

    def _push(self, level: int, data: bytes) -> None:
        if level < len(self._layers):
            for piece in self._layers[level].feed(data):
                self._push(level + 1, piece)
            return
        self._size += len(data)
        if self._size > self._cap:
            raise TooLargeError(f"body larger than {self._cap} bytes decoded", url=self._url)
        self._parts.append(data)


def _content_codings(header: str, url: str) -> list[str]:
    codings = [c.strip().lower() for c in header.split(",")]
    codings = ["gzip" if c == "x-gzip" else c for c in codings if c and c != "identity"]
    for coding in codings:
        if coding not in ("gzip", "deflate"):
            hint = "the server ignored our Accept-Encoding: gzip, deflate"
            raise FetchError(f"unsupported Content-Encoding {coding!r}", url=url, hint=hint)
    return codings


async def _read_body(resp: aiohttp.ClientResponse, cap: int, url: str) -> bytes:
    header = resp.headers.get("Content-Encoding", "")
    codings = _content_codings(header, url)
    if not codings and resp.content_length is not None and resp.content_length > cap:
        message = f"body of {resp.content_length} bytes is over the cap of {cap}"
        raise TooLargeError(message, url=url)
    decoder = _Decoder(codings, cap, url)
    try:
        async for chunk in resp.content.iter_chunked(_STEP):
            decoder.feed(chunk)
        return decoder.finish()
    except zlib.error as exc:
        hint = "the server sent a corrupt compressed body"
        raise FetchError(f"body does not decode as {header}", url=url, hint=hint) from exc


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


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
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, _Refused):
        refused = exc.os_error
        return _blocked(refused.host, ", ".join(refused.addresses), url)
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
        self._policy = _Policy(settings.allow_private)
        self._timeout = settings.timeout.total_seconds()
        self._session: aiohttp.ClientSession | None = None
        self._resolver: _PolicyResolver | None = None

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
        body = await _read_body(resp, self._settings.max_bytes, url)
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
            raise _blocked(host, str(ip), url)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            settings = self._settings
            connect = settings.connect_timeout.total_seconds()
            self._resolver = _PolicyResolver(self._policy)
            connector = aiohttp.TCPConnector(
                limit=settings.max_connections,
                limit_per_host=settings.max_per_host,
                resolver=self._resolver,
                socket_factory=self._policy.socket_for,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no proxies from the environment
                auto_decompress=False,  # we decode, bounded (see _Decoder)
                cookie_jar=aiohttp.DummyCookieJar(),  # no cookies carried between feeds
                headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect),  # see _within
            )
        return self._session
