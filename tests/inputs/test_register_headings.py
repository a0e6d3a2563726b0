"""A district register as it comes: Chinese headings, street and community in columns of their
own, no channel, topic or webhook column; and row errors that name the column in Chinese."""

from __future__ import annotations

import io

from notifier.config import Settings
from notifier.inputs.enterprise_csv import EnterpriseRecord, RowError, iter_register_rows
from notifier.inputs.register_files import open_register
from notifier.services.enterprises.importing import upload_limits

from support.factories import credit_code
from support.sheets import xlsx_bytes

REGISTER_HEADER = [
    "序号", "单位名称", "信用代码", "所属行业", "所属街道", "所属社区", "企业规模", "手机", "邮箱",
]  # fmt: skip


def register_xlsx(rows: list[list[str]]) -> bytes:
    return xlsx_bytes(REGISTER_HEADER, rows)


def read(content: bytes, prefix: str = "") -> list[EnterpriseRecord | RowError]:
    rows = open_register(io.BytesIO(content), name="名册.xlsx", limits=upload_limits(Settings()))
    return list(iter_register_rows(rows(), region_prefix=prefix))


def test_street_and_community_columns_become_the_region_and_optional_columns_may_be_missing():
    mobile = ["1", "甲公司", credit_code(1), "C36", "大碶街道", "横杨社区", "小型"]
    mailed = ["2", "乙公司", credit_code(2), "C3670", "新碶街道", "", "中型"]
    content = register_xlsx([[*mobile, "13800138000", ""], [*mailed, "", "a@example.cn"]])
    items = read(content, prefix="浙江省/宁波市/北仑区")
    first, second = items
    assert isinstance(first, EnterpriseRecord) and isinstance(second, EnterpriseRecord)
    assert first.region == "浙江省/宁波市/北仑区/大碶街道/横杨社区"
    assert second.region == "浙江省/宁波市/北仑区/新碶街道"
    # No 接收渠道 column: every channel the row has a contact for; no topics, no webhook.
    assert first.channels == ("sms",) and second.channels == ("email",)
    assert first.topics == () and first.webhook_url is None


def test_a_fixed_line_with_no_channel_column_is_kept_without_sms():
    [item] = read(register_xlsx(
        [["1", "宁波甲公司", credit_code(1), "C36", "大碶街道", "", "小型", "057486880000", ""]]
    ))  # fmt: skip
    assert isinstance(item, EnterpriseRecord)
    assert item.channels == () and item.region == "大碶街道"


def test_row_errors_are_chinese_first_and_name_the_column_in_chinese():
    bad_code = credit_code(3)[:-1] + ("0" if credit_code(3)[-1] != "0" else "1")
    items = read(register_xlsx(
        [["1", "宁波丙公司", bad_code, "C36", "", "", "巨型", "", ""]]
    ))  # fmt: skip
    messages = [item.message for item in items if isinstance(item, RowError)]
    assert messages[0] == (
        "第 2 行 统一社会信用代码：校验位不对 / credit_code: not a valid unified social credit "
        "code: the check character does not match (bad checksum)"
    )
    assert any(m.startswith("第 2 行 所属街道：必填 / street: required") for m in messages)
    assert any(m.startswith("第 2 行 企业规模：不是企业规模") for m in messages)
