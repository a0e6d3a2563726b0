"""Loopback peers for the benchmarks, each run as its own process (``python -m bench.peers``).

* ``http``: a fast asyncio HTTP/1.1 server (keep-alive, no framework). Every ``POST /<bucket>/…``
  is answered ``200 {"message_id": …}`` at once, so it serves as the webhook receiver and as the
  SMS gateway stand-in. It counts requests per bucket (the first path segment) and distinct ids
  (``webhook-id`` header, else the JSON body's ``out_id``), and keeps the time of the first and
  last request and a few samples (headers and body) per bucket.
* ``smtp``: an aiosmtpd sink that counts messages per bucket (the first label of the recipient's
  domain) and distinct ``Message-ID`` headers, beside the same HTTP server for its statistics.

* ``load``: the receiver's capacity client; ``bare``: the bare ``requests`` loop as a process of
  its own (5 times it from its start, as it times the ``notifier`` command).

Statistics: ``GET /_stats/<bucket>``, ``GET /_samples/<bucket>``, ``POST /_reset/<bucket>``.
The process prints one JSON line (``{"port": …, "stats_port": …}``) once it listens.
:class:`PeerProcess` starts one and reads its statistics.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import requests

LOOPBACK = "127.0.0.1"
SAMPLES = 20
_OUT_ID = re.compile(rb'"out_id"\s*:\s*"([^"]+)"')
_MESSAGE_ID = re.compile(rb"^message-id:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass
class Bucket:
    """What one bucket received."""

    requests: int = 0
    ids: set[str] = field(default_factory=set)
    first: float | None = None
    last: float | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)

    def record(self, ident: str | None, sample: dict[str, Any]) -> None:
        now = time.time()
        self.requests += 1
        if ident:
            self.ids.add(ident)
        if self.first is None:
            self.first = now
        self.last = now
        if len(self.samples) < SAMPLES:
            self.samples.append(sample)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "distinct": len(self.ids),
            "first": self.first,
            "last": self.last,
        }


class Counters:
    """Buckets by name; one lock, because the SMTP sink records from its own thread."""

    def __init__(self) -> None:
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def record(self, bucket: str, ident: str | None, sample: dict[str, Any]) -> None:
        with self._lock:
            self._buckets.setdefault(bucket, Bucket()).record(ident, sample)

    def get(self, bucket: str) -> Bucket:
        with self._lock:
            return self._buckets.setdefault(bucket, Bucket())

    def reset(self, bucket: str) -> None:
        with self._lock:
            self._buckets[bucket] = Bucket()


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 404: "Not Found", 411: "Length Required"}.get(status, "OK")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


class HttpProtocol(asyncio.Protocol):
    """Parses pipelined HTTP/1.1 requests with Content-Length bodies and answers each at once."""

    def __init__(self, counters: Counters, *, sink: bool) -> None:
        self._counters = counters
        self._sink = sink
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", ""):
                self._transport.write(_response(411, b"{}"))
                self._transport.close()
                return
            length = int(headers.get("content-length", "0"))
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            method, target = lines[0].split(" ", 2)[:2]
            self._transport.write(self._answer(method, target, headers, body))
            if headers.get("connection", "").lower() == "close":
                self._transport.close()
                return

    def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        parts = target.split("?", 1)[0].strip("/").split("/")
        if parts[0] == "_stats":
            return _response(200, json.dumps(self._counters.get(parts[1]).stats()).encode())
        if parts[0] == "_samples":
            return _response(200, json.dumps(self._counters.get(parts[1]).samples).encode())
        if parts[0] == "_reset":
            self._counters.reset(parts[1])
            return _response(200, b"{}")
        if not self._sink or method != "POST":
            return _response(404, b"{}")
        ident = headers.get("webhook-id")
        if ident is None:
            match = _OUT_ID.search(body)
            ident = match.group(1).decode() if match else None
        sample = {"path": target, "headers": headers, "body": base64.b64encode(body).decode()}
        self._counters.record(parts[0], ident, sample)
        return _response(200, b'{"message_id":"%s"}' % (ident or "x").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


class SmtpHandler:
    """aiosmtpd handler: counts each message by recipient domain and Message-ID."""

    def __init__(self, counters: Counters) -> None:
        self._counters = counters

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw: bytes = envelope.original_content or b""
        head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
        match = _MESSAGE_ID.search(head)
        for rcpt in envelope.rcpt_tos:
            bucket = rcpt.rpartition("@")[2].split(".")[0]
            sample = {
                "mail_from": envelope.mail_from,
                "rcpt_to": rcpt,
                "raw": base64.b64encode(raw).decode(),
            }
            self._counters.record(bucket, match.group(1).decode() if match else None, sample)
        return "250 OK queued"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


async def _serve(kind: str) -> None:
    counters = Counters()
    loop = asyncio.get_running_loop()
    http = await loop.create_server(
        lambda: HttpProtocol(counters, sink=kind == "http"), LOOPBACK, 0, backlog=1024
    )
    stats_port = http.sockets[0].getsockname()[1]
    port = stats_port
    if kind == "smtp":
        from aiosmtpd.controller import Controller

        port = _free_port()
        controller = Controller(
            SmtpHandler(counters), hostname=LOOPBACK, port=port, enable_SMTPUTF8=True
        )
        controller.start()
    print(json.dumps({"port": port, "stats_port": stats_port}), flush=True)
    await asyncio.Event().wait()


class PeerProcess:
    """A peer in its own process; ``port`` takes the traffic, ``stats`` reads the counters."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._process: subprocess.Popen[str] | None = None
        self.port = 0
        self.stats_port = 0
        self._http = requests.Session()

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.peers", self.kind],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        ready = json.loads(self._process.stdout.readline())
        self.port, self.stats_port = ready["port"], ready["stats_port"]
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def _url(self, what: str, bucket: str) -> str:
        return f"http://{LOOPBACK}:{self.stats_port}/{what}/{bucket}"

    def stats(self, bucket: str) -> dict[str, Any]:
        return dict(self._http.get(self._url("_stats", bucket), timeout=10).json())

    def samples(self, bucket: str) -> list[dict[str, Any]]:
        return list(self._http.get(self._url("_samples", bucket), timeout=10).json())

    def reset(self, bucket: str) -> None:
        self._http.post(self._url("_reset", bucket), timeout=10).raise_for_status()

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._http.close()


def load(port: int, bucket: str, count: int, threads: int) -> None:
    """A tight client: ``threads`` keep-alive connections posting ``count`` requests in all."""

    def post(first: int) -> None:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
        for i in range(first, count, threads):
            body = b'{"n":%d}' % i
            connection.request("POST", f"/{bucket}/{i}", body, {"webhook-id": f"{bucket}-{i}"})
            connection.getresponse().read()
        connection.close()

    workers = [threading.Thread(target=post, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


Bodies = list[tuple[bytes, dict[str, str]]]


def bare_webhook_loop(port: int, bucket: str, bodies: Bodies, count: int) -> float:
    """One thread, one requests.Session, no queue, no database: deliveries/s."""
    session = requests.Session()
    started = time.perf_counter()
    for i in range(count):
        body, headers = bodies[i % len(bodies)]
        response = session.post(
            f"http://{LOOPBACK}:{port}/{bucket}/{i}",
            data=body,
            headers={**headers, "webhook-id": f"{bucket}-{i}"},
            timeout=10,
        )
        response.raise_for_status()
    seconds = time.perf_counter() - started
    session.close()
    return count / seconds


def write_bodies(path: Path, bodies: Bodies) -> Path:
    """Save bodies and headers for the ``bare`` subprocess."""
    saved = [{"body": base64.b64encode(b).decode(), "headers": h} for b, h in bodies]
    path.write_text(json.dumps(saved), encoding="utf-8")
    return path


def read_bodies(path: Path) -> Bodies:
    return [
        (base64.b64decode(item["body"]), dict(item["headers"]))
        for item in json.loads(path.read_text(encoding="utf-8"))
    ]


USAGE = (
    "usage: python -m bench.peers http|smtp | load PORT BUCKET COUNT THREADS"
    " | bare PORT BUCKET COUNT BODIES.json"
)


def main() -> None:
    """``http`` | ``smtp``: serve; ``load PORT BUCKET COUNT THREADS``: the capacity client;
    ``bare PORT BUCKET COUNT BODIES.json``: the bare ``requests`` loop as a process of its own
    (timed from outside, from its start, as the ``notifier`` command is)."""
    kind = sys.argv[1] if len(sys.argv) > 1 else "http"
    if kind == "load":
        port, bucket, count, threads = sys.argv[2:6]
        load(int(port), bucket, int(count), int(threads))
        return
    if kind == "bare":
        port, bucket, count, bodies = sys.argv[2:6]
        bare_webhook_loop(int(port), bucket, read_bodies(Path(bodies)), int(count))
        return
    if kind not in ("http", "smtp"):
        raise SystemExit(USAGE)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(kind))


if __name__ == "__main__":
    main()
