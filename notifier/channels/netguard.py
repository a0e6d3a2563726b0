"""Outbound HTTP guard: refuse URLs that point into our own network (SSRF).

Webhook endpoints come from enterprises, so a URL could name the metadata service, a database
port or anything else on the private network. Non-public addresses are refused unless the
operator allowed them, host or network and port: providers an admin configures have their own
allow-list (``allowed_provider_targets``), firms' endpoints theirs (``allowed_webhook_targets``),
so opening one port for an intranet gateway opens nothing to a firm.

Two checks, one that counts:

* :func:`check_url`, up front: scheme, host and a first resolve, for cheap and clear errors.
* :class:`GuardedAdapter`, when the socket is made: its connections resolve the host themselves,
  refuse it if any answer is not allowed and connect only to the addresses they vetted. A host
  that changes its DNS answer after :func:`check_url` (DNS rebinding) is caught here. Pooling
  is unchanged: a kept-alive connection was vetted when it was opened.

Redirects are not followed (:func:`post` sends ``allow_redirects=False``), and requests through
a proxy are refused, because the proxy, not we, would resolve the target. :func:`post` also
bounds what the other side can cost us: the whole exchange within a deadline
(:mod:`notifier.channels.cutoff`), and only so many bytes of its answer read.
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
import urllib3
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

from notifier.channels import cutoff
from notifier.config import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_SEND_DEADLINE, parse_target
from notifier.errors import ConfigError, PermanentError, TransientError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = {"http": 80, "https": 443}
# Bytes asked of the socket per read of an answer's body.
_READ_CHUNK = 16 * 1024
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


# Which ports an allow-list entry opens; None: every port.
Ports = frozenset[int] | None
EVERY_PORT: Ports = None
# What an entry without a port opens on a firm's endpoint: the standard web ports only.
WEB_PORTS: Ports = frozenset({80, 443})


def _union(first: Ports, second: Ports) -> Ports:
    return None if first is None or second is None else first | second


@dataclass(frozen=True)
class AllowList:
    """Host names and networks that may be reached although they are not public, each on
    its ports."""

    names: Mapping[str, Ports] = field(default_factory=dict)
    networks: tuple[tuple[IPNetwork, Ports], ...] = field(default=())

    @classmethod
    def parse(cls, entries: Sequence[str], *, bare: Ports = EVERY_PORT) -> AllowList:
        """Read entries as the settings take them (:func:`notifier.config.parse_target`):
        ``host``, ``10.1.2.3:8443``, ``127.0.0.0/8``, ``[::1]:9000``, ``gw.internal:*``.

        Parameters:
            entries: the allow-list.
            bare: the ports an entry without a port opens.

        Raises:
            ConfigError: an entry is malformed (the settings refuse it before this).
        """
        names: dict[str, Ports] = {}
        networks: list[tuple[IPNetwork, Ports]] = []
        for entry in entries:
            try:
                target = parse_target(entry)
            except ValueError as exc:
                raise ConfigError(f"allow-list: {exc}") from None
            ports = bare if target.port is None else _ports(target.port)
            if target.network is not None:
                networks.append((target.network, ports))
            elif target.name is not None:
                names[target.name] = _union(names.get(target.name, frozenset()), ports)
        return cls(names, tuple(networks))

    def allows_name(self, host: str, port: int | None = None) -> bool:
        """True when ``host`` is listed by name for ``port`` (None: for every port)."""
        name = host.lower().rstrip(".")
        return name in self.names and _opens(self.names[name], port)

    def vet(self, host: str, addresses: Sequence[IPAddress], *, port: int | None = None) -> None:
        """Raise :class:`TargetRefused` unless every address of ``host`` may be reached on
        ``port`` (None: only entries for every port count)."""
        for address in addresses:
            reason = _refusal(address)
            if not reason:
                continue
            listed = [ports for network, ports in self.networks if address in network]
            if any(_opens(ports, port) for ports in listed):
                continue
            message = f"target {host} resolves to {reason} address {address}; refused"
            if listed:
                message = (
                    f"target {host} resolves to {reason} address {address}, allowed on other "
                    f"ports than {port}; refused"
                )
            raise TargetRefused(message)


def _ports(port: int) -> Ports:
    return EVERY_PORT if port == 0 else frozenset({port})


def _opens(ports: Ports, port: int | None) -> bool:
    return ports is None or (port is not None and port in ports)


def as_allow_list(allowed: AllowList | Sequence[str]) -> AllowList:
    """``allowed`` as an :class:`AllowList`; entries as strings open every port when bare."""
    return allowed if isinstance(allowed, AllowList) else AllowList.parse(allowed)


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


def plain_ip(sockaddr_host: str) -> IPAddress:
    """The address in ``sockaddr_host``, an IPv4-mapped IPv6 one as its IPv4 address.

    Raises:
        ValueError: not an address literal.
    """
    address = ipaddress.ip_address(sockaddr_host)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return mapped or address


def address_infos(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[Any]:
    """``getaddrinfo`` for a stream connection to ``host``; raises its errors."""
    return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)


def _lookup(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[str]:
    """The host's addresses as getaddrinfo gives them, in order; raises its errors."""
    infos = address_infos(host, port, family)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in infos))


def target_of(url: str) -> tuple[str, int]:
    """The host and port ``url`` points at, once its form is checked (nothing is resolved).

    Raises:
        PermanentError: bad scheme, no host, or a malformed URL.
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
    return host, port or _SCHEMES[scheme]


def check_url(url: str, *, allowed: AllowList | Sequence[str]) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address.

    The connection makes the same address check again (see :class:`GuardedAdapter`); this one
    gives the early, clear error.

    Parameters:
        url: the target.
        allowed: host names, IP addresses or CIDR networks (``127.0.0.0/8``), with their
            ports, that may be reached although they are not public (see :class:`AllowList`).

    Raises:
        PermanentError: bad scheme, no host, or a refused address (:class:`TargetRefused`).
        TransientError: the host name could not be resolved now.
    """
    host, port = target_of(url)
    allow_list = as_allow_list(allowed)
    if allow_list.allows_name(host, port):
        return
    try:
        addresses = _lookup(host, port)
    except socket.gaierror as exc:
        raise TransientError(f"cannot resolve {host}: {exc.strerror}") from exc
    except UnicodeError as exc:
        raise PermanentError(f"invalid host name {host!r}") from exc
    allow_list.vet(host, [plain_ip(address) for address in addresses], port=port)


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
        if not self.allow_list.allows_name(self.host, self.port):
            self.allow_list.vet(
                self.host, [plain_ip(address) for address in addresses], port=self.port
            )
        error: OSError = OSError(f"{dns_host} resolves to no address")
        for address in addresses:
            try:
                # An address literal: create_connection looks nothing up, and applies the
                # timeout, source address and socket options as it does for urllib3.
                sock = create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                error = exc
            else:
                cutoff.watch(sock)  # the exchange's deadline covers the TLS handshake too
                return sock
        raise error

    def connect(self) -> None:
        super().connect()
        cutoff.watch(self.sock)  # over TLS, the wrapped socket the answer is read from


class GuardedHTTPSConnection(GuardedHTTPConnection, HTTPSConnection):
    """:class:`GuardedHTTPConnection` with urllib3's TLS on top, unchanged."""


class _CutoffPool(HTTPConnectionPool):
    """Hands a pooled connection's socket to the exchange's cutoff while it is lent out."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        cutoff.watch(getattr(conn, "sock", None))  # None until a new connection connects
        return conn

    def _put_conn(self, conn: Any) -> None:
        # Back in the pool, another exchange may take it: this one's deadline must spare it.
        if conn is not None:
            cutoff.forget(conn.sock)
        super()._put_conn(conn)


class _GuardedHTTPPool(_CutoffPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(_CutoffPool, HTTPSConnectionPool):
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

    def __init__(self, *, allowed: AllowList | Sequence[str], **kwargs: Any) -> None:
        self.allow_list = as_allow_list(allowed)  # before super(): it builds the pool manager
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


def guard_session(
    session: requests.Session, *, allowed: AllowList | Sequence[str]
) -> requests.Session:
    """Mount a :class:`GuardedAdapter` on ``session`` for http and https; return the session."""
    adapter = GuardedAdapter(allowed=allowed)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(
    session: requests.Session,
    url: str,
    *,
    allowed: AllowList | Sequence[str],
    data: bytes,
    headers: Mapping[str, str],
    timeout: float,
    deadline: float = DEFAULT_SEND_DEADLINE,
    max_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
) -> requests.Response:
    """Check ``url`` and POST to it through the session's guard, without following redirects.

    The whole exchange (connect, send, answer) ends within ``deadline`` seconds, each wait
    within ``timeout``; at most ``max_bytes`` of the answer's body are read (the rest is never
    read: the connection is closed) and the response holds them, read and closed.
    Transport failures become channel errors; the caller judges the response status.

    Raises:
        PermanentError: the URL is refused or malformed, at the check or when connecting
            (:class:`TargetRefused`), or ``session`` has no :class:`GuardedAdapter` for it.
        TransientError: DNS failure, timeout, connection error, or the deadline passed.
    """
    check_url(url, allowed=allowed)
    host = urlsplit(url).hostname
    if not isinstance(session.get_adapter(url), GuardedAdapter):
        raise PermanentError(f"no connection guard mounted for {host}; refused")
    with cutoff.within(deadline) as watch:
        try:
            response = session.post(
                url,
                data=data,
                headers=dict(headers),
                timeout=(min(timeout, deadline), timeout),
                allow_redirects=False,
                stream=True,
            )
            _keep_answer(response, max_bytes, host=host)
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise PermanentError(f"invalid URL for {host}: {type(exc).__name__}") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _transport_error(exc, host=host, timeout=timeout, deadline=watch) from exc
    return response


def deadline_error(host: str | None, seconds: float) -> TransientError:
    """The error of an exchange with ``host`` that did not end within its deadline."""
    shown = f"{seconds:g}"
    log.info("deadline of %s s passed talking to %s", shown, host)
    return TransientError(
        f"{host} 未在 {shown} 秒发送时限内答完 / no complete answer from {host} within "
        f"the send's deadline of {shown} s"
    )


def _transport_error(
    exc: Exception, *, host: str | None, timeout: float, deadline: cutoff.Cutoff
) -> TransientError:
    if deadline.passed:  # a socket timeout that ends with the deadline counts as the deadline
        return deadline_error(host, deadline.seconds)
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
        log.info("timeout posting to %s", host)
        return TransientError(f"timeout after {timeout:g}s talking to {host}")
    log.info("connection error posting to %s: %s", host, type(exc).__name__)
    return TransientError(f"connection error talking to {host}: {type(exc).__name__}")


def _keep_answer(response: requests.Response, limit: int, *, host: str | None) -> None:
    """Read at most ``limit`` bytes of the answer's body into ``response``, then close it.

    Read here rather than by ``response.content``, which reads a body of any size. Bytes
    are counted after decompression (urllib3 bounds each read's output), so a small
    compressed answer cannot swell either.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:  # one byte past the limit tells that there was more
            chunk = response.raw.read(min(_READ_CHUNK, limit + 1 - size), decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        # All read: the connection went back to the pool. Cut short: it is closed.
        response.close()
    if size > limit:
        log.info("answer from %s cut at %d bytes", host, limit)
    # What requests itself stores once it has read a body; .text and .json() read it.
    response._content = b"".join(chunks)[:limit]
    response._content_consumed = True
