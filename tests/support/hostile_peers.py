"""Hostile HTTP peers on 127.0.0.1 (raw sockets, so they can misbehave as real ones do).

* :class:`DripPeer`: answers one byte every ``interval`` seconds, never finishing in time.
* :class:`FloodPeer`: answers with a status and a huge streamed body.
* :class:`RecordingEndpoint`: a well-behaved firm's endpoint that notes when each message came.

Each is a context manager on a port the OS picks; each records what it saw, with wall-clock
times, and lets a test wait for it on a condition.
"""

from __future__ import annotations

import itertools
import select
import socket
import ssl
import threading
import time
from typing import Any, Self

from support.peers import LOOPBACK, HttpAnswer, _HttpPeer

_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
    b'{"ok":true}'
)


def _read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (head and Content-Length body); return its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


class _RawPeer:
    """A TCP server on 127.0.0.1:0 that handles each connection in a thread of its own."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self._server = socket.create_server((LOOPBACK, 0))
        self._tls = tls
        self._changed = threading.Condition()
        self.hung_up: list[float] = []  # when each client closed its connection

    def url(self, path: str = "/hooks/notifier") -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{LOOPBACK}:{self._server.getsockname()[1]}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed: the test is over
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        if self._tls is not None:
            try:
                conn = self._tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                return
        with conn:
            _read_request(conn)
            self.answer(conn)
        with self._changed:
            self.hung_up.append(time.time())
            self._changed.notify_all()

    def answer(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def wait_for_hang_ups(self, count: int, *, timeout: float = 60.0) -> bool:
        """Wait until ``count`` clients have closed their connections."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.hung_up) >= count, timeout)

    def __enter__(self) -> Self:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.close()


class DripPeer(_RawPeer):
    """Sends its answer (status line first, unless ``head`` is sent at once) one byte every
    ``interval`` seconds: each read the client makes waits less than its timeout, the whole
    answer takes minutes. Stops when the client hangs up."""

    def __init__(
        self, *, interval: float, head: bytes = b"", tls: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(tls=tls)
        self.interval = interval
        self.head = head

    def answer(self, conn: socket.socket) -> None:
        rest = _ANSWER[len(self.head) :] if self.head else _ANSWER
        if self.head:
            conn.sendall(self.head)
        for index in itertools.count():
            # Readable while we wait means the client hung up; else the next byte is due.
            readable, _, _ = select.select([conn], [], [], self.interval)
            if readable and not _recv_or_nothing(conn):
                return
            try:
                conn.sendall(rest[index : index + 1])  # empty once all is sent: just wait
            except OSError:
                return


def _recv_or_nothing(conn: socket.socket) -> bytes:
    try:
        return conn.recv(1024)
    except OSError:
        return b""


class FloodPeer(_RawPeer):
    """Answers ``status`` with a body of ``size`` bytes, streamed until the client hangs up;
    ``sent`` counts the body bytes written."""

    def __init__(self, *, status: int = 500, size: int = 600 * 1024 * 1024) -> None:
        super().__init__()
        self.status = status
        self.size = size
        self.sent = 0

    def answer(self, conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 {self.status} Internal Server Error\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {self.size}\r\n\r\n".encode()
        )
        chunk = (b"internal error; " * 4096)[:65536]
        while self.sent < self.size:
            try:
                conn.sendall(chunk[: self.size - self.sent])
            except OSError:
                return
            self.sent += len(chunk)


class RecordingEndpoint(_HttpPeer):
    """A firm's endpoint that takes everything (204) and notes each message's path and time."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, float]] = []

    def url_for(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}{path}"

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        with self._lock:
            self.received.append((path, time.time()))
        return HttpAnswer(204)


class CrowdedEndpoint(RecordingEndpoint):
    """A receiver many firms share that holds each request ``hold`` seconds and notes the most
    requests it held at once (each arrives on a connection of its own or a kept-alive one)."""

    def __init__(self, *, hold: float) -> None:
        super().__init__()
        self.hold = hold
        self.inside = 0
        self.most_inside = 0

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(self.hold)
        with self._lock:
            self.inside -= 1
        return super().answer(path, headers, body)
