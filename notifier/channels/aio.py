"""The asynchronous HTTP client every HTTP provider sends through (aiohttp).

One event loop per process runs in a thread of its own (:class:`LoopThread`); each provider
holds a :class:`GuardedClient` on it: an aiohttp session whose pooled, kept-alive connections
are shared by every send of that provider, up to ``per_host`` at once to one host. Sends from
any thread run on the loop side by side; a thread that needs the answer waits for it
(:meth:`GuardedClient.post`). Measured on this machine against one loopback receiver, an
aiohttp POST costs about a fifth of the CPU of a ``requests`` one (125 µs against 660 µs), and
httpx five times more than ``requests``: see bench/ANALYSIS.md.

The address guard stays where the socket opens: the session resolves names through
:class:`GuardedResolver`, which vets every address a name resolves to before the connector may
use any of them (the connector connects only to the addresses it resolved, so a name that
changes its answer, DNS rebinding, is judged on the answer used). An address literal is vetted
before the request (nothing to resolve, nothing to rebind). Redirects are not followed, no proxy
is read from the environment, the whole exchange ends within its deadline, and only so many
bytes of an answer are read: the same bounds as :func:`notifier.channels.netguard.post`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Coroutine, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from requests.structures import CaseInsensitiveDict

from notifier.channels import netguard
from notifier.errors import PermanentError, TransientError

if TYPE_CHECKING:
    import aiohttp

T = TypeVar("T")
_READ_CHUNK = 64 * 1024
# Sends at once to one host, per provider and process (each on a kept-alive connection): as
# many as a worker process's threads, so a firm's receiver sees no more connections at once
# from a process than it did when each thread sent one message at a time.
DEFAULT_PER_HOST = 8


class LoopThread:
    """An asyncio event loop running in a daemon thread of its own, started on first use."""

    def __init__(self, name: str = "notifier-http") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if it was not)."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                threading.Thread(target=run, name=self._name, daemon=True).start()
                started.wait()
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` on the loop; its future is the caller's to wait on."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result in this thread."""
        return self.submit(coroutine).result()

    def stop(self) -> None:
        """Stop the loop (what runs on it is abandoned); a later use starts a new one."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)


class GuardedResolver:
    """Resolve a name, then refuse it unless every address may be reached (the allow-list).

    An aiohttp resolver (``aiohttp.abc.AbstractResolver``'s two methods): the connector
    connects only to what this returns.
    """

    def __init__(self, allowed: netguard.AllowList) -> None:
        self.allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[dict[str, Any]]:
        """The host's vetted addresses, as aiohttp's ``ResolveResult`` dicts.

        Raises:
            TargetRefused: an address is not public and not allowed (the send is refused).
            OSError: the name does not resolve (aiohttp reports a connection error).
        """
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(None, netguard.address_infos, host, port, family)
        if not infos:
            raise OSError(f"{host} resolves to no address")
        if not self.allowed.allows_name(host, port):
            addresses = [netguard.plain_ip(str(sockaddr[0])) for *_, sockaddr in infos]
            self.allowed.vet(host, addresses, port=port)
        return [
            {
                "hostname": host,
                "host": str(sockaddr[0]),
                "port": int(sockaddr[1]),
                "family": info_family,
                "proto": proto,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for info_family, _, proto, _, sockaddr in infos
        ]

    async def close(self) -> None:
        """Nothing to release."""


def _ssl_context() -> ssl.SSLContext:
    """Verify certificates against the bundle named in the environment, as requests does
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``), else the system's."""
    bundle = (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or os.environ.get("SSL_CERT_FILE")
    )
    return ssl.create_default_context(cafile=bundle or None)


class GuardedClient:
    """One provider's pooled HTTP connections on the process's loop, behind the address guard.

    ``verify``: False, True (the environment's CA bundle, else the system's) or a CA file's
    path, as ``requests`` takes it.
    """

    def __init__(
        self,
        loop: LoopThread,
        *,
        allowed: netguard.AllowList,
        per_host: int = DEFAULT_PER_HOST,
        verify: bool | str = True,
    ) -> None:
        self.loop = loop
        self.allowed = allowed
        self.per_host = per_host
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[tuple[str, int], asyncio.Semaphore] = {}
        # Address literals (host, port) the allow-list let through: the answer never changes.
        self._vetted: set[tuple[str, int]] = set()

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp  # noqa: PLC0415 - only a process that sends over HTTP pays for it

        if self._session is None or self._session.closed:
            if self._verify is False:
                tls: ssl.SSLContext | bool = False
            elif isinstance(self._verify, str):
                tls = ssl.create_default_context(cafile=self._verify)
            else:
                tls = _ssl_context()
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.allowed),  # type: ignore[arg-type]
                limit=0,  # bounded per host by the semaphores, not by the connector
                limit_per_host=0,
                ssl=tls,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # a proxy would resolve the target, not us: none is used
                auto_decompress=False,  # an answer is read as sent, so it cannot swell
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def apost(
        self,
        url: str,
        *,
        data: bytes,
        headers: Mapping[str, str],
        timeout: float,
        deadline: float,
        max_bytes: int,
    ) -> requests.Response:
        """POST ``data`` to ``url``; return the answer (any status), its body read (at most
        ``max_bytes``), as a ``requests.Response`` so that providers read it one way.

        The exchange (connect, send, answer) ends within ``deadline`` seconds, counted once a
        connection to the host is free for it; each wait within ``timeout``.

        Raises:
            PermanentError: the URL is refused or malformed (:class:`TargetRefused` when an
                address is not allowed).
            TransientError: DNS failure, timeout, connection error, or the deadline passed.
        """
        import aiohttp  # noqa: PLC0415

        host, port = netguard.target_of(url)
        if _is_address(host):  # nothing to resolve, nothing to rebind: vetted here, once
            if (host, port) not in self._vetted and not self.allowed.allows_name(host, port):
                self.allowed.vet(host, [netguard.plain_ip(host)], port=port)
            self._vetted.add((host, port))
        else:  # the early, clear error (the resolver vets again when connecting)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, partial(netguard.check_url, url, allowed=self.allowed))
        session = self._open()
        gate = self._hosts.get((host, port))
        if gate is None:
            gate = self._hosts.setdefault((host, port), asyncio.Semaphore(self.per_host))
        waits = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        async with gate:
            try:
                async with asyncio.timeout(deadline):
                    async with session.post(
                        url,
                        data=data,
                        headers={"Accept-Encoding": "identity", **headers},
                        allow_redirects=False,
                        timeout=waits,
                    ) as answer:
                        body = await _read_bounded(answer, max_bytes)
                        return _as_response(url, answer, body)
            except netguard.TargetRefused:
                raise
            except TimeoutError as exc:
                raise _timeout_error(exc, host=host, timeout=timeout, deadline=deadline) from exc
            except (aiohttp.InvalidURL, ValueError) as exc:
                raise PermanentError(f"invalid URL for {host}: {type(exc).__name__}") from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise TransientError(
                    f"connection error talking to {host}: {type(exc).__name__}"
                ) from exc

    def close(self) -> None:
        """Close the pooled connections (waits for the loop to do it)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            with contextlib.suppress(RuntimeError):  # the loop stopped: the process is ending
                self.loop.run(session.close())


def _is_address(host: str) -> bool:
    try:
        netguard.plain_ip(host)
    except ValueError:
        return False
    return True


async def _read_bounded(answer: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most ``limit`` bytes of the answer's body; a longer answer's connection is closed."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # one byte past the limit tells that there was more
        chunk = await answer.content.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        answer.close()  # the rest is never read
    return b"".join(chunks)[:limit]


def _as_response(url: str, answer: aiohttp.ClientResponse, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status
    response.reason = answer.reason or ""
    response.headers = CaseInsensitiveDict(answer.headers)
    response.url = url
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response._content = body
    response._content_consumed = True
    return response


def _timeout_error(
    exc: TimeoutError, *, host: str, timeout: float, deadline: float
) -> TransientError:
    # aiohttp's own timeouts (a connect or a read longer than ``timeout``) subclass its
    # ServerTimeoutError; a bare TimeoutError is the exchange's deadline.
    if type(exc).__module__.startswith("aiohttp"):
        return TransientError(f"timeout after {timeout:g}s talking to {host}")
    return netguard.deadline_error(host, deadline)
