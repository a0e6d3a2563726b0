"""A clerk imports a district register in the console: upload, check what each column holds,
import, download the bad rows with their reasons; the choices are preset on the next upload."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from notifier.store import enterprises as enterprise_store

from support.console_import import console_import, preset_mapping
from support.factories import credit_code
from support.sheets import xlsx_bytes
from support.web_harness import console_runtime, make_key, signed_in, web_app

HEADER = ["序号", "单位名称", "信用代码", "所属行业", "所属街道", "所属社区", "企业规模"]
HEADER.append("联系电话")


def register(*rows: list[str]) -> bytes:
    return xlsx_bytes(HEADER, rows)


def firm(number: int, code: str | None = None) -> list[str]:
    code = code or credit_code(number)
    place = ["大碶街道", "横杨社区"]
    return [str(number), f"企业{number}", code, "C36", *place, "小型", "13800138000"]


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path, imports={"region_prefix": "北仑区"})


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def csrf(runtime, client) -> str:
    return signed_in(client, make_key(runtime, "staff"))


def test_a_register_is_mapped_imported_and_its_bad_rows_downloaded(runtime, client, csrf):
    content = register(firm(11), firm(12, code="913302060000000000"), firm(13))
    mapping, report = console_import(client, csrf, "名册.xlsx", content)
    form = preset_mapping(mapping.text)
    # Known headings are preset; the running number is left out.
    assert [form[f"field_{i}"] for i in range(len(HEADER))] == [
        "", "name", "credit_code", "sectors", "street", "community", "size", "phone",
    ]  # fmt: skip
    assert report.status_code == 200
    assert "新增 2 家" in report.text and "有误 1 行" in report.text
    assert "第 3 行 统一社会信用代码：" in report.text
    with runtime.sessions() as session:
        stored = enterprise_store.get_by_credit_code(session, credit_code(11))
        assert stored is not None and stored.region == "北仑区/大碶街道/横杨社区"
    link = f"/console/enterprises/import/{form['token']}/bad-rows.xlsx"
    assert link in report.text
    sheet = load_workbook(io.BytesIO(client.get(link).content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (*HEADER, "错误原因")
    assert [row[1] for row in rows[1:]] == ["企业12"]
    assert rows[1][-1].startswith("第 3 行 统一社会信用代码：校验位不对")


def test_the_choices_are_preset_on_the_next_upload(client, csrf):
    console_import(client, csrf, "名册.xlsx", register(firm(21)), change={7: ""})
    mapping, _ = console_import(client, csrf, "名册.xlsx", register(firm(22)), dry_run=True)
    assert preset_mapping(mapping.text)["field_7"] == ""
    assert preset_mapping(mapping.text)["field_1"] == "name"


def test_the_template_downloads_with_chinese_headings(client, csrf):
    page = client.get("/console/enterprises")
    assert "/console/enterprises/template.xlsx" in page.text
    answer = client.get("/console/enterprises/template.xlsx")
    header = next(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert "统一社会信用代码" in header and "所属街道" in header


def test_an_expired_upload_and_a_missing_bad_rows_file_are_clear(client, csrf):
    answer = client.post(
        "/console/enterprises/import/confirm", data={"csrf": csrf, "token": "x" * 22, "width": "1"}
    )
    assert answer.status_code == 400 and "重新上传" in answer.text
    assert client.get(f"/console/enterprises/import/{'x' * 22}/bad-rows.xlsx").status_code == 404
