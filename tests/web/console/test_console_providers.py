"""The console's provider pages (admin only): add with the secret never shown again, test-send
showing the provider's answer, disable, enable, remove; every change audited."""

from __future__ import annotations

import re

import pytest

from notifier.services.providers.admin import listing

from support.peers import SmsGateway
from support.web_harness import make_key, signed_in

GATEWAY_SECRET = "s3cr3t-Beilun-console-8f41"  # noqa: S105 - the secret the test hunts for
SMS_KEY = "gw-key"


@pytest.fixture
def gateway():
    with SmsGateway(key=SMS_KEY, secret=GATEWAY_SECRET) as sms:
        yield sms


def _database_rows(runtime) -> list[dict]:
    return [r for r in listing(runtime.sessions, runtime.settings) if r["source"] == "database"]


def _form(gateway: SmsGateway, **changes: str) -> dict[str, str]:
    return {
        "name": "gw-a",
        "channel": "短信",
        "kind": "sms-gateway",
        "priority": "0",
        "enabled": "1",
        "options": f"url={gateway.url}\napp_key={SMS_KEY}",
        "secrets": f"app_secret={GATEWAY_SECRET}",
        **changes,
    }


def test_an_admin_adds_tests_switches_and_removes_a_provider_never_seeing_its_secret(
    keyed_runtime, keyed_client, gateway
):
    csrf = signed_in(keyed_client, make_key(keyed_runtime, "admin"))
    bodies = []
    added = keyed_client.post("/console/admin/providers", data={**_form(gateway), "csrf": csrf})
    bodies.append(added.text)
    assert added.status_code == 200 and "服务商已添加" in added.text and "gw-a" in added.text
    tested = keyed_client.post(
        "/console/admin/providers/gw-a/test-send", data={"to": "+8613800138000", "csrf": csrf}
    )
    bodies.append(tested.text)
    assert re.search(r'id="provider-answer">gw-1<', tested.text)
    assert gateway.messages and gateway.messages[0]
    gateway.fail_next(400, body={"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "bad number"})
    refused = keyed_client.post(
        "/console/admin/providers/gw-a/test-send", data={"to": "+8613800138000", "csrf": csrf}
    )
    bodies.append(refused.text)
    assert "测试消息未被接受" in refused.text and "MOBILE_NUMBER_ILLEGAL" in refused.text
    disabled = keyed_client.post("/console/admin/providers/gw-a/disable", data={"csrf": csrf})
    bodies.append(disabled.text)
    assert "已停用" in disabled.text
    rows = {r["name"]: r for r in listing(keyed_runtime.sessions, keyed_runtime.settings)}
    assert rows["gw-a"]["enabled"] is False
    keyed_client.post("/console/admin/providers/gw-a/enable", data={"csrf": csrf})
    removed = keyed_client.post("/console/admin/providers/gw-a/remove", data={"csrf": csrf})
    bodies.append(removed.text)
    assert "已删除" in removed.text
    names = {r["name"] for r in listing(keyed_runtime.sessions, keyed_runtime.settings)}
    assert "gw-a" not in names
    admin_page = keyed_client.get("/console/admin").text
    bodies.append(admin_page)
    for action in ("provider.add", "provider.test", "provider.disable", "provider.remove"):
        assert action in admin_page
    assert all(GATEWAY_SECRET not in body for body in bodies)


def test_a_refused_provider_form_names_the_field_keeps_the_rest_but_never_the_secret(
    keyed_runtime, keyed_client, gateway
):
    csrf = signed_in(keyed_client, make_key(keyed_runtime, "admin"))
    for changes, field in (
        ({"channel": "fax"}, "channel"),
        ({"name": "bad name!"}, "name"),
        ({"priority": "first"}, "priority"),
        ({"secrets": GATEWAY_SECRET}, "secrets"),
        ({"kind": "no-such-kind"}, "no-such-kind"),
    ):
        answer = keyed_client.post(
            "/console/admin/providers", data={**_form(gateway, **changes), "csrf": csrf}
        )
        assert answer.status_code == 400, changes
        error = re.search(r'id="provider-error">([^<]+)<', answer.text)
        assert error is not None and field in error.group(1), (changes, error)
        assert GATEWAY_SECRET not in answer.text and gateway.url in answer.text
    assert _database_rows(keyed_runtime) == []


def test_staff_are_refused_on_the_provider_pages(keyed_runtime, keyed_client, gateway):
    csrf = signed_in(keyed_client, make_key(keyed_runtime, "staff"))
    assert keyed_client.get("/console/admin/providers").status_code == 403
    answer = keyed_client.post("/console/admin/providers", data={**_form(gateway), "csrf": csrf})
    assert answer.status_code == 403
    removed = keyed_client.post("/console/admin/providers/gw-a/remove", data={"csrf": csrf})
    assert removed.status_code == 403
    assert _database_rows(keyed_runtime) == []
