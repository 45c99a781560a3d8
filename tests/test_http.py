"""monitor.http against real servers on 127.0.0.1; nothing here leaves 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from monitor.config import FetchSettings
from monitor.errors import (
    BlockedError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    TooLargeError,
)
from monitor.headers import parse_retry_after
from monitor.http import HttpClient, is_allowed_address
from monitor.models import ErrorClass, Response
from tests.servers import Handler, LoopbackHTTPServer, Reply, Request, gzip_bomb, raw_server

T = TypeVar("T")


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Settings that trust 127.0.0.1 and fail fast."""
    values: dict[str, Any] = {"allow_private": ["127.0.0.1"], "timeout": "5s", **overrides}
    return FetchSettings(**values)


def run(settings: FetchSettings, action: Callable[[HttpClient], Awaitable[T]]) -> T:
    """Run `action` with a fresh client inside a fresh event loop, closing both."""

    async def main() -> T:
        async with HttpClient(settings) as client:
            return await action(client)

    return asyncio.run(main())


def get(settings: FetchSettings, url: str, **kwargs: Any) -> Response:
    return run(settings, lambda client: client.get(url, **kwargs))


def get_from_raw(settings: FetchSettings, handle: Handler) -> Response:
    async def action(client: HttpClient) -> Response:
        async with raw_server(handle) as url:
            return await client.get(url)

    return run(settings, action)


# --- plain requests ------------------------------------------------------------------


def test_plain_get(http_server: LoopbackHTTPServer) -> None:
    """A 200 comes back with body, final URL, lower-cased headers, our UA and Accept-Encoding."""
    url = http_server.route("/feed", Reply(b"<rss/>", headers={"X-Thing": "1"}))
    response = get(fetch_settings(user_agent="tester/1"), url, accept="application/rss+xml")
    assert (response.status, response.body, response.url) == (200, b"<rss/>", url)
    assert response.headers["x-thing"] == "1"
    sent = http_server.requests[0].headers
    assert sent["user-agent"] == "tester/1"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["accept"] == "application/rss+xml"


def test_not_modified_with_validators(http_server: LoopbackHTTPServer) -> None:
    """If-None-Match and If-Modified-Since are sent and a 304 is returned, not raised."""
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"

    def answer(request: Request) -> Reply:
        fresh = request.headers.get("if-none-match") == '"v1"'
        fresh = fresh and request.headers.get("if-modified-since") == stamp
        return Reply(status=304, headers={"ETag": '"v1"'}) if fresh else Reply(b"full")

    url = http_server.route("/feed", Reply(dynamic=answer))
    response = get(fetch_settings(), url, etag='"v1"', last_modified=stamp)
    assert response.not_modified
    assert response.etag == '"v1"'
    assert response.body == b""


def test_connection_refused(closed_port: int) -> None:
    """Nothing listening on the port is a NetworkError carrying the URL."""
    url = f"http://127.0.0.1:{closed_port}/feed"
    with pytest.raises(NetworkError) as caught:
        get(fetch_settings(), url)
    assert caught.value.url == url


# --- decoding and caps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),
        ("gzip", lambda data: gzip.compress(data[:500]) + gzip.compress(data[500:])),
    ],
    ids=["gzip", "x-gzip", "stacked-gzip", "deflate-zlib", "deflate-raw", "gzip-two-members"],
)
def test_content_encoding_decoded(
    http_server: LoopbackHTTPServer, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    """gzip (one or more members, stacked) and deflate (zlib or raw) bodies come back decoded."""
    text = b"<rss>" + b"news " * 2000 + b"</rss>"
    url = http_server.route("/feed", Reply(encode(text), headers={"Content-Encoding": coding}))
    assert get(fetch_settings(), url).body == text


def test_unknown_encoding_refused(http_server: LoopbackHTTPServer) -> None:
    """A Content-Encoding we did not ask for is a FetchError, not garbage passed on."""
    url = http_server.route("/feed", Reply(b"\x00\x01", headers={"Content-Encoding": "br"}))
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        get(fetch_settings(), url)


def test_corrupt_gzip_refused(http_server: LoopbackHTTPServer) -> None:
    """A body that is not the gzip it claims to be is a FetchError."""
    url = http_server.route("/feed", Reply(b"not gzip", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="does not decode"):
        get(fetch_settings(), url)


@pytest.mark.parametrize("stacked", [False, True], ids=["gzip", "gzip-gzip"])
def test_gzip_bomb_cut_at_cap(http_server: LoopbackHTTPServer, stacked: bool) -> None:
    """50 MB of gzipped zeros stop at the 1 MB cap without ever being inflated in memory."""
    bomb, coding = (gzip.compress(gzip_bomb()), "gzip, gzip") if stacked else (gzip_bomb(), "gzip")
    url = http_server.route("/bomb", Reply(bomb, headers={"Content-Encoding": coding}))
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError) as caught:
            get(fetch_settings(max_bytes=1_000_000), url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.error_class is ErrorClass.TOO_LARGE
    assert peak < 4_000_000  # the 1 MB cap plus working buffers, far from 50 MB


def test_content_length_over_cap_refused_before_reading(
    http_server: LoopbackHTTPServer,
) -> None:
    """A declared length over the cap is refused at once (the body is never sent in full)."""
    headers = {"Content-Length": "999999999"}
    url = http_server.route("/big", Reply(b"0123456789", headers=headers))
    with pytest.raises(TooLargeError, match="999999999"):
        get(fetch_settings(max_bytes=1000, timeout="30s"), url)


def test_undeclared_body_over_cap() -> None:
    """A body without Content-Length is cut once it passes the cap."""

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 5000)
        await writer.drain()

    with pytest.raises(TooLargeError):
        get_from_raw(fetch_settings(max_bytes=1000), endless)


def test_trickling_server_cut_by_total_deadline() -> None:
    """A server sending one byte at a time never finishes, so the total deadline ends it."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:  # the server's own pace; the test itself never waits on a clock
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.02)

    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"0\.5 s") as caught:
        get_from_raw(fetch_settings(timeout="0.5s"), trickle)
    assert time.monotonic() - started < 5
    assert caught.value.error_class is ErrorClass.TIMEOUT


# --- redirects -----------------------------------------------------------------------


def test_redirect_followed(http_server: LoopbackHTTPServer) -> None:
    """A relative Location is resolved and the final URL is reported."""
    http_server.route("/old", Reply(status=301, headers={"Location": "/new?x=1"}))
    final = http_server.route("/new", Reply(b"moved here"))
    response = get(fetch_settings(), http_server.url("/old"))
    assert (response.body, response.url) == (b"moved here", final + "?x=1")


def test_redirect_loop_stops(http_server: LoopbackHTTPServer) -> None:
    """A redirect loop ends after max_redirects hops with a BlockedError saying so."""
    url = http_server.route("/loop", Reply(status=302, headers={"Location": "/loop"}))
    with pytest.raises(BlockedError, match="more than 3 redirects") as caught:
        get(fetch_settings(max_redirects=3), url)
    assert caught.value.url == url
    assert len(http_server.requests) == 4


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/", "http://10.1.2.3/", "http://[::ffff:127.0.0.2]:{port}/"]
)
def test_redirect_to_private_address_blocked(http_server: LoopbackHTTPServer, target: str) -> None:
    """Every hop is checked: a redirect to a non-allowed address is refused before connecting."""
    location = target.format(port=http_server.port)
    url = http_server.route("/r", Reply(status=302, headers={"Location": location}))
    with pytest.raises(BlockedError, match=r"fetch\.allow_private"):
        get(fetch_settings(), url)
    assert len(http_server.requests) == 1


def test_redirect_to_other_scheme_blocked(http_server: LoopbackHTTPServer) -> None:
    """A redirect to file: is refused like the same URL given directly."""
    url = http_server.route("/r", Reply(status=302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(BlockedError, match="scheme 'file'"):
        get(fetch_settings(), url)


# --- address policy end to end -------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_refused_without_allow(http_server: LoopbackHTTPServer, host: str) -> None:
    """Loopback, as a literal or as a name, is refused before any connection is made."""
    http_server.route("/feed", Reply(b"secret"))
    url = f"http://{host}:{http_server.port}/feed"
    with pytest.raises(BlockedError) as caught:
        get(fetch_settings(allow_private=[]), url)
    assert host in str(caught.value)
    assert "fetch.allow_private" in str(caught.value)
    assert caught.value.error_class is ErrorClass.BLOCKED
    assert http_server.requests == []


def test_allowed_by_name_through_resolver(http_server: LoopbackHTTPServer) -> None:
    """A host-name entry lets that name's private answers through the resolver."""
    http_server.route("/feed", Reply(b"ok"))
    url = f"http://localhost:{http_server.port}/feed"
    assert get(fetch_settings(allow_private=["localhost"]), url).body == b"ok"


def test_allowed_by_host_and_port(http_server: LoopbackHTTPServer) -> None:
    """A host:port entry allows that port only."""
    url = http_server.route("/feed", Reply(b"ok"))
    allowed = fetch_settings(allow_private=[f"127.0.0.1:{http_server.port}"])
    assert get(allowed, url).body == b"ok"
    other = fetch_settings(allow_private=[f"127.0.0.1:{http_server.port + 1}"])
    with pytest.raises(BlockedError):
        get(other, url)


def test_connect_time_check_backs_up_url_check(
    http_server: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if the URL check missed a literal, the socket factory refuses the address."""
    monkeypatch.setattr(HttpClient, "_check_url", lambda self, url: None)
    http_server.route("/feed", Reply(b"ok"))
    with pytest.raises(BlockedError, match=r"127\.0\.0\.2"):
        get(fetch_settings(), f"http://127.0.0.2:{http_server.port}/feed")
    assert http_server.requests == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "gopher://x/"])
def test_non_http_scheme_refused(url: str) -> None:
    """Only http and https are fetched."""
    with pytest.raises(BlockedError, match="is not fetched"):
        get(fetch_settings(), url)


def test_errors_do_not_leak_secrets(http_server: LoopbackHTTPServer) -> None:
    """Userinfo and secret-looking query values never reach an error message."""
    port = http_server.port
    with pytest.raises(BlockedError) as blocked:
        get(fetch_settings(allow_private=[]), f"http://bob:hunter2@127.0.0.1:{port}/?token=abc123")
    http_server.route("/gone", Reply(status=410))
    with pytest.raises(HTTPStatusError) as status:
        get(fetch_settings(), f"http://bob:hunter2@127.0.0.1:{port}/gone?api_key=abc123&page=2")
    for error in (blocked.value, status.value):
        assert "hunter2" not in str(error) and "abc123" not in str(error)
        assert "bob" not in str(error)
    assert "page=2" in str(status.value)


# --- status errors -------------------------------------------------------------------


def test_server_error_raises_status(http_server: LoopbackHTTPServer) -> None:
    """A 500 raises HTTPStatusError carrying the status and no Retry-After."""
    url = http_server.route("/feed", Reply(b"oops", status=500))
    with pytest.raises(HTTPStatusError) as caught:
        get(fetch_settings(), url)
    assert (caught.value.status, caught.value.retry_after) == (500, None)
    assert caught.value.error_class is ErrorClass.HTTP


def test_rate_limited_with_retry_after(http_server: LoopbackHTTPServer) -> None:
    """A 429 raises with the Retry-After seconds parsed."""
    url = http_server.route("/feed", Reply(status=429, headers={"Retry-After": "120"}))
    with pytest.raises(HTTPStatusError) as caught:
        get(fetch_settings(), url)
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)
    assert caught.value.error_class is ErrorClass.RATE_LIMITED


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 01 Jan 2025 00:02:00 GMT", 120.0),
        ("Tue, 31 Dec 2024 23:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Retry-After is read as delta-seconds or as an HTTP-date relative to now."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(value, now) == seconds


# --- post ----------------------------------------------------------------------------


def post(settings: FetchSettings, url: str, body: bytes) -> Response:
    headers = {"Content-Type": "application/json", "X-Signature": "sig"}
    return run(settings, lambda client: client.post(url, body, headers, timeout=2))


def test_post_returns_client_error(http_server: LoopbackHTTPServer) -> None:
    """post() hands back a 4xx Response for the caller to judge, after sending body and headers."""
    url = http_server.route("/hook", Reply(b"bad signature", status=401))
    response = post(fetch_settings(), url, b'{"a": 1}')
    assert (response.status, response.body) == (401, b"bad signature")
    sent = http_server.requests[0]
    assert (sent.method, sent.body) == ("POST", b'{"a": 1}')
    assert sent.headers["x-signature"] == "sig"


def test_post_does_not_follow_redirects(http_server: LoopbackHTTPServer) -> None:
    """post() returns a redirect as it is, without a second request."""
    http_server.route("/elsewhere", Reply(b"nope"))
    url = http_server.route("/hook", Reply(status=302, headers={"Location": "/elsewhere"}))
    response = post(fetch_settings(), url, b"{}")
    assert response.status == 302
    assert response.headers["location"] == "/elsewhere"
    assert len(http_server.requests) == 1


def test_post_follows_address_policy(http_server: LoopbackHTTPServer) -> None:
    """post() refuses private addresses like get() does."""
    url = http_server.route("/hook", Reply(b"ok"))
    with pytest.raises(BlockedError):
        post(fetch_settings(allow_private=[]), url, b"{}")
    assert http_server.requests == []


# --- is_allowed_address --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("::ffff:93.184.216.34", True),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("127.0.0.1", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
    ],
)
def test_is_allowed_address_public_only(address: str, allowed: bool) -> None:
    """Without allow entries only public addresses pass, whatever form they are written in."""
    ip = ipaddress.ip_address(address)
    assert is_allowed_address(ip, 80, address, []) is allowed


@pytest.mark.parametrize(
    ("address", "port", "host", "entries", "allowed"),
    [
        ("127.0.0.1", 80, "127.0.0.1", ["127.0.0.1"], True),
        ("127.0.0.1", 80, "localhost", ["localhost"], True),
        ("127.0.0.1", 80, "LOCALHOST.", ["localhost"], True),
        ("10.1.2.3", 443, "feeds.internal", ["feeds.internal"], True),
        ("10.1.2.3", 443, "other.internal", ["feeds.internal"], False),
        ("127.0.0.1", 8080, "127.0.0.1", ["127.0.0.1:8080"], True),
        ("127.0.0.1", 8081, "127.0.0.1", ["127.0.0.1:8080"], False),
        ("10.1.2.3", 8443, "feeds.internal", ["feeds.internal:8443"], True),
        ("::1", 8080, "::1", ["[::1]:8080"], True),
        ("::1", 9090, "::1", ["[::1]:8080"], False),
        ("::1", 80, "::1", ["::1"], True),
        ("10.9.8.7", 80, "x.lan", ["10.0.0.0/8"], True),
        ("11.0.0.1", 80, "x.lan", ["10.0.0.0/8"], True),  # public anyway
        ("192.168.0.1", 80, "x.lan", ["10.0.0.0/8"], False),
        ("fd00::5", 80, "x.lan", ["fd00::/8"], True),
        ("::ffff:10.0.0.1", 80, "x.lan", ["10.0.0.0/8"], True),
        ("127.0.0.2", 80, "127.0.0.2", ["127.0.0.1"], False),
        ("127.0.0.1", 80, "127.0.0.1", ["not a cidr/99", "host:notaport"], False),
    ],
)
def test_is_allowed_address_entries(
    address: str, port: int, host: str, entries: list[str], allowed: bool
) -> None:
    """allow_private entries match exact hosts, host:port pairs and CIDRs, nothing wider."""
    ip = ipaddress.ip_address(address)
    assert is_allowed_address(ip, port, host, entries) is allowed


# --- every refused address form, against a server that would answer ------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",  # loopback literal
        "localhost",  # loopback by name (the resolver refuses its answers)
        "LocalHost",  # mixed case
        "127.1",  # short dotted form (inet_aton)
        "2130706433",  # decimal
        "0x7f000001",  # hexadecimal
        "0177.0.0.1",  # octal
        "0.0.0.0",  # unspecified: Linux connects it to loopback
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:7f00:1]",  # IPv4-mapped, hex
        "[0:0:0:0:0:ffff:127.0.0.1]",  # IPv4-mapped, long form
        "[::1]",  # IPv6 loopback
        "[::]",  # IPv6 unspecified
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "user:pass@127.0.0.1",  # userinfo in front of a loopback host
    ],
)
def test_refused_address_forms_never_reach_the_server(
    refused_server: LoopbackHTTPServer, host: str
) -> None:
    """Each way of writing a non-public address is refused before connecting: zero hits."""
    refused_server.reset()
    refused_server.route("/feed", Reply(b"internal"))
    # allow only a port nothing listens on: loopback is reachable, but not allowed
    settings = fetch_settings(allow_private=["127.0.0.1:1"])
    with pytest.raises(BlockedError) as caught:
        get(settings, f"http://{host}:{refused_server.port}/feed")
    assert caught.value.error_class is ErrorClass.BLOCKED
    assert "pass@" not in str(caught.value)
    assert refused_server.requests == []


def test_refused_server_is_reachable_when_allowed(refused_server: LoopbackHTTPServer) -> None:
    """The control for the test above: allowed, the same server answers (one hit)."""
    refused_server.reset()
    refused_server.route("/feed", Reply(b"internal"))
    settings = fetch_settings(allow_private=[f"127.0.0.1:{refused_server.port}"])
    assert get(settings, f"http://127.0.0.1:{refused_server.port}/feed").body == b"internal"
    assert len(refused_server.requests) == 1


@pytest.mark.parametrize(
    "address",
    [
        "100.127.255.254",  # CGNAT, top
        "192.0.0.1",  # IETF protocol assignments
        "192.0.2.1",  # TEST-NET-1
        "198.18.0.1",  # benchmarking
        "198.51.100.1",  # TEST-NET-2
        "203.0.113.1",  # TEST-NET-3
        "239.255.255.250",  # multicast (SSDP)
        "::ffff:169.254.169.254",  # mapped link-local (cloud metadata)
        "::ffff:100.64.0.1",  # mapped CGNAT
        "::ffff:224.0.0.1",  # mapped multicast
        "::ffff:240.0.0.1",  # mapped reserved
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "2001:db8::1",  # documentation
        "100::1",  # discard-only
        "2002:a9fe:a9fe::",  # 6to4 of link-local
        "fe80::1%1",  # scoped link-local
    ],
)
def test_more_non_public_forms_refused(address: str) -> None:
    """CGNAT, test nets, multicast and mapped/6to4 forms of them are not public."""
    ip = ipaddress.ip_address(address)
    assert is_allowed_address(ip, 80, address, []) is False
