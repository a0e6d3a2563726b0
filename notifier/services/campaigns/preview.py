"""Preview a campaign's messages for one named enterprise, and test-send one to staff.

Nothing is stored as a delivery: the rendering runs on transient rows, each channel's message
composed by its first provider exactly as a run would send it (SMS signature, length and billed
parts included). A test-send hands one such message to the provider now, addressed to the
staff member, and returns the provider's answer. A campaign not yet stored (the console's form)
is previewed for a firm of the register (chosen, or the first of its audience), or with the
documented variables' example values when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from notifier.channels.base import Message, SendResult
from notifier.domain.channel_names import CHANNELS
from notifier.domain.message_class import MessageClass, with_opt_out
from notifier.domain.records import CampaignDraft
from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.targets import read_credit_code
from notifier.errors import InputError, TemplateError
from notifier.rendering.sms_format import SmsFormat
from notifier.rendering.stored import render_stored
from notifier.rendering.variables import sample_context
from notifier.services.campaigns.content import (
    campaign_delivery,
    campaign_findings,
    draft_campaign,
    draft_pins,
)
from notifier.services.campaigns.rows import get_campaign, record
from notifier.services.context import Context
from notifier.services.delivery.previews import PreviewComposer, Rendering
from notifier.store import campaigns as store
from notifier.store import enterprises
from notifier.store.enterprises import EnterpriseFilter
from notifier.store.models import Campaign, Enterprise

# The firms a form's search list offers (typing more of a name finds any other).
FIRM_CHOICES = 200


def _enterprise(session: Session, credit_code: str, scope: Scope) -> Enterprise:
    try:
        code = read_credit_code(credit_code)
    except InputError as exc:
        raise InputError(f"企业 enterprise: {exc}", field="enterprise") from None
    enterprise = enterprises.get_by_credit_code(session, code, scope=scope)
    if enterprise is None:
        raise InputError(f"企业 enterprise: 没有该企业 no enterprise {code}", field="enterprise")
    return enterprise


def _loaded(
    session: Session, campaign_id: int, credit_code: str, scope: Scope
) -> tuple[Campaign, Enterprise, dict[str, Any]]:
    """The campaign, the enterprise and the templates a run made now would pin, with all that
    rendering reads loaded: the transaction ends before anything renders or is sent (on SQLite
    it holds the write lock, and a provider reload would wait on it)."""
    campaign = get_campaign(session, campaign_id, scope)
    enterprise = _enterprise(session, credit_code, scope)
    enterprise.sectors, enterprise.contacts  # noqa: B018 - loaded now, read after the session
    return campaign, enterprise, store.pin_templates(session, campaign)


def preview_campaign(context: Context, campaign_id: int, credit_code: str) -> dict[str, Rendering]:
    """Each of the campaign's channels rendered for the enterprise ``credit_code``, with the
    templates a run made now would pin.

    Raises:
        InputError: no such campaign or enterprise.
    """
    with context.sessions() as session:
        campaign, enterprise, pinned = _loaded(session, campaign_id, credit_code, context.scope)
    return _rendered(context, campaign, enterprise, pinned)


def _rendered(
    context: Context, campaign: Campaign, enterprise: Enterprise, pinned: dict[str, Any]
) -> dict[str, Rendering]:
    """Each of the campaign's channels as its first provider composes it for ``enterprise``.
    Rendered on detached rows and transient deliveries: nothing can be stored."""
    composer = PreviewComposer(context.catalog, context.messages)
    now = context.time_source.now()
    return {
        channel: composer.rendering(
            campaign_delivery(campaign, enterprise, channel, pinned, now=now),
            enterprise.credit_code,
        )
        for channel in CHANNELS
        if channel in campaign.channels
    }


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
        campaign = get_campaign(session, campaign_id, context.scope)
        channel = channel or campaign.channels[0]
        if channel not in campaign.channels:
            raise InputError(
                f"渠道 channel: 活动不使用该渠道 the campaign does not use {channel!r} "
                f"(it uses {', '.join(campaign.channels)})",
                field="channel",
            )
        code = credit_code or store.first_listed(session, campaign)
        if code is None:
            raise InputError(
                "企业 enterprise: 受众为空 the audience is empty; name an enterprise to render for",
                field="enterprise",
            )
        campaign, enterprise, pinned = _loaded(session, campaign_id, code, context.scope)
    now = context.time_source.now()
    delivery = campaign_delivery(campaign, enterprise, channel, pinned, now=now, to=to)
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


def sample_renderings(draft: CampaignDraft, *, opt_out: str = "") -> dict[str, Rendering]:
    """Each of the draft's own templates rendered with the example values (nothing stored),
    the SMS with its length and billed parts as the shipped SMS format counts them (a
    marketing SMS with its ``opt_out`` text); a template that cannot render carries its error
    instead."""
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
        count, text = rendered.sms_count, rendered.text
        if count is not None and draft.message_class == MessageClass.MARKETING:
            text = with_opt_out(text, opt_out)
            count = SmsFormat().sign(text, to=None)[1]
        renderings[channel] = Rendering(
            credit_code=code, text=text, subject=rendered.subject,
            sms_length=count.length if count else None, sms_parts=count.parts if count else None,
        )  # fmt: skip
    return renderings


@dataclass(frozen=True)
class FirmPreview:
    """A draft's messages for one firm (``credit_code``, ``name``), or with the examples
    (both None) when no firm was chosen and its audience reaches none; and what the content
    rules find in it (``Finding.as_dict()``: a refusal there is what saving would refuse)."""

    credit_code: str | None
    name: str | None
    renderings: dict[str, Rendering]
    content: list[dict[str, Any]] = field(default_factory=list)


def firm_choices(context: Context, limit: int = FIRM_CHOICES) -> list[tuple[str, str]]:
    """``(credit code, name)`` of the register's first ``limit`` firms, for a search list."""
    with context.sessions() as session:
        shown = EnterpriseFilter(scope=context.scope)
        found = enterprises.page_enterprises(session, shown, after=None, limit=limit)
        return [(e.credit_code, e.name) for e in found]


def find_firm(session: Session, text: str, scope: Scope = DISTRICT) -> Enterprise:
    """The firm named by its credit code, its whole name, or a part of either found once.

    Raises:
        InputError: (field ``preview_firm``) no firm, or several, match.
    """
    text = text.strip()
    try:
        found = enterprises.get_by_credit_code(session, read_credit_code(text), scope=scope)
    except InputError:
        found = None
    if found is not None:
        return found
    matches = enterprises.page_enterprises(
        session, EnterpriseFilter(q=text, scope=scope), after=None, limit=FIRM_CHOICES
    )
    exact = [e for e in matches if e.name == text]
    if len(exact or matches) == 1:
        return (exact or matches)[0]
    count = f"{len(matches)}+" if len(matches) == FIRM_CHOICES else str(len(matches))
    raise InputError(
        f"preview_firm: 有 {count} 家企业与“{text}”相符，请从列表中选择或填写统一社会信用代码 "
        f"{count} firms match: pick one from the list or give its credit code",
        field="preview_firm",
    )


def preview_draft(context: Context, draft: CampaignDraft, firm: str = "") -> FirmPreview:
    """Each of the draft's channels rendered for ``firm`` (credit code or name; empty: the
    first firm of its audience) as its provider would compose it; with the examples when the
    audience reaches nobody. Nothing is stored.

    Raises:
        InputError: (field ``preview_firm``) ``firm`` names no single firm.
    """
    campaign = draft_campaign(draft)
    with context.sessions() as session:
        if firm.strip():
            code: str | None = find_firm(session, firm, context.scope).credit_code
        else:
            code = store.first_listed(session, campaign)
        if code is not None:
            enterprise = _enterprise(session, code, context.scope)
            enterprise.sectors, enterprise.contacts  # noqa: B018 - loaded now, read after
            pinned = draft_pins(session, draft, campaign)
    found = campaign_findings(context, draft).as_list()
    if code is None:
        opt_out = context.settings.content.opt_out_text
        return FirmPreview(None, None, sample_renderings(draft, opt_out=opt_out), found)
    renderings = _rendered(context, campaign, enterprise, pinned)
    return FirmPreview(code, enterprise.name, renderings, found)
