"""Outbound HTTP guard: refuse URLs that point into our own network (SSRF).

Webhook endpoints come from enterprises, so a URL could name the metadata service, a database
port or anything else on the private network. :func:`check_url` resolves the host and refuses any
non-public address unless the operator allowed it (``allowed_private_targets``).

A name is resolved again when the request is made, so a host that changes its DNS answer between
the check and the request (DNS rebinding) is not caught here; redirects are, because every caller
posts with ``allow_redirects=False`` through :func:`post`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import requests

from notifier.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = {"http": 80, "https": 443}
# Checked in order; the first that matches names the refusal.
_REFUSED_KINDS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


def _split_allowed(allowed: Sequence[str]) -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(entry.strip().lower().rstrip("."))
    return names, networks


def _refusal(address: IPAddress) -> str | None:
    """Return why ``address`` may not be reached, or None when it is public."""
    for attribute, kind in _REFUSED_KINDS:
        if getattr(address, attribute):
            return kind
    # Whatever else is not globally routable, e.g. shared address space 100.64.0.0/10.
    return None if address.is_global else "non-public"


def _resolve(host: str, port: int) -> set[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientError(f"cannot resolve {host}: {exc.strerror}") from exc
    except UnicodeError as exc:
        raise PermanentError(f"invalid host name {host!r}") from exc
    addresses: set[IPAddress] = set()
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
        addresses.add(mapped or address)
    return addresses


def check_url(url: str, *, allowed: Sequence[str]) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address.

    Parameters:
        url: the target.
        allowed: host names, IP addresses or CIDR networks (``127.0.0.0/8``) that may be
            reached although they are not public.

    Raises:
        PermanentError: bad scheme, no host, or a refused address; the reason says which.
        TransientError: the host name could not be resolved now.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PermanentError(f"invalid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise PermanentError(f"URL scheme {scheme or '(none)'!r} refused: only http and https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise PermanentError("URL has no host")
    names, networks = _split_allowed(allowed)
    if host.lower() in names:
        return
    for address in _resolve(host, port or _SCHEMES[scheme]):
        if any(address in network for network in networks):
            continue
        reason = _refusal(address)
        if reason:
            raise PermanentError(f"target {host} resolves to {reason} address {address}; refused")


def post(
    session: requests.Session,
    url: str,
    *,
    allowed: Sequence[str],
    data: bytes,
    headers: Mapping[str, str],
    timeout: float,
) -> requests.Response:
    """Check ``url`` and POST to it without following redirects.

    Transport failures become channel errors; the caller judges the response status.

    Raises:
        PermanentError: the URL is refused or malformed.
        TransientError: DNS failure, timeout or connection error.
    """
    check_url(url, allowed=allowed)
    host = urlsplit(url).hostname
    try:
        return session.post(
            url, data=data, headers=dict(headers), timeout=timeout, allow_redirects=False
        )
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
        raise PermanentError(f"invalid URL for {host}: {type(exc).__name__}") from exc
    except requests.Timeout as exc:
        log.info("timeout posting to %s", host)
        raise TransientError(f"timeout after {timeout:g}s talking to {host}") from exc
    except requests.RequestException as exc:
        log.info("connection error posting to %s: %s", host, type(exc).__name__)
        raise TransientError(f"connection error talking to {host}: {type(exc).__name__}") from exc
