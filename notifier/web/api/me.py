"""``/api/v1/me``: an enterprise key's own view: its profile, deliveries, deadlines and
subscriptions. The enterprise is the key's; no route here takes another enterprise's id, and
an id of anything not its own answers 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from notifier.domain.consent import ConsentSource
from notifier.errors import NotFoundError
from notifier.inputs.api import SubscriptionsIn
from notifier.runtime import Runtime
from notifier.services.deadlines.operations import mark_done
from notifier.services.enterprises.listings import local
from notifier.services.enterprises.subscriptions import change, choices_of
from notifier.services.providers import endpoint_secrets
from notifier.store import deadlines as deadline_store
from notifier.store import enterprises as store
from notifier.web.api.deliveries import (
    ChannelQ,
    CursorQ,
    LimitQ,
    StatusQ,
    delivery_detail,
    delivery_filter,
    page_of,
)
from notifier.web.api.enterprises import detail
from notifier.web.api.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DoneOut,
    EnterpriseDetail,
    MyDeadlineOut,
    Page,
    SubscriptionsOut,
    WebhookSecretOut,
    WebhookSecretTaken,
)
from notifier.web.auth import EnterpriseKey, Principal, acting
from notifier.web.deps import Id, RuntimeDep

router = APIRouter(prefix="/me", tags=["me"])


def _own(principal: Principal) -> int:
    assert principal.enterprise_id is not None  # an enterprise key always names one
    return principal.enterprise_id


@router.get("", response_model=EnterpriseDetail, summary="本企业 / my enterprise")
def me(runtime: RuntimeDep, principal: EnterpriseKey) -> dict[str, Any]:
    """The key's enterprise, its contacts and its latest deliveries."""
    with runtime.sessions() as session:
        enterprise = store.get_full_by_id(session, _own(principal))
    if enterprise is None:
        raise NotFoundError("enterprise: 不存在 / no such enterprise", field="enterprise")
    return detail(runtime, enterprise)


@router.get("/deliveries", response_model=Page[DeliveryOut], summary="本企业的投递 / mine")
def my_deliveries(
    runtime: RuntimeDep,
    principal: EnterpriseKey,
    status: StatusQ = None,
    channel: ChannelQ = None,
    cursor: CursorQ = None,
    limit: LimitQ = 50,
) -> dict[str, Any]:
    """The messages sent to this enterprise, newest first."""
    filters = delivery_filter(
        runtime,
        status=status,
        channel=channel,
        enterprise=None,
        trigger=None,
        policy=None,
        since=None,
        until=None,
        enterprise_id=_own(principal),
    )
    return page_of(runtime, filters, cursor, limit)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="一条 / one")
def my_delivery(runtime: RuntimeDep, principal: EnterpriseKey, delivery_id: Id) -> dict[str, Any]:
    """One of this enterprise's deliveries (another's: 404)."""
    return delivery_detail(runtime, delivery_id, enterprise_id=_own(principal))


@router.get("/deadlines", response_model=list[MyDeadlineOut], summary="本企业的截止日期")
def my_deadlines(runtime: RuntimeDep, principal: EnterpriseKey) -> list[dict[str, Any]]:
    """The deadlines of the policies that reached this enterprise, and whether it is done."""
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        rows = deadline_store.of_enterprise(session, _own(principal))
        done = deadline_store.done_by(session, _own(principal))
        return [
            {
                "id": d.id,
                "policy_id": d.policy_id,
                "policy": d.policy.title,
                "title": d.title,
                "due_at": local(d.due_at, zone),
                "cancelled": d.cancelled_at is not None,
                "done": d.id in done,
            }
            for d in rows
        ]


@router.post("/deadlines/{deadline_id}/done", response_model=DoneOut, summary="标记已办 / done")
def my_deadline_done(
    runtime: RuntimeDep, principal: EnterpriseKey, deadline_id: Id
) -> dict[str, Any]:
    """Say this enterprise has done a deadline: no more reminders of it."""
    with runtime.sessions() as session:
        enterprise = store.get_full_by_id(session, _own(principal))
        if enterprise is None or not deadline_store.concerns(session, deadline_id, enterprise.id):
            raise NotFoundError(f"deadline {deadline_id}: no such deadline", field="deadline")
        code = enterprise.credit_code
    new = mark_done(acting(runtime, principal), deadline_id, code)
    return {"deadline_id": deadline_id, "credit_code": code, "new": new}


@router.get("/subscriptions", response_model=SubscriptionsOut, summary="订阅 / subscriptions")
def my_subscriptions(runtime: RuntimeDep, principal: EnterpriseKey) -> dict[str, Any]:
    """The channels this enterprise takes messages on, those it could, and its topics."""
    return vars(choices_of(runtime.sessions, _own(principal)))


@router.put("/subscriptions", response_model=SubscriptionsOut, summary="修改订阅 / change")
def set_subscriptions(
    runtime: RuntimeDep, principal: EnterpriseKey, body: SubscriptionsIn
) -> dict[str, Any]:
    """Take messages on exactly these channels (each needs a contact); set topics if given."""
    context = acting(runtime, principal)
    _, after = change(
        context, _own(principal), channels=body.channels, topics=body.topics,
        source=ConsentSource.API,
    )
    return vars(after)


def _secret_state(runtime: Runtime, state: endpoint_secrets.SecretState) -> dict[str, Any]:
    zone = runtime.settings.zone
    return {
        "endpoint": state.endpoint,
        "own": state.own,
        "taken_at": local(state.taken_at, zone),
        "previous_until": local(state.previous_until, zone),
    }


@router.get("/webhook-secret", response_model=WebhookSecretOut, summary="签名密钥状态 / state")
def my_webhook_secret(runtime: RuntimeDep, principal: EnterpriseKey) -> dict[str, Any]:
    """Your webhook endpoint's signing secret: whether you have your own, when you took it,
    and until when the previous one signs too (never the secret)."""
    state = endpoint_secrets.state_of(runtime.sessions, _own(principal),
    now=runtime.time_source.now())
    return _secret_state(runtime, state)


@router.post(
    "/webhook-secret",
    response_model=WebhookSecretTaken,
    summary="显示或轮换签名密钥 / reveal or rotate the signing secret",
)
def take_webhook_secret(
    runtime: RuntimeDep, principal: EnterpriseKey, response: Response
) -> dict[str, Any]:
    """Show your endpoint's signing secret once: the one made with the endpoint if it was never
    shown, else a new one (a rotation). The previous secret (or the shared one, the first time)
    keeps signing each message beside it for ``webhook.secret_overlap_days`` days, or until
    ``DELETE /me/webhook-secret/previous``."""
    # Shown once: no cache or proxy may keep a copy of the answer.
    response.headers["Cache-Control"] = "no-store"
    taken = endpoint_secrets.take(acting(runtime, principal), _own(principal))
    return {**_secret_state(runtime, taken.state), "secret": taken.secret}


@router.delete(
    "/webhook-secret/previous",
    response_model=WebhookSecretOut,
    summary="停用旧签名密钥 / stop signing with the previous secret",
)
def end_webhook_secret_overlap(runtime: RuntimeDep, principal: EnterpriseKey) -> dict[str, Any]:
    """Your receiver verifies with the new secret: stop signing with the previous one now."""
    context = acting(runtime, principal)
    state = endpoint_secrets.end_overlap(context, _own(principal))
    return _secret_state(runtime, state)
