"""Importing a real register through the service: a mapping of its columns (remembered for the
next upload), street and community joined under the district's prefix, and the bad rows as an
XLSX with 错误原因."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from notifier.services.enterprises.bad_rows import bad_rows_xlsx, template_xlsx
from notifier.services.enterprises.importing import import_register
from notifier.services.enterprises.mapping import propose
from notifier.store import enterprises as store

from support.factories import acting, credit_code
from support.sheets import xlsx_bytes

HEADER = ["单位名称", "信用代码", "所属行业", "所属街道", "所属社区", "企业规模", "手机", "备注"]


def register(*rows: list[str]) -> io.BytesIO:
    return io.BytesIO(xlsx_bytes(HEADER, rows))


def firm(number: int, phone: str = "13800138000", code: str | None = None) -> list[str]:
    code = code or credit_code(number)
    return [f"企业{number}", code, "C36", "大碶街道", "横杨社区", "小型", phone, "备注"]


@pytest.fixture
def runtime(make_runtime, database_url):
    district = {"region_prefix": "浙江省/宁波市/北仑区"}
    return make_runtime(database_url=database_url, imports=district)


def test_good_rows_import_with_the_region_joined_under_the_prefix(runtime):
    bad = firm(2, code="913302060000000000")
    report = import_register(
        acting(runtime), register(firm(1), bad), name="名册.xlsx", dry_run=False
    )
    assert (report.created, report.bad_rows) == (1, 1)
    assert report.errors[0].message.startswith("第 3 行 统一社会信用代码：")
    with runtime.sessions() as session:
        stored = store.get_by_credit_code(session, credit_code(1))
        assert stored is not None
        assert stored.region == "浙江省/宁波市/北仑区/大碶街道/横杨社区"


def test_a_mapping_replaces_the_header_and_is_remembered_for_the_next_upload(runtime):
    context = acting(runtime)
    first = propose(context, register(firm(1)), name="名册.xlsx")
    assert first.fields == ["name", "credit_code", "sectors", "street", "community", "size",
                            "phone", ""]  # fmt: skip
    assert first.samples[0][0] == "企业1"
    # The clerk leaves the phone column out and imports.
    mapping = [*first.fields[:6], "", ""]
    report = import_register(
        context, register(firm(1)), name="名册.xlsx", dry_run=False, mapping=mapping
    )
    assert report.created == 1
    with runtime.sessions() as session:
        stored = store.get_full(session, credit_code(1))
        assert stored is not None and stored.contacts == []
    assert propose(context, register(firm(2)), name="名册.xlsx").fields == mapping


def test_the_bad_rows_file_holds_the_bad_rows_only_with_their_reasons(runtime):
    context = acting(runtime)
    rows = [firm(1), firm(2, phone="12345"), firm(3), firm(4, code="bad")]
    report = import_register(
        context, register(*rows), name="名册.xlsx", dry_run=True, keep_bad_rows=True
    )
    content = bad_rows_xlsx(context, register(*rows), name="名册.xlsx", report=report)
    sheet = load_workbook(io.BytesIO(content)).active
    values = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0] == [*HEADER, "错误原因"]
    assert [row[0] for row in values[1:]] == ["企业2", "企业4"]
    assert values[1][-1].startswith("第 3 行 联系电话：")
    assert values[2][-1].startswith("第 5 行 统一社会信用代码：")


def test_the_template_has_the_chinese_headings_and_imports_as_a_register(runtime):
    sheet = load_workbook(io.BytesIO(template_xlsx())).active
    [header] = list(sheet.iter_rows(values_only=True))
    assert header[:5] == ("统一社会信用代码", "企业名称", "行业代码", "所属街道", "所属社区")
    report = import_register(
        acting(runtime), io.BytesIO(template_xlsx()), name="模板.xlsx", dry_run=True
    )
    assert (report.created, report.bad_rows) == (0, 0)
