"""Email through an SMTP relay (plain, STARTTLS or implicit TLS), kind ``smtp``.

Each message carries ``Message-ID: <{message id}@{sender domain}>`` so a retried delivery can
be recognised downstream, and ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` (RFC 8058
one-click) when the message has an unsubscribe link.

With STARTTLS or implicit TLS the relay's certificate and host name are always verified, against
the ``ca_file`` option when set (an intranet relay signed by the office's own CA), else the
system store.

Messages go over kept-open connections, up to ``connections`` of them per provider in each
worker process (:mod:`notifier.channels.smtp_pool`): batches sending at the same time each use
their own, and none waits for another's.

Options: ``host``, ``port``, ``security`` (none, starttls, ssl), ``username``, ``sender``,
``unsubscribe_mailto``, ``timeout``, ``ca_file``, ``connections``; secret: ``password``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import parseaddr
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from notifier.channels.base import (
    Message,
    Provider,
    ProviderConfig,
    ProviderEnvironment,
    SendResult,
)
from notifier.channels.mime import (
    ENCODED_LINE,
    DateHeader,
    header_value,
    is_plain_address,
    mailbox,
    write_email,
)
from notifier.channels.options import KindOptions, parse_config
from notifier.channels.smtp_pool import SmtpPool
from notifier.domain.channel_names import EMAIL
from notifier.errors import ChannelError, ConfigError, PermanentError, TransientError

log = logging.getLogger(__name__)

_REASON_LIMIT = 200


class SmtpOptions(KindOptions):
    """The relay and how to talk to it."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    sender: str = "北仑企服 <noreply@notifier.invalid>"
    unsubscribe_mailto: str | None = None
    timeout: float = Field(default=15.0, gt=0)
    ca_file: Path | None = None
    # Kept-open connections per worker process, each used by one send at a time.
    connections: int = Field(default=8, ge=1, le=64)


class SmtpSecrets(KindOptions):
    """The relay password, when it wants a login."""

    password: str | None = None
# Folding a header that holds a long URL turns it into RFC 2047 encoded words, which breaks
# the link; so List-Unsubscribe is only folded at the hard line limit.
_UNFOLDED = SMTP.clone(max_line_length=998, cte_type="7bit")


class _MailPolicy(EmailPolicy):
    """``email.policy.SMTP`` that keeps bodies 7-bit (base64 or quoted-printable) so any relay
    takes them, and leaves List-Unsubscribe unfolded."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() == "list-unsubscribe":
            return str(_UNFOLDED.fold(name, value))
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "list-unsubscribe":
            return _UNFOLDED.fold_binary(name, value)
        return super().fold_binary(name, value)


# Lines of 76 at most: RFC 2047's limit for a line holding encoded words (each then <= 75).
MAIL_POLICY = _MailPolicy(linesep="\r\n", cte_type="7bit", max_line_length=ENCODED_LINE)


def _reason(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"smtp {code}: {text}"[:_REASON_LIMIT]


def _channel_error(exc: smtplib.SMTPException | OSError) -> ChannelError:
    """Map an smtplib or socket failure to a transient or permanent channel error."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # A 4xx refusal (greylisting, full mailbox) may pass later; a 5xx one will not.
        code, text = next(iter(exc.recipients.values()), (550, b"recipient refused"))
        if all(400 <= c < 500 for c, _ in exc.recipients.values()):
            return TransientError(_reason(code, text))
        return PermanentError(_reason(code, text))
    if isinstance(exc, smtplib.SMTPResponseException):
        error = PermanentError if 500 <= exc.smtp_code < 600 else TransientError
        return error(_reason(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # Also STARTTLS not offered: we never fall back to sending in clear text.
        return PermanentError(f"smtp: {exc}"[:_REASON_LIMIT])
    if isinstance(exc, ssl.SSLCertVerificationError):
        # A certificate we do not trust (wrong CA, wrong host name, expired) stays so until
        # someone changes the relay or email.ca_file; retrying every message only hides that.
        return PermanentError(f"smtp: relay certificate not trusted: {exc.verify_message}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientError(f"smtp: server disconnected: {exc}"[:_REASON_LIMIT])
    if isinstance(exc, TimeoutError):
        return TransientError("smtp: timeout")
    return TransientError(f"smtp: {type(exc).__name__}: {exc}"[:_REASON_LIMIT])


def _tls_context(ca_file: Path | None, *, label: str) -> ssl.SSLContext:
    """A client context that verifies the relay's certificate and host name, always."""
    try:
        # With a cafile, only those CAs are trusted: the system store is not loaded.
        return ssl.create_default_context(cafile=ca_file)
    except OSError as exc:  # ssl.SSLError included: a file that holds no PEM certificate
        raise ConfigError(f"{label}: option ca_file ({ca_file}): not usable: {exc}") from exc


class SmtpProvider(Provider):
    """Sends messages over up to ``connections`` kept-open SMTP connections, shared by the
    process's threads (:class:`~notifier.channels.smtp_pool.SmtpPool`).

    Connecting, the TLS handshake and the login cost several round trips; a kept connection
    pays them once. One idle for a while is checked with NOOP before use (relays drop idle
    ones), and one that saw any error is closed, so a message is never retried on a doubtful
    session.
    """

    kind: ClassVar[str] = "smtp"
    channels: ClassVar[frozenset[str]] = frozenset({EMAIL})

    def __init__(self, *, name: str, options: SmtpOptions, password: str | None = None) -> None:
        """Build the provider and its TLS context, once.

        Raises:
            ConfigError: ``ca_file`` is missing, unreadable or holds no PEM certificate.
        """
        super().__init__(name=name, channel=EMAIL)
        self._options = options
        self._password = password
        self._sender = parseaddr(options.sender)[1]
        self._domain = self._sender.rpartition("@")[2] or "localhost"
        self._from = mailbox(options.sender, name="From")
        self._plain_sender = is_plain_address(self._sender)
        self._dates = DateHeader()
        self._tls = _tls_context(options.ca_file, label=f"provider {name!r} (kind {self.kind!r})")
        # A send waits for a busy connection about as long as it would wait for the relay.
        self._pool = SmtpPool(
            size=options.connections, connect=self._connect, wait=options.timeout
        )

    @classmethod
    def from_config(
        cls, config: ProviderConfig, *, environment: ProviderEnvironment
    ) -> SmtpProvider:
        """Build the provider from its config.

        Raises:
            ConfigError: an option is wrong or ``ca_file`` is not usable; the message names
                the provider and the option.
        """
        options, secrets = parse_config(config, SmtpOptions, SmtpSecrets)
        return cls(name=config.name, options=options, password=secrets.password)

    def build(self, message: Message) -> EmailMessage:
        """Return the email for ``message``.

        Raises:
            PermanentError: the address or a header value is unusable.
        """
        email = EmailMessage(policy=MAIL_POLICY)
        try:
            email["From"] = self._options.sender
            email["To"] = message.to
            if message.subject is not None:
                email["Subject"] = message.subject
            email["Date"] = self._dates.now()
            email["Message-ID"] = f"<{message.message_id}@{self._domain}>"
            if message.unsubscribe_url:
                targets = [f"<{message.unsubscribe_url}>"]
                if self._options.unsubscribe_mailto:
                    targets.append(
                        f"<mailto:{self._options.unsubscribe_mailto}?subject=unsubscribe>"
                    )
                email["List-Unsubscribe"] = ", ".join(targets)
                email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        except ValueError as exc:  # CR/LF in a header value
            raise PermanentError(f"email: unusable header value: {exc}"[:_REASON_LIMIT]) from exc
        addresses = email["To"].addresses
        if len(addresses) != 1 or not addresses[0].domain:
            raise PermanentError("email: recipient is not one valid address")
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def write(self, message: Message) -> bytes | None:
        """The message as wire bytes, written directly; None when an address is not plain
        ASCII (then :meth:`build` and the ``email`` package take it, SMTPUTF8 and all).

        Raises:
            PermanentError: a header value holds a line break.
        """
        if not (self._plain_sender and is_plain_address(message.to)):
            return None
        headers = [
            ("From", self._from),
            ("To", message.to),
            ("Date", self._dates.now()),
            ("Message-ID", f"<{message.message_id}@{self._domain}>"),
        ]
        try:
            if message.subject is not None:
                headers.insert(2, ("Subject", header_value(message.subject, name="Subject")))
            if message.unsubscribe_url:
                unsubscribe = header_value(
                    self._unsubscribe(message), name="List-Unsubscribe", encode=False
                )
                headers.append(("List-Unsubscribe", unsubscribe))
                headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        except ValueError as exc:
            raise PermanentError(f"email: unusable header value: {exc}"[:_REASON_LIMIT]) from exc
        return write_email(headers, text=message.text, html=message.html)

    def _unsubscribe(self, message: Message) -> str:
        targets = [f"<{message.unsubscribe_url}>"]
        if self._options.unsubscribe_mailto:
            targets.append(f"<mailto:{self._options.unsubscribe_mailto}?subject=unsubscribe>")
        return ", ".join(targets)

    def send(self, message: Message) -> SendResult:
        """Send one message through the relay.

        Raises:
            TransientError: connection failure, timeout, disconnect or a 4xx answer.
            PermanentError: a 5xx answer or refused recipient; the reason quotes the server.
        """
        raw = self.write(message)
        email = self.build(message) if raw is None else None
        message_id = f"<{message.message_id}@{self._domain}>"
        try:
            with self._pool.connection() as smtp:
                if email is not None:
                    smtp.send_message(email)
                else:
                    assert raw is not None
                    smtp.sendmail(self._sender, [message.to], raw)
        except (smtplib.SMTPException, OSError) as exc:
            error = _channel_error(exc)
            log.info("email delivery %s failed: %s", message.delivery_id, error.reason)
            raise error from exc
        return SendResult(provider=self.name, provider_message_id=message_id)

    def close(self) -> None:
        """Close the kept connections (one in use closes when its send ends)."""
        self._pool.close()

    def _connect(self) -> smtplib.SMTP:
        options = self._options
        if options.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                options.host, options.port, timeout=options.timeout, context=self._tls
            )
        else:
            smtp = smtplib.SMTP(options.host, options.port, timeout=options.timeout)
        try:
            if options.security == "starttls":
                smtp.starttls(context=self._tls)
            if options.username:
                smtp.login(options.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp
