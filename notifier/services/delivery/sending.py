"""Send a batch of deliveries: claim, render, send, record. Retries are returned to the caller."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from notifier.channels.base import Message, Provider, SendingRules
from notifier.config import DeliverySettings
from notifier.domain.number_caps import DIGEST, NO_CAPS, NumberCaps
from notifier.domain.quiet_hours import NO_QUIET_HOURS, QuietHours
from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.errors import (
    InputError,
    PermanentError,
    TemplateError,
    ThrottledError,
    TransientError,
    TriggerError,
)
from notifier.guards.provider_guard import UNGUARDED, ProviderGuard
from notifier.services.delivery import number_rules
from notifier.services.delivery.campaign_gate import CampaignGate
from notifier.services.delivery.failover import Routed, aroute, route, sends_on_loop
from notifier.services.delivery.messages import MessageFactory
from notifier.services.delivery.ports import Providers
from notifier.services.delivery.throttling import throttled
from notifier.store import deliveries, enterprises, reach_states
from notifier.store.db import SessionFactory
from notifier.store.deliveries import Attempted, Outcome
from notifier.store.models import Delivery, DeliveryStatus
from notifier.store.models.base import utcnow
from notifier.store.models.delivery import FINAL_STATUSES

log = logging.getLogger(__name__)
S = DeliveryStatus
NO_POLICY = SendingRules()
# Outcomes that ended this long ago are committed even while slow sends of their chunk go on.
SAVE_AFTER_SECONDS = 1.0
# The firms' reach moves on with the sends at most this often (each move is two statements).
REACH_EVERY_SECONDS = 1.0


# Why a delivery waits: its channel's quiet hours, or (marketing) the marketing hours.
_QUIET = "quiet hours: waits for the next allowed minute"
_MARKETING = "营销类消息仅在营销时段发送 / marketing: waits for the marketing hours to open"


@dataclass(frozen=True)
class Retry:
    """A delivery to send again after ``delay`` seconds."""

    delivery_id: int
    delay: float


def backoff(attempts: int, settings: DeliverySettings, provider: SendingRules = NO_POLICY) -> float:
    """Seconds to wait after the ``attempts``-th failed try: doubling, capped, with jitter.

    A provider's own ``backoff_base_seconds`` and ``backoff_max_seconds`` win over the settings'.
    """
    first = _either(provider.backoff_base_seconds, settings.backoff_base_seconds)
    cap = _either(provider.backoff_max_seconds, settings.backoff_max_seconds)
    base = min(first * 2 ** max(attempts - 1, 0), cap)
    jitter = settings.backoff_jitter
    # The cap applies after the jitter: backoff_max_seconds is a promise to the operator.
    return float(min(base * random.uniform(1 - jitter, 1 + jitter), cap))  # noqa: S311 - jitter


def _either(own: float | None, default: float) -> float:
    return default if own is None else own


def _transient(
    delivery: Delivery,
    reason: str,
    settings: DeliverySettings,
    now: datetime,
    provider: SendingRules = NO_POLICY,
) -> Outcome:
    max_attempts = provider.max_attempts or settings.max_attempts
    if delivery.attempts >= max_attempts:
        return Outcome(S.FAILED, error=f"gave up after {delivery.attempts} attempts: {reason}")
    delay = backoff(delivery.attempts, settings, provider)
    return Outcome(S.DEFERRED, error=reason, next_attempt_at=now + timedelta(seconds=delay))


def _expired(delivery: Delivery, settings: DeliverySettings) -> Outcome | None:
    """An ``expired`` outcome when the delivery is older than ``delivery.max_age_hours``."""
    # Fan-out stamps rows with the wall clock, so their age is read on it too (a test's
    # ManualTime set days ahead must not age every delivery it sends).
    if utcnow() - delivery.created_at <= timedelta(hours=settings.max_age_hours):
        return None
    last = delivery.last_error or "no error recorded"
    hours = f"{settings.max_age_hours:g}"
    return Outcome(
        S.EXPIRED, error=f"超过 {hours} 小时未发出 / expired after {hours} h: {last}", counted=False
    )


@dataclass(frozen=True)
class _Try:
    """One claimed delivery's try, made in a thread (:func:`attempt`) or on the event loop
    (:func:`attempt_on_loop`): what comes before the round, each provider's message, and what
    the round's end means."""

    delivery: Delivery
    messages: MessageFactory
    settings: DeliverySettings
    time_source: TimeSource
    digest: int

    def before(self, candidates: Sequence[Provider]) -> list[Outcome] | None:
        """The try's outcome when there is nothing to send it through; None: go on."""
        expired = _expired(self.delivery, self.settings)
        if expired is not None:
            return [expired]
        if not candidates:
            channel = self.delivery.channel
            return [Outcome(S.FAILED, error=f"channel {channel!r} is not configured")]
        return None

    def build(self, provider: Provider) -> Message:
        """The message as ``provider`` sends it (a digest's when the delivery carries one)."""
        if self.digest > 1:
            return self.messages.digest(self.delivery, provider, self.digest)
        return self.messages.build(self.delivery, provider)

    def after(self, routed: Routed) -> list[Outcome]:
        """One outcome per provider tried, the deciding one last."""
        passed = [
            Outcome(S.FAILED, provider=p.provider, error=f"转下一服务商 / failed over: {p.reason}")
            for p in routed.passed_over
        ]
        decided = _decided(
            self.delivery, routed, self.settings, self.time_source, self.messages.zone
        )
        return [*passed, decided]


def attempt(
    delivery: Delivery,
    *,
    providers: Providers,
    messages: MessageFactory,
    settings: DeliverySettings,
    time_source: TimeSource = SYSTEM_TIME,
    guard: ProviderGuard = UNGUARDED,
    digest: int = 0,
) -> list[Outcome]:
    """Render and send one claimed delivery through the first of its channel's providers that
    takes it (see :func:`notifier.services.delivery.failover.route`); never raises for a
    per-message problem. ``digest``: the delivery carries a digest of that many deliveries
    (see :meth:`MessageFactory.digest`) instead of its own message.

    Returns:
        One outcome per provider tried, the deciding one last.
    """
    now = time_source.now()
    one = _Try(delivery, messages, settings, time_source, digest)
    candidates = providers.for_channel(delivery.channel)
    ended = one.before(candidates)
    if ended is not None:
        return ended
    send = lambda provider: provider.send(one.build(provider))  # noqa: E731
    return one.after(route(candidates, send, guard=guard, now=now.timestamp()))


async def attempt_on_loop(
    delivery: Delivery,
    candidates: Sequence[Provider],
    *,
    messages: MessageFactory,
    settings: DeliverySettings,
    time_source: TimeSource = SYSTEM_TIME,
    guard: ProviderGuard = UNGUARDED,
) -> list[Outcome]:
    """:func:`attempt` on the event loop the ``candidates`` send on (see
    :func:`notifier.services.delivery.failover.sends_on_loop`): rendered there, sent there,
    side by side with the batch's other sends, with no thread of its own."""
    now = time_source.now()
    one = _Try(delivery, messages, settings, time_source, 0)
    ended = one.before(candidates)
    if ended is not None:
        return ended
    send = lambda provider: provider.asend(one.build(provider))  # noqa: E731
    return one.after(await aroute(candidates, send, guard=guard, now=now.timestamp()))


def _decided(
    delivery: Delivery,
    routed: Routed,
    settings: DeliverySettings,
    time_source: TimeSource,
    zone: tzinfo,
) -> Outcome:
    if routed.result is not None:
        result = routed.result
        return Outcome(
            S.SENT, provider=result.provider, provider_message_id=result.provider_message_id
        )
    if routed.provider is None or routed.error is None:  # every circuit open: wait, not a try
        until = datetime.fromtimestamp(routed.open_until or time_source.now().timestamp(), UTC)
        reason = "每个服务商都已熔断 / every provider's circuit is open"
        return Outcome(S.DEFERRED, error=reason, next_attempt_at=until, counted=False)
    outcome = _failure(
        delivery, routed.error, routed.provider.rules, settings, time_source.now(), zone
    )
    return dataclasses.replace(outcome, provider=routed.provider.name)


def _failure(
    delivery: Delivery,
    error: Exception,
    provider: SendingRules,
    settings: DeliverySettings,
    now: datetime,
    zone: tzinfo,
) -> Outcome:
    try:
        raise error
    except TemplateError as exc:
        return Outcome(S.FAILED, error=f"template: {exc}")
    except InputError as exc:  # an address the provider cannot use
        return Outcome(S.FAILED, error=str(exc))
    except TriggerError as exc:
        return Outcome(S.FAILED, error=str(exc))
    except PermanentError as exc:
        return Outcome(S.FAILED, error=exc.reason)
    except ThrottledError as exc:  # slow down: wait as asked; capped apart from failures
        waits = backoff(delivery.throttled + 1, settings, provider)
        return throttled(delivery, exc, provider, settings, now=now, zone=zone, backoff=waits)
    except TransientError as exc:
        return _transient(delivery, exc.reason, settings, now, provider)
    except Exception as exc:  # a bug must not kill the batch; keep it and retry
        log.exception("delivery %s: unexpected error", delivery.id)
        return _transient(delivery, f"internal error: {exc!r}"[:500], settings, now, provider)


UNSUBSCRIBED = "recipient unsubscribed"


def _suppressed(session: Session, batch: Sequence[Delivery]) -> dict[int, str]:
    subscribed = enterprises.subscribed_pairs(session, {d.enterprise_id for d in batch})
    return {d.id: UNSUBSCRIBED for d in batch if (d.enterprise_id, d.channel) not in subscribed}


def _host(address: str) -> str:
    """The host and port a firm's endpoint is on: a batch sends to each one at a time, so a
    receiver (or a robot service) many firms share sees no more than one of its sends."""
    try:
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.hostname}:{parts.port}"
    except ValueError:
        return address


def _chunks(batch: Sequence[Delivery], size: int) -> list[Sequence[Delivery]]:
    return [batch[start : start + size] for start in range(0, len(batch), size)]


@dataclass
class _Claim:
    """When a chunk's claims were made or last renewed, and which of them were lost."""

    at: datetime
    renewed: float = field(default_factory=time.monotonic)
    lost: set[int] = field(default_factory=set)  # taken back by the sweeper: another worker's


@dataclass(frozen=True)
class _Sent:
    """One delivery's try: its outcomes (the deciding one last) and when it ran."""

    outcomes: list[Outcome]
    started: datetime
    finished: datetime


@dataclass
class _Sender:
    """One batch on its way: claims a chunk, sends it, records it with the next claim.

    Only this object's thread uses the session. Sends to firms' own endpoints run on a small
    pool of threads (:meth:`try_one` touches no database); their outcomes come back here.
    """

    session: Session
    providers: Providers
    messages: MessageFactory
    settings: DeliverySettings
    # Deliveries not to send, with the reason they end suppressed.
    unsubscribed: dict[int, str]
    budget_ends: float
    time_source: TimeSource
    quiet: QuietHours
    gate: CampaignGate
    guard: ProviderGuard = UNGUARDED
    caps: NumberCaps = NO_CAPS
    # A digest's carrier -> the deliveries merged into it (its outcome is theirs).
    digests: dict[int, list[int]] = field(default_factory=dict)
    retries: list[Retry] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    attempted: list[Attempted] = field(default_factory=list)
    _pool: ThreadPoolExecutor | None = None
    # Ended deliveries whose firms' reach is still to move on, and when it last moved.
    ended: list[int] = field(default_factory=list)
    reach_moved: float = field(default_factory=time.monotonic)
    _side_by_side: dict[str, bool] = field(default_factory=dict)

    def commit(self, *, last: bool = False) -> None:
        """Record what was sent since the last commit, and commit (with any claims made);
        then, at most every :data:`REACH_EVERY_SECONDS` and at the ``last`` commit of the
        batch, move the firms' reach on, in a transaction of its own."""
        deliveries.record(self.session, self.attempted)
        self.session.commit()
        self.ended.extend(
            a.delivery_id for a in self.attempted if a.outcome.status in FINAL_STATUSES
        )
        self.attempted = []
        if not self.ended or (
            not last and time.monotonic() < self.reach_moved + REACH_EVERY_SECONDS
        ):
            return
        ended, self.ended, self.reach_moved = self.ended, [], time.monotonic()
        # Apart from the record: two workers moving the same firm's row (its SMS and its email
        # in two batches) may wait on or deadlock each other, and what was sent must be kept
        # whatever happens here; a row left behind is read again by the clock's reach pass.
        try:
            reach_states.refresh(self.session, now=utcnow(), delivery_ids=ended)
            self.session.commit()
        except SQLAlchemyError as exc:
            self.session.rollback()
            log.warning("reach of %s deliveries left to the clock: %s", len(ended), exc)

    def close(self) -> None:
        """Stop the pool; sends under way end within their deadline."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def out_of_time(self) -> bool:
        # At least one send per batch, so a batch always moves the work on.
        return bool(self.outcomes) and time.monotonic() > self.budget_ends

    def hold_quiet(self, chunk: Sequence[Delivery]) -> Sequence[Delivery]:
        """Defer the deliveries whose channel is in its quiet hours, and marketing outside the
        marketing hours; return the others."""
        now = self.time_source.now()
        until = {d.id: self.quiet.until(d.channel, now, d.message_class) for d in chunk}
        waiting = {i: moment for i, moment in until.items() if moment is not None}
        if not waiting:
            return chunk
        quiet = {d.id for d in chunk if d.id in waiting and self.quiet.until(d.channel, now)}
        for reason, ids in ((_QUIET, quiet), (_MARKETING, set(waiting) - quiet)):
            self._defer({i: waiting[i] for i in ids}, now=now, reason=reason)
        return [d for d in chunk if d.id not in waiting]

    def _defer(
        self, until: dict[int, datetime], *, now: datetime, reason: str, held: str | None = None
    ) -> None:
        """Hold each delivery until its moment (those another worker took are left to it),
        with a retry queued for then."""
        if not until:
            return
        for delivery_id in deliveries.hold(self.session, until, now=now, reason=reason, held=held):
            delay = (until[delivery_id] - now).total_seconds()
            self.retries.append(Retry(delivery_id, max(delay, 0.0)))
            self.outcomes[S.DEFERRED] += 1

    def refuse_marketing(self, chunk: Sequence[Delivery]) -> None:
        """Note the marketing SMS of the chunk to numbers that refused them (a reply of R): read
        just before the claim, so a refusal stops even a delivery queued before it."""
        for delivery_id in number_rules.refused_marketing(self.session, chunk):
            self.unsubscribed.setdefault(delivery_id, number_rules.REFUSED)

    def hold_over_cap(self, chunk: Sequence[Delivery]) -> Sequence[Delivery]:
        """Defer the SMS past their number's cap for the day to the next day's opening (held
        for a digest when the caps say so); return the others."""
        now = self.time_source.now()
        over = number_rules.over_cap(
            self.session, chunk, self.caps, now=now, skip=self.unsubscribed
        )
        held = DIGEST if self.caps.over_cap == DIGEST else None
        for message_class in {d.message_class for d in chunk if d.id in over}:
            until = {d.id: over[d.id] for d in chunk if d.id in over
                     and d.message_class == message_class}  # fmt: skip
            reason = number_rules.over_cap_reason(self.caps, message_class)
            self._defer(until, now=now, reason=reason, held=held)
        return [d for d in chunk if d.id not in over]

    def chunk(self, chunk: Sequence[Delivery]) -> None:
        """Claim and send one chunk; its outcomes wait for the next commit (or, while slow
        sends of the chunk go on, for :data:`SAVE_AFTER_SECONDS`)."""
        chunk = self.hold_quiet(chunk)
        self.refuse_marketing(chunk)
        chunk = self.hold_over_cap(chunk)
        claim = _Claim(self.time_source.now())
        digests = number_rules.merge_digests(
            self.session, deliveries.claim(self.session, chunk, now=claim.at),
            claimed_at=claim.at, skip=self.unsubscribed,
        )  # fmt: skip
        self.digests.update(digests.merged)
        waiting = digests.left
        self.commit()  # this chunk's claims, and the previous chunk's outcomes
        flying: dict[Future[_Sent], Delivery] = {}
        while waiting or flying:
            self.keep_claims(claim, [*waiting, *flying.values()])
            ran_here = False
            if self.out_of_time():
                rest = [d.id for d in waiting if d.id not in claim.lost]
                merged = [i for carrier in rest for i in self.digests.pop(carrier, [])]
                deliveries.release(self.session, [*rest, *merged], claimed_at=claim.at)
                self.retries.extend(Retry(delivery_id, 0.0) for delivery_id in rest)
                waiting = []
            else:
                waiting, ran_here = self.start(waiting, flying, claim)
            # Wait for a send to end unless this thread just sent one; wake to renew claims.
            renew_in = claim.renewed + self.renew_after - time.monotonic()
            wait = 0 if ran_here else max(renew_in, 0.0)
            self.collect(flying, wait=min(wait, SAVE_AFTER_SECONDS) if self.attempted else wait)
            if flying and self.attempted and self.attempted[0].finished_at <= self.save_by():
                # A slow send is holding the chunk: keep what has ended, so neither a crash
                # nor the console sees those as still sending.
                self.commit()

    def save_by(self) -> datetime:
        return self.time_source.now() - timedelta(seconds=SAVE_AFTER_SECONDS)

    @property
    def renew_after(self) -> float:
        # Renewed well before the sweeper would take a claim for abandoned.
        return self.settings.stuck_after_seconds / 4

    def keep_claims(self, claim: _Claim, left: Sequence[Delivery]) -> None:
        """Renew the claims on ``left`` when due; note those the sweeper took back."""
        if time.monotonic() - claim.renewed <= self.renew_after:
            return
        now = self.time_source.now()
        ids = [d.id for d in left if d.id not in claim.lost]
        still = deliveries.keep_claims(self.session, ids, claimed_at=claim.at, now=now)
        self.commit()
        claim.at, claim.renewed = now, time.monotonic()
        claim.lost.update(delivery_id for delivery_id in ids if delivery_id not in still)

    def start(
        self, waiting: Sequence[Delivery], flying: dict[Future[_Sent], Delivery], claim: _Claim
    ) -> tuple[list[Delivery], bool]:
        """Start, in order, what may start now: sends to firms' endpoints on the pool (up to
        ``settings.host_sends`` at once per host), or else the first other send, here. Returns
        what still waits, and whether this thread sent one."""
        busy = Counter(_host(delivery.address) for delivery in flying.values())
        later: list[Delivery] = []
        for index, delivery in enumerate(waiting):
            if delivery.id in claim.lost:
                continue
            pooled = self.side_by_side(delivery)
            host = _host(delivery.address)
            full = busy[host] >= self.settings.host_sends
            if pooled and (full or len(flying) >= self.settings.send_threads):
                later.append(delivery)
                continue
            if self.gate.holds(delivery, claimed_at=claim.at):
                continue
            if not pooled:
                self.record(delivery, self.try_one(delivery))
                return [*later, *waiting[index + 1 :]], True
            flying[self.launch(delivery)] = delivery
            busy[host] += 1
        return later, False

    def side_by_side(self, delivery: Delivery) -> bool:
        """True when the delivery goes to the firm's own endpoint through every provider of its
        channel (webhooks, robots): a slow one must not hold up the batch. A shared gateway or
        relay keeps its pace of one send at a time per batch."""
        if self.settings.send_threads == 1 or delivery.id in self.unsubscribed:
            return False
        channel = delivery.channel
        if channel not in self._side_by_side:
            candidates = self.providers.for_channel(channel)
            own = bool(candidates) and not any(p.shared_endpoint for p in candidates)
            self._side_by_side[channel] = own
        return self._side_by_side[channel]

    def launch(self, delivery: Delivery) -> Future[_Sent]:
        """Start one side-by-side send: on the event loop its providers send on, else on the
        pool's threads."""
        candidates = self.providers.for_channel(delivery.channel)
        if delivery.id in self.digests or not sends_on_loop(candidates):
            return self.pool().submit(self.try_one, delivery)
        loop = candidates[0].loop
        assert loop is not None  # sends_on_loop: one loop for them all
        return loop.submit(self.try_on_loop(delivery, candidates))

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.settings.send_threads, thread_name_prefix="notifier-send"
            )
        return self._pool

    def collect(self, flying: dict[Future[_Sent], Delivery], *, wait: float) -> None:
        """Record the sends that have ended, waiting up to ``wait`` seconds for the first."""
        if not flying:
            return
        ended, _ = futures.wait(flying, timeout=wait, return_when=futures.FIRST_COMPLETED)
        for future in ended:
            self.record(flying.pop(future), future.result())

    def try_one(self, delivery: Delivery) -> _Sent:
        """Send one claimed delivery; never raises, and touches no database (any thread)."""
        started = self.time_source.now()
        if delivery.id in self.unsubscribed:
            outcomes = [Outcome(S.SUPPRESSED, error=self.unsubscribed[delivery.id])]
        else:
            try:
                outcomes = attempt(
                    delivery,
                    providers=self.providers,
                    messages=self.messages,
                    settings=self.settings,
                    time_source=self.time_source,
                    guard=self.guard,
                    digest=len(self.digests.get(delivery.id, [])) + 1,
                )
            except Exception as exc:  # a bug: the try is still recorded, once, and retried
                outcomes = [self.internal_error(delivery, exc)]
        return _Sent(outcomes, started, self.time_source.now())

    async def try_on_loop(self, delivery: Delivery, candidates: Sequence[Provider]) -> _Sent:
        """:meth:`try_one` on the event loop, through ``candidates``."""
        started = self.time_source.now()
        try:
            outcomes = await attempt_on_loop(
                delivery,
                candidates,
                messages=self.messages,
                settings=self.settings,
                time_source=self.time_source,
                guard=self.guard,
            )
        except Exception as exc:  # a bug: the try is still recorded, once, and retried
            outcomes = [self.internal_error(delivery, exc)]
        return _Sent(outcomes, started, self.time_source.now())

    def internal_error(self, delivery: Delivery, error: Exception) -> Outcome:
        """A try that raised unexpectedly (a bug): recorded once, and retried."""
        log.error("delivery %s: unexpected error", delivery.id, exc_info=error)
        reason = f"internal error: {error!r}"[:500]
        return _transient(delivery, reason, self.settings, self.time_source.now())

    def record(self, delivery: Delivery, sent: _Sent) -> None:
        """Keep a try's attempts for the next commit; note its retry."""
        self.attempted.extend(
            Attempted(delivery.id, delivery.attempts, tried, sent.started, sent.finished)
            for tried in sent.outcomes
        )
        outcome = sent.outcomes[-1]
        for merged in self.digests.pop(delivery.id, []):
            # What became of the digest became of each delivery it carried.
            carried = f"由摘要短信 #{delivery.id} 发出 / carried by digest #{delivery.id}"
            error = carried if outcome.status == S.SENT else f"{carried}: {outcome.error}"
            self.attempted.append(Attempted(
                merged, delivery.attempts, dataclasses.replace(outcome, error=error, counted=True),
                sent.started, sent.finished,
            ))  # fmt: skip
        if outcome.status == S.DEFERRED and outcome.next_attempt_at:
            delay = (outcome.next_attempt_at - sent.finished).total_seconds()
            self.retries.append(Retry(delivery.id, max(delay, 0.0)))
        self.outcomes[outcome.status] += 1


def deliver_batch(
    sessions: SessionFactory,
    ids: Sequence[int],
    *,
    providers: Providers,
    messages: MessageFactory,
    settings: DeliverySettings,
    time_source: TimeSource = SYSTEM_TIME,
    quiet: QuietHours = NO_QUIET_HOURS,
    guard: ProviderGuard = UNGUARDED,
    caps: NumberCaps = NO_CAPS,
) -> list[Retry]:
    """Send the deliveries among ``ids`` that are still due; record every attempt.

    Deliveries are claimed a chunk of ``settings.claim_chunk`` at a time, just before they are
    sent, and a chunk's outcomes are committed together with the next chunk's claim: a few
    statements and one commit per chunk instead of per message. A crash can therefore repeat
    at most one chunk (the sends made since the last commit), which the sweeper sends again
    under the same idempotency keys. Claims still waiting are renewed while a slow chunk goes
    on, and a delivery whose claim the sweeper took back is left to the worker that has it.

    Sends to firms' own endpoints (webhooks and robots: channels whose every provider has no
    shared endpoint) run side by side, up to ``settings.send_threads`` at once and
    ``settings.host_sends`` to one host, so a slow host holds up no firm on another: on the
    event loop their providers send on (webhooks), else on a pool of threads. Each ends within
    the outbound deadline, and what has ended is committed after a second even while a slow
    one goes on. Other sends (a shared gateway or relay) run in this thread one after another,
    as do every claim, renewal, campaign check and record: the session never leaves this
    thread.

    A batch stops starting sends once it has run ``settings.batch_seconds`` (slow endpoints); what
    it has not started is released and handed back to be queued again at once, and sends under
    way finish, so no batch runs into the actor's time limit, which could interrupt a send
    before its outcome is kept.

    ``clock`` tells the time used for claims, records, backoff and due deferrals. A delivery
    whose channel is in its ``quiet`` hours is not claimed: it waits ``deferred`` until the
    next allowed minute (the attempt not counted) and is handed back with that delay.

    ``caps`` bound the SMS one number gets per local day and class
    (:mod:`notifier.domain.number_caps`): an SMS past its cap waits for the next day's
    opening, alone or held to go out merged into one digest SMS with the others held for its
    number; each merged delivery names the digest that carried it and takes its outcome. A
    marketing SMS to a number that replied R ends suppressed (checked just before each chunk's
    claim); notices still go.

    ``guard`` holds the providers' circuits and limits
    (:mod:`notifier.services.delivery.failover`): a message
    moves on to the next provider of its channel when one fails, and waits for its limits.

    Returns:
        The deliveries to send again, with their delays (0 for those the batch had no time for).
    """
    with sessions() as session:
        batch = deliveries.load_for_sending(session, ids, now=time_source.now())
        sender = _Sender(
            session=session,
            providers=providers,
            messages=messages,
            settings=settings,
            unsubscribed=_suppressed(session, batch),
            budget_ends=time.monotonic() + settings.batch_seconds,
            time_source=time_source,
            quiet=quiet,
            gate=CampaignGate(sessions),
            guard=guard,
            caps=caps,
        )
        try:
            for chunk in _chunks(batch, settings.claim_chunk):
                if sender.out_of_time():
                    sender.retries.extend(Retry(delivery.id, 0.0) for delivery in chunk)
                    continue
                sender.chunk(chunk)
        finally:
            sender.close()
        sender.commit(last=True)
    if sender.outcomes:
        counts = ", ".join(f"{n} {s}" for s, n in sender.outcomes.items())
        log.info("batch of %s: %s", len(ids), counts)
    return sender.retries
