"""Which sends need approval (the ``approval`` settings), and who a person is.

Pure: the settings and the audience counts in, the matched rules out.
"""

from __future__ import annotations

from collections.abc import Mapping

from notifier.config import ApprovalSettings
from notifier.domain.channel_names import SMS
from notifier.services.context import Actor
from notifier.store.models import ApprovalKind

# The roles that may decide a request (besides never their own).
DECIDERS = ("admin", "approver")


def rules_matched(
    settings: ApprovalSettings, *, kind: str, recipients: Mapping[str, int], firms: int
) -> list[str]:
    """The rules that make this send wait for approval (``sms``, ``max_firms``,
    ``campaigns``); empty: it goes out at once. Nothing matches when approval is off."""
    if not settings.enabled:
        return []
    matched = []
    if settings.sms and recipients.get(SMS, 0) > 0:
        matched.append("sms")
    if settings.max_firms is not None and firms > settings.max_firms:
        matched.append("max_firms")
    if settings.campaigns and kind == ApprovalKind.CAMPAIGN:
        matched.append("campaigns")
    return matched


def person(actor: Actor) -> str:
    """The person behind ``actor``: the user who owns the key or the console session, else
    the key's prefix (or the CLI's operating-system user). Self-approval compares these."""
    return (actor.owner or actor.name)[:64]
