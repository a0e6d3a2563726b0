"""The Provider interface, and the plain data a provider is built from and works on.

A *provider* is one configured account of a *kind* (``sms-gateway``, ``smtp``, ...) serving one
*channel* (sms, email, webhook). It is built from a :class:`ProviderConfig`, plain data that
may come from the settings file or, later, from the ``providers`` table.
"""

from __future__ import annotations

import abc
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from notifier.config import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_SEND_DEADLINE
from notifier.domain.channel_names import CHANNELS
from notifier.domain.sms_length import SmsCount

if TYPE_CHECKING:
    from notifier.channels.aio import LoopThread

# A fixed namespace so a delivery's idempotency key always maps to the same message id.
_MESSAGE_ID_NAMESPACE = uuid.UUID("5b7a0c52-3f5e-4c8e-9f0e-6a1d2b9c4e11")


def message_id_for(idempotency_key: str) -> str:
    """Return the stable, header-safe id (32 hex digits) that stands for an idempotency key.

    The same delivery always yields the same id, so a provider or receiver can recognise a
    retry after a crash (webhook ``webhook-id``, SMS out-id, email ``Message-ID``).
    """
    return uuid.uuid5(_MESSAGE_ID_NAMESPACE, idempotency_key).hex


@dataclass(frozen=True)
class Message:
    """One rendered message for one recipient on one channel."""

    delivery_id: int
    idempotency_key: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    unsubscribe_url: str | None = None
    # A webhook endpoint's own signing secrets, newest first; None stands for the provider's
    # shared secret (an endpoint without one of its own). Never in ``repr``, so never logged.
    signing_secrets: tuple[str | None, ...] = field(default=(None,), repr=False)

    @functools.cached_property
    def message_id(self) -> str:
        """The header-safe id derived from the idempotency key (worked out once)."""
        return message_id_for(self.idempotency_key)


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message; ``provider`` is the account name."""

    provider: str
    provider_message_id: str | None = None


@dataclass(frozen=True)
class SendingRules:
    """How one provider is used, whatever its kind: limits and retries (None: the settings').

    Read from the provider's options by :func:`notifier.channels.sending_rules.split_sending_rules`.
    """

    rate_per_second: int | None = None
    concurrency: int | None = None
    max_attempts: int | None = None
    max_throttled_tries: int | None = None
    backoff_base_seconds: float | None = None
    backoff_max_seconds: float | None = None


@dataclass(frozen=True)
class ProviderConfig:
    """One provider account as plain data: what to build, for which channel, with what.

    ``secrets`` is left out of ``repr`` (and so out of logs and error messages); ``options``
    holds only what may be shown. Both are read-only once built.
    """

    name: str
    channel: str
    kind: str
    options: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)
    priority: int = 0
    enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        object.__setattr__(self, "secrets", MappingProxyType(dict(self.secrets)))

    @property
    def label(self) -> str:
        """How error messages name this provider: ``provider 'x' (kind 'y')``."""
        return f"provider {self.name!r} (kind {self.kind!r})"


@dataclass(frozen=True)
class ProviderEnvironment:
    """What every provider may need from the deployment rather than from its own config."""

    # Loopback or private targets that may be reached (see notifier.channels.netguard.AllowList):
    # those
    # of providers an admin configures, and those of firms' own endpoints (webhooks, robots).
    allowed_provider_targets: tuple[str, ...] = ()
    allowed_webhook_targets: tuple[str, ...] = ()
    # Every HTTP exchange with an outside party: its deadline, and the bytes of answer read.
    send_deadline: float = DEFAULT_SEND_DEADLINE
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    outbox_dir: Path = Path("var/outbox")
    # The message kinds (trigger kinds) in use: a templated SMS account must map each one.
    message_kinds: tuple[str, ...] = ()
    # Where per-endpoint rate limits are counted across processes (Redis); None: in process.
    rate_limit_url: str | None = None
    rate_limit_namespace: str = "notifier"
    # The process's event loop HTTP providers send on (one per process, shared); None: each
    # provider starts its own.
    http_loop: LoopThread | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Composed:
    """A rendered text as a provider sends it; ``sms_count`` is set for SMS.

    ``payload`` is what a templated SMS provider sends besides the text (its template code and
    parameters); it travels to :meth:`Provider.send` as ``Message.payload``.
    """

    text: str
    sms_count: SmsCount | None = None
    payload: Mapping[str, Any] | None = None


class Provider(abc.ABC):
    """One account of a kind on one channel. ``send`` either returns a SendResult or raises.

    ``channels`` names the channels a kind can serve; the registry refuses a config that puts
    it on another one.

    Raises (from ``send``):
        TransientError: the message may succeed if sent again later.
        PermanentError: the message will never succeed as it is.
    """

    kind: ClassVar[str]
    channels: ClassVar[frozenset[str]] = frozenset(CHANNELS)
    # True: a failed send says the provider (its gateway, its server) is down, so failures count
    # toward its circuit. False where each message goes to the recipient's own endpoint: one
    # enterprise's broken receiver must not hold back everyone else's messages.
    shared_endpoint: ClassVar[bool] = True
    # True: :meth:`asend` sends on the process's event loop (``loop``), side by side with the
    # other sends of a batch, without a thread of its own.
    sends_async: ClassVar[bool] = False
    # The event loop :meth:`asend` runs on (set by kinds that send on one).
    loop: LoopThread | None = None
    # Limits and retries; the registry sets each built provider's own from its options.
    rules: SendingRules = SendingRules()

    def __init__(self, *, name: str, channel: str) -> None:
        self.name = name
        self.channel = channel

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: ProviderConfig, *, environment: ProviderEnvironment) -> Provider:
        """Build the provider from its config.

        Raises:
            ConfigError: an option or secret is missing or wrong; the message names the
                provider and the option, never a secret's value.
        """

    def compose(self, text: str, *, to: str | None) -> Composed:
        """Return ``text`` as this provider sends it; by default unchanged.

        Raises:
            TemplateError: the text cannot be sent by this provider (e.g. too long).
        """
        return Composed(text)

    def compose_message(
        self, kind: str, context: Mapping[str, Any], text: str, *, to: str | None
    ) -> Composed:
        """Return the message of ``kind`` as this provider sends it.

        ``text`` is the channel's rendered template; ``context`` the values it was rendered
        from. By default :meth:`compose` of ``text``; a vendor SMS account instead fills its
        approved template's parameters from ``context``.

        Raises:
            TemplateError: the message cannot be sent by this provider.
        """
        return self.compose(text, to=to)

    @abc.abstractmethod
    def send(self, message: Message) -> SendResult:
        """Hand one message to the provider."""

    async def asend(self, message: Message) -> SendResult:
        """:meth:`send` as a coroutine on the process's event loop, for a kind whose
        ``sends_async`` is True (it neither blocks nor waits on a lock); by default none."""
        raise NotImplementedError(f"{self.kind} sends only from a thread")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} kind={self.kind!r} channel={self.channel!r}>"
