"""The admin's communities page: add a community with its regions, set them, add a department;
the users page picks a community or a department; staff are kept out."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.factories import REGION
from support.web_harness import console_runtime, csrf_of, make_key, signed_in, web_app

STREET = REGION.rsplit("/", 1)[0]


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)


def test_an_admin_adds_communities_and_departments_and_places_users(runtime):
    client = TestClient(web_app(runtime))
    csrf = signed_in(client, make_key(runtime, "admin"))
    added = client.post(
        "/console/admin/communities",
        data={"csrf": csrf, "name": "灵峰工业社区", "regions": "灵峰工业社区"},
    )
    assert added.status_code == 200 and "已添加社区" in added.text
    assert REGION in added.text and ">3<" in added.text  # the register's three firms
    refused = client.post(
        "/console/admin/communities", data={"csrf": csrf, "name": "无名", "regions": "火星"}
    )
    assert refused.status_code == 400 and "regions" in refused.text
    moved = client.post(
        "/console/admin/communities/regions",
        data={"csrf": csrf, "name": "灵峰工业社区", "regions": f"{STREET}\n{REGION}"},
    )
    assert moved.status_code == 200 and STREET in moved.text
    made = client.post(
        "/console/admin/departments", data={"csrf": csrf, "department": "北仑区经济和信息化局"}
    )
    assert "北仑区经济和信息化局" in made.text
    users = client.get("/console/admin/users")
    assert '<option value="灵峰工业社区"' in users.text
    assert '<option value="北仑区经济和信息化局"' in users.text
    form = {"csrf": csrf_of(users.text), "name": "灵峰 王科员", "role": "staff",
            "password": "a long password", "community": "灵峰工业社区"}  # fmt: skip
    assert "灵峰 王科员" in client.post("/console/admin/users", data=form).text
    wrong = {**form, "name": "错的", "role": "publisher"}
    assert client.post("/console/admin/users", data=wrong).status_code == 400
    page = client.get("/console/admin/communities").text
    assert "灵峰 王科员" in page  # its staff


def test_staff_cannot_open_the_communities_page(runtime):
    client = TestClient(web_app(runtime))
    csrf = signed_in(client, make_key(runtime, "staff"))
    assert client.get("/console/admin/communities").status_code == 403
    posted = client.post("/console/admin/departments", data={"csrf": csrf, "department": "x"})
    assert posted.status_code == 403
