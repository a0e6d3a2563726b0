"""Parse and validate an enterprise CSV file, without touching the database.

Each data row becomes either one ``EnterpriseRecord`` or one ``RowError`` per bad field, so a
staff member can fix every problem of a file in one pass. Rows are numbered as a spreadsheet
shows them: the header is row 1, the first data row is row 2.

Cells are imported as text; a name starting with ``=``, ``+``, ``-`` or ``@`` is kept as it is,
because formula injection is defended against where files are exported, not here.
"""

from __future__ import annotations

import csv
import functools
import sqlite3
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import String

from notifier.channels.robots import parse_endpoint
from notifier.domain.channel_names import CHANNELS, EMAIL, SMS, WEBHOOK
from notifier.domain.plaintext import shown
from notifier.domain.records import EnterpriseRecord
from notifier.domain.sectors import normalize_sector
from notifier.domain.targets import SIZE_CHOICES, SIZES, read_credit_code, read_size
from notifier.domain.text_rules import line_problem
from notifier.errors import InputError
from notifier.inputs.phones import PhoneInvalid, parse_phone
from notifier.store.models import Contact, Enterprise, EnterpriseTag, EnterpriseTopic

__all__ = [
    "CHANNELS",
    "CHANNEL_WORDS",
    "ENCODINGS",
    "FIELDS",
    "FIELD_WORDS",
    "REGION_PARTS",
    "column_of_heading",
    "with_header",
    "NOT_TEXT",
    "read_channel_word",
    "HEADER",
    "HEADER_WORDS",
    "REQUIRED_COLUMNS",
    "SIZES",
    "EnterpriseRecord",
    "RowError",
    "csv_rows",
    "iter_enterprise_rows",
    "iter_register_rows",
    "parse_enterprise_csv",
]

HEADER: tuple[str, ...] = (
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
# A register may split the region into a street and a community column (所属街道, 所属社区):
# they are joined onto the region (or onto ``imports.region_prefix``) with "/".
REGION_PARTS: tuple[str, ...] = ("street", "community")
# Every field a sheet's column can be mapped to, in the order a mapping form lists them.
FIELDS: tuple[str, ...] = (*HEADER[:4], *REGION_PARTS, *HEADER[4:])
# A register without these columns is refused; a missing region is made of street/community.
REQUIRED_COLUMNS: tuple[str, ...] = ("credit_code", "name", "sectors", "region", "size")
# The headers a district register uses, for each column; the first is named in messages.
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "credit_code": ("统一社会信用代码", "信用代码", "社会信用代码"),
    "name": ("企业名称", "单位名称", "企业（单位）名称", "名称"),
    "sectors": ("行业代码", "国民经济行业代码", "所属行业", "所属行业代码", "行业"),
    "region": ("所属区域", "所属地区", "区域", "地区"),
    "street": ("所属街道", "街道", "所属镇街", "镇街", "街道（镇）"),
    "community": ("所属社区", "社区", "所属村社", "村社", "社区（村）"),
    "size": ("企业规模", "规模"),
    "phone": ("联系电话", "手机号码", "手机", "联系人手机", "联系人电话", "电话"),
    "email": ("电子邮箱", "邮箱", "电子邮件", "联系人邮箱"),
    "webhook_url": ("回调地址", "webhook"),
    "topics": ("关注主题", "主题"),
    "channels": ("接收渠道", "渠道"),
    "tags": ("资质标签", "标签"),
}
# A column's Chinese name, as messages name it ("row": the whole row).
FIELD_WORDS: dict[str, str] = {
    **{field: words[0] for field, words in HEADER_WORDS.items()},
    "row": "整行",
}
# Excel in a Chinese locale saves CSV as GBK, for which GB18030 is the standard superset.
ENCODINGS = ("utf-8-sig", "gb18030")
NOT_TEXT = (
    "file: 不是 UTF-8 或 GB18030 (GBK) 文本，请另存为 CSV UTF-8 / "
    "not UTF-8 or GB18030 (GBK) text; save it as CSV UTF-8"
)
_COLUMN_OF_WORD = {
    word.lower(): column for column, words in HEADER_WORDS.items() for word in words
}
# Channel names as staff write them in Chinese.
CHANNEL_WORDS: dict[str, str] = {
    "短信": SMS,
    "邮件": EMAIL,
    "电子邮件": EMAIL,
    "网络回调": WEBHOOK,
}



def read_channel_word(raw: str, *, field: str = "channel") -> str:
    """sms, email or webhook, or the Chinese word a register uses (短信, 邮件, 网络回调).

    Raises:
        InputError: (``field``) not a channel.
    """
    channel = CHANNEL_WORDS.get(raw.strip(), raw.strip().lower())
    if channel not in CHANNELS:
        raise InputError(
            f"{field}: 未知渠道 unknown channel '{shown(raw)}'; expected one of "
            "sms, email, webhook (短信, 邮件, 网络回调)",
            field=field.lstrip("-"),
        )
    return channel


# The lengths the database enforces (PostgreSQL refuses a longer value and, with it, the
# whole import; SQLite does not), read from the models so the two never disagree.
def column_length(column: Any) -> int:
    """The most characters a ``String`` column holds (e.g. ``EnterpriseTag.tag``: 50)."""
    kind = column.type
    assert isinstance(kind, String) and kind.length, f"{column} is not a String(n) column"
    return int(kind.length)


MAX_NAME_LENGTH = column_length(Enterprise.name)
MAX_REGION_LENGTH = column_length(Enterprise.region)
MAX_TAG_LENGTH = column_length(EnterpriseTag.tag)
MAX_TOPIC_LENGTH = column_length(EnterpriseTopic.topic)
MAX_ADDRESS_LENGTH = column_length(Contact.address)

_CONTACT_OF_CHANNEL = {SMS: "phone", EMAIL: "email", WEBHOOK: "webhook_url"}
# Staff typing with a Chinese input method often produce the full-width semicolon.
_LIST_SEPARATORS = (";", "；")
_WHOLE_ROW = "row"
# Sectors, regions, sizes, channels, topics and tags repeat from row to row: their cells are
# parsed once each (a bad cell raises, which is not cached, so its error is built each time).
_CACHED_CELLS = 4096


@dataclass(frozen=True)
class RowError:
    """One problem in one row: ``field`` is a column name, or ``"row"`` for the whole row;
    ``reason`` is Chinese first, then `` / `` and English (``校验位不对 / the check ...``)."""

    row: int
    field: str
    reason: str

    @property
    def message(self) -> str:
        """``第 12 行 统一社会信用代码：校验位不对 / credit_code: the check character ...``"""
        column = FIELD_WORDS.get(self.field, self.field)
        chinese, _, english = self.reason.partition(" / ")
        if not english:  # a reason in both languages at once
            return f"第 {self.row} 行 {column} / {self.field}: {self.reason}"
        return f"第 {self.row} 行 {column}：{chinese} / {self.field}: {english}"


class _Invalid(Exception):
    """A cell's value is wrong: the reason shown to the user, Chinese first."""

    def __init__(self, chinese: str, english: str | None = None) -> None:
        super().__init__(chinese if english is None else f"{chinese} / {english}")


def _bilingual(chinese: str, english: str) -> str:
    return f"{chinese} / {english}"


def iter_enterprise_rows(
    stream: TextIO, *, executor: Executor | None = None
) -> Iterator[EnterpriseRecord | RowError]:
    """Read the header now, then yield a record or the errors of each data row, in file order.

    Parameters:
        stream: text opened with ``encoding="utf-8-sig", newline=""``.
        executor: checks batches of rows after the first in its worker processes, a few batches
            ahead of the caller; without one every row is checked here. The results are the same.

    Returns:
        An iterator of ``EnterpriseRecord`` (good rows) and ``RowError`` (one per bad field).

    Raises:
        InputError: for an empty file, missing or repeated required columns (at once), or a file
            the CSV reader cannot parse (while iterating, after the rows before it).
    """
    return iter_register_rows(csv_rows(stream), executor=executor)


def iter_register_rows(
    rows: Iterator[list[str]],
    *,
    executor: Executor | None = None,
    max_cell_chars: int | None = None,
    region_prefix: str = "",
) -> Iterator[EnterpriseRecord | RowError]:
    """``iter_enterprise_rows`` over rows of cells already read (a CSV or an XLSX sheet), the
    header first.

    A cell longer than ``max_cell_chars`` is an error of its row and field, and no field rule
    reads it. Street and community columns are joined onto the region column's value, or onto
    ``region_prefix`` (``浙江省/宁波市/北仑区``) in a register without a region column.
    """
    columns = _read_header(next(rows, None))
    layout = _Layout(tuple(columns), region_prefix.strip().strip("/"))
    return _iter_rows(rows, layout, executor, max_cell_chars)


def with_header(rows: Iterator[list[str]], header: list[str] | None) -> Iterator[list[str]]:
    """``rows`` (its header already taken) under ``header`` instead, e.g. a mapping's field
    names; nothing for None (an empty file)."""
    if header is None:
        return
    yield header
    yield from rows


@dataclass(frozen=True)
class _Layout:
    """What each column of a register holds, and the region its street names belong to."""

    columns: tuple[str, ...]
    region_prefix: str = ""


def column_of_heading(heading: str) -> str | None:
    """The field a register's heading names (``所属街道``: ``street``; ``credit_code`` itself),
    or None for a heading no field is known by."""
    word = heading.lstrip("\ufeff").strip().lower()
    column = _column_of(word)
    return column if column in FIELDS else None


def parse_enterprise_csv(stream: TextIO) -> tuple[list[EnterpriseRecord], list[RowError]]:
    """Return the good records and the errors of a whole file; see ``iter_enterprise_rows``."""
    records: list[EnterpriseRecord] = []
    errors: list[RowError] = []
    for item in iter_enterprise_rows(stream):
        if isinstance(item, RowError):
            errors.append(item)
        else:
            records.append(item)
    return records, errors


def csv_rows(stream: TextIO, *, max_line_chars: int | None = None) -> Iterator[list[str]]:
    """The records of a CSV stream as lists of cells.

    With ``max_line_chars``, a record (its lines together, for a quoted cell that spans lines)
    longer than that stops the reading before the CSV reader holds it: a file of one endless
    line costs no more than the limit.

    Raises:
        InputError: (``file``) a record the CSV reader cannot parse, or one over the limit.
    """
    lines = _BoundedLines(stream, max_line_chars) if max_line_chars else stream
    reader = csv.reader(lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"line {reader.line_num}: {exc}", field="file") from exc
        if isinstance(lines, _BoundedLines):
            lines.record_chars = 0
        yield cells


class _BoundedLines:
    """The lines of a stream, each read with a bound, counting the characters of the record the
    CSV reader is building (``csv_rows`` resets the count after each record)."""

    def __init__(self, stream: TextIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._number = 0
        self.record_chars = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._stream.readline(self._limit + 1)
        if not line:
            raise StopIteration
        self._number += 1
        self.record_chars += len(line.rstrip("\r\n"))
        if self.record_chars > self._limit:
            raise InputError(
                f"file: 第 {self._number} 行超过 {self._limit} 个字符 / "
                f"line {self._number} is longer than {self._limit} characters",
                field="file",
            )
        return line


def _read_header(header: list[str] | None) -> list[str]:
    if header is None:
        raise InputError("the file is empty; expected a header row", field="header")
    # Excel writes a byte order mark; strip it even if the caller did not open with utf-8-sig.
    columns = [_column_of(cell.lstrip("\ufeff").strip().lower()) for cell in header]
    has_region = any(column in columns for column in ("region", *REGION_PARTS))
    missing = [
        f"{column} ({HEADER_WORDS[column][0]})"
        for column in REQUIRED_COLUMNS
        if column not in columns and not (column == "region" and has_region)
    ]
    if missing:
        raise InputError(
            f"缺少必需的列 / missing required columns: {', '.join(missing)}", field="header"
        )
    repeated = [column for column in FIELDS if columns.count(column) > 1]
    if repeated:
        raise InputError(
            f"列重复 / columns appear more than once: {', '.join(repeated)}", field="header"
        )
    return columns


def _column_of(name: str) -> str:
    return _COLUMN_OF_WORD.get(name, name)


def _iter_rows(
    rows: Iterable[list[str]],
    columns: _Layout,
    executor: Executor | None,
    max_cell_chars: int | None,
) -> Iterator[EnterpriseRecord | RowError]:
    with _SeenCodes() as seen:
        for batch in _checked(_batches(rows), columns, executor, max_cell_chars):
            first_rows = seen.first_rows([(row, code) for row, code, _, _ in batch if code])
            for row, code, values, problems in batch:
                if code and first_rows[code] != row:
                    first = first_rows[code]
                    duplicate = _bilingual(f"与第 {first} 行重复", f"duplicate of row {first}")
                    problems = {**problems, "credit_code": duplicate}
                if problems:
                    for field in sorted(problems, key=_field_order):
                        yield RowError(row=row, field=field, reason=problems[field])
                else:
                    yield EnterpriseRecord(row=row, **values)


# A checked row: (row number, credit code if it is valid, parsed values, reason per bad field).
_Checked = tuple[int, str | None, dict[str, Any], dict[str, str]]
_BATCH = 1000
# Batches handed to the executor before the first of them is waited for.
_AHEAD = 4


def _batches(rows: Iterable[list[str]]) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    try:
        for row, cells in enumerate(rows, start=2):
            # Blank lines still count, so numbers match the spreadsheet.
            if any(cell.strip() for cell in cells):
                batch.append((row, cells))
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    except InputError:
        yield batch  # the rows before a line the CSV reader cannot parse come first
        raise
    yield batch


def _check_batch(
    layout: _Layout, batch: list[tuple[int, list[str]]], max_cell_chars: int | None = None
) -> list[_Checked]:
    """Check rows on their own (no duplicates across rows): a pure function for any process."""
    checked = []
    for row, cells in batch:
        too_long: dict[str, str] = {}
        if max_cell_chars is not None:
            cells, too_long = _without_over_long(cells, list(layout.columns), max_cell_chars)
        values, problems = _check_cells(cells, layout)
        problems.update(too_long)
        checked.append((row, values.get("credit_code"), values, problems))
    return checked


def _without_over_long(
    cells: list[str], columns: list[str], limit: int
) -> tuple[list[str], dict[str, str]]:
    """The cells with each one over ``limit`` emptied (no field rule walks a giant text), and
    the reason for each of their fields."""
    if all(len(cell) <= limit for cell in cells):
        return cells, {}
    reason = f"超过 {limit} 个字符 / longer than {limit} characters"
    too_long = {
        columns[index] if index < len(columns) else _WHOLE_ROW: reason
        for index, cell in enumerate(cells)
        if len(cell) > limit
    }
    return ["" if len(cell) > limit else cell for cell in cells], too_long


def _checked(
    batches: Iterator[list[tuple[int, list[str]]]],
    columns: _Layout,
    executor: Executor | None,
    max_cell_chars: int | None,
) -> Iterator[list[_Checked]]:
    # The first batch is checked here: a small file never waits for worker processes to start.
    first = next(batches, None)
    if first is not None:
        yield _check_batch(columns, first, max_cell_chars)
    if executor is None:
        yield from (_check_batch(columns, batch, max_cell_chars) for batch in batches)
        return
    pending: deque[Future[list[_Checked]]] = deque()
    try:
        for batch in batches:
            pending.append(executor.submit(_check_batch, columns, batch, max_cell_chars))
            if len(pending) > _AHEAD:
                yield pending.popleft().result()
    except InputError:
        # A line the CSV reader cannot parse: the rows before it still come first.
        while pending:
            yield pending.popleft().result()
        raise
    while pending:
        yield pending.popleft().result()


class _SeenCodes:
    """The first row of every credit code so far, kept in a temporary SQLite file.

    A million codes in a dict would take over 100 MB; SQLite keeps a few pages in memory.
    """

    def __enter__(self) -> _SeenCodes:
        self._db = sqlite3.connect("")  # "": a private temporary file, deleted on close
        self._db.execute("CREATE TABLE seen (code TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._db.close()

    def first_rows(self, rows_and_codes: list[tuple[int, str]]) -> dict[str, int]:
        """Note the codes (in row order); return the first row each was seen on."""
        if not rows_and_codes:
            return {}
        self._db.executemany(
            "INSERT OR IGNORE INTO seen (code, row) VALUES (?, ?)",
            [(code, row) for row, code in rows_and_codes],
        )
        codes = list({code for _, code in rows_and_codes})
        first: dict[str, int] = {}
        for start in range(0, len(codes), 500):
            part = codes[start : start + 500]
            marks = ",".join("?" * len(part))
            query = f"SELECT code, row FROM seen WHERE code IN ({marks})"
            first.update(self._db.execute(query, part))
        return first


def _field_order(field: str) -> int:
    return FIELDS.index(field) if field in FIELDS else -1


def _check_cells(cells: list[str], layout: _Layout) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (parsed values, reason per bad field) for one row."""
    columns = layout.columns
    by_column = {column: cell.strip() for column, cell in zip(columns, cells, strict=False)}
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    region_field = _region_field(columns)
    if any(part in columns for part in REGION_PARTS):
        by_column["region"] = _joined_region(by_column, "region" not in columns, layout)
    for field, parse in _PARSERS.items():
        try:
            values[field] = parse(_plain(by_column.get(field, "")))
        except _Invalid as exc:
            problems[region_field if field == "region" else field] = str(exc)
    if "channels" not in columns and "channels" in values:
        # A register without a channel column: every channel it has a good contact for.
        values["channels"] = _channels_of_contacts(values)
    missing_contacts = _channels_without_contact(values)
    if missing_contacts:
        problems["channels"] = missing_contacts
    elif _sms_to_fixed_line(values):
        problems["phone"] = _bilingual(
            "选了短信，但这是固定电话，收不到短信",
            "sms is chosen but this is a fixed line, which cannot take SMS",
        )
    if values.get("phone") is not None:
        values["phone"] = phonenumbers.format_number(
            values["phone"], phonenumbers.PhoneNumberFormat.E164
        )
    extra = [cell for cell in cells[len(columns) :] if cell.strip()]
    if extra:
        problems[_WHOLE_ROW] = _bilingual(
            f"最后一列之后还有 {len(extra)} 个单元格（未加引号的逗号？）",
            f"{len(extra)} cell(s) beyond the last column (an unquoted comma?): "
            + shown(", ".join(extra), limit=200),
        )
    return values, problems


def _plain(cell: str) -> str:
    # Every cell is one line: textrules' line rule (no control or invisible character), checked
    # before any other rule. A NUL would abort the whole import in PostgreSQL.
    problem = line_problem(cell)
    if problem:
        raise _Invalid(problem)  # already Chinese first: "含控制字符 contains control ..."
    return cell


def _channels_without_contact(values: dict[str, Any]) -> str | None:
    # A contact that is present but invalid is reported on its own field, not here.
    missing = [
        channel
        for channel in values.get("channels", ())
        if _CONTACT_OF_CHANNEL[channel] in values and values[_CONTACT_OF_CHANNEL[channel]] is None
    ]
    if not missing:
        return None
    return _bilingual(
        "；".join(
            f"选了{_CHANNEL_WORD[c]}，但{FIELD_WORDS[_CONTACT_OF_CHANNEL[c]]}为空" for c in missing
        ),
        "; ".join(f"{c} is chosen but {_CONTACT_OF_CHANNEL[c]} is empty" for c in missing),
    )


_CHANNEL_WORD = {SMS: "短信", EMAIL: "邮件", WEBHOOK: "网络回调"}


def _channels_of_contacts(values: dict[str, Any]) -> tuple[str, ...]:
    """The channels a row's contacts can take: SMS only to a mobile number."""
    found = [
        channel
        for channel in CHANNELS
        if values.get(_CONTACT_OF_CHANNEL[channel]) is not None
        and not (channel == SMS and _fixed_line(values["phone"]))
    ]
    return tuple(found)


def _region_field(columns: tuple[str, ...]) -> str:
    """The column a region's error is reported on: the region's, or else the street's."""
    if "region" in columns:
        return "region"
    return next((part for part in REGION_PARTS if part in columns), "region")


def _joined_region(by_column: dict[str, str], prefixed: bool, layout: _Layout) -> str:
    """The region of a row whose street and community are columns of their own; empty when the
    row names no street or community (so the region is reported as required)."""
    parts = [by_column.get(part, "").strip("/ ") for part in REGION_PARTS]
    if not any(parts):
        return by_column.get("region", "")
    base = layout.region_prefix if prefixed else by_column.get("region", "").strip("/ ")
    return "/".join(part for part in (base, *parts) if part)


def _sms_to_fixed_line(values: dict[str, Any]) -> bool:
    if SMS not in values.get("channels", ()) or values.get("phone") is None:
        return False
    return _fixed_line(values["phone"])


def _fixed_line(number: phonenumbers.PhoneNumber) -> bool:
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.VOIP)


_REQUIRED = "必填"
_CREDIT_CODE_WORDS = {
    "checksum": "校验位不对",
    "18 characters": "应为 18 位",
    "not allowed": "含不允许的字符",
}


def _too_long(limit: int, length: int) -> _Invalid:
    return _Invalid(
        f"超过 {limit} 个字符（{length}）", f"longer than {limit} characters ({length})"
    )


def _split_list(raw: str) -> list[str]:
    for separator in _LIST_SEPARATORS[1:]:
        raw = raw.replace(separator, _LIST_SEPARATORS[0])
    return [item.strip() for item in raw.split(_LIST_SEPARATORS[0]) if item.strip()]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _parse_credit_code(raw: str) -> str:
    if not raw:
        raise _Invalid(_REQUIRED, "required")
    try:
        return read_credit_code(raw)
    except InputError as exc:
        english = str(exc)
        chinese = next(
            (words for key, words in _CREDIT_CODE_WORDS.items() if key in english),
            "不是有效的统一社会信用代码",
        )
        raise _Invalid(chinese, english) from None


def _parse_name(raw: str) -> str:
    if not raw:
        raise _Invalid(_REQUIRED, "required")
    if len(raw) > MAX_NAME_LENGTH:
        raise _too_long(MAX_NAME_LENGTH, len(raw))
    return raw


@functools.lru_cache(maxsize=_CACHED_CELLS)
def _parse_sectors(raw: str) -> tuple[str, ...]:
    codes: list[str] = []
    problems: list[str] = []
    for item in _split_list(raw):
        try:
            codes.append(normalize_sector(item))
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise _Invalid("行业代码不在 GB/T 4754-2017 中或格式不对", "; ".join(problems))
    if not codes:
        raise _Invalid("至少填一个行业代码", "at least one sector code is required")
    return _unique(codes)


@functools.lru_cache(maxsize=_CACHED_CELLS)
def _parse_region(raw: str) -> str:
    if not raw:
        raise _Invalid(_REQUIRED, "required")
    segments = [segment.strip() for segment in raw.split("/")]
    if "" in segments:
        raise _Invalid(
            "有空的一级（两个 / 相连，或以 / 开头或结尾）",
            "has an empty segment (two '/' in a row, or a leading or trailing '/')")
    region = "/".join(segments)
    if len(region) > MAX_REGION_LENGTH:
        raise _too_long(MAX_REGION_LENGTH, len(region))
    return region


@functools.lru_cache(maxsize=_CACHED_CELLS)
def _parse_size(raw: str) -> str:
    size = read_size(raw)
    if size is None:
        words = SIZE_CHOICES
        if not raw:
            raise _Invalid(_REQUIRED, "required")
        raise _Invalid(
            "不是企业规模，应为 大型、中型、小型、微型之一",
            f"{raw!r} is not a size; expected one of {words}",
        )
    return size


def _parse_phone(raw: str) -> phonenumbers.PhoneNumber | None:
    # The parsed number, so the fixed-line check need not parse it again; _check_cells stores
    # it as E.164.
    if not raw:
        return None
    try:
        return parse_phone(raw)
    except PhoneInvalid as exc:
        raise _Invalid(exc.zh, exc.en) from None


def _parse_email(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _Invalid("不是有效的电子邮箱", f"not a valid email address: {exc}") from None


def _parse_webhook_url(raw: str) -> str | None:
    if not raw:
        return None
    if len(raw) > MAX_ADDRESS_LENGTH:
        raise _too_long(MAX_ADDRESS_LENGTH, len(raw))
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in raw):
        raise _Invalid("含空格或控制字符", "contains spaces or control characters")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise _Invalid("不是有效的网址", f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Invalid("应以 http:// 或 https:// 开头", "must start with http:// or https://")
    if not parts.hostname:
        raise _Invalid("网址没有主机名", "has no host")
    try:
        parse_endpoint(raw)  # a chat robot named in the fragment must be one we know
    except InputError as exc:
        raise _Invalid("网址指向的机器人类型未知", str(exc)) from None
    return raw


@functools.lru_cache(maxsize=_CACHED_CELLS)
def _parse_channels(raw: str) -> tuple[str, ...]:
    channels = _unique(CHANNEL_WORDS.get(item, item.lower()) for item in _split_list(raw))
    unknown = [channel for channel in channels if channel not in CHANNELS]
    if unknown:
        raise _Invalid(
            "未知渠道，应为 短信、邮件、网络回调",
            f"unknown channels {shown(', '.join(unknown))}; expected any of "
            f"{', '.join(CHANNELS)} (短信, 邮件, 网络回调)"
        )
    return channels


def _free_list(limit: int) -> Callable[[str], tuple[str, ...]]:
    """A parser of a ``;``-separated list whose items are at most ``limit`` characters."""

    @functools.lru_cache(maxsize=_CACHED_CELLS)
    def parse(raw: str) -> tuple[str, ...]:
        items = _unique(_split_list(raw))
        longer = [item for item in items if len(item) > limit]
        if longer:
            raise _Invalid(
                f"超过 {limit} 个字符：{shown(longer[0])}",
                f"longer than {limit} characters: {shown(longer[0])} ({len(longer[0])})",
            )
        return items

    return parse


_PARSERS: dict[str, Callable[[str], Any]] = {
    "credit_code": _parse_credit_code,
    "name": _parse_name,
    "sectors": _parse_sectors,
    "region": _parse_region,
    "size": _parse_size,
    "phone": _parse_phone,
    "email": _parse_email,
    "webhook_url": _parse_webhook_url,
    "topics": _free_list(MAX_TOPIC_LENGTH),
    "channels": _parse_channels,
    "tags": _free_list(MAX_TAG_LENGTH),
}
