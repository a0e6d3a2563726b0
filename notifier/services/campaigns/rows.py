"""A campaign read by id, and its audit rows: what every campaign service uses (the
operations, the preview and the approval freeze), in a module that imports none of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.scope import DISTRICT, Scope
from notifier.errors import NotFoundError
from notifier.services import audit
from notifier.services.context import Context
from notifier.store import campaigns as store
from notifier.store.models import Campaign


def get_campaign(session: Session, campaign_id: int, scope: Scope = DISTRICT) -> Campaign:
    """The campaign, or a clear error (a community's staff see the campaigns aimed inside their
    community only).

    Raises:
        NotFoundError: no campaign has this id (in ``scope``).
    """
    campaign = store.get(session, campaign_id)
    if campaign is None or not scope.sees_targets(campaign.targets.regions):
        raise NotFoundError(
            f"活动 campaign {campaign_id}: 不存在 no such campaign", field="campaign"
        )
    return campaign


def record(
    context: Context, session: Session, campaign: Campaign, verb: str, *, before: Any = None,
    after: Any = None,
) -> None:
    """Add the ``campaign.<verb>`` audit row to ``session``'s transaction."""
    audit.record(
        session,
        context,
        action=f"campaign.{verb}",
        target_type="campaign",
        target_id=campaign.id,
        before=before,
        after=after,
    )
