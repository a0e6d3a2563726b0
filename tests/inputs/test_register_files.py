"""The register reader's bounds, in process: what each rule refuses or reports, and that a
giant text is never held whole (tracemalloc counts expat's buffers too)."""

from __future__ import annotations

import dataclasses
import io
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.config import Settings
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import RowError
from notifier.inputs.register_files import open_register
from notifier.services.context import Actor
from notifier.services.enterprises.importing import ImportReport, import_register, upload_limits

from support.factories import Firm, enterprise_csv
from support.hostile_registers import (
    MB,
    inline_row,
    repeated,
    shared_strings,
    sheet,
    workbook,
)

LIMITS = upload_limits(Settings())


def rows_of(content: bytes, name: str = "名册.xlsx", **limits: int) -> list[list[str]]:
    bounds = dataclasses.replace(LIMITS, **limits)
    return list(open_register(io.BytesIO(content), name=name, limits=bounds)())


def refusal(content: bytes, name: str = "名册.xlsx", **limits: int) -> str:
    with pytest.raises(InputError) as refused:
        rows_of(content, name, **limits)
    assert refused.value.field == "file"
    return str(refused.value)


@pytest.fixture
def runtime(database_url, make_runtime):
    return make_runtime(database_url=database_url)


def test_five_million_rows_are_refused_from_the_zip_directory_by_their_compression_ratio():
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    bomb = workbook(sheet(repeated(row, 5_000_000 * len(row))))
    started = time.monotonic()
    reason = refusal(bomb)
    print(
        f"\n5,000,000 rows ({len(bomb) // 1024} KB): refused in {time.monotonic() - started:.2f} s"
    )
    assert "compressed more than 200 times (a ZIP bomb?)" in reason
    assert "xl/worksheets/sheet1.xml" in reason


def test_a_giant_inline_string_is_read_without_being_held():
    giant = workbook(
        sheet([b'<row><c t="inlineStr"><is><t>' + b"A" * (50 * MB) + b"</t></is></c></row>"])
    )
    tracemalloc.start()
    try:
        rows = rows_of(giant, max_ratio=10**6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows[1] == ["A" * 2001]  # cut at the cell bound + 1: the importer reports it
    assert peak < 10 * MB, peak


def test_a_tag_over_one_megabyte_is_refused():
    tag = b'<row><c r="A2" t="inlineStr" x="' + b"x" * (2 * MB) + b'"/></row>'
    assert "has a tag over 1 MB" in refusal(workbook(sheet([tag])), max_ratio=10**6)


def test_shared_strings_repeated_past_the_text_bound_are_refused():
    name = b"A" * 1900
    row = b"<row>" + b'<c t="s"><v>0</v></c>' * 11 + b"</row>"
    bomb = workbook(sheet(repeated(row, 200 * len(row))), shared_strings([name]))
    assert "row 2 is longer than 20000 characters" in refusal(bomb)
    narrow = b'<row><c t="s"><v>0</v></c></row>'
    spread = workbook(sheet(repeated(narrow, 5000 * len(narrow))), shared_strings([name]))
    reason = refusal(spread, max_text_chars=1_000_000)
    assert "the sheet holds more than 1000000 characters of text" in reason


def test_a_reference_to_a_missing_shared_string_is_named():
    for index in ("7", "²"):  # "²" is a digit to str.isdigit, not a number to int()
        row = f'<row r="{index}"><c r="B2" t="s"><v>{index}</v></c></row>'.encode()
        broken = workbook(sheet([row]), shared_strings([]))
        assert "B2 names a shared string that does not exist" in refusal(broken)


def test_cells_read_as_the_register_means_them():
    cells = (
        b'<row r="4"><c r="B4"><v>13800138000</v></c><c r="C4"><v>1.3800138E10</v></c>'
        b'<c r="D4" t="b"><v>1</v></c><c r="E4"><v>2.5</v></c>'
        b'<c r="F4" t="s"><v>0</v></c></row>'
    )
    rich = "<r><t>宁波</t></r><rPh><t>ningbo</t></rPh><r><t>公司</t></r>".encode()
    rows = rows_of(workbook(sheet([cells]), shared_strings([rich])))
    # Rows the sheet skips come back blank, so row numbers are the spreadsheet's.
    assert rows[1:] == [[], [], ["", "13800138000", "13800138000", "true", "2.5", "宁波公司"]]


def test_a_csv_line_and_row_count_are_bounded():
    assert "line 1 is longer than 20000 characters" in refusal(b"x" * 30_000, "a.csv")
    quoted = b'credit_code\n"' + b"y\n" * 15_000 + b'"\n'  # one record over many lines
    assert "longer than 20000 characters" in refusal(quoted, "a.csv")
    assert "more than 3 rows" in refusal(b"h\n1\n2\n3\n4\n", "a.csv", max_rows=3)
    assert len(rows_of(b"h\n1\n2\n3\n", "a.csv", max_rows=3)) == 4
    assert "larger than 100 bytes" in refusal(b"x" * 101, "a.csv", max_bytes=100)


def test_a_cell_over_the_bound_is_an_error_of_its_row_and_the_others_import(runtime):
    firms = [Firm(1), Firm(2), Firm(3)]
    text = enterprise_csv(firms).replace(Firm(2).row()[1], "名" * 3000)
    context = runtime.context(Actor(name="tests", role="staff", face="api"))
    report = import_register(context, io.BytesIO(text.encode()), name="a.csv", dry_run=False)
    assert (report.created, report.bad_rows) == (2, 1)
    assert report.errors == [
        RowError(row=3, field="name", reason="超过 2000 个字符 / longer than 2000 characters")
    ]


def test_the_report_keeps_the_first_errors_and_counts_the_rest():
    report = ImportReport(dry_run=True, max_errors=2)
    for row, field in [(2, "name"), (2, "size"), (3, "name"), (5, "region")]:
        report.add_error(RowError(row=row, field=field, reason="x" * 900))
    assert (report.bad_rows, report.errors_left_out) == (3, 2)
    assert [(e.row, e.field) for e in report.errors] == [(2, "name"), (2, "size")]
    assert report.errors[0].reason == "x" * 500 + "…"
    assert report.as_dict()["errors_left_out"] == 2


@pytest.mark.parametrize("name", ["a.xlsx", "a.csv"])
def test_a_workbook_is_told_by_its_bytes_not_its_name(name):
    rows = rows_of(workbook(sheet([inline_row(["x"])])), name)
    assert rows[1] == ["x"]


SHEET = b"".join(
    sheet(
        [inline_row(["91330206MA2000001P", "宁波", "C3670"]), b'<row><c t="s"><v>0</v></c></row>']
    )
)
STRINGS = b"".join(shared_strings([b"x"]))
SMALL = workbook(SHEET, STRINGS)
CHANGES = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8)


def changed(data: bytes, changes: list[tuple[int, int]]) -> bytes:
    damaged = bytearray(data)
    for at, byte in changes:
        damaged[at % len(damaged)] = byte
    return bytes(damaged)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CHANGES, CHANGES, CHANGES)
def test_a_damaged_workbook_is_read_or_refused_with_one_input_error(archive, xml, strings):
    for content in (
        changed(SMALL, archive),
        workbook(changed(SHEET, xml), changed(STRINGS, strings)),
    ):
        try:
            rows_of(content)
        except InputError as refused:
            assert refused.field == "file"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_as_a_csv_are_read_or_refused_with_one_input_error(content):
    try:
        rows_of(content, "a.csv", max_row_chars=1000)
    except InputError as refused:
        assert refused.field == "file"
