"""Send a batch of deliveries: claim, render, send, record. Retries are returned to the caller."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from notifier.config import DeliverySettings
from notifier.db import SessionFactory
from notifier.errors import InputError, PermanentError, TemplateError, TransientError, TriggerError
from notifier.messages import MessageFactory
from notifier.models import Delivery, DeliveryStatus
from notifier.models.base import utcnow
from notifier.ports import Providers
from notifier.store import deliveries, enterprises
from notifier.store.deliveries import Outcome

log = logging.getLogger(__name__)
S = DeliveryStatus


@dataclass(frozen=True)
class Retry:
    """A delivery to send again after ``delay`` seconds."""

    delivery_id: int
    delay: float


def backoff(attempts: int, policy: DeliverySettings) -> float:
    """Seconds to wait after the ``attempts``-th failed try: doubling, capped, with jitter."""
    base = min(policy.backoff_base_seconds * 2 ** max(attempts - 1, 0), policy.backoff_max_seconds)
    # The cap applies after the jitter: backoff_max_seconds is a promise to the operator.
    return min(base * random.uniform(0.8, 1.2), policy.backoff_max_seconds)  # noqa: S311 - jitter


def _transient(delivery: Delivery, reason: str, policy: DeliverySettings, now: datetime) -> Outcome:
    if delivery.attempts >= policy.max_attempts:
        return Outcome(S.FAILED, error=f"gave up after {delivery.attempts} attempts: {reason}")
    delay = backoff(delivery.attempts, policy)
    return Outcome(S.DEFERRED, error=reason, next_attempt_at=now + timedelta(seconds=delay))


def attempt(
    delivery: Delivery,
    *,
    providers: Providers,
    messages: MessageFactory,
    policy: DeliverySettings,
) -> Outcome:
    """Render and send one claimed delivery; never raises for a per-message problem."""
    candidates = providers.for_channel(delivery.channel)
    if not candidates:
        return Outcome(S.FAILED, error=f"channel {delivery.channel!r} is not configured")
    provider = candidates[0]
    try:
        message = messages.build(delivery, provider)
        result = provider.send(message)
    except TemplateError as exc:
        return Outcome(S.FAILED, error=f"template: {exc}")
    except InputError as exc:  # an address the provider cannot use
        return Outcome(S.FAILED, error=str(exc))
    except TriggerError as exc:
        return Outcome(S.FAILED, error=str(exc))
    except PermanentError as exc:
        return Outcome(S.FAILED, error=exc.reason)
    except TransientError as exc:
        return _transient(delivery, exc.reason, policy, utcnow())
    except Exception as exc:  # a bug must not kill the batch; keep it and retry
        log.exception("delivery %s: unexpected error", delivery.id)
        return _transient(delivery, f"internal error: {exc!r}"[:500], policy, utcnow())
    return Outcome(S.SENT, provider=result.provider, provider_message_id=result.provider_message_id)


def _suppressed(session: Session, batch: Sequence[Delivery]) -> set[int]:
    subscribed = enterprises.subscribed_pairs(session, {d.enterprise_id for d in batch})
    return {d.id for d in batch if (d.enterprise_id, d.channel) not in subscribed}


def deliver_batch(
    sessions: SessionFactory,
    ids: Sequence[int],
    *,
    providers: Providers,
    messages: MessageFactory,
    policy: DeliverySettings,
) -> list[Retry]:
    """Send the deliveries among ``ids`` that are still due; record every attempt.

    Each delivery is claimed just before its send, and its outcome is committed together with
    the next one's claim (one commit per message), so a crash loses at most the one in flight,
    which the sweeper sends again under the same idempotency key. A delivery that another
    worker took meanwhile is skipped.

    A batch stops taking new deliveries once it has run ``policy.batch_seconds`` (slow
    endpoints); those not yet claimed are handed back to be queued again at once, so no batch
    runs into the actor's time limit, which could interrupt a send before its outcome is kept.

    Returns:
        The deliveries to send again, with their delays (0 for those the batch had no time for).
    """
    retries = []
    outcomes: Counter[str] = Counter()
    budget_ends = time.monotonic() + policy.batch_seconds
    with sessions() as session:
        batch = deliveries.load_for_sending(session, ids, now=utcnow())
        unsubscribed = _suppressed(session, batch)
        for delivery in batch:
            # At least one send per batch, so a batch always moves the work on.
            if outcomes and time.monotonic() > budget_ends:
                retries.append(Retry(delivery.id, 0.0))
                continue
            started = utcnow()
            claimed = deliveries.claim(session, delivery, now=started)
            session.commit()  # the claim, and the previous delivery's outcome
            if not claimed:  # another message for it got there first
                continue
            if delivery.id in unsubscribed:
                outcome = Outcome(S.SUPPRESSED, error="recipient unsubscribed")
            else:
                outcome = attempt(delivery, providers=providers, messages=messages, policy=policy)
            deliveries.record(session, delivery, outcome, started_at=started, now=utcnow())
            if outcome.status == S.DEFERRED and outcome.next_attempt_at:
                delay = (outcome.next_attempt_at - utcnow()).total_seconds()
                retries.append(Retry(delivery.id, max(delay, 0.0)))
            outcomes[outcome.status] += 1
            log.debug("delivery %s: %s %s", delivery.id, outcome.status, outcome.error or "")
        session.commit()
    if outcomes:
        log.info("batch of %s: %s", len(ids), ", ".join(f"{n} {s}" for s, n in outcomes.items()))
    return retries
