"""Where a webhook may be sent: no request into the service's own network (SSRF).

In production mode a URL must be `https://` and every address its host resolves to must be a
public one: loopback, private (RFC 1918, unique local), link-local (the cloud metadata service
at 169.254.169.254 and fd00:ec2::254 among them), shared (CGNAT), multicast, reserved and
unspecified addresses are refused. The check runs when the URL is saved and again at every
delivery, after DNS resolution, and the delivery connects to the address that was checked (a
name that resolves elsewhere a moment later cannot redirect it). Embedded mode (one person's
machine) allows `http://` and any address, so a receiver on localhost can be tried.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.core.errors import ValidationFailedError

Resolver = Callable[[str, int], list[str]]

# Not global even though `is_global` misses them in some Python versions.
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


class WebhookUrlNotAllowed(ValidationFailedError):
    code = "webhook_url_not_allowed"


@dataclass(frozen=True)
class Target:
    """A URL checked for delivery: `address` is where to connect (None: let DNS decide)."""

    url: str
    host: str
    port: int
    address: str | None


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return "the cloud metadata service"
    for label, flag in (
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a private", address.is_private),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("an unspecified", address.is_unspecified),
    ):
        if flag:
            return f"{label} address"
    if not address.is_global:
        return "a non-public address"
    return None


def check(url: str, *, production: bool, resolver: Resolver | None = None) -> Target:
    """The URL's target, or WebhookUrlNotAllowed (422, field `url`) saying why not."""
    resolver = resolver or resolve
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    hint = "Give a public https:// URL of the receiver."
    if scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlNotAllowed("url", "must be an absolute http(s) URL", hint=hint)
    if parts.username or parts.password:
        raise WebhookUrlNotAllowed(
            "url", "must not carry credentials; deliveries are signed instead", hint=hint
        )
    host = parts.hostname
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise WebhookUrlNotAllowed("url", "has an invalid port", hint=hint) from None
    if not production:
        return Target(url=url, host=host, port=port, address=None)
    if scheme != "https":
        raise WebhookUrlNotAllowed("url", "must use https:// in production mode", hint=hint)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
        except (OSError, UnicodeError):
            raise WebhookUrlNotAllowed(
                "url", f"its host {host} does not resolve", hint="Check the host name."
            ) from None
    if not addresses:
        raise WebhookUrlNotAllowed("url", f"its host {host} does not resolve", hint=hint)
    for address in addresses:
        why = _refused(address)
        if why is not None:
            raise WebhookUrlNotAllowed(
                "url",
                f"resolves to {address}, {why}: webhooks go to public receivers only",
                hint=hint,
            )
    return Target(url=url, host=host, port=port, address=str(addresses[0]))
