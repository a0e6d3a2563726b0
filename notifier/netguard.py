"""Outbound HTTP guard: refuse URLs that point into our own network (SSRF).

Webhook endpoints come from enterprises, so a URL could name the metadata service, a database
port or anything else on the private network. Non-public addresses are refused unless the
operator allowed them (``allowed_private_targets``).

Two checks, one that counts:

* :func:`check_url`, up front: scheme, host and a first resolve, for cheap and clear errors.
* :class:`GuardedAdapter`, when the socket is made: its connections resolve the host themselves,
  refuse it if any answer is not allowed and connect only to the addresses they vetted. A host
  that changes its DNS answer after :func:`check_url` (DNS rebinding) is caught here. Pooling
  is unchanged: a kept-alive connection was vetted when it was opened.

Redirects are not followed (:func:`post` sends ``allow_redirects=False``), and requests through
a proxy are refused, because the proxy, not we, would resolve the target.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

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


class TargetRefused(PermanentError):
    """The guard refused to connect; ``reason`` says which host and address, and why.

    Not an ``OSError`` on purpose: urllib3 and requests wrap only those, so this reaches the
    caller of ``session.post`` unchanged.
    """


@dataclass(frozen=True)
class AllowList:
    """Host names and networks that may be reached although they are not public."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def parse(cls, entries: Sequence[str]) -> AllowList:
        """Read host names, IP addresses and CIDR networks (``127.0.0.0/8``)."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                names.add(entry.strip().lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def vet(self, host: str, addresses: Sequence[IPAddress]) -> None:
        """Raise :class:`TargetRefused` unless every address of ``host`` may be reached."""
        for address in addresses:
            if any(address in network for network in self.networks):
                continue
            reason = _refusal(address)
            if reason:
                message = f"target {host} resolves to {reason} address {address}; refused"
                raise TargetRefused(message)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _refusal(address: IPAddress) -> str | None:
    """Return why ``address`` may not be reached, or None when it is public.

    An IPv6 address that carries an IPv4 one (which a relay or translator would reach) is
    judged by that IPv4 address, by the same rules.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        for inner in embedded:
            reason = _refusal(inner)
            if reason:
                return f"{reason} (embedded {inner})"
        if embedded:
            return None
    for attribute, kind in _REFUSED_KINDS:
        if getattr(address, attribute):
            return kind
    # Whatever else is not globally routable, e.g. shared address space 100.64.0.0/10.
    return None if address.is_global else "non-public"


def _ip(sockaddr_host: str) -> IPAddress:
    address = ipaddress.ip_address(sockaddr_host)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return mapped or address


def _lookup(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[str]:
    """The host's addresses as getaddrinfo gives them, in order; raises its errors."""
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in infos))


def check_url(url: str, *, allowed: Sequence[str]) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address.

    The connection makes the same address check again (see :class:`GuardedAdapter`); this one
    gives the early, clear error.

    Parameters:
        url: the target.
        allowed: host names, IP addresses or CIDR networks (``127.0.0.0/8``) that may be
            reached although they are not public.

    Raises:
        PermanentError: bad scheme, no host, or a refused address (:class:`TargetRefused`).
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
    allow_list = AllowList.parse(allowed)
    if allow_list.allows_name(host):
        return
    try:
        addresses = _lookup(host, port or _SCHEMES[scheme])
    except socket.gaierror as exc:
        raise TransientError(f"cannot resolve {host}: {exc.strerror}") from exc
    except UnicodeError as exc:
        raise PermanentError(f"invalid host name {host!r}") from exc
    allow_list.vet(host, [_ip(address) for address in addresses])


# --- connect-time guard --------------------------------------------------------------------


class GuardedHTTPConnection(HTTPConnection):
    """An urllib3 connection that resolves its host itself and connects only to vetted addresses.

    ``self.host`` stays the name, so TLS (in the HTTPS subclass) checks the certificate against
    the name exactly as urllib3 does; only the address the socket goes to is chosen here.
    """

    def __init__(self, *args: Any, allow_list: AllowList, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_list = allow_list

    def _new_conn(self) -> socket.socket:
        # urllib3's own _new_conn, with create_connection split into resolve, vet, connect;
        # the errors it raises are mapped the same way, so requests reports them as before.
        try:
            sock = self._connect_vetted()
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def _connect_vetted(self) -> socket.socket:
        # _dns_host keeps a trailing dot, which matters for resolving (see urllib3's `host`).
        dns_host = self._dns_host.strip("[]")
        addresses = _lookup(dns_host, self.port, allowed_gai_family())
        if not self.allow_list.allows_name(self.host):
            self.allow_list.vet(self.host, [_ip(address) for address in addresses])
        error: OSError = OSError(f"{dns_host} resolves to no address")
        for address in addresses:
            try:
                # An address literal: create_connection looks nothing up, and applies the
                # timeout, source address and socket options as it does for urllib3.
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                error = exc
        raise error


class GuardedHTTPSConnection(GuardedHTTPConnection, HTTPSConnection):
    """:class:`GuardedHTTPConnection` with urllib3's TLS on top, unchanged."""


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class _GuardedPoolManager(PoolManager):
    """A PoolManager whose pools make guarded connections, all with one allow-list."""

    def __init__(self, *, allow_list: AllowList, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_list = allow_list
        self.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        # Added here rather than to connection_pool_kw: pool keys may not carry unknown fields.
        context = dict(self.connection_pool_kw if request_context is None else request_context)
        context["allow_list"] = self.allow_list  # handed on to every connection
        return super()._new_pool(scheme, host, port, context)


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse non-public addresses unless allowed.

    Mount it for ``http://`` and ``https://`` (see :func:`guard_session`). Connections are
    pooled and kept alive as with :class:`requests.adapters.HTTPAdapter`.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "allow_list"]

    def __init__(self, *, allowed: Sequence[str], **kwargs: Any) -> None:
        self.allow_list = AllowList.parse(allowed)  # before super(): it builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager = _GuardedPoolManager(
            allow_list=self.allow_list,
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            **pool_kwargs,
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Behind a proxy the proxy resolves the target, so no check of ours would count.
        raise TargetRefused("a proxy is configured; the guard checks only direct connections")


def guard_session(session: requests.Session, *, allowed: Sequence[str]) -> requests.Session:
    """Mount a :class:`GuardedAdapter` on ``session`` for http and https; return the session."""
    adapter = GuardedAdapter(allowed=allowed)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(
    session: requests.Session,
    url: str,
    *,
    allowed: Sequence[str],
    data: bytes,
    headers: Mapping[str, str],
    timeout: float,
) -> requests.Response:
    """Check ``url`` and POST to it through the session's guard, without following redirects.

    Transport failures become channel errors; the caller judges the response status.

    Raises:
        PermanentError: the URL is refused or malformed, at the check or when connecting
            (:class:`TargetRefused`), or ``session`` has no :class:`GuardedAdapter` for it.
        TransientError: DNS failure, timeout or connection error.
    """
    check_url(url, allowed=allowed)
    host = urlsplit(url).hostname
    if not isinstance(session.get_adapter(url), GuardedAdapter):
        raise PermanentError(f"no connection guard mounted for {host}; refused")
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
