"""A campaign's texts as they would go out, checked against the content rules
(:mod:`notifier.services.content.checks`); and the transient rows its previews render on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.content_rules import Findings
from notifier.domain.records import CampaignDraft
from notifier.services.content.checks import (
    SAMPLE_ADDRESSES,
    Texts,
    check_texts,
    configured_channels,
    require_clean,
    sample_enterprise,
)
from notifier.services.context import Context
from notifier.services.delivery.previews import PreviewComposer, Rendering
from notifier.store import campaigns as store
from notifier.store.models import Campaign, Delivery, Enterprise, Trigger, TriggerKind


def campaign_delivery(
    campaign: Campaign,
    enterprise: Enterprise,
    channel: str,
    pinned: dict[str, Any],
    *,
    now: datetime,
    to: str | None = None,
) -> Delivery:
    """A transient delivery of a run of ``campaign`` to ``enterprise`` (at ``to``, else its
    contact on ``channel``), of the campaign's class, to render.

    Not added to any session: rendering reads these objects and nothing else.
    """
    trigger = Trigger(
        id=0,
        key="preview",
        kind=TriggerKind.CAMPAIGN_RUN,
        campaign=campaign,
        campaign_id=campaign.id,
        templates=pinned,
        due_at=now,
    )
    address = to or next(
        (c.address for c in enterprise.contacts if c.channel == channel), f"({channel})"
    )
    return Delivery(
        id=0,
        idempotency_key=f"preview:{campaign.id}:{uuid.uuid4().hex[:12]}",
        trigger=trigger,
        enterprise=enterprise,
        enterprise_id=enterprise.id,
        channel=channel,
        address=address,
        reason={"listed": True},
        message_class=campaign.message_class,
    )


def draft_campaign(draft: CampaignDraft) -> Campaign:
    """The campaign a draft describes, transient: never added to a session."""
    return Campaign(
        id=0, name=draft.name, title=draft.title, url=draft.url, channels=list(draft.channels),
        audience=draft.targets.as_dict(), templates=dict(draft.templates),
        timezone=draft.timezone, message_class=draft.message_class,
    )  # fmt: skip


def draft_pins(session: Session, draft: CampaignDraft, campaign: Campaign) -> dict[str, Any]:
    """The templates a run of the draft would pin: the stored ones it names, its own text."""
    pinned = store.pin_templates(session, campaign)  # the stored templates it names
    for channel, given in draft.inline_templates.items():
        pinned[channel] = {"name": draft.name, "version": 0, "body": given.body,
                           "subject": given.subject, "html": given.html}  # fmt: skip
    return pinned


def campaign_texts(context: Context, draft: CampaignDraft) -> Texts:
    """The draft's title and link, and each of its configured channels' message composed for
    the sample firm, with the templates' sources (variables printed empty are found).

    A template that cannot render is left to the template's own check (saving it refuses it,
    naming the template's field), and a stored template that does not exist to the campaign's.
    """
    campaign = draft_campaign(draft)
    with context.sessions() as session:
        pinned = draft_pins(session, draft, campaign)
    firm = sample_enterprise()
    composer = PreviewComposer(context.catalog, context.messages)
    now = context.time_source.now()
    renderings: dict[str, Rendering] = {}
    templates: dict[str, tuple[str, dict[str, Any]]] = {}
    for channel in configured_channels(context, draft.channels):
        if channel not in pinned:
            continue
        delivery = campaign_delivery(
            campaign, firm, channel, pinned, now=now, to=SAMPLE_ADDRESSES[channel]
        )
        rendering = composer.rendering(delivery, firm.credit_code)
        if rendering.error:
            continue
        renderings[channel] = rendering
        values = context.messages.context(delivery)
        for part in ("body", "subject", "html"):
            source = pinned[channel].get(part)
            if source:
                templates[f"templates.{channel}" + ("" if part == "body" else f".{part}")] = (
                    source,
                    values,
                )
    return Texts(
        fields={"title": draft.title, "url": draft.url}, renderings=renderings,
        templates=templates,
    )  # fmt: skip


def campaign_findings(context: Context, draft: CampaignDraft) -> Findings:
    """What the content rules find in the draft (refusals and warnings); nothing is stored."""
    return check_texts(context, campaign_texts(context, draft))


def require_clean_campaign(context: Context, draft: CampaignDraft) -> Findings:
    """The draft's findings, when none refuses it (its warnings).

    Raises:
        ContentRefused: the draft breaks a content rule; each refusal named with its place.
    """
    return require_clean(campaign_findings(context, draft))
