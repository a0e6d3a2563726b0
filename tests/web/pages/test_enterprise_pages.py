"""The pages an enterprise reaches from its messages: preferences, one-click unsubscribe
(RFC 8058), a deadline done. The signed token is the credential; a bad one is a 400 page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from notifier.domain.tokens import make_deadline_done_token, make_unsubscribe_token
from notifier.inputs.policy_file import parse_policy
from notifier.services.deadlines.operations import report
from notifier.services.enterprises.subscriptions import Choices, choices_of
from notifier.services.policies.publishing import publish
from notifier.store import enterprises as enterprise_store

from support.factories import Enqueued, Firm, acting, credit_code, enter_plain_years, policy
from support.web_harness import seed, web_app

OLD_KEY = "an-old-secret-key-still-listed-for-links"
NEW_KEY = "the-current-secret-key-that-signs-links"


@pytest.fixture
def runtime(make_runtime, database_url):
    built = make_runtime(database_url=database_url, secret_key=NEW_KEY, old_secret_keys=[OLD_KEY])
    seed(built, [Firm(1, topics="补贴;人才"), Firm(2, channels="sms;email")])
    enter_plain_years(built, 2031)  # the deadline link test's due date
    return built


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


def _enterprise_id(runtime, number: int) -> int:
    with runtime.sessions() as session:
        enterprise = enterprise_store.get_by_credit_code(session, credit_code(number))
        assert enterprise is not None
        return enterprise.id


def _prefs(runtime, number: int) -> Choices:
    return choices_of(runtime.sessions, _enterprise_id(runtime, number))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has a CSRF field"
    return match.group(1)


def test_the_preferences_page_shows_the_enterprise_in_chinese_by_default(runtime, client):
    token = make_unsubscribe_token(NEW_KEY, enterprise_id=_enterprise_id(runtime, 1), channel="sms")
    page = client.get(f"/u/{token}")
    assert page.status_code == 200
    assert "通知设置" in page.text and "测试企业1有限公司" in page.text
    assert "退订短信" in page.text
    english = client.get(f"/u/{token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Notification preferences" in english.text and "Unsubscribe from SMS" in english.text


def test_one_click_post_unsubscribes_the_links_channel_only(runtime, client):
    token = make_unsubscribe_token(NEW_KEY, enterprise_id=_enterprise_id(runtime, 1), channel="sms")
    answer = client.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert _prefs(runtime, 1).channels == ["email", "webhook"]
    assert _prefs(runtime, 2).channels == ["email", "sms"]


def test_one_click_also_comes_as_multipart_form_data(runtime, client):
    enterprise_id = _enterprise_id(runtime, 1)
    token = make_unsubscribe_token(NEW_KEY, enterprise_id=enterprise_id, channel="email")
    answer = client.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200
    assert _prefs(runtime, 1).channels == ["sms", "webhook"]


def test_a_link_signed_with_a_rotated_out_key_still_works(runtime, client):
    enterprise_id = _enterprise_id(runtime, 2)
    token = make_unsubscribe_token(OLD_KEY, enterprise_id=enterprise_id, channel="email")
    answer = client.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert _prefs(runtime, 2).channels == ["sms"]


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "x" * 5000,
        make_unsubscribe_token("someone-elses-key", enterprise_id=1, channel="sms"),
        make_deadline_done_token(NEW_KEY, deadline_id=1, enterprise_id=1),
    ],
    ids=["garbage", "too-long", "foreign-key", "deadline-token"],
)
def test_a_bad_token_gets_a_friendly_400_page_never_a_500(client, token):
    for answer in (
        client.get(f"/u/{token}"),
        client.post(f"/u/{token}", content="List-Unsubscribe=One-Click"),
        client.get(f"/d/{token}"),
    ):
        assert answer.status_code == 400
        assert "链接无效" in answer.text


def test_a_tampered_token_is_refused(runtime, client):
    token = make_unsubscribe_token(NEW_KEY, enterprise_id=_enterprise_id(runtime, 1), channel="sms")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/u/{tampered}").status_code == 400
    assert "sms" in _prefs(runtime, 1).channels


def test_a_form_post_without_the_pages_csrf_value_changes_nothing(runtime, client):
    token = make_unsubscribe_token(NEW_KEY, enterprise_id=_enterprise_id(runtime, 1), channel="sms")
    answer = client.post(f"/u/{token}", data={"channel": ["email"], "all_off": "on"})
    assert answer.status_code == 400 and "页面已过期" in answer.text
    assert _prefs(runtime, 1).channels == ["email", "sms", "webhook"]


def test_the_preferences_form_sets_channels_topics_and_all_off(runtime, client):
    token = make_unsubscribe_token(NEW_KEY, enterprise_id=_enterprise_id(runtime, 1), channel="sms")
    csrf = _csrf(client.get(f"/u/{token}").text)
    saved = client.post(f"/u/{token}", data={"csrf": csrf, "channel": ["email"], "topic": ["补贴"]})
    assert saved.status_code == 200 and "已保存" in saved.text
    prefs = _prefs(runtime, 1)
    assert prefs.channels == ["email"] and prefs.topics == ["补贴"]
    client.post(f"/u/{token}", data={"csrf": csrf, "channel": ["email"], "all_off": "on"})
    assert _prefs(runtime, 1).channels == []
    client.post(f"/u/{token}", data={"csrf": csrf, "channel": ["email", "sms"]})
    assert _prefs(runtime, 1).channels == ["email", "sms"]


def test_the_deadline_link_marks_the_deadline_done_for_that_enterprise(runtime, client):
    draft = parse_policy(
        policy(deadlines=[{"title": "申报截止", "due_at": "2031-12-31"}]),
        zone=runtime.settings.zone,
    )
    publish(runtime.sessions, Enqueued(), draft, time_source=runtime.time_source)
    deadline_id = report(acting(runtime))[0]["id"]
    token = make_deadline_done_token(
        OLD_KEY, deadline_id=deadline_id, enterprise_id=_enterprise_id(runtime, 1)
    )
    page = client.get(f"/d/{token}")
    assert page.status_code == 200 and "申报截止" in page.text
    assert client.post(f"/d/{token}", data={}).status_code == 400
    done = client.post(f"/d/{token}", data={"csrf": _csrf(page.text)})
    assert done.status_code == 200 and "已记录" in done.text
    rows = report(acting(runtime))
    assert rows[0]["done"] == 1
