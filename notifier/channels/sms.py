"""SMS through our HTTP SMS gateway (kind ``sms-gateway``).

The gateway protocol:

* ``POST {url}`` with a UTF-8 JSON body
  ``{"to": "+8613800138000", "text": "<full text, signature included>", "out_id": "<message id>"}``.
  ``out_id`` is the delivery's stable message id, so the gateway can recognise a retry.
* Headers: ``X-Notifier-Key: <app_key>``, ``X-Notifier-Timestamp: <unix seconds>``,
  ``X-Notifier-Nonce: <uuid4 hex>`` and ``X-Notifier-Signature``: the lowercase hex
  HMAC-SHA256, keyed with ``app_secret``, of ``f"{timestamp}\\n{nonce}\\n{body}"`` in UTF-8
  (see :func:`sign_request`).
* A 2xx answer carries ``{"message_id": "..."}``, the gateway's id for the message.
  408, 429 and 5xx mean "try again later"; any other answer is a refusal, described by
  ``{"code": ..., "message": ...}`` when the gateway sends one.

Options: ``url``, ``app_key``, ``timeout`` and the SMS options of
:class:`~notifier.channels.smsformat.SmsFormat`; secret: ``app_secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, ClassVar

import requests
from pydantic import Field

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment, SendResult
from notifier.channels.http import HttpProvider
from notifier.channels.options import KindOptions, parse_config
from notifier.channels.smsformat import SmsFormat, SmsProvider
from notifier.domain.channel_names import SMS

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class SmsGatewayOptions(SmsFormat):
    """The gateway's options: where it is, our key, the timeout, and how SMS are composed."""

    url: str
    app_key: str = Field(min_length=1)
    timeout: float = Field(default=10.0, gt=0)


class SmsGatewaySecrets(KindOptions):
    """The gateway's secret."""

    app_secret: str = Field(min_length=1)


def sign_request(secret: str, timestamp: int | str, nonce: str, body: bytes) -> str:
    """Return the ``X-Notifier-Signature`` value for one request.

    Parameters:
        secret: the gateway's app secret.
        timestamp: unix seconds, exactly as sent in ``X-Notifier-Timestamp``.
        nonce: exactly as sent in ``X-Notifier-Nonce``.
        body: the request body bytes.

    Returns:
        Lowercase hex HMAC-SHA256 of ``"{timestamp}\\n{nonce}\\n" + body``.
    """
    signed = f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


class SmsGatewayProvider(SmsProvider, HttpProvider):
    """Sends one text message per request to the HTTP SMS gateway."""

    kind: ClassVar[str] = "sms-gateway"

    def __init__(
        self,
        *,
        name: str,
        options: SmsGatewayOptions,
        app_secret: str,
        environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            name=name,
            channel=SMS,
            timeout=options.timeout,
            environment=environment,
            session=session,
        )
        self.sms_format = options
        self._url = options.url
        self._key = options.app_key
        self._secret = app_secret

    @classmethod
    def from_config(
        cls,
        config: ProviderConfig,
        *,
        environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> SmsGatewayProvider:
        """Build the provider from its config.

        Raises:
            ConfigError: ``url`` or ``app_key`` missing, ``app_secret`` missing, or another
                option wrong; the message names the provider and the option.
        """
        options, secrets = parse_config(config, SmsGatewayOptions, SmsGatewaySecrets)
        return cls(
            name=config.name,
            options=options,
            app_secret=secrets.app_secret,
            environment=environment,
            session=session,
        )

    def send(self, message: Message) -> SendResult:
        """Post one message to the gateway.

        Raises:
            TransientError: timeout, connection error, 408, 429 or 5xx.
            PermanentError: refused target or any other answer; the reason quotes the gateway.
        """
        body = json.dumps(
            {"to": message.to, "text": message.text, "out_id": message.message_id},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        timestamp = int(time.time())
        nonce = uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Notifier-Key": self._key,
            "X-Notifier-Timestamp": str(timestamp),
            "X-Notifier-Nonce": nonce,
            "X-Notifier-Signature": sign_request(self._secret, timestamp, nonce, body),
        }
        response = self.post(self._url, body=body, headers=headers, message=message)
        try:
            provider_id = response.json().get("message_id")
        except (ValueError, AttributeError):
            provider_id = None
        if provider_id is None:
            log.warning("%s gave no message_id for delivery %s", self.name, message.delivery_id)
            return SendResult(provider=self.name)
        return SendResult(provider=self.name, provider_message_id=str(provider_id))

    def describe_failure(self, url: str, response: requests.Response, *, transient: bool) -> str:
        """``sms gateway answered HTTP 502: ...`` or ``sms gateway refused (HTTP 400): ...``."""
        status = response.status_code
        if transient:
            return f"sms gateway answered HTTP {status}: {self.error_text(response)}"
        return f"sms gateway refused (HTTP {status}): {self.error_text(response)}"

    def error_text(self, response: requests.Response) -> str:
        """The gateway's ``code`` and ``message`` when it sends them, else the body text."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and ("code" in data or "message" in data):
            parts = (data[key] for key in ("code", "message") if data.get(key) is not None)
            return " ".join(str(part) for part in parts)
        return response.text.strip()
