"""Send a batch of deliveries: claim, render, send, record. Retries are returned to the caller."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from notifier.campaign_gate import CampaignGate
from notifier.channels.base import ProviderPolicy
from notifier.config import DeliverySettings
from notifier.db import SessionFactory
from notifier.errors import (
    InputError,
    PermanentError,
    TemplateError,
    ThrottledError,
    TransientError,
    TriggerError,
)
from notifier.failover import UNGUARDED, ProviderGuard, Routed, route
from notifier.messages import MessageFactory
from notifier.models import Delivery, DeliveryStatus
from notifier.models.base import utcnow
from notifier.ports import Providers
from notifier.quiet_hours import NO_QUIET_HOURS, QuietHours
from notifier.store import deliveries, enterprises
from notifier.store.deliveries import Attempted, Outcome
from notifier.throttling import throttled
from notifier.time_source import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)
S = DeliveryStatus
NO_POLICY = ProviderPolicy()


@dataclass(frozen=True)
class Retry:
    """A delivery to send again after ``delay`` seconds."""

    delivery_id: int
    delay: float


def backoff(
    attempts: int, policy: DeliverySettings, provider: ProviderPolicy = NO_POLICY
) -> float:
    """Seconds to wait after the ``attempts``-th failed try: doubling, capped, with jitter.

    A provider's own ``backoff_base_seconds`` and ``backoff_max_seconds`` win over the settings'.
    """
    first = _either(provider.backoff_base_seconds, policy.backoff_base_seconds)
    cap = _either(provider.backoff_max_seconds, policy.backoff_max_seconds)
    base = min(first * 2 ** max(attempts - 1, 0), cap)
    jitter = policy.backoff_jitter
    # The cap applies after the jitter: backoff_max_seconds is a promise to the operator.
    return min(base * random.uniform(1 - jitter, 1 + jitter), cap)  # noqa: S311 - jitter


def _either(own: float | None, default: float) -> float:
    return default if own is None else own


def _transient(
    delivery: Delivery,
    reason: str,
    policy: DeliverySettings,
    now: datetime,
    provider: ProviderPolicy = NO_POLICY,
) -> Outcome:
    max_attempts = provider.max_attempts or policy.max_attempts
    if delivery.attempts >= max_attempts:
        return Outcome(S.FAILED, error=f"gave up after {delivery.attempts} attempts: {reason}")
    delay = backoff(delivery.attempts, policy, provider)
    return Outcome(S.DEFERRED, error=reason, next_attempt_at=now + timedelta(seconds=delay))


def _expired(delivery: Delivery, policy: DeliverySettings) -> Outcome | None:
    """An ``expired`` outcome when the delivery is older than ``delivery.max_age_hours``."""
    # Fan-out stamps rows with the wall clock, so their age is read on it too (a test's
    # ManualClock set days ahead must not age every delivery it sends).
    if utcnow() - delivery.created_at <= timedelta(hours=policy.max_age_hours):
        return None
    last = delivery.last_error or "no error recorded"
    hours = f"{policy.max_age_hours:g}"
    return Outcome(
        S.EXPIRED, error=f"超过 {hours} 小时未发出 / expired after {hours} h: {last}", counted=False
    )


def attempt(
    delivery: Delivery,
    *,
    providers: Providers,
    messages: MessageFactory,
    policy: DeliverySettings,
    clock: Clock = SYSTEM_CLOCK,
    guard: ProviderGuard = UNGUARDED,
) -> list[Outcome]:
    """Render and send one claimed delivery through the first of its channel's providers that
    takes it (see :func:`notifier.failover.route`); never raises for a per-message problem.

    Returns:
        One outcome per provider tried, the deciding one last.
    """
    now = clock.now()
    expired = _expired(delivery, policy)
    if expired is not None:
        return [expired]
    candidates = providers.for_channel(delivery.channel)
    if not candidates:
        return [Outcome(S.FAILED, error=f"channel {delivery.channel!r} is not configured")]
    routed = route(
        candidates,
        lambda provider: provider.send(messages.build(delivery, provider)),
        guard=guard,
        now=now.timestamp(),
    )
    passed = [
        Outcome(S.FAILED, provider=p.provider, error=f"转下一服务商 / failed over: {p.reason}")
        for p in routed.passed_over
    ]
    return [*passed, _decided(delivery, routed, policy, clock, messages.zone)]


def _decided(
    delivery: Delivery, routed: Routed, policy: DeliverySettings, clock: Clock, zone: tzinfo
) -> Outcome:
    if routed.result is not None:
        result = routed.result
        return Outcome(
            S.SENT, provider=result.provider, provider_message_id=result.provider_message_id
        )
    if routed.provider is None or routed.error is None:  # every circuit open: wait, not a try
        until = datetime.fromtimestamp(routed.open_until or clock.now().timestamp(), UTC)
        reason = "每个服务商都已熔断 / every provider's circuit is open"
        return Outcome(S.DEFERRED, error=reason, next_attempt_at=until, counted=False)
    outcome = _failure(
        delivery, routed.error, routed.provider.policy, policy, clock.now(), zone
    )
    return dataclasses.replace(outcome, provider=routed.provider.name)


def _failure(
    delivery: Delivery,
    error: Exception,
    provider: ProviderPolicy,
    policy: DeliverySettings,
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
        waits = backoff(delivery.throttled + 1, policy, provider)
        return throttled(delivery, exc, provider, policy, now=now, zone=zone, backoff=waits)
    except TransientError as exc:
        return _transient(delivery, exc.reason, policy, now, provider)
    except Exception as exc:  # a bug must not kill the batch; keep it and retry
        log.exception("delivery %s: unexpected error", delivery.id)
        return _transient(delivery, f"internal error: {exc!r}"[:500], policy, now, provider)


def _suppressed(session: Session, batch: Sequence[Delivery]) -> set[int]:
    subscribed = enterprises.subscribed_pairs(session, {d.enterprise_id for d in batch})
    return {d.id for d in batch if (d.enterprise_id, d.channel) not in subscribed}


def _chunks(batch: Sequence[Delivery], size: int) -> list[Sequence[Delivery]]:
    return [batch[start : start + size] for start in range(0, len(batch), size)]


@dataclass
class _Sender:
    """One batch on its way: claims a chunk, sends it, records it with the next claim."""

    session: Session
    providers: Providers
    messages: MessageFactory
    policy: DeliverySettings
    unsubscribed: set[int]
    budget_ends: float
    clock: Clock
    quiet: QuietHours
    gate: CampaignGate
    guard: ProviderGuard = UNGUARDED
    retries: list[Retry] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    attempted: list[Attempted] = field(default_factory=list)

    def commit(self) -> None:
        """Record what was sent since the last commit, and commit (with any claims made)."""
        deliveries.record(self.session, self.attempted)
        self.session.commit()
        self.attempted = []

    def out_of_time(self) -> bool:
        # At least one send per batch, so a batch always moves the work on.
        return bool(self.outcomes) and time.monotonic() > self.budget_ends

    def hold_quiet(self, chunk: Sequence[Delivery]) -> Sequence[Delivery]:
        """Defer the deliveries whose channel is in its quiet hours; return the others."""
        now = self.clock.now()
        until = {d.id: self.quiet.until(d.channel, now) for d in chunk}
        waiting = {i: moment for i, moment in until.items() if moment is not None}
        if not waiting:
            return chunk
        for delivery_id in deliveries.hold(
            self.session, waiting, now=now, reason="quiet hours: waits for the next allowed minute"
        ):
            delay = (waiting[delivery_id] - now).total_seconds()
            self.retries.append(Retry(delivery_id, max(delay, 0.0)))
            self.outcomes[S.DEFERRED] += 1
        return [d for d in chunk if d.id not in waiting]

    def chunk(self, chunk: Sequence[Delivery]) -> None:
        """Claim and send one chunk; its outcomes wait for the next commit."""
        chunk = self.hold_quiet(chunk)
        claimed_at = self.clock.now()
        held = deliveries.claim(self.session, chunk, now=claimed_at)
        self.commit()  # this chunk's claims, and the previous chunk's outcomes
        renewed = time.monotonic()
        # Renewed well before the sweeper would take a claim for abandoned.
        renew_after = self.policy.stuck_after_seconds / 4
        lost: set[int] = set()  # taken back by the sweeper: another worker may send them
        for index, delivery in enumerate(held):
            rest = [d.id for d in held[index:] if d.id not in lost]
            if self.out_of_time():
                deliveries.release(self.session, rest, claimed_at=claimed_at)
                self.retries.extend(Retry(delivery_id, 0.0) for delivery_id in rest)
                return
            if time.monotonic() - renewed > renew_after:
                now = self.clock.now()
                still = deliveries.keep_claims(self.session, rest, claimed_at=claimed_at, now=now)
                self.commit()
                claimed_at, renewed = now, time.monotonic()
                lost.update(delivery_id for delivery_id in rest if delivery_id not in still)
            if delivery.id not in lost and not self.gate.holds(delivery, claimed_at=claimed_at):
                self.send(delivery)

    def send(self, delivery: Delivery) -> None:
        started = self.clock.now()
        if delivery.id in self.unsubscribed:
            outcomes = [Outcome(S.SUPPRESSED, error="recipient unsubscribed")]
        else:
            outcomes = attempt(
                delivery,
                providers=self.providers,
                messages=self.messages,
                policy=self.policy,
                clock=self.clock,
                guard=self.guard,
            )
        finished = self.clock.now()
        self.attempted.extend(
            Attempted(delivery.id, delivery.attempts, tried, started, finished)
            for tried in outcomes
        )
        outcome = outcomes[-1]
        if outcome.status == S.DEFERRED and outcome.next_attempt_at:
            delay = (outcome.next_attempt_at - finished).total_seconds()
            self.retries.append(Retry(delivery.id, max(delay, 0.0)))
        self.outcomes[outcome.status] += 1


def deliver_batch(
    sessions: SessionFactory,
    ids: Sequence[int],
    *,
    providers: Providers,
    messages: MessageFactory,
    policy: DeliverySettings,
    clock: Clock = SYSTEM_CLOCK,
    quiet: QuietHours = NO_QUIET_HOURS,
    guard: ProviderGuard = UNGUARDED,
) -> list[Retry]:
    """Send the deliveries among ``ids`` that are still due; record every attempt.

    Deliveries are claimed a chunk of ``policy.claim_chunk`` at a time, just before they are
    sent, and a chunk's outcomes are committed together with the next chunk's claim: a few
    statements and one commit per chunk instead of per message. A crash can therefore repeat
    at most one chunk (the sends made since the last commit), which the sweeper sends again
    under the same idempotency keys. Claims still waiting are renewed while a slow chunk goes
    on, and a delivery whose claim the sweeper took back is left to the worker that has it.

    A batch stops sending once it has run ``policy.batch_seconds`` (slow endpoints); what it
    has not started is released and handed back to be queued again at once, so no batch runs
    into the actor's time limit, which could interrupt a send before its outcome is kept.

    ``clock`` tells the time used for claims, records, backoff and due deferrals. A delivery
    whose channel is in its ``quiet`` hours is not claimed: it waits ``deferred`` until the
    next allowed minute (the attempt not counted) and is handed back with that delay.

    ``guard`` holds the providers' circuits and limits (:mod:`notifier.failover`): a message
    moves on to the next provider of its channel when one fails, and waits for its limits.

    Returns:
        The deliveries to send again, with their delays (0 for those the batch had no time for).
    """
    with sessions() as session:
        batch = deliveries.load_for_sending(session, ids, now=clock.now())
        sender = _Sender(
            session=session,
            providers=providers,
            messages=messages,
            policy=policy,
            unsubscribed=_suppressed(session, batch),
            budget_ends=time.monotonic() + policy.batch_seconds,
            clock=clock,
            quiet=quiet,
            gate=CampaignGate(sessions),
            guard=guard,
        )
        for chunk in _chunks(batch, policy.claim_chunk):
            if sender.out_of_time():
                sender.retries.extend(Retry(delivery.id, 0.0) for delivery in chunk)
                continue
            sender.chunk(chunk)
        sender.commit()
    if sender.outcomes:
        counts = ", ".join(f"{n} {s}" for s, n in sender.outcomes.items())
        log.info("batch of %s: %s", len(ids), counts)
    return sender.retries
