"""Keys are for machines and owned by a person: a key made on /console/admin belongs to the
signed-in user and its row says so (所有人); GET /api/v1/keys names the owner; a change made
with the key is audited naming the key and its owner. The settings table there names each
setting in Chinese (English under the switch), its raw key under it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from notifier.services.access import users
from notifier.web import i18n
from notifier.web.console import admin as admin_page

from support.factories import acting
from support.web_harness import console_runtime, csrf_of, make_key, web_app

ADMIN = "北仑区 王管理员"
PASSWORD = "admin password 1"


@pytest.fixture
def runtime(make_runtime, tmp_path):
    built = console_runtime(make_runtime, tmp_path)
    users.add_user(acting(built), name=ADMIN, role="admin", password=PASSWORD)
    return built


@pytest.fixture
def admin(runtime) -> tuple[TestClient, str]:
    client = TestClient(web_app(runtime))
    form = client.get("/console/login")
    signed = client.post(
        "/console/login",
        data={"name": ADMIN, "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client, csrf_of(client.get("/console/admin").text)


def _row_of(page: str, prefix: str) -> str:
    return next(row for row in page.split("<tr>") if f"<code>{prefix}</code>" in row)


def test_a_key_made_in_the_console_belongs_to_the_signed_in_user(runtime, admin):
    client, csrf = admin
    page = client.get("/console/admin").text
    assert "所有人" in page and f"新密钥的所有人：{ADMIN}" in page
    made = client.post("/console/admin/keys", data={"csrf": csrf, "role": "staff", "name": "OA"})
    assert made.status_code == 200
    key = re.search(r'id="new-key">([^<]+)<', made.text).group(1)
    assert re.search(r'id="new-key-owner">' + re.escape(ADMIN), made.text)
    row = _row_of(client.get("/console/admin").text, key[:14])
    assert f'class="key-owner">{ADMIN}<' in row

    api = TestClient(web_app(runtime), headers={"Authorization": f"Bearer {key}"})
    published = api.post("/api/v1/policies", json={"title": "设备补助", "department": "经信局"})
    assert published.status_code in (200, 201), published.text
    boss = {"Authorization": f"Bearer {make_key(runtime, 'admin')}"}
    listed = {k["prefix"]: k for k in api.get("/api/v1/keys", headers=boss).json()}
    assert listed[key[:14]]["owner"] == ADMIN
    entries = api.get("/api/v1/audit", headers=boss).json()["items"]
    done = next(e for e in entries if e["action"] == "policy.publish")
    assert (done["actor_prefix"], done["actor_owner"]) == (key[:14], ADMIN)
    audit = client.get("/console/admin").text.split('id="audit"')[1]
    assert f"<code>{key[:14]}</code>" in audit and f"（所有人：{ADMIN}）" in audit


def test_a_key_made_through_the_api_names_its_owner_or_refuses_an_unknown_one(runtime):
    api = TestClient(web_app(runtime), headers={"X-API-Key": make_key(runtime, "admin")})
    made = api.post("/api/v1/keys", json={"role": "staff", "name": "OA", "owner": ADMIN})
    assert made.status_code == 201 and made.json()["owner"] == ADMIN
    refused = api.post("/api/v1/keys", json={"role": "staff", "name": "OA", "owner": "无此人"})
    assert refused.status_code in (400, 404) and "owner" in refused.text
    unowned = api.post("/api/v1/keys", json={"role": "staff", "name": "OA2"}).json()
    assert unowned["owner"] is None


def test_the_settings_table_names_each_setting_in_chinese_with_its_key_under_it(admin):
    client, _ = admin
    page = client.get("/console/admin").text
    row = re.search(r'<tr id="setting-delivery.batch_size">(.*?)</tr>', page).group(1)
    assert "发送：每批条数" in row
    assert '<small class="muted setting-key">delivery.batch_size<' in row
    assert "短信：签名" in page and "时区" in page
    client.cookies.set(i18n.COOKIE, i18n.EN)
    english = client.get("/console/admin").text
    assert "Delivery: batch size" in english and "发送：每批条数" not in english


def test_every_setting_has_words_and_one_without_is_shown_by_its_raw_key(
    runtime, admin, monkeypatch
):
    names = [name for name, _ in admin_page.settings_in_effect(runtime.settings)]
    assert [n for n in names if f"setting.{n}" not in i18n.catalogue()] == []
    shown = [*admin_page.settings_in_effect(runtime.settings), ("plugin.extra", "1")]
    monkeypatch.setattr(admin_page, "settings_in_effect", lambda settings: shown)
    client, _ = admin
    row = re.search(r'<tr id="setting-plugin.extra">(.*?)</tr>', client.get("/console/admin").text)
    assert row.group(1).startswith("<th>plugin.extra</th>")
