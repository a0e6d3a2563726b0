"""SMS through our HTTP SMS gateway.

The gateway protocol:

* ``POST {settings.url}`` with a UTF-8 JSON body
  ``{"to": "+8613800138000", "text": "<full text, signature included>", "out_id": "<message id>"}``.
  ``out_id`` is the delivery's stable message id, so the gateway can recognise a retry.
* Headers: ``X-Notifier-Key: <app_key>``, ``X-Notifier-Timestamp: <unix seconds>``,
  ``X-Notifier-Nonce: <uuid4 hex>`` and ``X-Notifier-Signature``: the lowercase hex
  HMAC-SHA256, keyed with ``app_secret``, of ``f"{timestamp}\\n{nonce}\\n{body}"`` in UTF-8
  (see :func:`sign_request`).
* A 2xx answer carries ``{"message_id": "..."}``, the gateway's id for the message.
  408, 429 and 5xx mean "try again later"; any other answer is a refusal, described by
  ``{"code": ..., "message": ...}`` when the gateway sends one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import requests

from notifier import netguard
from notifier.channels.base import Channel, Message, SendResult
from notifier.errors import ConfigError, PermanentError, TransientError

if TYPE_CHECKING:
    from notifier.config import Settings, SmsSettings

log = logging.getLogger(__name__)

PROVIDER = "sms-http"
_RETRY_STATUSES = {408, 429}
_REASON_LIMIT = 200


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


def _gateway_error(response: requests.Response) -> str:
    """The gateway's own description of a refusal, trimmed for the delivery row."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and ("code" in data or "message" in data):
        text = " ".join(str(data[key]) for key in ("code", "message") if data.get(key) is not None)
    else:
        text = response.text.strip()
    return text[:_REASON_LIMIT]


class SmsChannel(Channel):
    """Sends one text message per request to the HTTP SMS gateway."""

    name: ClassVar[str] = "sms"

    def __init__(
        self,
        *,
        settings: SmsSettings,
        allowed_private_targets: Sequence[str],
        session: requests.Session | None = None,
    ) -> None:
        if not (settings.url and settings.app_key and settings.app_secret):
            raise ConfigError("sms: url, app_key and app_secret are required")
        self._url = settings.url
        self._key = settings.app_key
        self._secret = settings.app_secret.get_secret_value()
        self._timeout = settings.timeout
        self._allowed = list(allowed_private_targets)
        self._owns_session = session is None
        # The guard on the session is the address check that counts (DNS rebinding).
        self._session = netguard.guard_session(session or requests.Session(), allowed=self._allowed)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsChannel:
        """Build the channel from the application settings."""
        return cls(settings=settings.sms, allowed_private_targets=settings.allowed_private_targets)

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
        response = netguard.post(
            self._session,
            self._url,
            allowed=self._allowed,
            data=body,
            headers=headers,
            timeout=self._timeout,
        )
        return self._result(response, message)

    def _result(self, response: requests.Response, message: Message) -> SendResult:
        status = response.status_code
        if 200 <= status < 300:
            try:
                provider_id = response.json().get("message_id")
            except (ValueError, AttributeError):
                provider_id = None
            if provider_id is None:
                log.warning("sms gateway gave no message_id for delivery %s", message.delivery_id)
                return SendResult(provider=PROVIDER)
            return SendResult(provider=PROVIDER, provider_message_id=str(provider_id))
        if status in _RETRY_STATUSES or status >= 500:
            raise TransientError(f"sms gateway answered HTTP {status}: {_gateway_error(response)}")
        raise PermanentError(f"sms gateway refused (HTTP {status}): {_gateway_error(response)}")

    def close(self) -> None:
        """Close the HTTP session when the channel made it."""
        if self._owns_session:
            self._session.close()
