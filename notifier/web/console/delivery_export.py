"""The delivery log as the console exports it for a clerk (XLSX and CSV): words, not codes.

Headers, statuses, channels, triggers and why-reached in the page's language, the policy's
title beside each delivery, counts as numbers and times as times (the XLSX writer makes them
number and date cells in the deployment's zone). The API keeps its documented columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from notifier.services.enterprises.listings import DELIVERY_COLUMNS
from notifier.store import policies
from notifier.store.models import Delivery
from notifier.web import i18n, words
from notifier.web.delivery_log_export import Convert
from notifier.web.i18n import Translator

# The API's columns with the policy's title after its id.
COLUMNS: tuple[str, ...] = (
    *DELIVERY_COLUMNS[:2],
    "policy_title",
    *DELIVERY_COLUMNS[2:],
)


def headers(t: Translator) -> list[str]:
    """The header row in ``t``'s language."""
    return [t(f"words.export.{column}") for column in COLUMNS]


def rows(
    deliveries: Sequence[Delivery], titles: Mapping[int, str], t: Translator
) -> Iterator[dict[str, Any]]:
    """One row per delivery (its enterprise and trigger loaded), in ``t``'s words."""
    for d in deliveries:
        yield {
            "id": d.id,
            "policy_id": d.policy_id,
            "policy_title": titles.get(d.policy_id) if d.policy_id else None,
            "trigger": words.trigger(t, d.trigger.key),
            "credit_code": d.enterprise.credit_code,
            "enterprise": d.enterprise.name,
            "channel": t(f"channel.{d.channel}") if t.has(f"channel.{d.channel}") else d.channel,
            "address": d.address,
            "status": words.status(t, d.status),
            "attempts": d.attempts,
            "last_error": d.last_error,
            "provider": d.provider,
            "provider_message_id": d.provider_message_id,
            "reason": words.why(t, d.reason),
            "sent_at": d.sent_at,
            "next_attempt_at": d.next_attempt_at,
        }


def as_text(rows: Iterable[dict[str, Any]], zone: tzinfo) -> Iterator[dict[str, Any]]:
    """``rows`` with their times as text in ``zone`` (``2026-06-01 09:00``), for the CSV."""
    for row in rows:
        yield {
            key: value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            if isinstance(value, datetime)
            else value
            for key, value in row.items()
        }


def converter(language: str, *, times_in: tzinfo | None = None) -> Convert:
    """What makes a page of deliveries rows in ``language`` (with ``times_in``: the times as
    text in that zone, for the CSV); picklable, for the export's child process."""
    return partial(_converted, language, times_in)


def _converted(
    language: str, times_in: tzinfo | None, session: Session, page: list[Delivery]
) -> Iterator[dict[str, Any]]:
    titles = policies.titles(session, {d.policy_id for d in page if d.policy_id})
    made = rows(page, titles, i18n.translator(language))
    return as_text(made, times_in) if times_in is not None else made
