"""Parsing and validating an enterprise CSV file."""

from __future__ import annotations

import csv
import io
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from stdnum.cn import uscc

from notifier.errors import InputError
from notifier.inputs.enterprise_csv import (
    HEADER,
    EnterpriseRecord,
    RowError,
    iter_enterprise_rows,
    parse_enterprise_csv,
)


def credit_code(serial: int) -> str:
    """Return a valid unified social credit code: 17 base characters plus their check character."""
    base = f"91330206MA2{serial:06d}"
    return base + uscc.calc_check_digit(base)


def with_wrong_check_character(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def good_row(serial: int = 1, **changes: str) -> dict[str, str]:
    row = {
        "credit_code": credit_code(serial),
        "name": f"宁波示例机械有限公司{serial}",
        "sectors": "C3670",
        "region": "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区",
        "size": "small",
        "phone": "13800138000",
        "email": "office@example.com",
        "webhook_url": "https://hooks.example.com/notify",
        "topics": "tax;subsidy",
        "channels": "sms;email;webhook",
        "tags": "高新技术企业;专精特新",
    }
    row.update(changes)
    return row


def csv_stream(rows: Iterable[dict[str, str]], *, header: Iterable[str] = HEADER) -> io.StringIO:
    header = list(header)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return io.StringIO(out.getvalue())


def header_line() -> str:
    return ",".join(HEADER) + "\r\n"


def data_lines(rows: Iterable[dict[str, str]]) -> str:
    return csv_stream(rows).getvalue().removeprefix(header_line())


def parse_rows(*rows: dict[str, str]) -> tuple[list[EnterpriseRecord], list[RowError]]:
    return parse_enterprise_csv(csv_stream(rows))


def errors_of(row: dict[str, str]) -> dict[str, str]:
    records, errors = parse_rows(row)
    assert records == []
    return {error.field: error.reason for error in errors}


def only_record(row: dict[str, str]) -> EnterpriseRecord:
    records, errors = parse_rows(row)
    assert errors == []
    [record] = records
    return record


def test_header_lists_the_columns_in_order_with_tags_last():
    assert HEADER == (
        "credit_code",
        "name",
        "sectors",
        "region",
        "size",
        "phone",
        "email",
        "webhook_url",
        "topics",
        "channels",
        "tags",
    )


def test_the_generated_credit_codes_are_valid_and_the_wrong_check_character_is_not():
    assert uscc.is_valid(credit_code(1))
    assert not uscc.is_valid(with_wrong_check_character(credit_code(1)))


def test_a_good_row_becomes_a_normalized_record():
    record = only_record(
        good_row(
            credit_code=" " + credit_code(7).lower() + " ",
            sectors="36; C3670 ;C36",
            region=" 浙江省 / 宁波市 /北仑区 ",
            size=" Medium ",
            phone="138 0013 8000",
            email="Office@Example.COM",
            topics=" tax ; ;subsidy;tax ",
            channels="SMS;email;sms",
            tags="规上;;专精特新;规上",
        )
    )
    assert record == EnterpriseRecord(
        row=2,
        credit_code=credit_code(7),
        name="宁波示例机械有限公司1",
        sectors=("C36", "C3670"),
        region="浙江省/宁波市/北仑区",
        size="medium",
        phone="+8613800138000",
        email="Office@example.com",
        webhook_url="https://hooks.example.com/notify",
        topics=("tax", "subsidy"),
        channels=("sms", "email"),
        tags=("规上", "专精特新"),
    )


def test_row_with_bad_checksum_is_reported_by_row_and_field_and_good_rows_are_kept():
    bad = with_wrong_check_character(credit_code(2))
    records, errors = parse_rows(good_row(1), good_row(2, credit_code=bad), good_row(3))
    assert [record.row for record in records] == [2, 4]
    assert [record.credit_code for record in records] == [credit_code(1), credit_code(3)]
    [error] = errors
    assert (error.row, error.field) == (3, "credit_code")
    assert "checksum" in error.reason


@pytest.mark.parametrize(
    ("code", "reason"),
    [("", "required"), ("91330206MA2000001", "18 characters"), ("91330206MA200000I1", "allowed")],
)
def test_a_missing_short_or_malformed_credit_code_is_reported_with_the_problem(code, reason):
    assert reason in errors_of(good_row(credit_code=code))["credit_code"]


def test_every_bad_field_of_a_row_is_reported_at_once_and_the_row_is_not_returned():
    bad = good_row(
        credit_code=with_wrong_check_character(credit_code(1)),
        name="",
        sectors="A36",
        region="浙江省//北仑区",
        size="huge",
        phone="12345",
        email="not-an-email",
        webhook_url="ftp://hooks.example.com",
        channels="sms;fax",
    )
    records, errors = parse_rows(good_row(9), bad)
    assert [record.row for record in records] == [2]
    assert {error.row for error in errors} == {3}
    assert [error.field for error in errors] == [
        "credit_code",
        "name",
        "sectors",
        "region",
        "size",
        "phone",
        "email",
        "webhook_url",
        "channels",
    ]


def test_row_numbers_count_the_header_as_row_one_and_blank_lines_as_rows():
    text = header_line() + data_lines([good_row(1)]) + "\r\n" + data_lines([good_row(2)])
    records, errors = parse_enterprise_csv(io.StringIO(text))
    assert errors == []
    assert [record.row for record in records] == [2, 4]


def test_a_quoted_cell_spanning_lines_is_still_one_row_and_its_line_break_an_error():
    # A line break in a name (Alt+Enter in Excel) is a control character like any other.
    records, errors = parse_rows(good_row(1, name="第一行\n第二行"), good_row(2))
    assert [(error.row, error.field) for error in errors] == [(2, "name")]
    assert [record.row for record in records] == [3]


def test_rows_are_yielded_in_file_order_as_records_and_errors():
    stream = csv_stream([good_row(1), good_row(2, size=""), good_row(3)])
    items = list(iter_enterprise_rows(stream))
    assert [(type(item).__name__, item.row) for item in items] == [
        ("EnterpriseRecord", 2),
        ("RowError", 3),
        ("EnterpriseRecord", 4),
    ]


def test_missing_required_columns_refuse_the_whole_file_and_are_named():
    header = [column for column in HEADER if column not in ("sectors", "size")]
    stream = csv_stream([good_row()], header=header)
    with pytest.raises(
        InputError,
        match=r"缺少必需的列 / missing required columns: sectors \(行业代码\), size \(企业规模\)",
    ) as caught:
        iter_enterprise_rows(stream)  # refused before iterating
    assert caught.value.field == "header"


def test_the_tags_column_is_optional():
    stream = csv_stream([good_row()], header=HEADER[:-1])
    [record] = list(iter_enterprise_rows(stream))
    assert record.tags == ()


def test_unknown_columns_are_ignored_and_columns_may_come_in_any_order():
    header = ["remark", *reversed(HEADER), "联系人"]
    records, errors = parse_enterprise_csv(
        csv_stream([good_row() | {"remark": "x"}], header=header)
    )
    assert errors == []
    assert records[0].credit_code == credit_code(1)


def test_header_names_are_matched_ignoring_case_and_surrounding_spaces():
    header = ",".join(f" {column.upper()} " for column in HEADER) + "\r\n"
    records, errors = parse_enterprise_csv(io.StringIO(header + data_lines([good_row()])))
    assert errors == []
    assert len(records) == 1


def test_a_required_column_given_twice_refuses_the_file():
    stream = csv_stream([], header=[*HEADER, "email"])
    with pytest.raises(InputError, match="more than once: email"):
        iter_enterprise_rows(stream)


def test_an_empty_file_is_refused():
    with pytest.raises(InputError, match="empty"):
        parse_enterprise_csv(io.StringIO(""))


def test_a_byte_order_mark_left_on_the_first_header_is_stripped():
    stream = io.StringIO("\ufeff" + csv_stream([good_row()]).getvalue())
    records, errors = parse_enterprise_csv(stream)
    assert errors == []
    assert records[0].credit_code == credit_code(1)


def test_an_excel_file_with_a_byte_order_mark_opened_as_utf_8_sig_parses(tmp_path):
    path = tmp_path / "enterprises.csv"
    path.write_text(csv_stream([good_row()]).getvalue(), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        records, errors = parse_enterprise_csv(stream)
    assert errors == []
    assert records[0].name == "宁波示例机械有限公司1"


def test_a_duplicate_credit_code_later_in_the_file_names_the_first_row():
    duplicate = good_row(1, credit_code=credit_code(1).lower(), name="另一家")
    records, errors = parse_rows(good_row(1), good_row(2), duplicate)
    assert [record.row for record in records] == [2, 3]
    reason = "与第 2 行重复 / duplicate of row 2"
    duplicate_error = RowError(row=4, field="credit_code", reason=reason)
    assert errors == [duplicate_error]


@pytest.mark.parametrize(
    ("word", "size"),
    [
        ("大型", "large"),
        ("中型", "medium"),
        ("小型", "small"),
        ("微型", "micro"),
        ("LARGE", "large"),
        ("Micro", "micro"),
    ],
)
def test_sizes_are_accepted_in_english_of_any_case_and_in_chinese(word, size):
    assert only_record(good_row(size=word)).size == size


@pytest.mark.parametrize("size", ["", "huge", "特大型"])
def test_a_missing_or_unknown_size_is_reported(size):
    assert "size" in errors_of(good_row(size=size))


def test_digits_only_sectors_get_their_section_and_duplicates_collapse():
    record = only_record(good_row(sectors="36;367;3670;C36;01"))
    assert record.sectors == ("C36", "C367", "C3670", "A01")


def test_a_section_alone_is_a_valid_sector():
    assert only_record(good_row(sectors="c")).sectors == ("C",)


def test_a_division_under_the_wrong_section_is_reported_on_sectors():
    reason = errors_of(good_row(sectors="C36;A36"))["sectors"]
    assert "division 36 belongs to section C, not A" in reason


def test_every_bad_sector_code_of_a_cell_is_named_in_one_error():
    reason = errors_of(good_row(sectors="Z36;99;C3;C36"))["sectors"]
    assert "unknown section 'Z'" in reason
    assert "unknown division '99'" in reason
    assert "'C3'" in reason


@pytest.mark.parametrize("sectors", ["", " ; ;"])
def test_at_least_one_sector_is_required(sectors):
    assert "at least one" in errors_of(good_row(sectors=sectors))["sectors"]


def test_multi_valued_cells_also_split_on_the_full_width_semicolon():
    record = only_record(good_row(tags="高新技术企业；专精特新", sectors="C36；I65"))
    assert record.tags == ("高新技术企业", "专精特新")
    assert record.sectors == ("C36", "I65")


def test_topics_and_tags_may_be_empty():
    record = only_record(good_row(topics="", tags=" "))
    assert (record.topics, record.tags) == ((), ())


def test_a_region_deeper_than_five_levels_is_not_capped():
    region = "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区/一号园区"
    assert only_record(good_row(region=region)).region == region


@pytest.mark.parametrize("region", ["", "浙江省//北仑区", "/浙江省", "浙江省/宁波市/", " / "])
def test_a_missing_region_or_one_with_an_empty_segment_is_reported(region):
    assert "region" in errors_of(good_row(region=region))


def test_a_region_longer_than_two_hundred_characters_is_reported():
    assert "200" in errors_of(good_row(region="/".join(["园区" * 10] * 10)))["region"]


def test_a_name_is_required_and_at_most_two_hundred_characters():
    assert errors_of(good_row(name=" "))["name"] == "必填 / required"
    assert "200" in errors_of(good_row(name="名" * 201))["name"]
    assert only_record(good_row(name="名" * 200)).name == "名" * 200


@pytest.mark.parametrize("name", ["=HYPERLINK(1)", "+公司", "-公司", "@公司"])
def test_names_that_look_like_spreadsheet_formulas_are_imported_as_text(name):
    assert only_record(good_row(name=name)).name == name


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("0574-86123456", "+8657486123456"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phones_are_read_as_chinese_by_default_and_stored_as_e164(phone, e164):
    assert only_record(good_row(phone=phone, channels="email")).phone == e164


@pytest.mark.parametrize("phone", ["12345", "138001380001", "not a phone"])
def test_an_invalid_phone_is_reported(phone):
    assert "phone" in errors_of(good_row(phone=phone))


@pytest.mark.parametrize("email", ["office@", "office.example.com", "a@b", "a b@example.com"])
def test_an_invalid_email_is_reported(email):
    assert "not a valid email address" in errors_of(good_row(email=email))["email"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com",
        "hooks.example.com/x",
        "https://",
        "http:///path",
        "https://exa mple.com",
        "https://example.com:port/",
    ],
)
def test_a_webhook_url_must_be_http_or_https_with_a_host(url):
    assert "webhook_url" in errors_of(good_row(webhook_url=url))


def test_a_plain_http_webhook_url_is_accepted():
    url = "http://10.0.0.5:8080/hook?x=1"
    assert only_record(good_row(webhook_url=url)).webhook_url == url


@pytest.mark.parametrize(
    ("channel", "contact"), [("sms", "phone"), ("email", "email"), ("webhook", "webhook_url")]
)
def test_a_channel_chosen_without_its_contact_is_an_error_on_channels(channel, contact):
    errors = errors_of(good_row(channels=channel, **{contact: ""}))
    assert errors["channels"].endswith(f" / {channel} is chosen but {contact} is empty")
    assert errors["channels"].startswith("选了")


def test_a_contact_that_is_not_chosen_as_a_channel_may_be_empty():
    record = only_record(good_row(channels="email", phone="", webhook_url=""))
    assert (record.phone, record.webhook_url, record.email) == (None, None, "office@example.com")


def test_a_chosen_channel_with_an_invalid_contact_is_reported_only_on_the_contact():
    assert set(errors_of(good_row(channels="sms", phone="12345"))) == {"phone"}


def test_an_unknown_channel_is_reported():
    assert "fax" in errors_of(good_row(channels="sms;fax"))["channels"]


def test_cells_beyond_the_last_column_are_reported_on_the_row():
    text = header_line() + "91,名称,C36,浙江省,small,,,,,,规上,专精特新\n"
    [error, *_] = parse_enterprise_csv(io.StringIO(text))[1]
    assert (error.row, error.field) == (2, "row")
    assert "专精特新" in error.reason


def test_empty_trailing_cells_and_blank_rows_are_ignored():
    text = header_line() + data_lines([good_row(1)]).rstrip("\r\n") + ",,\r\n,,,\r\n"
    records, errors = parse_enterprise_csv(io.StringIO(text))
    assert errors == []
    assert len(records) == 1


def test_a_fixed_line_is_refused_for_sms_but_kept_when_sms_is_not_chosen():
    assert "fixed line" in errors_of(good_row(phone="0574-86123456", channels="sms"))["phone"]
    record = only_record(good_row(phone="0574-86123456", channels="email"))
    assert record.phone == "+8657486123456"


CHINESE_HEADER = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "sectors": "国民经济行业代码",
    "region": "所属区域",
    "size": "企业规模",
    "phone": "手机号码",
    "email": "电子邮箱",
    "webhook_url": "回调地址",
    "topics": "关注主题",
    "channels": "接收渠道",
    "tags": "资质标签",
}


def chinese_csv(rows: Iterable[dict[str, str]], names: dict[str, str]) -> io.StringIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([names[column] for column in HEADER])
    for row in rows:
        writer.writerow([row[column] for column in HEADER])
    return io.StringIO(out.getvalue())


def test_a_register_with_chinese_headers_reads_like_the_canonical_one():
    records, errors = parse_enterprise_csv(chinese_csv([good_row()], CHINESE_HEADER))

    assert errors == []
    assert records == parse_rows(good_row())[0]


@pytest.mark.parametrize(
    ("column", "word"),
    [
        ("name", "单位名称"),
        ("sectors", "行业代码"),
        ("sectors", "所属行业"),
        ("region", "所属地区"),
        ("region", "区域"),
        ("size", "规模"),
        ("phone", "手机"),
        ("phone", "联系电话"),
        ("email", "邮箱"),
        ("webhook_url", "Webhook"),
        ("topics", "主题"),
        ("channels", "渠道"),
        ("tags", "标签"),
    ],
)
def test_every_chinese_header_word_names_its_column(column, word):
    names = CHINESE_HEADER | {column: word}

    records, errors = parse_enterprise_csv(chinese_csv([good_row()], names))

    assert errors == []
    assert len(records) == 1


def test_a_missing_column_is_named_in_english_and_in_chinese():
    names = {column: CHINESE_HEADER[column] for column in HEADER if column != "credit_code"}
    out = io.StringIO()
    csv.writer(out).writerow(names.values())

    with pytest.raises(InputError, match=r"credit_code \(统一社会信用代码\)"):
        iter_enterprise_rows(io.StringIO(out.getvalue()))


def test_two_chinese_names_of_one_column_refuse_the_file():
    out = io.StringIO()
    csv.writer(out).writerow([*CHINESE_HEADER.values(), "单位名称"])

    with pytest.raises(InputError, match="more than once: name"):
        iter_enterprise_rows(io.StringIO(out.getvalue()))


def test_channels_may_be_written_in_chinese():
    record = only_record(good_row(channels="短信；电子邮件;网络回调;邮件"))

    assert record.channels == ("sms", "email", "webhook")


@pytest.mark.parametrize("field", HEADER)
@pytest.mark.parametrize(
    "bad", ["\x00", "\x1b[2J", "\x07", "\x7f", "\u0085", "\u009b", "\u202e", "\u2066", "\u2069"]
)
def test_a_control_character_in_any_cell_is_an_error_on_that_field_and_good_rows_stay(field, bad):
    row = good_row(2)
    row[field] = row[field][:3] + bad + row[field][3:] if row[field] else bad

    records, errors = parse_rows(good_row(1), row, good_row(3))

    assert [record.row for record in records] == [2, 4]
    assert [(error.row, error.field) for error in errors] == [(3, field)]
    assert errors[0].reason.startswith("含控制字符 contains control characters (U+")


def test_a_control_character_beyond_the_last_column_is_not_echoed():
    text = header_line() + "91,名称,C36,浙江省,small,,,,,,规上,\x1b[31m红\n"
    [error, *_] = parse_enterprise_csv(io.StringIO(text))[1]

    assert error.field == "row"
    assert "\x1b" not in error.reason


def mixed_rows(count: int) -> list[dict[str, str]]:
    """Good rows with, every so often, a bad one and a duplicate of an early row."""
    rows = []
    for serial in range(1, count + 1):
        if serial % 97 == 0:
            rows.append(good_row(serial, phone="12345", size=""))
        elif serial % 101 == 0:
            rows.append(good_row(serial // 101, name="重复", phone="0574-86781234"))
        else:
            rows.append(good_row(serial, sectors="C36;3670" if serial % 2 else "C3812"))
    return rows


def test_rows_checked_in_worker_processes_come_out_as_when_checked_here():
    rows = mixed_rows(2600)  # three batches: the first checked here, the others by the workers
    alone = list(iter_enterprise_rows(csv_stream(rows)))

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as executor:
        pooled = list(iter_enterprise_rows(csv_stream(rows), executor=executor))

    assert pooled == alone
    duplicates = [e for e in alone if isinstance(e, RowError) and e.field == "credit_code"]
    last = RowError(row=2526, field="credit_code", reason="与第 26 行重复 / duplicate of row 26")
    assert duplicates[-1] == last
    assert len({item.row for item in alone if isinstance(item, RowError)}) == 26 + 25


def test_a_line_the_csv_reader_cannot_parse_stops_the_file_after_the_rows_before_it():
    rows = [good_row(serial) for serial in range(1, 1501)]
    text = csv_stream(rows).getvalue() + '"' + "长" * (csv.field_size_limit() + 1) + '"\r\n'
    seen = []

    with ThreadPoolExecutor(2) as executor, pytest.raises(InputError, match="line 1502"):
        for item in iter_enterprise_rows(io.StringIO(text), executor=executor):
            seen.append(item.row)

    assert seen == list(range(2, 1502))


def test_a_chat_robot_webhook_keeps_its_secret_and_an_unknown_robot_is_refused():
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc#secret=SEC0123"
    assert only_record(good_row(webhook_url=url)).webhook_url == url
    assert "webhook_url" in errors_of(good_row(webhook_url="https://x.example.cn/h#robot=slack"))
