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

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import urlsplit

import requests

from notifier.channels import aio, netguard
from notifier.channels.base import Message, Provider, ProviderEnvironment
from notifier.errors import ChannelError, PermanentError, ThrottledError, TransientError

log = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429


class HttpProvider(Provider):
    """A provider that sends each message as one guarded HTTP POST.

    Class attributes a subclass may change: ``transient_statuses`` (besides every 5xx),
    ``reason_limit`` (characters of a failure reason kept on the delivery) and
    ``idempotency_header`` (the header that carries the message id, or None).
    """

    transient_statuses: ClassVar[frozenset[int]] = frozenset({408, 429})
    reason_limit: ClassVar[int] = 200
    idempotency_header: ClassVar[str | None] = None
    loop: aio.LoopThread  # every HTTP provider sends on one

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
        # Sent through the process's event loop (aiohttp), pooled per host; a session handed
        # in (a test's, trusting its own CA) is used instead, with the guard mounted on it.
        # Either way the address check that counts is made where the socket opens.
        self.session: requests.Session | None = None
        self.client: aio.GuardedClient | None = None
        self._own_loop: aio.LoopThread | None = None
        loop = environment.http_loop
        if loop is None:  # no process-wide loop handed in: the provider runs its own
            loop = self._own_loop = aio.LoopThread()
        self.loop = loop
        if session is not None:
            self.session = netguard.guard_session(session, allowed=self.allowed)
        else:
            self.client = aio.GuardedClient(self.loop, allowed=self.allowed)

    def post(
        self, url: str, *, body: bytes, headers: Mapping[str, str], message: Message
    ) -> requests.Response:
        """:meth:`apost` from a thread that is not the loop's: waits for the answer."""
        return self.loop.run(self.apost(url, body=body, headers=headers, message=message))

    async def apost(
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
        if self.client is not None:
            response = await self.client.apost(
                url, data=body, headers=sent, timeout=self.timeout, deadline=self.deadline,
                max_bytes=self.max_answer_bytes,
            )  # fmt: skip
        else:  # a session handed in: requests, in a thread of the loop's
            assert self.session is not None
            response = await asyncio.to_thread(
                netguard.post, self.session, url, allowed=self.allowed, data=body, headers=sent,
                timeout=self.timeout, deadline=self.deadline, max_bytes=self.max_answer_bytes,
            )  # fmt: skip
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
        """Close the provider's pooled connections (a session handed in is the caller's)."""
        if self.client is not None:
            self.client.close()
        if self._own_loop is not None:
            self._own_loop.stop()


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
