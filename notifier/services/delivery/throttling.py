"""When a throttled delivery is sent again, and when it stops being tried.

A "slow down" answer (:class:`~notifier.errors.ThrottledError`) says how long its limit lasts:
until the next local day (a daily limit), for ``retry_after`` seconds (HTTP ``Retry-After``, a
vendor's documented window), or nothing, and then backoff applies. A throttled try counts
toward neither ``max_attempts`` nor the circuit, but toward ``max_throttled_tries``, and a
delivery whose limit lifts only after its maximum age can never pass: both end it ``failed``
with the vendor's reason.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, tzinfo

from notifier.channels.base import SendingRules
from notifier.config import DeliverySettings
from notifier.errors import ThrottledError
from notifier.store.deliveries import Outcome
from notifier.store.models import Delivery, DeliveryStatus
from notifier.store.models.base import utcnow

S = DeliveryStatus
# A day limit lifts at local midnight: the deliveries waiting for it spread over this long after,
# so that they do not all come back in the same second.
NEXT_DAY_SPREAD = timedelta(minutes=15)


def next_local_day(now: datetime, zone: tzinfo) -> datetime:
    """The next 00:00 in ``zone`` after ``now``, in UTC."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).astimezone(UTC)


def throttled_until(
    error: ThrottledError, *, now: datetime, zone: tzinfo, jitter: float, backoff: float
) -> datetime:
    """When a throttled delivery may be sent again.

    A daily limit: the next local day (plus up to ``NEXT_DAY_SPREAD``). A wait the provider
    named: that wait, never sooner, up to ``jitter`` (a fraction) later. Otherwise ``backoff``
    seconds.
    """
    if error.next_day:
        spread = random.uniform(0, NEXT_DAY_SPREAD.total_seconds())  # noqa: S311 - jitter
        return next_local_day(now, zone) + timedelta(seconds=spread)
    if error.retry_after is not None:
        stretch = random.uniform(1, 1 + jitter)  # noqa: S311 - jitter
        return now + timedelta(seconds=error.retry_after * stretch)
    return now + timedelta(seconds=backoff)


def throttled(
    delivery: Delivery,
    error: ThrottledError,
    provider: SendingRules,
    settings: DeliverySettings,
    *,
    now: datetime,
    zone: tzinfo,
    backoff: float,
) -> Outcome:
    """The outcome of a throttled try: deferred until its limit lifts, or ``failed`` with the
    vendor's reason on the ``max_throttled_tries``-th (the provider's, else the settings') or
    when the limit lifts only after the delivery's ``max_age_hours``.

    ``backoff`` is the wait when the answer names none (backoff by the throttled tries).
    """
    tries = delivery.throttled + 1
    cap = provider.max_throttled_tries or settings.max_throttled_tries
    if tries >= cap:
        reason = f"限流 {tries} 次后放弃 / gave up after {tries} throttled tries: {error.reason}"
        return Outcome(S.FAILED, error=reason, counted=False, throttled=True)
    after = throttled_until(
        error, now=now, zone=zone, jitter=settings.backoff_jitter, backoff=backoff
    )
    # Rows carry the wall clock's creation time (see sending._expired): life is read on it.
    life_left = timedelta(hours=settings.max_age_hours) - (utcnow() - delivery.created_at)
    if after > now + life_left:
        when = after.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        hours = f"{settings.max_age_hours:g}"
        reason = (
            f"{error.reason}; 下次可发送时间 {when} 已超过 {hours} 小时有效期 / the next "
            f"allowed time is past the delivery's {hours} h life"
        )
        return Outcome(S.FAILED, error=reason, counted=False, throttled=True)
    return Outcome(
        S.DEFERRED, error=error.reason, next_attempt_at=after, counted=False, throttled=True
    )
