"""Real protocol peers on 127.0.0.1 for the channel tests.

* :class:`SmtpPeer`: an aiosmtpd server that records every message it accepts; optionally
  with STARTTLS (required) or implicit TLS, using certificates from :func:`make_tls_files`.
* :class:`SmsGateway`: our HTTP SMS gateway; checks ``X-Notifier-Signature`` with
  :func:`notifier.channels.sms.sign_request`.
* :class:`WebhookReceiver`: checks every request with ``standardwebhooks.Webhook.verify``.
* :class:`SilentPeer`: accepts TCP connections (through the backlog) and never answers.

Each is a context manager, and each can be told to fail the next requests (``fail_next``).
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from standardwebhooks import Webhook, WebhookVerificationError

from notifier.channels.sms import sign_request

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on now: connections to it are refused, and a server
    started with it is on a port of its own (never a fixed one another run may hold)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class _Failures:
    """Answers to give instead of the normal one, for the next N requests."""

    def __init__(self) -> None:
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()

    def add(self, answer: Any, count: int) -> None:
        with self._lock:
            self._queue.extend([answer] * count)

    def take(self) -> Any | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None


# --- TLS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA (``ca``) and the server certificate and key it signed."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_tls_files(folder: Path, *, ca_name: str = "notifier test CA") -> TlsFiles:
    """Write ``ca.pem``, ``server.pem`` and ``server.key`` to ``folder``: a new CA, and a
    server certificate it signed for ``127.0.0.1`` (IP SAN) and ``localhost`` (DNS SAN)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server.key")
    files.ca.write_bytes(_pem(ca_cert))
    files.cert.write_bytes(_pem(server_cert))
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# --- SMTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    # The session's TLS version ("TLSv1.3"), None in clear text.
    tls_version: str | None = None
    # The client's (host, port): one per SMTP connection.
    peer: Any = None


class _LoopbackController(Controller):
    """A Controller on a port the OS picks (Controller itself cannot use port 0)."""

    def __init__(self, handler: Any, **smtp_parameters: Any) -> None:
        self._socket = socket.socket()
        self._socket.bind((LOOPBACK, 0))
        port = self._socket.getsockname()[1]
        super().__init__(handler, hostname=LOOPBACK, port=port, **smtp_parameters)

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self._socket, ssl=self.ssl_context
        )


class SmtpPeer:
    """An SMTP server that records messages; ``credentials`` makes AUTH mandatory.

    ``security="starttls"`` requires STARTTLS before anything else (and AUTH only after it);
    ``security="ssl"`` speaks TLS from the first byte. Both use the certificate in ``tls``.
    """

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        security: Literal["none", "starttls", "ssl"] = "none",
        tls: TlsFiles | None = None,
    ) -> None:
        if (security == "none") != (tls is None):
            raise ValueError("tls files go with security 'starttls' or 'ssl', and only then")
        self.messages: list[ReceivedMail] = []
        self._transports: list[Any] = []
        self._credentials = credentials
        self._failures = _Failures()
        options: dict[str, Any] = {"enable_SMTPUTF8": True}
        if tls and security == "starttls":
            options.update(tls_context=tls.server_context(), require_starttls=True)
        elif tls:
            options.update(ssl_context=tls.server_context())
        if credentials:
            # aiosmtpd counts only STARTTLS as TLS for AUTH, so implicit TLS must waive it.
            options.update(
                auth_required=True,
                auth_require_tls=security == "starttls",
                authenticator=self._authenticate,
            )
        self._controller = _LoopbackController(self, **options)
        self.host = LOOPBACK
        self.port = self._controller.port

    def fail_next(self, reply: str, *, count: int = 1) -> None:
        """Answer RCPT with ``reply`` (e.g. ``"550 5.1.1 no such user"``) ``count`` times."""
        self._failures.add(reply, count)

    def drop_connections(self) -> None:
        """Close every connection that has sent a message, as a relay dropping idle clients;
        returns once their sockets are closed."""
        closed = threading.Event()

        def close() -> None:
            for transport in self._transports:
                transport.close()
            # Runs after the closes this loop iteration scheduled.
            self._controller.loop.call_soon(closed.set)

        self._controller.loop.call_soon_threadsafe(close)
        closed.wait()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self._credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        # handled=False: aiosmtpd answers a failure with the standard 535 itself.
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:  # noqa: N802 - aiosmtpd hook name
        failure = self._failures.take()
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content
        parsed = message_from_bytes(raw, policy=policy.default)
        # After STARTTLS server.transport is the TLS one too, so this covers both kinds.
        tls = server.transport.get_extra_info("ssl_object")
        self._transports.append(server.transport)
        self.messages.append(
            ReceivedMail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                raw,
                parsed,
                tls_version=tls.version() if tls else None,
                peer=session.peer,
            )
        )
        return "250 OK queued"

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


# --- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class _Handler(BaseHTTPRequestHandler):
    peer: _HttpPeer

    def do_POST(self) -> None:  # noqa: N802 - http.server hook name
        self.peer.arrived()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = self.peer._failures.take() or self.peer.answer(self.path, self.headers, body)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
        pass


class _HttpPeer:
    """A ThreadingHTTPServer on 127.0.0.1:0 that answers POSTs through :meth:`answer`."""

    path = "/"

    def __init__(self) -> None:
        self._failures = _Failures()
        self._lock = threading.Lock()
        # Every request's arrival (wall clock), whatever it was answered: limits are read here.
        self.arrivals: list[float] = []
        handler = type("Handler", (_Handler,), {"peer": self})
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}{self.path}"

    def fail_next(
        self, status: int, *, count: int = 1, body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (a dict body is sent as JSON)
        and ``headers``."""
        if isinstance(body, dict):
            encoded = json.dumps(body, ensure_ascii=False).encode()
        else:
            encoded = (body or "").encode()
        extra = tuple((headers or {}).items())
        self._failures.add(HttpAnswer(status, encoded, headers=extra), count)

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        raise NotImplementedError

    def arrived(self) -> None:
        """Note one request's arrival."""
        with self._lock:
            self.arrivals.append(time.time())

    def per_second(self) -> dict[int, int]:
        """How many requests arrived in each whole second of the wall clock."""
        with self._lock:
            seconds = [int(moment) for moment in self.arrivals]
        return {second: seconds.count(second) for second in sorted(set(seconds))}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _json(status: int, data: dict[str, Any]) -> HttpAnswer:
    return HttpAnswer(status, json.dumps(data, ensure_ascii=False).encode())


class SmsGateway(_HttpPeer):
    """Our SMS gateway: accepts only requests signed with ``key`` and ``secret``."""

    path = "/v1/sms"

    def __init__(self, *, key: str, secret: str, max_skew: float = 300) -> None:
        super().__init__()
        self.key = key
        self.secret = secret
        self.max_skew = max_skew
        self.messages: list[dict[str, Any]] = []

    def _signed(self, headers: Any, body: bytes) -> bool:
        timestamp = headers.get("X-Notifier-Timestamp", "")
        nonce = headers.get("X-Notifier-Nonce", "")
        expected = sign_request(self.secret, timestamp, nonce, body)
        return (
            headers.get("X-Notifier-Key") == self.key
            and timestamp.isdigit()
            and abs(time.time() - int(timestamp)) <= self.max_skew
            and hmac.compare_digest(expected, headers.get("X-Notifier-Signature", ""))
        )

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        if not self._signed(headers, body):
            return _json(401, {"code": "bad_signature", "message": "signature does not match"})
        with self._lock:
            self.messages.append(json.loads(body.decode("utf-8")))
            number = len(self.messages)
        return _json(200, {"message_id": f"gw-{number}"})


class WebhookReceiver(_HttpPeer):
    """An enterprise's endpoint: verifies Standard Webhooks signatures, records what it got."""

    path = "/hooks/notifier"

    def __init__(self, *, secret: str) -> None:
        super().__init__()
        self._webhook = Webhook(secret)
        self.received: list[tuple[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        self.raw_headers: list[dict[str, str]] = []
        self.content_types: list[str] = []
        self.refused = 0

    def use_secret(self, secret: str) -> None:
        """Verify with ``secret`` from now on (the firm took its own, as its docs say)."""
        with self._lock:
            self._webhook = Webhook(secret)

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        plain_headers = dict(headers.items())
        try:
            payload = self._webhook.verify(body, plain_headers)
        except WebhookVerificationError as exc:
            with self._lock:
                self.refused += 1
            return HttpAnswer(401, str(exc).encode(), "text/plain")
        with self._lock:
            self.received.append((headers["webhook-id"], payload))
            self.raw_bodies.append(body)
            self.raw_headers.append(plain_headers)
            self.content_types.append(headers.get("Content-Type", ""))
        return HttpAnswer(204)


# --- silence -------------------------------------------------------------------------------


class SilentPeer:
    """A listening socket that never accepts: connects succeed, every read times out."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind((LOOPBACK, 0))
        self._socket.listen(16)
        self.host = LOOPBACK
        self.port = self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._socket.close()


# --- faults --------------------------------------------------------------------------------


class _FaultyHandler(_Handler):
    """Asks the peer's :meth:`fault` first: hang (then 503), close without answering, or 500."""

    peer: CountingWebhookReceiver

    def do_POST(self) -> None:  # noqa: N802 - http.server hook name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fault = self.peer.fault(self.headers)
        if fault == "close":
            self.close_connection = True  # the socket closes with no status line sent
            return
        if fault == "hang":
            time.sleep(self.peer.hang_seconds)
            answer = HttpAnswer(503)
        elif fault == "500":
            answer = HttpAnswer(500, b'{"error":"injected"}')
        else:
            answer = self.peer.answer(self.path, self.headers, body)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:  # the sender gave up waiting (a hang): nothing to answer to
            self.close_connection = True


class CountingWebhookReceiver(WebhookReceiver):
    """A :class:`WebhookReceiver` that counts accepted requests by ``webhook-id``.

    ``counts[id]`` is how many signed requests with that id were answered 2xx, ``paths[id]``
    the endpoints (path and query) they were sent to. With ``fault_rates`` (e.g.
    ``{"500": 0.3, "hang": 0.05, "close": 0.05}``) requests are answered with faults instead,
    chosen by a seeded random, at most ``max_faults_per_id`` times per id, so a sender that
    retries enough always gets through. A faulted request is never counted as accepted.
    """

    def __init__(
        self,
        *,
        secret: str,
        fault_rates: dict[str, float] | None = None,
        max_faults_per_id: int = 3,
        hang_seconds: float = 2.0,
        seed: int = 7,
    ) -> None:
        super().__init__(secret=secret)
        import random
        from collections import Counter

        self.counts: Counter[str] = Counter()
        self.paths: dict[str, set[str]] = {}
        self.faults_given: Counter[str] = Counter()
        self._faults_per_id: Counter[str] = Counter()
        self._fault_rates = dict(fault_rates or {})
        self._max_faults_per_id = max_faults_per_id
        self._random = random.Random(seed)
        self.hang_seconds = hang_seconds
        self._server.RequestHandlerClass = type("Handler", (_FaultyHandler,), {"peer": self})

    def fault(self, headers: Any) -> str | None:
        """The fault to answer this request with, or None to answer normally."""
        if not self._fault_rates:
            return None
        webhook_id = headers.get("webhook-id", "")
        with self._lock:
            if self._faults_per_id[webhook_id] >= self._max_faults_per_id:
                return None
            draw = self._random.random()
            for name, rate in self._fault_rates.items():
                if draw < rate:
                    self._faults_per_id[webhook_id] += 1
                    self.faults_given[name] += 1
                    return name
                draw -= rate
        return None

    def answer(self, path: str, headers: Any, body: bytes) -> HttpAnswer:
        answer = super().answer(path, headers, body)
        if 200 <= answer.status < 300:
            webhook_id = headers["webhook-id"]
            with self._lock:
                self.counts[webhook_id] += 1
                self.paths.setdefault(webhook_id, set()).add(path)
            # Only counts are needed here; the lists of the base class would grow to no use.
            with self._lock:
                self.received.clear()
                self.raw_bodies.clear()
                self.raw_headers.clear()
                self.content_types.clear()
        return answer
