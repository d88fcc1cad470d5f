"""Where webhooks may be sent: SSRF checks on a subscription's URL and the address each request is pinned to.

A target is resolved once per request; every address the name resolves to must be public (not private,
loopback, link-local, multicast, reserved or unspecified) unless the admins' allow-list names the host
or a network holding the address. The request then connects to that very address (see app.webhooks),
so a name that resolves to something else a moment later (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from case_types.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
MAX_URL = 2000


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA records), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed(f"The host name '{host}' does not resolve.", {"url": [str(exc)]}) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AllowList:
    """The admins' exceptions: host names and networks that may be reached although they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """One entry per line or comma: a host name (`hooks.internal`) or an address / network (`10.1.0.0/16`)."""
        hosts, networks, bad = set(), [], []
        for entry in (e.strip() for e in text.replace(",", "\n").splitlines()):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if all(part and (part.isalnum() or "-" in part) for part in entry.lower().split(".")):
                    hosts.add(entry.lower())
                else:
                    bad.append(entry)
        if bad:
            raise ValidationFailed("The allow-list has entries that are neither host names nor networks.",
                                   {"allow_list": [f"Not a host name or network: {', '.join(bad)}"]})
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        return host.lower() in self.hosts or any(address in net for net in self.networks)

    def dump(self) -> str:
        return "\n".join([*sorted(self.hosts), *(str(n) for n in self.networks)])


def forbidden_reason(address: IPAddress) -> str | None:
    """Why an address is not a public destination, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, reason in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
                         ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
                         ("is_private", "a private"), ("is_reserved", "a reserved")):
        if getattr(address, test):
            return f"{address} is {reason} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address its request will connect to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; ValidationFailed naming the problem."""
    url = (url or "").strip()
    problem = None
    parts = None
    if not url or len(url) > MAX_URL:
        problem = f"Give an http:// or https:// URL of at most {MAX_URL} characters."
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            problem = "This is not a valid URL."
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "Give an http:// or https:// URL with a host name."
            elif parts.username or parts.password:
                problem = "Put no user name or password into the URL."
            elif parts.fragment:
                problem = "A webhook URL has no #fragment."
    if problem or parts is None or not parts.hostname:
        raise ValidationFailed(problem or "This is not a valid URL.", {"url": [problem or "Invalid URL."]})
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname.lower(), port, path


def check_target(url: str, *, allow: AllowList, resolve: Resolver = system_resolver) -> Target:
    """Resolve the URL's host once and refuse it unless every address is public or allowed."""
    scheme, host, port, path = parse_url(url)
    try:
        addresses: Sequence[str] = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        addresses = resolve(host, port)
    if not addresses:
        raise ValidationFailed(f"The host name '{host}' does not resolve.", {"url": ["No address found."]})
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%")[0])
        reason = forbidden_reason(address)
        if reason and not allow.allows(host, address):
            raise ValidationFailed(
                f"Webhooks are not sent to {host}: {reason}. An admin can allow it in the webhook allow-list.",
                {"url": [f"{reason}; not allowed."]})
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, path=path, address=addresses[0])
