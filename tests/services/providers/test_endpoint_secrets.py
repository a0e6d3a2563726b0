"""A signing secret per firm webhook endpoint: made with the endpoint, shown once to its firm
(its preferences page or its API key), rotated with an overlap in which both secrets sign.

Real parts: SQLite and PostgreSQL (built by the migrations), the in-process broker and worker,
webhook receivers on loopback that verify what they get with ``standardwebhooks``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from standardwebhooks import Webhook, WebhookVerificationError

from notifier.cli.policies import embedded_worker
from notifier.domain.secret_box import new_key
from notifier.domain.time_source import ManualTime
from notifier.domain.tokens import make_unsubscribe_token
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.services.providers.endpoint_secrets import TakenSecret, take
from notifier.store import deliveries as delivery_store
from notifier.store import enterprises
from notifier.store.models import Contact, EndpointSecret
from notifier.web.app import create_app

from support.apiclient import Api
from support.factories import Enqueued, Firm, acting, credit_code, enterprise_csv, policy
from support.peers import WebhookReceiver

SHARED = "whsec_c2hhcmVkLXNlY3JldC1ldmVyeS1maXJtLWtub3dz"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


@pytest.fixture
def time_source() -> ManualTime:
    return ManualTime(datetime.now(UTC))


@pytest.fixture
def runtime(database_url, make_runtime, time_source) -> Runtime:
    """Webhooks sent for real, with a key for the endpoints' secrets."""
    return make_runtime(
        time_source=time_source,
        database_url=database_url,
        secrets={"keys": [new_key()]},
        webhook={"provider": "http", "secret": SHARED},
        sms={"provider": "dry-run"},
        email={"provider": "dry-run"},
    )


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    # Until a firm takes its own secret it can only verify with the shared one.
    with WebhookReceiver(secret=SHARED) as one, WebhookReceiver(secret=SHARED) as two:
        yield one, two


def load(runtime: Runtime, *urls: str, box: bool = True) -> None:
    firms = [Firm(n, channels="webhook", webhook_url=url) for n, url in enumerate(urls, 1)]
    stream = io.StringIO(enterprise_csv(firms))
    report = import_enterprises(
        runtime.sessions, stream, dry_run=False, box=runtime.box if box else None
    )
    assert report.errors == []


def enterprise_id(runtime: Runtime, number: int) -> int:
    with runtime.sessions() as session:
        found = enterprises.get_by_credit_code(session, credit_code(number))
        assert found is not None
        return found.id


def take_secret(runtime: Runtime, number: int) -> TakenSecret:
    return take(acting(runtime), enterprise_id(runtime, number))


def deliver(runtime: Runtime, ref: str) -> None:
    with embedded_worker(runtime):
        draft = parse_policy(policy(ref=ref, title=f"政策 {ref}"), zone=runtime.settings.zone)
        result = publish(runtime.sessions, runtime.dispatch, draft, time_source=runtime.time_source)
        assert result.trigger_id is not None
        follow(runtime.sessions, result.trigger_id, show=False, timeout=60)


def verifies(secret: str, receiver: WebhookReceiver, index: int = -1) -> bool:
    """Whether ``secret`` verifies the ``index``-th message ``receiver`` accepted."""
    try:
        Webhook(secret).verify(receiver.raw_bodies[index], receiver.raw_headers[index])
    except WebhookVerificationError:
        return False
    return True


def test_each_firm_verifies_with_its_own_secret_and_no_firm_can_forge_for_another(
    runtime, receivers
):
    one, two = receivers
    load(runtime, one.url, two.url)
    first, second = take_secret(runtime, 1), take_secret(runtime, 2)
    one.use_secret(first.secret)
    two.use_secret(second.secret)

    deliver(runtime, "own-secrets")

    assert (len(one.received), len(two.received)) == (1, 1)
    assert one.received[0][1]["enterprise"]["credit_code"] == credit_code(1)
    assert SECRET.fullmatch(first.secret) and first.secret != second.secret
    # Neither the other firm's secret nor the shared one verifies a firm's message.
    assert not verifies(first.secret, two) and not verifies(second.secret, one)
    assert not verifies(SHARED, one) and not verifies(SHARED, two)
    # Firm 1 signs a message of its own making with everything it knows: firm 2 refuses it.
    body = '{"type":"policy.published","text":"请点此领取补贴"}'
    moment = datetime.now(UTC)
    for key in (first.secret, SHARED):
        signature = Webhook(key).sign("msg_forged", moment, body)
        answer = requests.post(
            two.url,
            data=body.encode(),
            headers={
                "webhook-id": "msg_forged",
                "webhook-timestamp": str(int(moment.timestamp())),
                "webhook-signature": signature,
            },
            timeout=10,
        )
        assert answer.status_code == 401
    assert len(two.received) == 1


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(runtime, receivers, time_source):
    one, _ = receivers
    load(runtime, one.url)
    old = take_secret(runtime, 1).secret
    one.use_secret(old)
    new = take_secret(runtime, 1).secret  # a rotation: the receiver still has the old one

    deliver(runtime, "in-overlap")
    signatures = one.raw_headers[-1]["webhook-signature"].split(" ")
    time_source.advance(timedelta(days=7, seconds=1))
    one.use_secret(new)
    deliver(runtime, "after-overlap")

    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert verifies(old, one, 0) and verifies(new, one, 0)
    assert verifies(new, one, 1) and not verifies(old, one, 1)
    assert len(one.raw_headers[1]["webhook-signature"].split(" ")) == 1
    assert new != old


def test_a_firm_ends_the_overlap_early_through_its_api_key(runtime, receivers):
    one, _ = receivers
    load(runtime, one.url)
    api = Api(TestClient(create_app(runtime), raise_server_exceptions=False), runtime, {})
    api.keys["enterprise"] = api.key("enterprise", credit_code(1))
    old = api.post("/api/v1/me/webhook-secret", role="enterprise").json()["secret"]
    rotated = api.post("/api/v1/me/webhook-secret", role="enterprise")
    new = rotated.json()["secret"]
    one.use_secret(new)

    ended = api.request("DELETE", "/api/v1/me/webhook-secret/previous", role="enterprise")
    deliver(runtime, "ended-early")

    assert rotated.json()["previous_until"] is not None
    assert ended.status_code == 200 and ended.json()["previous_until"] is None
    assert verifies(new, one) and not verifies(old, one)


def test_existing_endpoints_keep_the_shared_secret_until_their_firm_takes_its_own(
    runtime, receivers, time_source
):
    """The migration's promise: an endpoint from before secrets per endpoint is signed as its
    receiver verifies today; taking its own secret starts an overlap with the shared one."""
    one, _ = receivers
    load(runtime, one.url, box=False)
    with runtime.sessions.begin() as session:  # as migration 0011 marks existing endpoints
        contact = session.scalars(select(Contact).where(Contact.channel == "webhook")).one()
        session.add(EndpointSecret(contact_id=contact.id, secret_encrypted=None))
    load(runtime, one.url)  # a re-import with the key changes nothing

    deliver(runtime, "shared")
    own = take_secret(runtime, 1).secret
    deliver(runtime, "switching")  # the receiver still verifies with the shared secret
    time_source.advance(timedelta(days=8))
    deliver(runtime, "switched")

    assert len(one.received) == 2 and one.refused == 1
    assert verifies(SHARED, one, 0) and not verifies(own, one, 0)
    assert verifies(SHARED, one, 1) and verifies(own, one, 1)


def test_a_changed_url_gets_a_new_secret_and_secrets_are_stored_encrypted(runtime, receivers):
    one, two = receivers
    load(runtime, one.url)
    first = take_secret(runtime, 1).secret
    load(runtime, two.url)  # the register moves firm 1 to another endpoint

    second = take_secret(runtime, 1)
    with runtime.sessions() as session:
        rows = session.scalars(select(EndpointSecret)).all()

    assert second.secret != first and second.state.previous_until is None
    assert second.state.endpoint == two.url
    assert len(rows) == 1 and rows[0].secret_encrypted is not None
    assert second.secret.encode() not in rows[0].secret_encrypted


def test_the_preferences_page_shows_the_secret_once_and_never_to_a_cache(runtime, receivers):
    one, _ = receivers
    load(runtime, one.url)
    client = TestClient(create_app(runtime))
    key = runtime.settings.secret_key.get_secret_value()
    token = make_unsubscribe_token(key, enterprise_id=enterprise_id(runtime, 1), channel="webhook")
    page = client.get(f"/u/{token}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None and 'id="webhook-secret"' in page.text
    assert SECRET.search(page.text) is None

    revealed = client.post(f"/u/{token}", data={"csrf": csrf[1], "action": "webhook_secret"})
    shown = SECRET.findall(revealed.text)
    again = client.get(f"/u/{token}")
    rotated = client.post(f"/u/{token}", data={"csrf": csrf[1], "action": "webhook_secret"})
    forged = client.post(f"/u/{token}", data={"csrf": "wrong", "action": "webhook_secret"})

    assert revealed.status_code == 200 and len(shown) == 1
    assert revealed.headers["Cache-Control"] == "no-store"
    assert "只显示这一次" in revealed.text
    assert SECRET.search(again.text) is None and "已于" in again.text
    assert SECRET.findall(rotated.text) != shown and 'id="overlap"' in rotated.text
    assert forged.status_code == 400 and SECRET.search(forged.text) is None
    one.use_secret(SECRET.findall(rotated.text)[0])
    ended = client.post(f"/u/{token}", data={"csrf": csrf[1], "action": "end_overlap"})
    english = client.get(f"/u/{token}", headers={"Accept-Language": "en"})
    deliver(runtime, "after-page-rotation")
    assert ended.status_code == 200 and "旧密钥已停用" in ended.text
    assert 'id="overlap"' not in ended.text and 'id="end-overlap"' not in ended.text
    assert "Rotate the signing secret" in english.text
    assert len(one.received) == 1
    assert len(one.raw_headers[0]["webhook-signature"].split(" ")) == 1


def test_a_chat_robot_has_no_secret_to_take(runtime):
    load(runtime, "https://oapi.dingtalk.com/robot/send?access_token=abc")
    api = Api(TestClient(create_app(runtime), raise_server_exceptions=False), runtime, {})
    api.keys["enterprise"] = api.key("enterprise", credit_code(1))
    key = runtime.settings.secret_key.get_secret_value()
    token = make_unsubscribe_token(key, enterprise_id=enterprise_id(runtime, 1), channel="webhook")

    answer = api.post("/api/v1/me/webhook-secret", role="enterprise")

    assert answer.status_code == 404 and answer.json()["error"]["field"] == "webhook_url"
    assert "机器人" in answer.json()["error"]["reason"]
    assert 'id="webhook-secret"' not in TestClient(create_app(runtime)).get(f"/u/{token}").text


def test_staff_and_admins_never_see_a_firms_secret(runtime, receivers):
    one, _ = receivers
    load(runtime, one.url)
    api = Api(TestClient(create_app(runtime), raise_server_exceptions=False), runtime, {})
    api.keys.update(
        enterprise=api.key("enterprise", credit_code(1)),
        staff=api.key("staff"),
        admin=api.key("admin"),
    )
    taken = api.post("/api/v1/me/webhook-secret", role="enterprise")
    secret = taken.json()["secret"]
    state = api.get("/api/v1/me/webhook-secret", role="enterprise")

    assert taken.headers["Cache-Control"] == "no-store"
    assert state.json()["own"] is True and "secret" not in state.json()
    assert secret not in state.text
    for role in ("staff", "admin"):
        assert api.post("/api/v1/me/webhook-secret", role=role).status_code == 403
        detail = api.get(f"/api/v1/enterprises/{credit_code(1)}", role=role)
        assert detail.status_code == 200 and secret not in detail.text
        audit = api.get("/api/v1/audit", role=role)
        assert secret not in audit.text


def test_without_a_key_the_secret_is_refused_with_a_reason_and_the_shared_one_signs(
    database_url, make_runtime, receivers
):
    one, _ = receivers
    runtime = make_runtime(
        database_url=database_url, webhook={"provider": "http", "secret": SHARED}
    )
    load(runtime, one.url)
    api = Api(TestClient(create_app(runtime), raise_server_exceptions=False), runtime, {})
    api.keys["enterprise"] = api.key("enterprise", credit_code(1))

    refused = api.post("/api/v1/me/webhook-secret", role="enterprise")
    key = runtime.settings.secret_key.get_secret_value()
    token = make_unsubscribe_token(key, enterprise_id=enterprise_id(runtime, 1), channel="email")
    csrf = re.search(r'name="csrf" value="([^"]+)"', api.client.get(f"/u/{token}").text)
    assert csrf is not None
    page = api.client.post(f"/u/{token}", data={"csrf": csrf[1], "action": "webhook_secret"})
    deliver(runtime, "no-key")

    assert refused.status_code == 409
    assert "加密密钥" in refused.json()["error"]["reason"]
    assert page.status_code == 200 and 'id="problem"' in page.text and "加密密钥" in page.text
    assert len(one.received) == 1 and verifies(SHARED, one)


def test_signing_a_webhook_reads_nothing_from_the_database_during_the_send(runtime, receivers):
    """``load_for_sending`` loads the endpoints' secrets up front: a query during a send would
    hold a transaction (on SQLite the write lock) across the network call."""
    one, _ = receivers
    load(runtime, one.url)
    queued = Enqueued()
    draft = parse_policy(policy(ref="loaded"), zone=runtime.settings.zone)
    trigger_id = publish(runtime.sessions, queued, draft,
    time_source=runtime.time_source).trigger_id
    assert trigger_id is not None
    fan_out(runtime.sessions, queued, trigger_id, settings=runtime.settings.delivery)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    (provider,) = runtime.providers.for_channel("webhook")
    with runtime.sessions() as session:
        ids = [i for batch in queued.batches for i in batch]
        (delivery,) = delivery_store.load_for_sending(session, ids, now=runtime.time_source.now())
        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            message = runtime.messages.build(delivery, provider)
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)

    assert statements == []
    assert len(message.signing_secrets) == 1 and message.signing_secrets[0] is not None
