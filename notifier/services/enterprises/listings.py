"""Enterprises, deliveries and their attempts as plain rows: what the CLI prints, the API
returns and the exports write (times in the deployment's zone)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from notifier.store.models import Delivery, DeliveryAttempt, Enterprise


def local(moment: datetime | None, zone: tzinfo) -> str | None:
    """An ISO 8601 time in ``zone``, or None."""
    return moment.astimezone(zone).isoformat() if moment else None


def enterprise_row(enterprise: Enterprise) -> dict[str, object]:
    """One enterprise as ``enterprises list`` shows it (sectors, tags, topics, subscriptions
    loaded)."""
    return {
        "credit_code": enterprise.credit_code,
        "name": enterprise.name,
        "sectors": [s.code for s in enterprise.sectors],
        "region": enterprise.region,
        "size": enterprise.size,
        "tags": [t.tag for t in enterprise.tags],
        "topics": [t.topic for t in enterprise.topics],
        "subscribed": sorted(
            s.channel
            for s in enterprise.subscriptions
            if s.subscribed and enterprise.unsubscribed_at is None
        ),
    }


def attempt_row(attempt: DeliveryAttempt, zone: tzinfo) -> dict[str, object]:
    """One attempt as ``deliveries show`` gives it."""
    return {
        "number": attempt.number,
        "outcome": attempt.outcome,
        "provider": attempt.provider,
        "provider_message_id": attempt.provider_message_id,
        "error": attempt.error,
        "started_at": local(attempt.started_at, zone),
        "finished_at": local(attempt.finished_at, zone),
    }


def delivery_row(delivery: Delivery, zone: tzinfo) -> dict[str, object]:
    """One delivery as the log shows it (its enterprise and trigger loaded)."""
    return {
        "id": delivery.id,
        "policy_id": delivery.policy_id,
        "trigger": delivery.trigger.key,
        "credit_code": delivery.enterprise.credit_code,
        "enterprise": delivery.enterprise.name,
        "channel": delivery.channel,
        "message_class": delivery.message_class,
        "address": delivery.address,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "provider": delivery.provider,
        "provider_message_id": delivery.provider_message_id,
        "idempotency_key": delivery.idempotency_key,
        "reason": delivery.reason,
        "sent_at": local(delivery.sent_at, zone),
        "next_attempt_at": local(delivery.next_attempt_at, zone),
    }


# An export holds at most this many rows (a bigger one: narrow the filters).
EXPORT_LIMIT = 100_000
DELIVERY_COLUMNS = (
    "id",
    "policy_id",
    "trigger",
    "credit_code",
    "enterprise",
    "channel",
    "address",
    "status",
    "attempts",
    "last_error",
    "provider",
    "provider_message_id",
    "reason",
    "sent_at",
    "next_attempt_at",
)
