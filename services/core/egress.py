"""Which addresses the service may send requests to on a subscriber's behalf (decision 0042).

A webhook URL is chosen by a subscriber; left unchecked it lets them make the service reach its
own network (databases, metadata services, admin ports) and read the answers' effects. Every
address a request would go to is classified before connecting: only global unicast addresses
pass, in every environment, unless the instance lists the network in
``MAILLON_WEBHOOK_ALLOWED_NETWORKS`` (tests and local receivers). A name is resolved once and the
request then goes to the address that was checked (no second lookup an attacker's DNS could
answer differently).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host name, port)`` → the addresses the name resolves to (strings, either version)."""

# RFC 6761: these names are the local host, whatever a resolver says.
_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
# Names that only ever mean something inside a network (RFC 6762, 8375, ICANN's .internal).
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedAddress(Exception):
    """The destination is internal (or could not be made sure of); nothing was sent."""


class NameNotResolved(Exception):
    """The host name has no address."""


def normalise_host(host: str) -> str:
    """Lower case, without IPv6 brackets nor the root's trailing dot (``localhost.`` is
    ``localhost``)."""
    name = host.strip().strip("[]").lower()
    return name[:-1] if name.endswith(".") and not name.endswith("..") else name


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as one means, in every form a resolver accepts: dotted,
    IPv6, and the legacy IPv4 forms ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``."""
    name = normalise_host(host)
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    if name and all(c in "0123456789abcdefx." for c in name) and name[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def _embedded(address: IPAddress) -> IPAddress | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    """Global unicast only: no loopback, private, shared, link-local, site-local, multicast,
    reserved, unspecified or documentation address, of either version or carried in another."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)  # the IPv4 address itself, written for IPv6
    inner = _embedded(address)
    if inner is not None and not is_public(inner):
        return False
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False
    return address.is_global


def allowed(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    inner = _embedded(address)
    listed = any(address in n or (inner is not None and inner in n) for n in networks)
    return listed or is_public(address)


def local_name(name: str) -> bool:
    """A name that can only mean an address inside a network: one label (completed by the
    resolver's search domains), or a local suffix."""
    return "." not in name or name.endswith(_LOCAL_SUFFIXES)


def static_addresses(host: str) -> tuple[IPAddress, ...] | None:
    """The addresses a host means without asking a resolver (a literal, ``localhost``), or
    None for a name to resolve."""
    name = normalise_host(host)
    literal = literal_address(name)
    if literal is not None:
        return (literal,)
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return _LOOPBACK
    return None


def check_host(host: str, networks: Iterable[IPNetwork]) -> None:
    """What can be told from the URL alone (at subscription): raises :class:`RefusedAddress`
    for an internal literal, ``localhost``, a single-label or local name. Names are resolved and
    checked again at each delivery."""
    listed = tuple(networks)
    addresses = static_addresses(host)
    if addresses is not None:
        if not all(allowed(a, listed) for a in addresses):
            raise RefusedAddress
        return
    if local_name(normalise_host(host)):
        raise RefusedAddress


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


async def resolve_checked(
    host: str, port: int, networks: Iterable[IPNetwork], resolver: Resolver
) -> IPAddress:
    """The address to connect to for ``host``: every address it resolves to must be allowed
    (one internal answer refuses the name, so that a name cannot mix a public address and an
    internal one), and the first is used."""
    listed = tuple(networks)
    addresses = static_addresses(host)
    if addresses is None:
        name = normalise_host(host)
        if local_name(name):
            raise RefusedAddress
        try:
            answers = await resolver(name, port)
        except (OSError, UnicodeError) as exc:
            raise NameNotResolved from exc
        parsed: list[IPAddress] = []
        for answer in answers:
            try:
                parsed.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError as exc:
                raise RefusedAddress from exc
        addresses = tuple(parsed)
    if not addresses:
        raise NameNotResolved
    if not all(allowed(a, listed) for a in addresses):
        raise RefusedAddress
    return addresses[0]
