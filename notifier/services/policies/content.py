"""A policy's texts as they would go out, checked against the content rules
(:mod:`notifier.services.content.checks`): the fields as written and each channel's message
for a sample firm."""

from __future__ import annotations

from notifier.domain.content_rules import Findings
from notifier.domain.records import GUIDE_FIELDS, PolicyDraft
from notifier.services.content.checks import (
    SAMPLE_ADDRESSES,
    Texts,
    check_texts,
    configured_channels,
    require_clean,
    sample_enterprise,
)
from notifier.services.context import Context
from notifier.services.delivery.previews import PreviewComposer, policy_delivery
from notifier.store import policies
from notifier.store.audience import Recipient
from notifier.store.models import TriggerKind
from notifier.store.models.base import utcnow


def policy_texts(context: Context, draft: PolicyDraft) -> Texts:
    """The draft's fields (title, summary, body, link, guide, deadlines' titles) and its
    publish message on each configured channel, composed for the sample firm."""
    fields: dict[str, str | None] = {
        "title": draft.title,
        "summary": draft.summary,
        "body": draft.body,
        "url": draft.url,
        **{name: value for name, value in draft.guide.as_dict().items() if name in GUIDE_FIELDS},
        **{f"deadlines[{i}].title": d.title for i, d in enumerate(draft.deadlines)},
    }
    policy = policies.build(draft, now=utcnow())  # transient: never added to a session
    firm = sample_enterprise()
    composer = PreviewComposer(context.catalog, context.messages)
    renderings = {}
    for channel in configured_channels(context):
        recipient = Recipient(
            enterprise_id=0, contact_id=0, credit_code=firm.credit_code, name=firm.name,
            channel=channel, address=SAMPLE_ADDRESSES[channel], reason={},
        )  # fmt: skip
        delivery = policy_delivery(policy, recipient, TriggerKind.POLICY_PUBLISHED)
        renderings[channel] = composer.rendering(delivery, firm.credit_code)
    return Texts(fields=fields, renderings=renderings)


def policy_findings(context: Context, draft: PolicyDraft) -> Findings:
    """What the content rules find in the draft (refusals and warnings); nothing is stored."""
    return check_texts(context, policy_texts(context, draft))


def require_clean_policy(context: Context, draft: PolicyDraft) -> Findings:
    """The draft's findings, when none refuses it (its warnings).

    Raises:
        ContentRefused: the draft breaks a content rule; each refusal named with its place.
    """
    return require_clean(policy_findings(context, draft))
