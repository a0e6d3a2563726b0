"""The Channel interface every transport implements."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from notifier.config import Settings

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

    @property
    def message_id(self) -> str:
        """The header-safe id derived from the idempotency key."""
        return message_id_for(self.idempotency_key)


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider: str
    provider_message_id: str | None = None


class Channel(abc.ABC):
    """A transport. ``send`` either returns a SendResult or raises.

    Raises:
        TransientError: the message may succeed if sent again later.
        PermanentError: the message will never succeed as it is.
    """

    name: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Channel:
        """Build the channel from the application settings (each channel overrides this)."""
        raise NotImplementedError(f"{cls.__name__} does not define from_settings")

    @abc.abstractmethod
    def send(self, message: Message) -> SendResult:
        """Hand one message to the provider."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""
