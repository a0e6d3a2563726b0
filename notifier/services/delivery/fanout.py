"""Fan-out: turn one trigger into delivery rows, then queue them in batches of ids."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from notifier.config import DeliverySettings
from notifier.domain.targets import Targets
from notifier.errors import TriggerError
from notifier.services.delivery.kinds import KINDS, Kind, kind_of
from notifier.services.delivery.pacing import Pace
from notifier.services.delivery.ports import Dispatch
from notifier.store import audience as audiences
from notifier.store import deliveries, reach_states, triggers
from notifier.store.db import SessionFactory
from notifier.store.models import TriggerKind, TriggerStatus
from notifier.store.models.base import utcnow

log = logging.getLogger(__name__)

# A failed trigger ended; a cancelled or missed one is never to be sent.
_NOTHING_TO_DO = frozenset({TriggerStatus.FAILED, TriggerStatus.CANCELLED, TriggerStatus.MISSED})


def queue_all_pending(
    sessions: SessionFactory, dispatch: Dispatch, trigger_id: int, *, batch_size: int
) -> None:
    """Queue the trigger's pending deliveries, a batch of ids per message."""
    while True:
        with sessions.begin() as session:
            ids = deliveries.queue_pending(session, trigger_id, limit=batch_size, now=utcnow())
        if not ids:
            return
        # Committed first: a lost message leaves rows `queued`, which the sweeper recovers.
        dispatch.deliveries(ids)


def _insert_page(
    sessions: SessionFactory,
    trigger_id: int,
    audience: Targets,
    after: int | None,
    size: int,
) -> tuple[list[int], int | None]:
    """Insert the deliveries of the next ``size`` enterprises, queued; return their ids and
    the next page's key (None after the last page)."""
    with sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        assert trigger is not None
        until = audiences.window_end(session, audience, after=after, size=size)
        now = utcnow()
        ids = deliveries.insert_page(session, trigger, audience, after=after, until=until, now=now)
        triggers.beat(session, trigger, now=now)
    return ids, until


def _start(
    sessions: SessionFactory, trigger_id: int, kinds: Mapping[str, Kind], max_attempts: int
) -> tuple[Targets, int | None] | None:
    """Count the run, mark the trigger running and return its audience; None: nothing to do."""
    with sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        if trigger is None:
            log.warning("fan-out: trigger %s does not exist", trigger_id)
            return None
        if trigger.status in _NOTHING_TO_DO:
            return None
        if trigger.status != TriggerStatus.DONE and trigger.attempts >= max_attempts:
            # A poison trigger (it fails every run) must not be retried for ever.
            reason = f"gave up after {trigger.attempts} fan-out attempts: {trigger.error or '?'}"
            triggers.fail(session, trigger, reason=reason, now=utcnow())
            log.error("fan-out of trigger %s: %s", trigger_id, reason)
            return None
        # Committed before the run, so a run that crashes the process still counts.
        trigger.attempts += 1
    with sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        assert trigger is not None
        try:
            kind = kind_of(trigger, kinds)
            audience = kind.audience(trigger)
            per_minute = kind.per_minute(trigger)
        except TriggerError as exc:
            # Retrying would fail the same way: the trigger ends here, with its reason.
            triggers.fail(session, trigger, reason=str(exc), now=utcnow())
            log.error("fan-out of trigger %s failed: %s", trigger_id, exc)
            return None
        triggers.start(session, trigger, now=utcnow())
        return audience, per_minute


def fan_out(
    sessions: SessionFactory,
    dispatch: Dispatch,
    trigger_id: int,
    *,
    settings: DeliverySettings,
    kinds: Mapping[str, Kind] = KINDS,
) -> int:
    """Create the trigger's deliveries (idempotent) and queue them.

    Running it twice, or concurrently, creates no second delivery and queues none twice. A
    trigger whose kind is not handled (or lacks what its kind needs) is failed with the reason.

    Returns:
        How many deliveries the trigger has.
    """
    try:
        started = _start(sessions, trigger_id, kinds, settings.fan_out_max_attempts)
        if started is None:
            return 0
        audience, per_minute = started
        pace = Pace(sessions, settings.batch_size, per_minute)
        return _fan_out_pages(sessions, dispatch, trigger_id, audience, settings, pace)
    except Exception as exc:
        # Kept on the trigger so staff see why, and so the last run can fail it with the reason.
        with sessions.begin() as session:
            trigger = triggers.get(session, trigger_id)
            if trigger is not None:
                trigger.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise


def _fan_out_pages(
    sessions: SessionFactory,
    dispatch: Dispatch,
    trigger_id: int,
    audience: Targets,
    settings: DeliverySettings,
    pace: Pace,
) -> int:
    after: int | None = None
    # A small first page: its deliveries reach the workers while the rest is being made.
    size = min(settings.batch_size, settings.fan_out_chunk)
    while True:
        ids, after = _insert_page(sessions, trigger_id, audience, after, size)
        size = settings.fan_out_chunk
        # Committed first: a lost message leaves rows `queued`, which the sweeper recovers.
        # Queued as we go, so sending starts before a large fan-out ends (at the throttle's pace).
        pace.dispatch(dispatch, ids)
        if after is None:
            break
    # Rows a crashed run of an older version left pending.
    queue_all_pending(sessions, dispatch, trigger_id, batch_size=settings.batch_size)
    with sessions.begin() as session:
        trigger = triggers.get(session, trigger_id)
        assert trigger is not None
        total = deliveries.count_for_trigger(session, trigger_id)
        if trigger.status != TriggerStatus.DONE:
            triggers.finish(session, trigger, recipients=total, now=utcnow())
        if trigger.kind == TriggerKind.POLICY_PUBLISHED and trigger.policy_id is not None:
            # Every firm the policy is for gets its reach row, reachable or not.
            now = utcnow()
            reach_states.seed(session, trigger.policy_id, audience, now=now)
            reach_states.refresh(session, now=now, policy_id=trigger.policy_id)
    log.info("fan-out of trigger %s: %s deliveries", trigger_id, total)
    return total
