"""An admin sets up a Tencent Cloud SMS account in the console: sign name and an approved
template per message kind, a preview of what a firm receives, a test-send showing the vendor's
answer, and the list saying which provider the SMS channel sends through now."""

from __future__ import annotations

import re

import pytest

from support.factories import SECRET_ID, SECRET_KEY, TENCENT_TEMPLATES
from support.vendor_peers import TencentSmsPeer
from support.web_harness import make_key, signed_in


@pytest.fixture
def peer():
    with TencentSmsPeer(keys={SECRET_ID: SECRET_KEY}) as tencent:
        yield tencent



def _form(peer: TencentSmsPeer, *, leave_out: str | None = None) -> dict[str, str]:
    form = {
        "name": "tx",
        "channel": "短信",
        "kind": "tencent-sms",
        "priority": "0",
        "enabled": "1",
        "options": f"secret_id={SECRET_ID}\nsms_sdk_app_id=1400000001\nendpoint={peer.url}"
        "\nmax_param_length=0",  # an enterprise account: the due time is 16 characters
        "secrets": f"secret_key={SECRET_KEY}",
        "sign_name": "北仑企服",
    }
    for kind, template in TENCENT_TEMPLATES.items():
        if kind == leave_out:
            continue
        form[f"templates.{kind}.template_code"] = template["template_code"]
        form[f"templates.{kind}.text"] = template["text"]
        form[f"templates.{kind}.params"] = "\n".join(
            f"{name}={expression}" for name, expression in template["params"].items()
        )
    return form


def _sms_in_use(page: str) -> str:
    found = re.search(r'<code data-channel="sms">([^<]*)</code>', page)
    assert found, page
    return found.group(1)


def test_an_admin_adds_a_tencent_account_previews_test_sends_and_disables_it(
    keyed_runtime, keyed_client, peer
):
    csrf = signed_in(keyed_client, make_key(keyed_runtime, "admin"))
    before = keyed_client.get("/console/admin/providers").text
    assert _sms_in_use(before) != "tx"

    previewed = keyed_client.post(
        "/console/admin/providers", data={**_form(peer), "action": "preview", "csrf": csrf}
    )
    assert previewed.status_code == 200, previewed.text
    assert "【北仑企服】区经济和信息化局发布《" in previewed.text  # what a firm receives
    assert 'data-kind="campaign_run"' in previewed.text
    assert "{{ policy.department }}" in previewed.text  # the form kept, the variables offered

    added = keyed_client.post(
        "/console/admin/providers", data={**_form(peer), "action": "add", "csrf": csrf}
    )
    assert added.status_code == 200 and "服务商已添加" in added.text
    assert _sms_in_use(added.text) == "tx"

    tested = keyed_client.post(
        "/console/admin/providers/tx/test-send",
        data={"to": "+8613800138000", "kind": "deadline_reminder", "csrf": csrf},
    )
    assert re.search(r'id="provider-answer">serial-1<', tested.text), tested.text
    [sent] = peer.sent
    assert sent["TemplateId"] == "2100002" and sent["SignName"] == "北仑企服"

    peer.refuse["13800138000"] = ("LimitExceeded.PhoneNumberDailyLimit", "日下发条数超过上限")
    refused = keyed_client.post(
        "/console/admin/providers/tx/test-send",
        data={"to": "+8613800138000", "csrf": csrf},
    )
    assert "测试消息未被接受" in refused.text and "PhoneNumberDailyLimit" in refused.text

    disabled = keyed_client.post("/console/admin/providers/tx/disable", data={"csrf": csrf})
    assert "已停用" in disabled.text
    assert _sms_in_use(disabled.text) != "tx"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"leave_out": "policy_corrected"}, "templates"),
        ({"params": "1={{ policy.title }}"}, "templates.policy_published"),
    ],
)
def test_a_vendor_account_that_could_not_run_is_refused_naming_the_field(
    keyed_runtime, keyed_client, peer, change, field
):
    csrf = signed_in(keyed_client, make_key(keyed_runtime, "admin"))
    form = _form(peer, leave_out=change.get("leave_out"))
    if "params" in change:
        form["templates.policy_published.params"] = change["params"]
    refused = keyed_client.post("/console/admin/providers", data={**form, "csrf": csrf})
    assert refused.status_code == 400
    error = re.search(r'id="provider-error">([^<]*)<', refused.text)
    assert error and error.group(1).startswith(f"{field}: 此服务商无法运行"), refused.text
    assert SECRET_KEY not in refused.text
    assert 'value="北仑企服"' in refused.text  # the form is kept, its secret is not


def _fieldset(page: str, kind: str) -> str:
    found = re.search(
        rf'<fieldset class="sms-template" data-kind="{kind}">(.*?)</fieldset>', page, flags=re.S
    )
    assert found, kind
    return found.group(1)


def test_a_policy_template_carries_the_firms_page_by_its_token_after_a_fixed_link(
    keyed_runtime, keyed_client, peer
):
    csrf = signed_in(keyed_client, make_key(keyed_runtime, "admin"))
    form = _form(peer)
    # The vendors approve a link only with its host fixed in the text: the token is the param.
    form["templates.policy_published.text"] = (
        "{1}发布《{2}》，详见 https://zq.bl.gov.cn/p/{3} 回TD退订"
    )
    form["templates.policy_published.params"] += "\n3={{ page_token }}"

    previewed = keyed_client.post(
        "/console/admin/providers", data={**form, "action": "preview", "csrf": csrf}
    )

    assert previewed.status_code == 200, previewed.text
    shown = _fieldset(previewed.text, "policy_published")
    assert re.search(
        r"详见 https://zq\.bl\.gov\.cn/p/[0-9a-z]+-[0-9a-z]+\.[\w-]{16} 回TD退订", shown
    ), shown
    for kind in ("policy_published", "deadline_reminder", "policy_corrected"):
        offered = _fieldset(previewed.text, kind)
        assert "{{ page_url }}" in offered and "{{ page_token }}" in offered
    assert "page_" not in _fieldset(previewed.text, "campaign_run")  # a run has no one policy
