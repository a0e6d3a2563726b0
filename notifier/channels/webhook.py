"""Webhooks: signed JSON POSTs to each enterprise's own endpoint (kind ``standard-webhooks``).

``message.to`` is the endpoint URL and ``message.payload`` the JSON body. Every request carries
``webhook-id`` (the delivery's stable message id, so a receiver can drop a retried duplicate),
``webhook-timestamp`` and ``webhook-signature`` as https://www.standardwebhooks.com/ specifies.

Options: ``timeout``; secret: ``secret`` (``whsec_`` and base64).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

import requests
from pydantic import Field
from standardwebhooks import Webhook

from notifier.channel_names import WEBHOOK
from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment, SendResult
from notifier.channels.http import HttpProvider
from notifier.channels.options import KindOptions, parse_config
from notifier.errors import ConfigError

if TYPE_CHECKING:
    pass


class WebhookOptions(KindOptions):
    """How long to wait for an endpoint."""

    timeout: float = Field(default=10.0, gt=0)


class WebhookSecrets(KindOptions):
    """The signing secret the enterprises verify with."""

    secret: str = Field(min_length=1)


class StandardWebhooksProvider(HttpProvider):
    """Posts each message's payload to the URL in ``message.to``."""

    kind: ClassVar[str] = "standard-webhooks"
    channels: ClassVar[frozenset[str]] = frozenset({WEBHOOK})
    idempotency_header: ClassVar[str | None] = "webhook-id"

    def __init__(
        self,
        *,
        name: str,
        signer: Webhook,
        timeout: float,
        environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            name=name, channel=WEBHOOK, timeout=timeout, environment=environment, session=session
        )
        self._signer = signer

    @classmethod
    def from_config(
        cls,
        config: ProviderConfig,
        *,
        environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> StandardWebhooksProvider:
        """Build the provider from its config.

        Raises:
            ConfigError: the signing secret is missing or not a valid key, or an option is
                wrong; the message names the provider and the option, never the secret.
        """
        options, secrets = parse_config(config, WebhookOptions, WebhookSecrets)
        try:
            signer = Webhook(secrets.secret)
        except Exception:  # the library raises plain binascii/Value errors on a bad key
            raise ConfigError(f"{config.label}: secret secret: not a valid signing key") from None
        return cls(
            name=config.name,
            signer=signer,
            timeout=options.timeout,
            environment=environment,
            session=session,
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
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": self._signer.sign(message.message_id, timestamp, body),
        }
        self.post(message.to, body=body.encode("utf-8"), headers=headers, message=message)
        return SendResult(provider=self.name, provider_message_id=message.message_id)

    def peer(self, url: str) -> str:
        """Failure reasons name the endpoint's host."""
        return f"webhook {urlsplit(url).hostname}"
