"""Stop a paused or cancelled campaign's sends at once, even inside a chunk already claimed.

Pausing holds every unsent delivery of the campaign in the database, so no worker claims them
again; what a worker had already claimed is checked here just before each send, so nothing of
the campaign goes out after the pause is committed. A delivery stopped here is given back
untouched: deferred until resumed (paused), or cancelled (cancelled), its attempt not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from notifier.store import campaigns, deliveries
from notifier.store.db import SessionFactory
from notifier.store.models import CampaignStatus, Delivery, DeliveryStatus


@dataclass(frozen=True)
class CampaignGate:
    """Asks the database, per campaign delivery, whether its campaign may still send."""

    sessions: SessionFactory

    def holds(self, delivery: Delivery, *, claimed_at: datetime) -> bool:
        """True when ``delivery`` must not be sent now; it is then given back as it was."""
        campaign_id = delivery.trigger.campaign_id if delivery.trigger is not None else None
        if campaign_id is None:
            return False
        # A short session of its own: the sender's must hold no transaction across a send.
        with self.sessions.begin() as session:
            status = campaigns.halted(session, [campaign_id]).get(campaign_id)
            if status is None:
                return False
            paused = status == CampaignStatus.PAUSED
            deliveries.give_back(
                session,
                delivery.id,
                claimed_at=claimed_at,
                status=DeliveryStatus.DEFERRED if paused else DeliveryStatus.CANCELLED,
                next_attempt_at=campaigns.PAUSED_UNTIL if paused else None,
                reason=campaigns.PAUSED_REASON if paused else campaigns.CANCELLED_REASON,
            )
        return True
