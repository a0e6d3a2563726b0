"""Whatever a user hands the readers, the answer is a result or a named error, never a traceback.

Hypothesis throws arbitrary text, bytes and JSON-like values at every reader; the only
exceptions allowed out are ``InputError`` (a whole file or value refused) and ``RowError``
items (one bad field of a CSV row).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.domain.plaintext import first_control_character
from notifier.domain.records import PolicyDraft
from notifier.domain.sectors import normalize_sector
from notifier.domain.sms_length import SmsCount, count_sms
from notifier.domain.targets import SIZES
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import HEADER, EnterpriseRecord, RowError, iter_enterprise_rows
from notifier.inputs.policy_file import KEYS, TARGET_KEYS, parse_policy, read_policy_file
from notifier.services.enterprises.importing import detect_encoding

BOUNDED = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
ZONE = ZoneInfo("Asia/Shanghai")

# Text that reaches the interesting paths: ASCII, CJK, control and bidi characters, separators.
ANY_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("\x00\x1b\x85\x9b\u202e\u2066\r\n\t,;；/\"'=+-@ 　")),
        st.sampled_from(list("C36小型短信邮件")),
    ),
    max_size=40,
)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)


def read_all_rows(stream: io.StringIO) -> list[EnterpriseRecord | RowError]:
    try:
        items = list(iter_enterprise_rows(stream))
    except InputError:
        return []
    assert all(isinstance(item, EnterpriseRecord | RowError) for item in items)
    for item in items:
        if isinstance(item, EnterpriseRecord):
            assert_storable(
                item.credit_code, item.name, item.region, item.size, item.phone or "",
                item.email or "", item.webhook_url or "", *item.sectors, *item.tags,
                *item.topics, *item.channels,
            )  # fmt: skip
    return items


def assert_storable(*values: str, multiline: str = "") -> None:
    """What the database and a terminal need: UTF-8 text without control characters."""
    for value in values:
        value.encode("utf-8")
        assert first_control_character(value, allowed=multiline) is None, repr(value)


def csv_text(rows: list[list[str]], header: tuple[str, ...] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def good_cells(**changes: str) -> list[str]:
    row = {
        "credit_code": "91330206MA2000001P",
        "name": "宁波示例机械有限公司",
        "sectors": "C3670",
        "region": "浙江省/宁波市/北仑区",
        "size": "small",
        "phone": "13800138000",
        "email": "office@example.com",
        "webhook_url": "https://hooks.example.com/notify",
        "topics": "tax",
        "channels": "sms;email;webhook",
        "tags": "规上",
    } | changes
    return [row[column] for column in HEADER]


@BOUNDED
@given(ANY_TEXT | st.text())
def test_the_csv_reader_takes_any_text(text):
    read_all_rows(io.StringIO(text, newline=""))


@BOUNDED
@given(st.lists(st.lists(ANY_TEXT, max_size=13), max_size=5))
def test_the_csv_reader_takes_any_cells_under_a_good_header(rows):
    items = read_all_rows(io.StringIO(csv_text(rows), newline=""))

    assert {item.row for item in items} <= set(range(2, len(rows) + 2))


@BOUNDED
@given(st.binary(max_size=300))
def test_the_csv_import_takes_any_bytes(content):
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as file:
        file.write(b"credit_code,name,sectors,region,size,phone,email,webhook_url,topics,channels\n")
        file.write(content)
    path = Path(file.name)
    try:
        try:
            encoding = detect_encoding(path)
        except InputError:
            return
        with path.open(encoding=encoding, newline="") as stream:
            read_all_rows(stream)  # type: ignore[arg-type]
    finally:
        os.unlink(path)


@BOUNDED
@given(ANY_TEXT, ANY_TEXT)
def test_credit_codes_and_phones_are_a_record_or_an_error_on_their_field(code, phone):
    items = read_all_rows(io.StringIO(csv_text([good_cells(credit_code=code, phone=phone)])))

    assert items, "one row: a record or its errors"
    for item in items:
        if isinstance(item, RowError):
            assert item.field in {"credit_code", "phone", "channels"}


@BOUNDED
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_free_text_cells_are_stored_clean_or_refused_on_their_field(name, region, topics, tags):
    cells = good_cells(name=name, region=region, topics=topics, tags=tags)

    for item in read_all_rows(io.StringIO(csv_text([cells]))):
        if isinstance(item, RowError):
            assert item.field in {"name", "region", "topics", "tags"}


@BOUNDED
@given(ANY_TEXT, ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_emails_webhooks_sizes_and_channels_are_a_record_or_an_error(email, url, size, channels):
    cells = good_cells(email=email, webhook_url=url, size=size, channels=channels)

    assert read_all_rows(io.StringIO(csv_text([cells])))


def policy_values() -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the policy's own keys (so the value rules are reached) and arbitrary values."""
    times = ANY_TEXT | st.dates().map(str) | st.datetimes().map(str) | st.datetimes().map(
        lambda moment: moment.isoformat() + "-12:00"
    )
    deadline = st.fixed_dictionaries(
        {"title": st.just("申报截止") | ANY_TEXT, "due_at": times},
        optional={
            "remind_days": JSON_VALUES | st.lists(JSON_SCALARS, max_size=3),
            "remind": JSON_VALUES | st.lists(ANY_TEXT | st.just("2wd"), max_size=3),
        },
    )
    samples = st.sampled_from(
        ["C36", "small", "小型", "浙江省/宁波市", "/", "91330206MA2000001P", "专精特新"]
    )
    targets = st.fixed_dictionaries(
        {}, optional={key: st.lists(samples | ANY_TEXT, max_size=4) for key in TARGET_KEYS}
    )
    special = {
        "targets": targets | JSON_VALUES,
        "deadlines": st.lists(deadline | JSON_VALUES, max_size=3),
        "published_at": times,
        "topics": st.lists(samples | ANY_TEXT, max_size=4),
        "summary": ANY_TEXT,
        "body": ANY_TEXT,
        "ref": ANY_TEXT,
        "url": st.just("https://example.gov.cn/p/1") | ANY_TEXT | JSON_SCALARS,
    }
    valid_text = st.just("北仑区通知") | ANY_TEXT
    return st.fixed_dictionaries(
        {"title": valid_text, "department": valid_text},
        optional={
            key: JSON_VALUES for key in KEYS if key not in {"title", "department", *special}
        },
    ).flatmap(
        lambda base: st.fixed_dictionaries(
            {key: st.just(value) for key, value in base.items()},
            optional={key: strategy for key, strategy in special.items()},
        )
    )


def parses_or_refuses(data: Any) -> None:
    try:
        draft = parse_policy(data, zone=ZONE)
    except InputError as exc:
        assert str(exc)
        return
    assert isinstance(draft, PolicyDraft)
    # The store keeps UTC: every time must convert (year 1 or 9999 would overflow).
    for moment in [draft.published_at, *(d.due_at for d in draft.deadlines)]:
        if moment is not None:
            assert moment.utcoffset() is not None
            moment.astimezone(UTC)
    for deadline in draft.deadlines:
        assert deadline.remind is None or all(r.endswith("d") for r in deadline.remind)
        assert_storable(deadline.title)
    targets = draft.targets
    assert_storable(draft.source_key, draft.title, draft.department, draft.url or "")
    assert_storable(draft.summary, draft.body, multiline="\n\t")
    assert_storable(*(item for values in targets.as_dict().values() for item in values))
    assert all("" not in region.split("/") for region in targets.regions)
    assert set(targets.sizes) <= set(SIZES)


@BOUNDED
@given(JSON_VALUES)
def test_parse_policy_takes_any_json_value(data):
    parses_or_refuses(data)


@BOUNDED
@given(policy_values())
def test_parse_policy_takes_any_values_under_its_own_keys(data):
    parses_or_refuses(data)


HOSTILE_JSON = st.one_of(
    st.integers(1, 300_000).map(lambda depth: b"[" * depth),
    st.integers(1, 100_000).map(lambda depth: b'{"a":' * depth),
    st.integers(1, 6000).map(lambda digits: b'{"title": ' + b"9" * digits + b"}"),
    st.sampled_from([b"NaN", b"-Infinity", b"1e999", b'{"a": 1, "a": 2}', b'"\\ud800"']),
)


@BOUNDED
@given(st.binary(max_size=300) | HOSTILE_JSON)
def test_read_policy_file_takes_any_bytes(content):
    with contextlib.suppress(InputError):
        read_policy_file(content, zone=ZONE)


@BOUNDED
@given(policy_values())
def test_read_policy_file_takes_any_json_document(data):
    with contextlib.suppress(InputError):
        read_policy_file(json.dumps(data).encode(), zone=ZONE)


@BOUNDED
@given(ANY_TEXT | st.text())
def test_normalize_sector_gives_a_code_or_an_input_error(code):
    try:
        normalized = normalize_sector(code)
    except InputError as exc:
        assert exc.field == "sectors"
        return
    assert normalized == normalize_sector(normalized)  # canonical


@BOUNDED
@given(ANY_TEXT | st.text(), st.none() | ANY_TEXT, st.sampled_from(["CN", "US", "HK"]))
def test_count_sms_counts_any_text_or_names_a_bad_number(text, to, region):
    try:
        count = count_sms(text, to=to, region=region)
    except InputError as exc:
        assert exc.field == "to"
        return
    assert isinstance(count, SmsCount)
    assert count.parts >= 1 and count.length >= len(text)


def test_sizes_are_the_four_words():
    assert SIZES == ("large", "medium", "small", "micro")
