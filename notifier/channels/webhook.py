"""Webhooks: signed JSON POSTs to each enterprise's own endpoint (Standard Webhooks).

``message.to`` is the endpoint URL and ``message.payload`` the JSON body. Every request carries
``webhook-id`` (the delivery's stable message id, so a receiver can drop a retried duplicate),
``webhook-timestamp`` and ``webhook-signature`` as https://www.standardwebhooks.com/ specifies.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

import requests
from standardwebhooks import Webhook

from notifier import netguard
from notifier.channels.base import Channel, Message, SendResult
from notifier.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from notifier.config import Settings, WebhookSettings

log = logging.getLogger(__name__)

PROVIDER = "webhook"
_RETRY_STATUSES = {408, 429}
_REASON_LIMIT = 200


class WebhookChannel(Channel):
    """Posts each message's payload to the URL in ``message.to``."""

    name: ClassVar[str] = "webhook"

    def __init__(
        self,
        *,
        settings: WebhookSettings,
        allowed_private_targets: Sequence[str],
        session: requests.Session | None = None,
    ) -> None:
        self._signer = Webhook(settings.secret.get_secret_value())
        self._timeout = settings.timeout
        self._allowed = list(allowed_private_targets)
        self._owns_session = session is None
        # The guard on the session is the address check that counts (DNS rebinding).
        self._session = netguard.guard_session(session or requests.Session(), allowed=self._allowed)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookChannel:
        """Build the channel from the application settings."""
        return cls(
            settings=settings.webhook, allowed_private_targets=settings.allowed_private_targets
        )

    def send(self, message: Message) -> SendResult:
        """Post the payload to the endpoint.

        Raises:
            TransientError: timeout, connection error, 408, 429 or 5xx.
            PermanentError: refused target, a redirect or any other 4xx.
        """
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":"))
        # Whole seconds: the signature covers the timestamp as sent.
        timestamp = datetime.fromtimestamp(int(time.time()), tz=UTC)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message.message_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": self._signer.sign(message.message_id, timestamp, body),
        }
        response = netguard.post(
            self._session,
            message.to,
            allowed=self._allowed,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=self._timeout,
        )
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(provider=PROVIDER, provider_message_id=message.message_id)
        host = urlsplit(message.to).hostname
        reason = f"webhook {host} answered HTTP {status}: {response.text.strip()}"[:_REASON_LIMIT]
        log.info("webhook delivery %s got HTTP %s", message.delivery_id, status)
        if status in _RETRY_STATUSES or status >= 500:
            raise TransientError(reason)
        raise PermanentError(reason)

    def close(self) -> None:
        """Close the HTTP session when the channel made it."""
        if self._owns_session:
            self._session.close()
