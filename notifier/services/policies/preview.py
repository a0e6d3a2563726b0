"""Preview a policy before it goes out: whom it reaches, what they read, what SMS will cost.

Nothing is stored and nothing is sent. The counts come from the same audience query the
fan-out runs, so a publish right after creates exactly the deliveries the preview counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from notifier.domain.channel_names import CHANNELS, SMS
from notifier.domain.records import PolicyDraft
from notifier.domain.targets import Targets
from notifier.errors import NotifierError
from notifier.services.context import Context
from notifier.services.deadlines.reminders import LadderRules
from notifier.services.delivery.messages import Composition
from notifier.services.delivery.previews import PreviewComposer, Rendering, policy_delivery
from notifier.services.enterprises.regions import with_full_regions
from notifier.services.policies.content import policy_findings
from notifier.store import audience as audiences
from notifier.store import policies
from notifier.store.audience import Recipient
from notifier.store.db import SessionFactory
from notifier.store.models import Policy, TriggerKind
from notifier.store.models.base import utcnow

# Above this many SMS recipients the billed parts are estimated from a sample, not counted.
EXACT_SMS_LIMIT = 20_000
# The compose page's live preview answers within a second: it counts message by message only
# for a small audience and estimates the rest from a sample of this many rendered messages.
LIVE_EXACT_SMS_LIMIT = 500
ESTIMATE_SAMPLE = 50
_PAGE = 1_000


@dataclass(frozen=True)
class Sample:
    """One enterprise the policy reaches, and why."""

    credit_code: str
    name: str
    channel: str
    address: str
    reason: dict[str, Any]


@dataclass(frozen=True)
class Notice:
    """One warning as data: ``code`` (``reaches_no_one``, ``reaches_everyone``, ``unmatched``,
    ``cannot_render``) and its values, so a page can say it in its own language."""

    code: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Preview:
    """Recipients per channel, samples, renderings, SMS cost and warnings."""

    recipients: dict[str, int]
    enterprises: int
    samples: list[Sample]
    renderings: dict[str, Rendering]
    sms_billed_parts: int
    sms_billed_parts_estimated: bool
    warnings: list[str] = field(default_factory=list)
    # The warnings as data (the console words them); ``warnings`` is their bilingual text.
    notices: list[Notice] = field(default_factory=list)
    # What the content rules find (docs: Content rules): refusals a publish would be refused
    # for, and warnings (sensitive words), each with its place, word, offset and excerpt.
    content: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        """How many deliveries a publish would make."""
        return sum(self.recipients.values())

    def as_dict(self) -> dict[str, Any]:
        """The preview as plain data, for JSON."""
        data = asdict(self)
        data["deliveries"] = self.deliveries
        del data["notices"]  # the API and the command line show the warnings' text, as before
        return data


@dataclass(frozen=True)
class _Composer:
    """Renders a transient delivery of the draft policy for one recipient."""

    policy: Policy
    composer: PreviewComposer

    def compose(self, recipient: Recipient) -> Composition:
        delivery = policy_delivery(self.policy, recipient, TriggerKind.POLICY_PUBLISHED)
        return self.composer.compose(delivery)

    def rendering(self, recipient: Recipient) -> Rendering:
        delivery = policy_delivery(self.policy, recipient, TriggerKind.POLICY_PUBLISHED)
        return self.composer.rendering(delivery, recipient.credit_code)


def _parts(composer: _Composer, recipients: list[Recipient]) -> tuple[int, int]:
    """The SMS parts of the recipients' messages, and how many of them could be composed."""
    total = composed = 0
    for recipient in recipients:
        try:
            count = composer.compose(recipient).sms_count
        except NotifierError:
            continue  # its rendering error is shown with the sample
        total += count.parts if count else 0
        composed += 1
    return total, composed


def _billed_parts(
    sessions: SessionFactory,
    composer: _Composer,
    targets: Targets,
    sms_recipients: int,
    exact_limit: int,
) -> tuple[int, bool]:
    """Total SMS parts: counted message by message up to ``exact_limit`` recipients, else
    estimated from the first :data:`ESTIMATE_SAMPLE` messages (their mean times the count).

    Each page of recipients is read in a short transaction of its own and rendered after it
    has ended.
    """
    if sms_recipients == 0:
        return 0, False
    if sms_recipients > exact_limit:
        with sessions() as session:
            page = audiences.page(
                session, targets, after=None, size=ESTIMATE_SAMPLE, channels=[SMS]
            )
        parts, composed = _parts(composer, page)
        return (round(parts / composed * sms_recipients) if composed else 0), True
    total = 0
    after: tuple[int, int] | None = None
    while True:
        with sessions() as session:
            page = audiences.page(session, targets, after=after, size=_PAGE, channels=[SMS])
        total += _parts(composer, page)[0]
        if len(page) < _PAGE:
            return total, False
        after = audiences.next_key(page)


@dataclass(frozen=True)
class _Audience:
    """What the preview reads from the database, in one short transaction."""

    counts: dict[str, int]
    listed: list[Recipient]
    first: dict[str, Recipient]
    enterprises: int
    registered: int
    unmatched: dict[str, list[str]]


def _audience(sessions: SessionFactory, targets: Targets, samples: int) -> _Audience:
    with sessions() as session:
        counts = audiences.count_by_channel(session, targets)
        first = {}
        for channel in CHANNELS:
            if counts.get(channel):
                page = audiences.page(session, targets, after=None, size=1, channels=[channel])
                first[channel] = page[0]
        return _Audience(
            counts=counts,
            listed=audiences.page(session, targets, after=None, size=samples),
            first=first,
            enterprises=audiences.count_enterprises(session, targets),
            registered=audiences.enterprises_total(session),
            unmatched=audiences.unmatched_targets(session, targets),
        )


def _notices(
    targets: Targets, audience: _Audience, renderings: dict[str, Rendering]
) -> list[Notice]:
    notices = []
    enterprises = audience.enterprises
    if enterprises == 0:
        notices.append(Notice("reaches_no_one", {}))
    elif targets.everyone or enterprises == audience.registered:
        notices.append(Notice("reaches_everyone", {"n": enterprises}))
    for name, values in audience.unmatched.items():
        notices.append(Notice("unmatched", {"field": name, "values": list(values)}))
    for channel, rendering in renderings.items():
        if rendering.error:
            notices.append(Notice("cannot_render", {"channel": channel, "error": rendering.error}))
    return notices


def shown_values(values: list[str]) -> str:
    """The first ten of ``values``, and how many more."""
    more = f" (+{len(values) - 10})" if len(values) > 10 else ""
    return ", ".join(values[:10]) + more


def _warning(notice: Notice) -> str:
    """A notice as the API and the command line show it: Chinese / English."""
    values = notice.values
    if notice.code == "reaches_no_one":
        return "不会送达任何企业 / reaches no enterprise"
    if notice.code == "reaches_everyone":
        return f"发给全部企业（{values['n']}家） / reaches every enterprise"
    if notice.code == "unmatched":
        shown = shown_values(values["values"])
        return f"targets.{values['field']}: 没有企业匹配 / matches no enterprise: {shown}"
    return f"{values['channel']}: 无法生成消息 / cannot render: {values['error']}"


def preview_policy(
    context: Context,
    draft: PolicyDraft,
    *,
    samples: int = 5,
    exact_sms_limit: int = EXACT_SMS_LIMIT,
) -> Preview:
    """Preview publishing ``draft``; nothing is stored or sent (nor audited).

    The audience is read first and its transaction ended; only then are messages rendered
    (no lock is held across a render or a provider reload). The first provider of each
    channel composes its message (SMS signature); the deadlines' ladders are checked with
    the reminder settings, as publishing checks them.

    Parameters:
        draft: the validated policy.
        samples: how many enterprises to list with their reasons.
        exact_sms_limit: up to this many SMS recipients the billed parts are counted message
            by message; above, estimated from a sample (``sms_billed_parts_estimated``).

    Raises:
        CalendarYearUnknown: a deadline's working-day rungs need a year the calendar does not
            know (as publish would refuse it).
        InputError: (field ``targets.regions``) a region naming several or none of the
            register's (``regions.with_full_regions``, as publish resolves them).

    The content rules' findings come in ``content`` (a refusal there is what publishing
    would refuse; nothing is refused here).
    """
    sessions, providers, messages = context.sessions, context.catalog, context.messages
    draft = replace(draft, targets=with_full_regions(sessions, draft.targets, scope=context.scope))
    targets = draft.targets
    with sessions() as session:
        LadderRules.of(context.settings).check(session, draft.deadlines, now=utcnow())
    audience = _audience(sessions, targets, samples)
    # Transient: never added to a session, so nothing of the draft can be stored.
    composer = _Composer(
        policies.build(draft, now=utcnow()), PreviewComposer(providers, messages)
    )
    renderings = {channel: composer.rendering(r) for channel, r in audience.first.items()}
    found = policy_findings(context, draft)
    counts = audience.counts
    notices = _notices(targets, audience, renderings)
    parts, estimated = _billed_parts(
        sessions, composer, targets, counts.get(SMS, 0), exact_sms_limit
    )
    return Preview(
        recipients={channel: counts.get(channel, 0) for channel in CHANNELS},
        enterprises=audience.enterprises,
        # A publisher or an approver sees the numbers, not the register's firms.
        samples=[
            Sample(r.credit_code, r.name, r.channel, r.address, r.reason) for r in audience.listed
        ]
        if context.scope.sees_register
        else [],
        renderings=renderings,
        sms_billed_parts=parts,
        sms_billed_parts_estimated=estimated,
        warnings=[_warning(notice) for notice in notices],
        notices=notices,
        content=found.as_list(),
    )
