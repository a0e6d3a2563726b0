"""The base of every provider that POSTs to an HTTP API (SMS gateways, webhooks, chat robots).

It owns what they share: a requests session with the netguard mounted (the address check made
where the socket opens), the timeout of each wait and the deadline of the whole exchange, the
bytes of an answer kept, the idempotency header, and how an answer's status maps to an error:
408, 429 and 5xx are worth retrying, any other non-2xx is a refusal.

Which allow-list applies depends on who chose the address: a provider sending to one endpoint
an admin configured (``shared_endpoint``: a gateway, a vendor) takes
``allowed_provider_targets``; one sending to each recipient's own endpoint (firms' webhooks and
robots) takes ``allowed_webhook_targets``, where an entry without a port opens only 80 and 443.

A subclass builds the body and headers, calls :meth:`HttpProvider.post` and reads the 2xx
answer; an API that reports errors inside a 2xx body (chat robots' ``errcode``) raises
:meth:`HttpProvider.failure`.
"""

from __future__ import annotations

import logging
import math
import os
import time
import urllib.request
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import urlsplit

import requests

from notifier.channels import netguard
from notifier.channels.base import Message, Provider, ProviderEnvironment
from notifier.errors import ChannelError, PermanentError, ThrottledError, TransientError

log = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429


def _direct_session() -> requests.Session:
    """A session that does not read the environment on every request, when it need not.

    With a proxy in the environment the session keeps reading it, so that the guard refuses
    the proxy with a clear error; without one, skipping the per-request look at the
    environment (proxies, .netrc) saves a good part of each request's cost. A CA bundle named
    in the environment is still used.
    """
    session = requests.Session()
    if not urllib.request.getproxies():
        session.trust_env = False
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
    return session


class HttpProvider(Provider):
    """A provider that sends each message as one guarded HTTP POST.

    Class attributes a subclass may change: ``transient_statuses`` (besides every 5xx),
    ``reason_limit`` (characters of a failure reason kept on the delivery) and
    ``idempotency_header`` (the header that carries the message id, or None).
    """

    transient_statuses: ClassVar[frozenset[int]] = frozenset({408, 429})
    reason_limit: ClassVar[int] = 200
    idempotency_header: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        name: str,
        channel: str,
        timeout: float,
        environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(name=name, channel=channel)
        self.timeout = timeout
        self.deadline = environment.send_deadline
        self.max_answer_bytes = environment.max_answer_bytes
        if self.shared_endpoint:
            targets, bare = environment.allowed_provider_targets, netguard.EVERY_PORT
        else:
            targets, bare = environment.allowed_webhook_targets, netguard.WEB_PORTS
        self.allowed = netguard.AllowList.parse(targets, bare=bare)
        self._owns_session = session is None
        # The guard on the session is the address check that counts (DNS rebinding).
        self.session = netguard.guard_session(session or _direct_session(), allowed=self.allowed)

    def post(
        self, url: str, *, body: bytes, headers: Mapping[str, str], message: Message
    ) -> requests.Response:
        """POST ``body`` to ``url`` through the guard, without redirects; return a 2xx answer,
        its body read (at most ``max_answer_bytes``) and its connection given back.

        Raises:
            TransientError: timeout, connection error, DNS failure, the deadline passed, 408
                or 5xx.
            ThrottledError: 429 (a TransientError that counts as no failure).
            PermanentError: a refused target, a redirect or any other answer.
        """
        sent = dict(headers)
        if self.idempotency_header:
            sent[self.idempotency_header] = message.message_id
        response = netguard.post(
            self.session,
            url,
            allowed=self.allowed,
            data=body,
            headers=sent,
            timeout=self.timeout,
            deadline=self.deadline,
            max_bytes=self.max_answer_bytes,
        )
        status = response.status_code
        if 200 <= status < 300:
            return response
        log.info("%s: delivery %s got HTTP %s", self.name, message.delivery_id, status)
        raise self.error_for(url, response)

    def error_for(self, url: str, response: requests.Response) -> ChannelError:
        """The error a non-2xx answer raises: by its status (a vendor may read its body)."""
        transient = self.is_transient(response.status_code)
        reason = self.describe_failure(url, response, transient=transient)
        if response.status_code == TOO_MANY_REQUESTS:
            return self.throttled(reason, retry_after=retry_after(response))
        return self.failure(reason, transient=transient)

    def is_transient(self, status: int) -> bool:
        """True when an answer with ``status`` may succeed if sent again."""
        return status in self.transient_statuses or status >= 500

    def describe_failure(self, url: str, response: requests.Response, *, transient: bool) -> str:
        """The reason kept on the delivery for a non-2xx answer (trimmed afterwards)."""
        return f"{self.peer(url)} answered HTTP {response.status_code}: {self.error_text(response)}"

    def peer(self, url: str) -> str:
        """How failure reasons name the other side; by default the kind and host."""
        return f"{self.kind} {urlsplit(url).hostname}"

    def error_text(self, response: requests.Response) -> str:
        """The peer's own description of a failure; by default the start of the body text."""
        # Only what a reason can keep is decoded: no guessing the charset of 64 KiB of noise.
        start = response.content[: self.reason_limit * 4]
        return start.decode(response.encoding or "utf-8", errors="replace").strip()

    def failure(self, reason: str, *, transient: bool) -> ChannelError:
        """A channel error with ``reason`` trimmed to ``reason_limit`` characters."""
        error = TransientError if transient else PermanentError
        return error(reason[: self.reason_limit])

    def throttled(self, reason: str, *, retry_after: float | None = None) -> ThrottledError:
        """A "slow down" answer (429, a throttle code), trimmed like :meth:`failure`."""
        return ThrottledError(reason[: self.reason_limit], retry_after=retry_after)

    def close(self) -> None:
        """Close the HTTP session when the provider made it."""
        if self._owns_session:
            self.session.close()


def retry_after(response: requests.Response) -> float | None:
    """The seconds a "slow down" answer asks us to wait, when it says: ``Retry-After``
    (RFC 9110: seconds or an HTTP date), else Feishu's gateway header
    ``x-ogw-ratelimit-reset`` (seconds, https://open.feishu.cn/document/server-docs/
    api-call-guide/frequency-control); None when neither is there or readable."""
    value = response.headers.get("Retry-After") or response.headers.get("x-ogw-ratelimit-reset")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    # A nonsense value falls back to backoff rather than "now" or "never".
    return max(seconds, 0.0) if math.isfinite(seconds) else None
