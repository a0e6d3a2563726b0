"""A policy's publication or correction, previewed and frozen for its approval request."""

from __future__ import annotations

from notifier.domain.records import PolicyDraft
from notifier.services.approval.freezing import Frozen, frozen, renderings_json, sms_cost
from notifier.services.context import Context
from notifier.services.policies.preview import LIVE_EXACT_SMS_LIMIT, preview_policy


def freeze_policy(context: Context, draft: PolicyDraft, *, kind: str) -> Frozen | None:
    """The frozen preview of publishing (or correcting, ``kind``) ``draft``: its audience
    (firms, recipients per channel), each channel's text for its first firm, SMS parts and
    cost (estimated from a sample above a few hundred recipients). None when approval is off:
    nothing is rendered then."""
    if not context.settings.approval.enabled:
        return None
    found = preview_policy(context, draft, samples=1, exact_sms_limit=LIVE_EXACT_SMS_LIMIT)
    preview = {
        "title": draft.title,
        "department": draft.department,
        "firms": found.enterprises,
        "recipients": dict(found.recipients),
        "deliveries": found.deliveries,
        "renderings": renderings_json(found.renderings),
        "sms": sms_cost(
            context, found.sms_billed_parts, estimated=found.sms_billed_parts_estimated
        ),
        "warnings": list(found.warnings),
    }
    return frozen(
        context, kind, preview, recipients=dict(found.recipients), firms=found.enterprises
    )
