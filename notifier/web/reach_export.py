"""A policy's firms and their reach states as a clerk exports them (XLSX, by the console and
``notifier policies reach ID --xlsx FILE``): Chinese headers in the reader's language, states
and yes/no in words, times as times (the typed writer makes them date cells)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from notifier.services.reach.report import FirmReach
from notifier.web.i18n import Translator

COLUMNS: tuple[str, ...] = (
    "name",
    "credit_code",
    "community",
    "region",
    "state",
    "question_open",
    "confirmed_at",
    "updated_at",
)


def headers(t: Translator) -> list[str]:
    """The header row in ``t``'s language."""
    return [t(f"reach_report.col_{column}") for column in COLUMNS]


def rows(firms: Iterable[FirmReach], t: Translator) -> Iterator[dict[str, Any]]:
    """One row per firm, in ``t``'s words."""
    for firm in firms:
        yield {
            "name": firm.name,
            "credit_code": firm.credit_code,
            "community": firm.community,
            "region": firm.region,
            "state": t(f"reach_state.{firm.state}"),
            "question_open": t("reach_report.yes" if firm.question_open else "reach_report.no"),
            "confirmed_at": firm.confirmed_at,
            "updated_at": firm.updated_at,
        }
