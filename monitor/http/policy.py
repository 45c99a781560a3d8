"""The address policy: which addresses may be connected to, and the resolver that enforces it.

Only public addresses pass, unless `fetch.allow_private` lists the exact host, host:port or
a CIDR. Loopback, private, link-local, CGNAT, multicast, reserved and unspecified addresses
are refused, and so are IPv6 forms that lead to them (IPv4-mapped, 6to4, NAT64).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Sequence
from typing import NamedTuple

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import AddrInfoType

from monitor.errors import BlockedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_VERDICTS = 4096  # (address, port, host) verdicts remembered: more than most configs' sites
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


class Refused(OSError):
    """Raised by the resolver or the socket factory; aiohttp wraps it in a connector error."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        super().__init__(f"{host} leads only to non-public addresses {addresses}")
        self.host = host
        self.addresses = addresses


class Policy:
    """One client's address policy, applied by the URL check, the resolver and the socket factory.

    Private addresses it approved (they matched allow_private, possibly by host name) are
    remembered, so the socket factory, which sees only the address, can let them through.
    """

    def __init__(self, allow_private: Sequence[str]) -> None:
        self._allow = tuple(allow_private)
        self._approved: set[tuple[IPAddress, int]] = set()  # bounded by the allow list
        # verdicts so far: every feed of a site asks the same question each cycle, and
        # ipaddress's classification walks its lists of special networks each time
        self._verdicts: dict[tuple[IPAddress, int, str], bool] = {}

    def allows(self, ip: IPAddress, port: int, host: str) -> bool:
        verdict = self._verdicts.get((ip, port, host))
        if verdict is None:
            verdict = self._judge(ip, port, host)
            if len(self._verdicts) >= _VERDICTS:  # a crawl of many hosts: start over
                self._verdicts.clear()
            self._verdicts[ip, port, host] = verdict
        return verdict

    def _judge(self, ip: IPAddress, port: int, host: str) -> bool:
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
            raise Refused(str(ip), [str(ip)])
        return socket.socket(family, kind, proto)


class PolicyResolver(AbstractResolver):
    """The default resolver, minus the answers the address policy refuses."""

    def __init__(self, policy: Policy) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        allows = self._policy.allows
        kept = [a for a in answers if allows(ipaddress.ip_address(a["host"]), port, host)]
        if not kept:
            raise Refused(host, [a["host"] for a in answers])
        return kept

    async def close(self) -> None:
        await self._inner.close()


def blocked(host: str, address: str, url: str) -> BlockedError:
    message = f"refused non-public address {address} of host {host}"
    return BlockedError(message, url=url, hint=_ALLOW_HINT.format(host=host))
