"""Preview a campaign's messages for one named enterprise, and test-send one to staff.

Nothing is stored as a delivery: the rendering runs on transient rows, each channel's message
composed by its first provider exactly as a run would send it (SMS signature, length and billed
parts included). A test-send hands one such message to the provider now, addressed to the
staff member, and returns the provider's answer. A campaign not yet stored (the console's form)
is previewed with the documented variables' example values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifier.channels.base import Message, SendResult
from notifier.domain.channel_names import CHANNELS
from notifier.domain.records import CampaignDraft
from notifier.domain.targets import read_credit_code
from notifier.errors import InputError, TemplateError
from notifier.rendering.stored import render_stored
from notifier.rendering.variables import sample_context
from notifier.services.campaigns.operations import get_campaign, record
from notifier.services.context import Context
from notifier.services.delivery.previews import PreviewComposer, Rendering
from notifier.store import campaigns as store
from notifier.store import enterprises
from notifier.store.models import Campaign, Delivery, Enterprise, Trigger, TriggerKind


def _enterprise(session: Session, credit_code: str) -> Enterprise:
    try:
        code = read_credit_code(credit_code)
    except InputError as exc:
        raise InputError(f"--enterprise: {exc}", field="enterprise") from None
    enterprise = enterprises.get_by_credit_code(session, code)
    if enterprise is None:
        raise InputError(f"--enterprise: 没有该企业 no enterprise {code}", field="enterprise")
    return enterprise


def _transient(
    campaign: Campaign, enterprise: Enterprise, channel: str, pinned: dict[str, Any], *,
    now: datetime,
    to: str | None = None,
) -> Delivery:
    # Not added to any session: rendering reads these objects and nothing else.
    trigger = Trigger(
        id=0, key="preview", kind=TriggerKind.CAMPAIGN_RUN, campaign=campaign,
        campaign_id=campaign.id, templates=pinned, due_at=now,
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
    )


def _loaded(
    session: Session, campaign_id: int, credit_code: str
) -> tuple[Campaign, Enterprise, dict[str, Any]]:
    """The campaign, the enterprise and the templates a run made now would pin, with all that
    rendering reads loaded: the transaction ends before anything renders or is sent (on SQLite
    it holds the write lock, and a provider reload would wait on it)."""
    campaign = get_campaign(session, campaign_id)
    enterprise = _enterprise(session, credit_code)
    enterprise.sectors, enterprise.contacts  # noqa: B018 - loaded now, read after the session
    return campaign, enterprise, store.pin_templates(session, campaign)


def preview_campaign(context: Context, campaign_id: int, credit_code: str) -> dict[str, Rendering]:
    """Each of the campaign's channels rendered for the enterprise ``credit_code``, with the
    templates a run made now would pin.

    Raises:
        InputError: no such campaign or enterprise.
    """
    composer = PreviewComposer(context.catalog, context.messages)
    now = context.time_source.now()
    renderings: dict[str, Rendering] = {}
    with context.sessions() as session:
        campaign, enterprise, pinned = _loaded(session, campaign_id, credit_code)
    # Rendered on detached rows and transient deliveries: nothing can be stored.
    for channel in [c for c in CHANNELS if c in campaign.channels]:
        delivery = _transient(campaign, enterprise, channel, pinned, now=now)
        renderings[channel] = composer.rendering(delivery, enterprise.credit_code)
    return renderings


def send_test_message(
    context: Context,
    campaign_id: int,
    *,
    to: str,
    channel: str | None,
    credit_code: str | None,
) -> tuple[Message, SendResult]:
    """Send one rendering of the campaign to ``to`` (staff's own address) on ``channel`` (None:
    the campaign's first) now, and record it in the audit log (``campaign.test_send``).

    The message is rendered for ``credit_code`` or, when none is given, the first enterprise of
    the campaign's audience. Nothing is recorded as a delivery. The audit row is written once
    the provider took the message (a send cannot share a database transaction).

    Raises:
        InputError: no such campaign or enterprise, a channel the campaign does not use, or an
            audience with nobody in it to render for.
        ChannelError: the provider refused the message (its reason).
    """
    providers = context.catalog
    with context.sessions() as session:
        campaign = get_campaign(session, campaign_id)
        channel = channel or campaign.channels[0]
        if channel not in campaign.channels:
            raise InputError(
                f"--channel: 活动不使用该渠道 the campaign does not use {channel!r} "
                f"(it uses {', '.join(campaign.channels)})",
                field="channel",
            )
        code = credit_code or store.first_listed(session, campaign)
        if code is None:
            raise InputError(
                "--enterprise: 受众为空 the audience is empty; name an enterprise to render for",
                field="enterprise",
            )
        campaign, enterprise, pinned = _loaded(session, campaign_id, code)
    now = context.time_source.now()
    delivery = _transient(campaign, enterprise, channel, pinned, now=now, to=to)
    message = PreviewComposer(providers, context.messages).compose(delivery).message
    result = providers.for_channel(channel)[0].send(message)
    with context.sessions.begin() as session:
        record(
            context, session, campaign, "test_send",
            after={"channel": channel, "to": message.to, "provider": result.provider},
        )
    return message, result


@dataclass(frozen=True)
class _DraftTemplate:
    name: str
    channel: str
    body: str
    subject: str | None
    html: str | None


def sample_renderings(draft: CampaignDraft) -> dict[str, Rendering]:
    """Each of the draft's own templates rendered with the example values (nothing stored),
    the SMS with its length and billed parts as the shipped SMS format counts them; a template
    that cannot render carries its error instead."""
    sample = sample_context()
    code = str(sample["enterprise"]["credit_code"])
    renderings: dict[str, Rendering] = {}
    for channel in [c for c in CHANNELS if c in draft.inline_templates]:
        given = draft.inline_templates[channel]
        source = _DraftTemplate(draft.name, channel, given.body, given.subject, given.html)
        try:
            rendered = render_stored(source, sample)
        except TemplateError as exc:
            renderings[channel] = Rendering(credit_code=code, error=str(exc))
            continue
        count = rendered.sms_count
        renderings[channel] = Rendering(
            credit_code=code, text=rendered.text, subject=rendered.subject,
            sms_length=count.length if count else None, sms_parts=count.parts if count else None,
        )  # fmt: skip
    return renderings
