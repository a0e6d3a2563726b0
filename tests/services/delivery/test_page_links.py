"""The firm's page link (``/p/{token}``) in SMS: a published policy's and a deadline reminder's
SMS carry it as their one link, it opens the firm's page through the real app, and pressing
已办理 there stops the reminders; a vendor's approved template fills it from ``page_token``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from notifier.cli.policies import embedded_worker
from notifier.domain.channel_names import SMS
from notifier.domain.sms_length import count_sms
from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services import demo
from notifier.services.delivery.progress import follow
from notifier.services.policies.publishing import publish_policy

from support.deadlines import Park, at
from support.factories import (
    ALIYUN_TEMPLATES,
    KEY_ID,
    KEY_SECRET,
    Firm,
    acting,
    credit_code,
    policy,
)
from support.vendor_peers import AliyunSmsPeer
from support.web_harness import seed, web_app

LINK = re.compile(r"https?://[!-~]+")  # a link runs to the first space or non-ASCII character


def outbox_texts(runtime: Runtime) -> dict[str, str]:
    """The SMS texts the dry-run provider wrote, by phone number."""
    records = [
        json.loads(path.read_text("utf-8"))
        for path in (runtime.settings.outbox_dir / SMS).glob("*.json")
    ]
    return {record["to"]: record["text"] for record in records}


def page_path(runtime: Runtime, text: str) -> str:
    """The one link in an SMS, checked to be the firm's page; returned as a path."""
    [link] = LINK.findall(text)
    base = f"{runtime.settings.public_url.rstrip('/')}/p/"
    assert link.startswith(base), text
    token = link.removeprefix(base)
    assert len(token) <= 26  # ids in base 36, "-", ".", 16 characters of HMAC
    return f"/p/{token}"


def test_a_published_policy_sms_carries_the_firms_page_as_its_one_link(
    make_runtime: Any, database_url: str
) -> None:
    runtime = make_runtime(database_url=database_url)
    seed(runtime, [Firm(1, channels="sms")])
    draft = parse_policy(demo.POLICIES[0], zone=runtime.settings.zone)
    with embedded_worker(runtime):
        published = publish_policy(acting(runtime), draft)
        follow(runtime.sessions, published.trigger_id, show=False, timeout=60)

    text = outbox_texts(runtime)["+8613800000001"]
    assert demo.POLICIES[0]["url"] not in text  # the page links the original document
    path = page_path(runtime, text)
    assert text.endswith(f"详见 {runtime.settings.public_url}{path} 回TD退订")
    count = count_sms(text, to="+8613800000001")
    print(f"\ndemo policy SMS: {count.length} characters, {count.parts} parts: {text}")
    page = TestClient(web_app(runtime)).get(path)
    assert page.status_code == 200
    assert demo.POLICIES[0]["title"] in page.text and "测试企业1有限公司" in page.text


def test_a_reminder_sms_carries_the_page_whose_done_button_stops_the_reminders(
    make_runtime: Any, database_url: str
) -> None:
    time_source = ManualTime(at("2026-09-28 08:00"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(
        runtime,
        time_source,
        channels="sms",
        title="申报截止",
        due_at="2026-10-08T17:00",
        remind=["2wd", "1wd"],
    )
    (first,) = park.tick("2026-09-29 09:00")
    assert park.sent_to(first) == [credit_code(1), credit_code(2)]

    text = outbox_texts(runtime)["+8613800000001"]
    assert "/d/" not in text and "还剩" in text  # one link: the page's, not the done link too
    path = page_path(runtime, text)
    client = TestClient(web_app(runtime))
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert csrf
    pressed = client.post(
        path, data={"csrf": csrf.group(1), "action": "done", "deadline": str(park.deadline_id)}
    )
    assert pressed.status_code == 200

    (second,) = park.tick("2026-09-30 09:00")
    assert park.sent_to(second) == [credit_code(2)]  # firm 1 said it is done


@pytest.fixture
def aliyun_peer() -> Iterator[AliyunSmsPeer]:
    with AliyunSmsPeer(keys={KEY_ID: KEY_SECRET}) as peer:
        yield peer


def test_a_vendor_template_takes_the_page_token_after_its_fixed_link(
    make_runtime: Any, database_url: str, aliyun_peer: AliyunSmsPeer, make_settings: Any
) -> None:
    public = make_settings().public_url.rstrip("/")
    # The vendors approve a link only with its host fixed in the text: the token is the param.
    templates = {
        **ALIYUN_TEMPLATES,
        "policy_published": {
            "template_code": "SMS_460005",
            "text": f"${{name}}：《${{title}}》已发布，详见 {public}/p/${{page}} 回TD退订",
            "params": {
                "name": "{{ enterprise.name }}",
                "title": "{{ policy.title }}",
                "page": "{{ page_token }}",
            },
        },
    }
    runtime = make_runtime(
        database_url=database_url,
        providers=[
            {
                "name": "ali",
                "channel": SMS,
                "kind": "aliyun-sms",
                "options": {
                    "access_key_id": KEY_ID,
                    "sign_name": "北仑企服",
                    "endpoint": aliyun_peer.url,
                    "templates": templates,
                },
                "secrets": {"access_key_secret": KEY_SECRET},
            }
        ],
    )
    seed(runtime, [Firm(1, channels="sms")])
    draft = parse_policy(policy(), zone=runtime.settings.zone)
    with embedded_worker(runtime):
        published = publish_policy(acting(runtime), draft)
        follow(runtime.sessions, published.trigger_id, show=False, timeout=60)

    [sent] = aliyun_peer.sent
    params = json.loads(sent["TemplateParam"])
    page = TestClient(web_app(runtime)).get(f"/p/{params['page']}")
    assert page.status_code == 200 and "汽车零部件技术改造补助申报通知" in page.text
