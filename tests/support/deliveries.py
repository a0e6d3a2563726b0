"""Deliveries through loopback SMS gateways: provider entries, a policy fanned out, the rows."""

from __future__ import annotations

import io

from sqlalchemy import select

from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.models import Delivery

from support.factories import Enqueued, Firm, enterprise_csv, policy
from support.peers import SmsGateway

SMS_KEY, SMS_SECRET = "test-key", "test-sms-secret"


def gateway_entry(name: str, gateway: SmsGateway, priority: int, **options: object) -> dict:
    """A ``[[providers]]`` entry for one loopback gateway."""
    return {
        "name": name,
        "channel": "sms",
        "kind": "sms-gateway",
        "priority": priority,
        "options": {"url": gateway.url, "app_key": SMS_KEY, **options},
        "secrets": {"app_secret": SMS_SECRET},
    }


def fanned_out(runtime: Runtime, firms: list[Firm], **fields: object) -> list[int]:
    """Import ``firms``, publish a policy reaching them, fan it out; return delivery ids."""
    assert (
        import_enterprises(
            runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False
        ).errors
        == []
    )
    draft = parse_policy(policy(**fields), zone=runtime.settings.zone)
    published = publish(runtime.sessions, runtime.dispatch, draft, time_source=runtime.time_source)
    assert published.trigger_id is not None
    ids: list[int] = []
    fan_out(
        runtime.sessions,
        Enqueued(ids.extend),
        published.trigger_id,
        settings=runtime.settings.delivery,
    )
    return sorted(ids)


def deliveries(runtime: Runtime, ids: list[int]) -> list[Delivery]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.id.in_(ids))))
