"""Build the message a delivery sends: its template context, rendering and channel fields."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from notifier.channels.base import Message
from notifier.config import Settings
from notifier.models import Deadline, Delivery, Policy
from notifier.models.base import utcnow
from notifier.rendering import Renderer
from notifier.tokens import make_unsubscribe_token

TIME_FORMAT = "%Y-%m-%d %H:%M"


def local(moment: datetime, zone: tzinfo) -> str:
    """A stored UTC time as the deployment shows it."""
    return moment.astimezone(zone).strftime(TIME_FORMAT)


def policy_view(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """What templates and webhook payloads see of a policy."""
    return {
        "id": policy.id,
        "title": policy.title,
        "summary": policy.summary,
        "body": policy.body,
        "url": policy.url,
        "department": policy.department,
        "topics": list(policy.topics),
        "published_at": local(policy.published_at, zone),
        "deadlines": [
            {"title": d.title, "due_at": local(d.due_at, zone)} for d in policy.deadlines
        ],
    }


def deadline_view(deadline: Deadline, zone: tzinfo, now: datetime) -> dict[str, Any]:
    """What templates see of a deadline."""
    days_left = (deadline.due_at.astimezone(zone).date() - now.astimezone(zone).date()).days
    return {"title": deadline.title, "due_at": local(deadline.due_at, zone), "days_left": days_left}


def unsubscribe_url(settings: Settings, delivery: Delivery) -> str:
    """The signed one-click unsubscribe link for the delivery's enterprise and channel."""
    token = make_unsubscribe_token(
        settings.secret_key.get_secret_value(),
        enterprise_id=delivery.enterprise_id,
        channel=delivery.channel,
    )
    return f"{settings.public_url.rstrip('/')}/u/{token}"


def context_for(delivery: Delivery, settings: Settings) -> dict[str, Any]:
    """The template context of a delivery."""
    trigger = delivery.trigger
    if trigger.policy is None:
        raise ValueError(f"delivery {delivery.id}: its trigger has no policy")
    zone = settings.zone
    return {
        "enterprise": {
            "name": delivery.enterprise.name,
            "credit_code": delivery.enterprise.credit_code,
        },
        "policy": policy_view(trigger.policy, zone),
        "deadline": deadline_view(trigger.deadline, zone, utcnow()) if trigger.deadline else None,
        "unsubscribe_url": unsubscribe_url(settings, delivery),
        "public_url": settings.public_url,
    }


def build_message(delivery: Delivery, *, renderer: Renderer, settings: Settings) -> Message:
    """Render the delivery for its channel.

    Raises:
        TemplateError: the template failed or the SMS is too long.
    """
    context = context_for(delivery, settings)
    rendered = renderer.render(
        delivery.trigger.kind, delivery.channel, context, to=delivery.address
    )
    payload: dict[str, Any] = {}
    if delivery.channel == "webhook":
        payload = {
            "type": delivery.trigger.kind.replace("_", "."),
            "enterprise": context["enterprise"],
            "policy": context["policy"],
            "deadline": context["deadline"],
            "text": rendered.text,
            "reason": delivery.reason,
            "unsubscribe_url": context["unsubscribe_url"],
        }
    return Message(
        delivery_id=delivery.id,
        idempotency_key=delivery.idempotency_key,
        to=delivery.address,
        text=rendered.text,
        subject=rendered.subject,
        html=rendered.html,
        payload=payload,
        unsubscribe_url=context["unsubscribe_url"],
    )
