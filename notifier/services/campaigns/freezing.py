"""A campaign's run, previewed and frozen for its approval request."""

from __future__ import annotations

from notifier.domain.channel_names import CHANNELS, SMS
from notifier.domain.records import CampaignDraft
from notifier.domain.targets import Targets
from notifier.services.approval.freezing import Frozen, frozen, renderings_json, sms_cost
from notifier.services.campaigns.preview import preview_draft
from notifier.services.context import Context
from notifier.store import audience as audiences
from notifier.store.models import ApprovalKind


def freeze_campaign(context: Context, draft: CampaignDraft) -> Frozen | None:
    """The frozen preview of a campaign's run: its audience now (firms, recipients per
    channel), each channel's text for its first firm, and the SMS parts and cost (that firm's
    parts times the SMS recipients, an estimate). None when approval is off."""
    if not context.settings.approval.enabled:
        return None
    targets = Targets.from_dict({**draft.targets.as_dict(), "channels": list(draft.channels)})
    with context.sessions() as session:
        counts = audiences.count_by_channel(session, targets)
        firms = audiences.count_enterprises(session, targets)
    recipients = {channel: counts.get(channel, 0) for channel in CHANNELS}
    shown = preview_draft(context, draft)
    sample = shown.renderings.get(SMS)
    parts = recipients[SMS] * (sample.sms_parts or 0) if sample is not None else 0
    preview = {
        "title": draft.title,
        "name": draft.name,
        "firms": firms,
        "recipients": recipients,
        "deliveries": sum(recipients.values()),
        "renderings": renderings_json(shown.renderings),
        "sms": sms_cost(context, parts, estimated=True),
        "warnings": [],
    }
    return frozen(context, ApprovalKind.CAMPAIGN, preview, recipients=recipients, firms=firms)
