"""A message as it would go out, composed for a preview: nothing stored, nothing sent.

Policy and campaign previews both compose a transient delivery with the first provider of its
channel and show the text, subject and SMS count, or why it could not be composed.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.errors import NotifierError
from notifier.services.delivery.messages import Composition, MessageFactory
from notifier.services.delivery.ports import Providers
from notifier.store.audience import Recipient
from notifier.store.models import Delivery, Enterprise, Policy, Trigger


@dataclass(frozen=True)
class Rendering:
    """What one channel's message looks like for one enterprise."""

    credit_code: str
    text: str | None = None
    subject: str | None = None
    sms_length: int | None = None
    sms_parts: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class PreviewComposer:
    """Composes transient deliveries with the first configured provider of their channel.

    It holds no database session: a render, or the provider list reloading its rows in a
    connection of its own, must never happen inside a transaction (on SQLite the open
    transaction holds the write lock, and the reload would wait on it until "database is
    locked").
    """

    providers: Providers
    messages: MessageFactory

    def compose(self, delivery: Delivery) -> Composition:
        """The message ``delivery`` would send.

        Raises:
            NotifierError: the channel has no provider, or the message cannot be composed.
        """
        candidates = self.providers.for_channel(delivery.channel)
        if not candidates:
            raise NotifierError(f"渠道 channel {delivery.channel!r} 未配置 is not configured")
        return self.messages.compose(delivery, candidates[0])

    def rendering(self, delivery: Delivery, credit_code: str) -> Rendering:
        """The message ``delivery`` would send as a :class:`Rendering`, or why it cannot."""
        try:
            composed = self.compose(delivery)
        except NotifierError as exc:
            return Rendering(credit_code=credit_code, error=str(exc))
        count = composed.sms_count
        return Rendering(
            credit_code=credit_code,
            text=composed.message.text,
            subject=composed.message.subject,
            sms_length=count.length if count else None,
            sms_parts=count.parts if count else None,
        )


def policy_delivery(policy: Policy, recipient: Recipient, kind: str) -> Delivery:
    """A transient delivery of ``policy`` to ``recipient`` (of the policy's class), to render.

    Not added to any session: rendering reads these objects and nothing else.
    """
    trigger = Trigger(id=0, key="preview", kind=kind, policy=policy)
    return Delivery(
        id=0,
        idempotency_key=f"preview:{recipient.credit_code}:{recipient.channel}",
        trigger=trigger,
        enterprise=Enterprise(
            id=recipient.enterprise_id, name=recipient.name, credit_code=recipient.credit_code
        ),
        enterprise_id=recipient.enterprise_id,
        channel=recipient.channel,
        address=recipient.address,
        reason=recipient.reason,
        message_class=policy.message_class,
    )
