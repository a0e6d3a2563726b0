"""The firms that have not done a deadline, as the console exports them (XLSX): Chinese
headers in the page's language, statuses and channels in words, the due time and the last
send as date cells, the working days left as a number."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from notifier.services.deadlines.outstanding import DeadlineStanding, FirmNotDone
from notifier.web import words
from notifier.web.i18n import Translator

COLUMNS: tuple[str, ...] = (
    "credit_code",
    "name",
    "region",
    "phone",
    "email",
    "last_status",
    "last_channel",
    "last_sent_at",
    "policy_title",
    "deadline",
    "due_at",
    "working_days_left",
)


def headers(t: Translator) -> list[str]:
    """The header row in ``t``'s language."""
    return [t(f"deadline_page.col_{column}") for column in COLUMNS]


def rows(
    standing: DeadlineStanding, firms: Sequence[FirmNotDone], t: Translator
) -> Iterator[dict[str, Any]]:
    """One row per firm, in ``t``'s words."""
    for firm in firms:
        channel = firm.last_channel
        yield {
            "credit_code": firm.credit_code,
            "name": firm.name,
            "region": firm.region,
            "phone": firm.phone,
            "email": firm.email,
            "last_status": words.status(t, firm.last_status) if firm.last_status else None,
            "last_channel": t(f"channel.{channel}") if channel and t.has(f"channel.{channel}")
            else channel,
            "last_sent_at": firm.last_sent_at,
            "policy_title": standing.policy_title,
            "deadline": standing.title,
            "due_at": standing.due_at,
            "working_days_left": standing.working_days_left,
        }
