"""One error hierarchy for the whole package."""

from __future__ import annotations

from typing import Any


class NotifierError(Exception):
    """Base of every error notifier raises on purpose."""


class ConfigError(NotifierError):
    """A setting is missing or wrong; the message names it."""


class InputError(NotifierError):
    """Bad input from a user (a file, a command-line value); the message names the field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ContentRefused(InputError):
    """A text about to go out breaks the content rules (a forbidden word, an unfilled variable,
    a link outside the allowed domains, too many SMS parts); ``findings`` lists each as plain
    data (its place, word, offset and excerpt), ``field`` names the first one's place."""

    def __init__(
        self, message: str, *, field: str | None = None, findings: list[dict[str, Any]]
    ) -> None:
        super().__init__(message, field=field)
        self.findings = findings


class TemplateError(NotifierError):
    """A message template cannot be compiled or rendered safely; ``field`` names the part
    (``body``, ``subject``, ``html``, ``name``) when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ChannelError(NotifierError):
    """A message could not be handed to its channel.

    ``reason`` is a short text kept on the delivery so staff can see why.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ChannelError):
    """Worth trying again later: timeouts, connection errors, 5xx, 429."""


class ThrottledError(TransientError):
    """The provider refused for now because we sent too fast (HTTP 429, a throttle code, a
    per-number frequency limit, a daily quota): the message is sent again later and the answer
    never counts as a failure (neither toward the delivery's attempts nor the provider's circuit).

    ``retry_after`` is the seconds the provider (HTTP ``Retry-After``, a vendor's documented
    window, our own per-endpoint limit) asks us to wait, when it says; otherwise None and the
    usual backoff applies. ``next_day``: a daily limit, which lifts at the next local midnight
    (the deployment's time zone), so the message waits until then.
    """

    def __init__(
        self, reason: str, *, retry_after: float | None = None, next_day: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.next_day = next_day


class PermanentError(ChannelError):
    """Will never succeed as it is: bad address, 4xx, refused target."""


class TriggerError(NotifierError):
    """A trigger cannot be fanned out or rendered as it is (unknown kind, missing policy).

    Permanent: retrying the same trigger would fail the same way.
    """


class BrokerUnavailable(NotifierError):
    """The message broker could not be reached to queue work; the message names the setting."""


class NotFoundError(InputError):
    """Input names something that does not exist (an id, a credit code); the API answers 404."""


class ConflictError(InputError):
    """The request cannot apply to the thing as it now stands (a cancelled deadline); 409."""


class NotAllowedError(InputError):
    """The actor may not do this to this thing (an author approving their own send); 403."""
