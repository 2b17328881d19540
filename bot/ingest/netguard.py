"""Refuse connections to addresses a feed URL must never reach.

A feed URL comes from an admin or a user, and every redirect hop comes from a
remote server, so any of them may point at the bot's own machine or its
private network (SSRF). IP literals are checked before a request is made;
host names are checked on the addresses they resolve to, inside the
connector, so a name that resolves to a public address when checked and a
private one when used (DNS rebinding) cannot get through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# `is_global` misses these on some Python versions, and they are cheap to
# state outright: shared address space (CGNAT), IETF protocol assignments,
# "this network" and benchmarking.
_ALWAYS_BLOCKED: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv4Network("100.64.0.0/10"),
    ipaddress.IPv4Network("192.0.0.0/24"),
    ipaddress.IPv4Network("198.18.0.0/15"),
)

# These IPv6 ranges carry an IPv4 address inside them and are routed to it,
# so they are only as safe as the address they carry.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class BlockedAddressError(OSError):
    """A host resolved only to addresses the guard refuses.

    An OSError, because aiohttp's connector turns resolver OSErrors into
    ClientConnectorDNSError and keeps the original as `os_error`, which is
    how the fetcher tells a refusal from an ordinary DNS failure.
    """


def parse_ip(text: str) -> IPAddress | None:
    """The address `text` spells, or None when it is a host name."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def is_legacy_ipv4(host: str) -> bool:
    """Whether `host` is a numeric IPv4 form other than a dotted quad.

    `2130706433`, `127.1` and `0x7f.1` all mean 127.0.0.1 to the C
    library; they are never legitimate in a feed URL and only serve to dodge
    address checks.
    """
    if parse_ip(host) is not None:
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64_WELL_KNOWN or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether `ip` is an ordinary public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        if ip.is_site_local:
            return False
    if any(ip in net for net in _ALWAYS_BLOCKED if net.version == ip.version):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def is_private_url(url: str) -> bool:
    """Whether url names loopback or a private network by itself (localhost, an IP
    literal); a host name is not looked up here, the fetcher's guard checks it then."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not is_public_address(ip)


@dataclass(frozen=True)
class AddressGuard:
    """Which addresses the fetcher may connect to.

    `allowed_networks` lets an operator open a hole for one known intranet
    feed without turning the whole guard off.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def allows(self, ip: IPAddress) -> bool:
        if self.allow_private or is_public_address(ip):
            return True
        return any(ip in net for net in self.allowed_networks if net.version == ip.version)

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> AddressGuard:
        """A guard that refuses private addresses except those in `networks`."""
        return cls(allowed_networks=tuple(ipaddress.ip_network(n) for n in networks))


class GuardedResolver(AbstractResolver):
    """A resolver that drops the addresses the guard refuses.

    aiohttp connects only to what the resolver returns, so filtering here
    checks the very addresses used for the connection.
    """

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if self._allows(r["host"])]
        if not allowed:
            raise BlockedAddressError(f"{host} has no public address")
        return allowed

    def _allows(self, address: str) -> bool:
        ip = parse_ip(address)
        return ip is not None and self._guard.allows(ip)

    async def close(self) -> None:
        await self._inner.close()
