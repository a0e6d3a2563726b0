"""The preview an approver decides on, frozen as JSON when the request is filed.

The policy and campaign services make it with their own preview services
(``policies.freezing``, ``campaigns.freezing``) before the request's transaction opens (a
render never runs inside a transaction); this module holds what both share: the SMS cost and
the rules matched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from notifier.services.approval.rules import rules_matched
from notifier.services.context import Context
from notifier.services.delivery.previews import Rendering


@dataclass(frozen=True)
class Frozen:
    """A send's frozen preview and the approval rules it matched (none: it needs none)."""

    kind: str
    preview: dict[str, Any]
    rules: list[str]

    @property
    def needed(self) -> bool:
        """Whether the send waits for an approver."""
        return bool(self.rules)


def sms_cost(context: Context, parts: int, *, estimated: bool) -> dict[str, Any]:
    """The SMS parts billed and their cost at ``approval.sms_price_fen`` a part."""
    price = context.settings.approval.sms_price_fen
    return {
        "parts": parts,
        "estimated": estimated,
        "price_fen": price,
        "cost_yuan": round(parts * price / 100, 2),
    }


def renderings_json(renderings: dict[str, Rendering]) -> dict[str, dict[str, Any]]:
    """Each channel's rendering (text, subject, SMS length and parts) as plain values."""
    return {channel: dataclasses.asdict(r) for channel, r in renderings.items()}


def frozen(
    context: Context, kind: str, preview: dict[str, Any], *, recipients: dict[str, int],
    firms: int,
) -> Frozen:
    """The preview with the approval rules its audience matches."""
    rules = rules_matched(
        context.settings.approval, kind=kind, recipients=recipients, firms=firms
    )
    return Frozen(kind=kind, preview=preview, rules=rules)
