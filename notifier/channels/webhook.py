"""Webhooks: signed JSON POSTs to each enterprise's own endpoint (kind ``standard-webhooks``).

``message.to`` is the endpoint URL and ``message.payload`` the JSON body. Every request carries
``webhook-id`` (the delivery's stable message id, so a receiver can drop a retried duplicate),
``webhook-timestamp`` and ``webhook-signature`` as https://www.standardwebhooks.com/ specifies,
signed with the endpoint's own secret(s) from ``message.signing_secrets`` (see
:mod:`notifier.services.providers.endpoint_secrets`), or the shared ``secret`` where it has none.

An endpoint that is a group chat robot (WeCom, DingTalk, Feishu; see
:mod:`notifier.channels.robots`) gets the rendered text as the robot's markdown message
instead, signed as that robot wants, and no more messages a minute than the robot takes.

Options: ``timeout``, ``robot_per_minute`` (a robot flavour's messages a minute, overriding
the documented defaults); secret: ``secret`` (``whsec_`` and base64).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

import requests
from pydantic import Field
from standardwebhooks import Webhook

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment, SendResult
from notifier.channels.http import HttpProvider
from notifier.channels.options import KindOptions, parse_config
from notifier.channels.robots import (
    PER_MINUTE,
    ROBOTS,
    Endpoint,
    parse_endpoint,
    robot_error,
    robot_request,
)
from notifier.domain.channel_names import WEBHOOK
from notifier.errors import ConfigError, PermanentError, ThrottledError
from notifier.guards.endpoint_limits import EndpointLimiter, endpoint_limiter

if TYPE_CHECKING:
    pass


class WebhookOptions(KindOptions):
    """How long to wait for an endpoint."""

    timeout: float = Field(default=10.0, gt=0)
    robot_per_minute: dict[str, int] = Field(default_factory=dict)


class WebhookSecrets(KindOptions):
    """The shared signing secret, for endpoints that have no secret of their own yet."""

    secret: str = Field(min_length=1)


class StandardWebhooksProvider(HttpProvider):
    """Posts each message's payload to the URL in ``message.to``."""

    kind: ClassVar[str] = "standard-webhooks"
    channels: ClassVar[frozenset[str]] = frozenset({WEBHOOK})
    idempotency_header: ClassVar[str | None] = "webhook-id"
    shared_endpoint: ClassVar[bool] = False  # each enterprise's URL (or robot) is its own
    sends_async: ClassVar[bool] = True

    def __init__(
        self,
        *,
        name: str,
        signer: Webhook,
        timeout: float,
        environment: ProviderEnvironment,
        session: requests.Session | None = None,
        limiter: EndpointLimiter | None = None,
        robot_per_minute: dict[str, int] | None = None,
    ) -> None:
        super().__init__(
            name=name, channel=WEBHOOK, timeout=timeout, environment=environment, session=session
        )
        self._signer = signer
        self._limiter = limiter or endpoint_limiter(
            environment.rate_limit_url, namespace=environment.rate_limit_namespace
        )
        self._per_minute = {**PER_MINUTE, **(robot_per_minute or {})}

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
        unknown = sorted(set(options.robot_per_minute) - set(ROBOTS))
        if unknown or any(n < 1 for n in options.robot_per_minute.values()):
            raise ConfigError(
                f"{config.label}: option robot_per_minute: 机器人类型为 {', '.join(ROBOTS)}，"
                f"每分钟条数至少 1 / robots are {', '.join(ROBOTS)}, each at least 1 a minute"
            )
        return cls(
            name=config.name,
            signer=signer,
            timeout=options.timeout,
            environment=environment,
            session=session,
            robot_per_minute=options.robot_per_minute,
        )

    def send(self, message: Message) -> SendResult:
        """:meth:`asend`, waited for in this thread (not the loop's)."""
        return self.loop.run(self.asend(message))

    async def asend(self, message: Message) -> SendResult:
        """Post the payload to the endpoint.

        Raises:
            TransientError: timeout, connection error, 408, 429 or 5xx.
            PermanentError: refused target, a redirect or any other 4xx.
            ThrottledError: a robot's own throttling, or its messages a minute used up.
        """
        endpoint = parse_endpoint(message.to)
        if endpoint.is_robot:  # its minute is counted in Redis: not on the loop
            return await asyncio.to_thread(self.send_to_robot, endpoint, message)
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":"))
        # Whole seconds: the signature covers the timestamp as sent.
        timestamp = datetime.fromtimestamp(int(time.time()), tz=UTC)
        headers = {
            "Content-Type": "application/json",
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": self.signature(message, timestamp, body),
        }
        await self.apost(endpoint.url, body=body.encode("utf-8"), headers=headers, message=message)
        return SendResult(provider=self.name, provider_message_id=message.message_id)

    def signature(self, message: Message, timestamp: datetime, body: str) -> str:
        """The ``webhook-signature`` value: one ``v1,`` signature per secret of the endpoint,
        space-separated (Standard Webhooks), so a receiver holding either secret of a rotation
        verifies it; the shared secret signs where the endpoint has none of its own.

        Raises:
            PermanentError: a stored secret is not a valid key (never quoted).
        """
        signatures = []
        for secret in message.signing_secrets:
            try:
                signer = self._signer if secret is None else Webhook(secret)
            except Exception:  # binascii/Value errors on a bad key, as in from_config
                raise PermanentError(
                    "webhook: 端点密钥无效 / the endpoint's signing secret is not a valid key"
                ) from None
            signatures.append(signer.sign(message.message_id, timestamp, body))
        return " ".join(signatures)

    def send_to_robot(self, endpoint: Endpoint, message: Message) -> SendResult:
        """Post the message's text to a chat robot, within its messages a minute.

        Raises:
            ThrottledError: the robot's minute is used up here (nothing sent), or the robot
                answered its throttling code.
            TransientError, PermanentError: as for any endpoint, and the robot's error codes.
        """
        wait = self._limiter.acquire(endpoint.url, self._per_minute[endpoint.flavour])
        if wait is not None:
            raise ThrottledError(
                f"{endpoint.flavour} 机器人本分钟条数已满 / robot's messages a minute used up",
                retry_after=wait,
            )
        url, body = robot_request(endpoint, message.text)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        response = self.post(url, body=body, headers=headers, message=message)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        error = robot_error(endpoint.flavour, answer if isinstance(answer, dict) else {})
        if error is not None:
            raise error
        return SendResult(provider=self.name, provider_message_id=message.message_id)

    def close(self) -> None:
        """Close the HTTP session and the rate-limit connection."""
        super().close()
        self._limiter.close()

    def peer(self, url: str) -> str:
        """Failure reasons name the endpoint's host."""
        return f"webhook {urlsplit(url).hostname}"
