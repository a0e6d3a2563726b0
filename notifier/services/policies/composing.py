"""What the console's compose form adds to previewing, publishing and correcting a policy: a
policy that reaches no one held back until the clerk confirms it, and a correction shown field
by field before it is saved. (Short region names are resolved by the services every face
calls: ``regions.with_full_regions``.)"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from notifier.domain.changes import FieldChange, side_by_side
from notifier.domain.records import PolicyDraft
from notifier.errors import InputError, NotFoundError
from notifier.services.context import Context
from notifier.services.enterprises.regions import with_full_regions
from notifier.services.policies.corrections import Revised, revise
from notifier.services.policies.preview import EXACT_SMS_LIMIT, Preview, preview_policy
from notifier.services.policies.publishing import Published, publish_policy
from notifier.store import audience as audiences
from notifier.store import policies

CONFIRM_FIELD = "confirm_empty"


class ReachesNoOne(InputError):
    """The policy would reach no enterprise and the clerk has not confirmed publishing it."""

    def __init__(self) -> None:
        super().__init__(
            "这条政策不会送达任何企业；确认无误请勾选“仍要发布”再发布 / the policy reaches no "
            "enterprise; tick “publish anyway” to publish it all the same",
            field=CONFIRM_FIELD,
        )


def resolved(context: Context, draft: PolicyDraft) -> PolicyDraft:
    """The draft with each region typed by its last segments (``大碶街道``) as its full path.

    Raises:
        InputError: (field ``targets.regions``) as ``regions.with_full_regions``.
    """
    return replace(
        draft, targets=with_full_regions(context.sessions, draft.targets, scope=context.scope)
    )


def preview_composed(
    context: Context, draft: PolicyDraft, *, exact_sms_limit: int = EXACT_SMS_LIMIT
) -> Preview:
    """:func:`preview_policy` of the draft, which resolves its regions (``exact_sms_limit`` as
    there: the compose page's live preview passes ``LIVE_EXACT_SMS_LIMIT``)."""
    return preview_policy(context, draft, exact_sms_limit=exact_sms_limit)


def publish_composed(context: Context, draft: PolicyDraft, *, confirmed: bool) -> Published:
    """Publish the draft with its regions resolved; unless ``confirmed``, refuse one that
    reaches no enterprise (the same count the preview shows).

    Raises:
        ReachesNoOne: nobody is reached and ``confirmed`` is false; nothing is stored.
        InputError, CalendarYearUnknown, BrokerUnavailable: as :func:`publish_policy`.
    """
    draft = resolved(context, draft)
    if not confirmed:
        with context.sessions() as session:
            reached = audiences.count_enterprises(session, draft.targets)
        if reached == 0:
            raise ReachesNoOne()
    return publish_policy(context, draft)


@dataclass(frozen=True)
class Review:
    """What a correction would change, and a token naming exactly that outcome: the form
    saves only when the clerk sends back the token of what they were shown."""

    changes: list[FieldChange]
    token: str


def review_correction(context: Context, draft: PolicyDraft, policy_id: int) -> Review:
    """The fields the draft (regions resolved) would change in policy ``policy_id``.

    Raises:
        NotFoundError: no such policy.
        InputError: (field ``regions``) as :func:`resolved`.
    """
    draft = resolved(context, draft)
    with context.sessions() as session:
        policy = policies.get(session, policy_id)
        if policy is None:
            raise NotFoundError(
                f"policy {policy_id}: 没有这个政策 / no such policy", field="policy"
            )
        before = policies.content(policy)
        after = policies.draft_content(draft, published_at=policy.published_at)
    seen = json.dumps([before, after], sort_keys=True, ensure_ascii=False, default=str)
    return Review(side_by_side(before, after), hashlib.sha256(seen.encode()).hexdigest()[:16])


def correct_composed(
    context: Context, draft: PolicyDraft, *, notify: bool, policy_id: int
) -> Revised:
    """:func:`revise` of the draft (which resolves its regions; errors as :func:`revise`)."""
    return revise(context, draft, notify=notify, policy_id=policy_id)
