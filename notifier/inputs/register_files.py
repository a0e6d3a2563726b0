"""Enterprise registers as files (CSV or XLSX), bounded before they are read; and one enterprise
given as a JSON object, made into the CSV text the importer reads.

:func:`open_register` is the one way an uploaded or given file becomes rows: the API, the console
and ``notifier enterprises import`` all call it. It refuses, with one :class:`InputError` naming
the problem, before any row is stored:

- a file over ``max_bytes``; one that is neither CSV (UTF-8 or GB18030) nor XLSX;
- an XLSX whose ZIP directory declares too many parts, a part or a total that unpacks too large,
  a suspicious compression ratio, encryption or a method other than deflate; it is checked from
  the directory before anything is unpacked, and every part is read through ``zipfile``, which
  stops at the size the directory declares (a lying header ends in a CRC or XML error);
- XML with a DOCTYPE (so no entity is ever declared: no XXE, no entity bomb) or a tag over 1 MB;
- more than ``max_rows`` rows (the reading stops at the first row over), a row over
  ``max_row_chars`` characters, a sheet whose cells hold more than ``max_text_chars``.

The XLSX parts are parsed here with expat, as a stream: a cell's text is kept up to
``max_cell_chars + 1`` characters (the importer makes a longer one an error of its row), so a
gigantic shared string or inline string is never held whole.
"""

from __future__ import annotations

import csv
import functools
import io
import posixpath
import struct
import zipfile
import zlib
from array import array
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from xml.parsers import expat

from notifier.errors import InputError
from notifier.inputs.enterprise_csv import ENCODINGS, HEADER, NOT_TEXT, csv_rows

# Cells an XLSX row may have: more is not a register (cells further right are not read).
MAX_COLUMNS = 50
# Bytes of XML fed to the parser at a time.
_CHUNK = 1 << 16
# A tag (with its attributes) longer than this is refused: expat holds a tag whole.
_MAX_TAG_BYTES = 1 << 20
# The compression ratio is judged only for parts larger than this (small parts of a legitimate
# workbook, such as an empty style sheet, compress far better than data does).
_RATIO_FLOOR = 1 << 20
# Bytes of central directory allowed per part (46 fixed, the rest name and extra fields).
_DIRECTORY_BYTES_PER_MEMBER = 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)
# End of central directory: signature, disk, directory disk, entries here, entries, directory
# size, directory offset, comment length.
_END_RECORD = struct.Struct("<4s4H2LH")

# What zipfile raises for a damaged archive: ValueError for an offset the directory got wrong,
# NotImplementedError for a ZIP version or feature it does not know, RuntimeError for a member
# that claims encryption only in its local header.
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
)

Rows = Callable[[], Generator[list[str], None, None]]


@dataclass(frozen=True)
class RegisterLimits:
    """How large a register file may be and what it may hold (see ``[imports]`` settings)."""

    max_rows: int  # data rows; the header is not counted
    max_bytes: int  # the file as given
    max_row_chars: int  # one CSV record or XLSX row, as text
    max_cell_chars: int  # one cell; a longer one is an error of its row
    max_members: int  # XLSX: parts in the ZIP archive
    max_member_bytes: int  # XLSX: one part, unpacked
    max_unpacked_bytes: int  # XLSX: all parts, unpacked
    max_ratio: int  # XLSX: unpacked / packed size of a part over 1 MB
    max_shared_strings_bytes: int  # XLSX: the shared strings part, unpacked
    max_text_chars: int  # XLSX: the text of all cells, as read (shared strings repeat)


def _refused(reason: str) -> InputError:
    return InputError(f"file: {reason}", field="file")


def _not_xlsx(reason: str) -> InputError:
    return _refused(f"不是有效的 XLSX 文件 / not an XLSX file: {reason}")


def open_register(source: BinaryIO, *, name: str, limits: RegisterLimits) -> Rows:
    """Check a register file whole (size, format, every row's shape, the number of rows) and
    return a function that reads its rows again, the header first, as lists of cells.

    The format is told by the file's first bytes (a ZIP archive is XLSX), not by its name.

    Raises:
        InputError: (``file``) the file is refused as a whole; the message says why.
    """
    size = source.seek(0, io.SEEK_END)
    if size > limits.max_bytes:
        raise _refused(f"文件超过 {limits.max_bytes} 字节 / larger than {limits.max_bytes} bytes")
    source.seek(0)
    head = source.read(len(_OLE_MAGIC))
    if head.startswith(_ZIP_MAGIC):
        rows = _xlsx_rows(source, limits)
        for _ in rows():  # the whole sheet once: refused now rather than after stored rows
            pass
        return rows
    if head.startswith(_OLE_MAGIC):
        raise _refused(
            "不支持旧版 .xls 格式，请另存为 .xlsx 或 CSV / the old .xls format is not read; "
            "save it as .xlsx or CSV"
        )
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise _not_xlsx("不是 ZIP 压缩包 / not a ZIP archive")
    return _csv_rows(source, limits)


def _bounded(rows: Iterator[list[str]], limits: RegisterLimits) -> Generator[list[str], None, None]:
    """``rows`` (header first), refused at the first row over the limits."""
    for number, cells in enumerate(rows, start=1):
        if number > limits.max_rows + 1:
            raise _refused(f"超过 {limits.max_rows} 行 / more than {limits.max_rows} rows")
        if sum(map(len, cells)) > limits.max_row_chars:
            raise _refused(
                f"第 {number} 行超过 {limits.max_row_chars} 个字符 / "
                f"row {number} is longer than {limits.max_row_chars} characters"
            )
        yield cells


# CSV


def _csv_rows(source: BinaryIO, limits: RegisterLimits) -> Rows:
    for encoding in ENCODINGS:
        rows = functools.partial(_decoded_rows, source, encoding, limits)
        try:
            for _ in rows():
                pass
        except UnicodeDecodeError:
            continue
        return rows
    raise InputError(NOT_TEXT, field="file")


def _decoded_rows(
    source: BinaryIO, encoding: str, limits: RegisterLimits
) -> Generator[list[str], None, None]:
    source.seek(0)
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    try:
        yield from _bounded(csv_rows(text, max_line_chars=limits.max_row_chars), limits)
    finally:
        if not source.closed:
            text.detach()  # the caller's file stays open


# XLSX: the archive


def _xlsx_rows(source: BinaryIO, limits: RegisterLimits) -> Rows:
    archive = _open_archive(source, limits)
    sheet, shared = _first_sheet(archive)
    # A workbook without a shared string (every text inline) may still name the part.
    strings = (
        _read_shared_strings(archive, shared, limits)
        if shared is not None and shared in archive.NameToInfo
        else _SharedStrings()
    )
    return functools.partial(_sheet_rows, archive, sheet, strings, limits)


def _check_end_record(source: BinaryIO, limits: RegisterLimits) -> None:
    """Refuse an archive whose directory is too long before ``zipfile`` reads it into objects."""
    size = source.seek(0, io.SEEK_END)
    source.seek(max(0, size - _END_RECORD.size - 0xFFFF))
    tail = source.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END_RECORD.size:
        raise _not_xlsx("ZIP 不完整（缺少目录）/ damaged ZIP (no central directory: cut short?)")
    entries, directory_bytes = _END_RECORD.unpack_from(tail, at)[4:6]
    if entries > limits.max_members or directory_bytes > (
        limits.max_members * _DIRECTORY_BYTES_PER_MEMBER
    ):
        raise _not_xlsx(
            f"ZIP 包含超过 {limits.max_members} 个部件 / more than {limits.max_members} parts"
        )


def _open_archive(source: BinaryIO, limits: RegisterLimits) -> zipfile.ZipFile:
    _check_end_record(source, limits)
    try:
        archive = zipfile.ZipFile(source)
    except _DAMAGED as exc:
        raise _not_xlsx(f"ZIP 损坏 / damaged ZIP ({exc})") from None
    total = 0
    for info in archive.infolist():
        _check_member(info, limits)
        total += info.file_size
    if total > limits.max_unpacked_bytes:
        raise _not_xlsx(
            f"解压后共 {total} 字节，超过 {limits.max_unpacked_bytes} / unpacks to {total} bytes, "
            f"more than {limits.max_unpacked_bytes}"
        )
    return archive


def _check_member(info: zipfile.ZipInfo, limits: RegisterLimits) -> None:
    name = info.filename[:100]
    if info.flag_bits & 0x1:
        raise _not_xlsx(f"{name} 已加密 / {name} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _not_xlsx(f"{name} 的压缩方式不是 deflate / {name} is not compressed with deflate")
    bound = limits.max_member_bytes
    if name.lower().endswith("sharedstrings.xml"):
        bound = min(bound, limits.max_shared_strings_bytes)
    if info.file_size > bound:
        raise _not_xlsx(
            f"{name} 解压后 {info.file_size} 字节，超过 {bound} / {name} unpacks to "
            f"{info.file_size} bytes, more than {bound}"
        )
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise _not_xlsx(
            f"{name} 压缩比超过 {limits.max_ratio} 倍（压缩炸弹？）/ {name} is compressed more "
            f"than {limits.max_ratio} times (a ZIP bomb?)"
        )


# XLSX: the XML parts


def _local(name: str) -> str:
    return name.rpartition("}")[2]


class _Parser:
    """An expat parser over one part: no DOCTYPE (so no entities), no tag over 1 MB, and the
    part read a chunk at a time through ``zipfile`` (which stops at the declared size)."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive = archive
        self.name = name
        self.expat = expat.ParserCreate(namespace_separator="}")
        self.expat.StartDoctypeDeclHandler = self._refuse_doctype
        self.expat.EntityDeclHandler = self._refuse_doctype
        self.expat.buffer_text = True  # a text in one call, not one per line or entity

    def _refuse_doctype(self, *_: object) -> None:
        raise _not_xlsx(
            f"{self.name} 含 DOCTYPE 声明（XXE 或实体炸弹），已拒绝 / {self.name} declares a "
            "DOCTYPE (external or nested entities: XXE or an entity bomb); refused"
        )

    def chunks(self) -> Iterator[None]:
        """Feed the part; yield after each chunk (the handlers have seen it)."""
        fed = 0
        try:
            with self.archive.open(self.name) as stream:
                while chunk := stream.read(_CHUNK):
                    self.expat.Parse(chunk, False)
                    fed += len(chunk)
                    # Where the parser stands: the start of the token it still holds.
                    if fed - self.expat.CurrentByteIndex > _MAX_TAG_BYTES:
                        raise _not_xlsx(
                            f"{self.name} 有超过 1 MB 的标签 / {self.name} has a tag over 1 MB"
                        )
                    yield
            self.expat.Parse(b"", True)
        except KeyError:
            raise _not_xlsx(f"缺少 {self.name} / {self.name} is missing") from None
        except _DAMAGED as exc:
            raise _not_xlsx(f"ZIP 损坏 / damaged ZIP ({exc})") from None
        except (expat.ExpatError, LookupError) as exc:  # LookupError: an unknown encoding
            raise _not_xlsx(
                f"{self.name} 的 XML 无效 / malformed XML in {self.name} ({exc})"
            ) from None
        yield


def _elements(archive: zipfile.ZipFile, name: str, wanted: str) -> list[dict[str, str]]:
    """The attributes (without namespaces) of the first 1,000 ``wanted`` elements of a part."""
    parser = _Parser(archive, name)
    found: list[dict[str, str]] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        if _local(tag) == wanted and len(found) < 1000:
            found.append({_local(key): value for key, value in attributes.items()})

    parser.expat.StartElementHandler = start
    for _ in parser.chunks():
        pass
    return found


def _target(base: str, target: str) -> str:
    return (
        target.lstrip("/")
        if target.startswith("/")
        else posixpath.normpath(posixpath.join(base, target))
    )


def _relationships(archive: zipfile.ZipFile, owner: str) -> list[dict[str, str]]:
    """The relationships of part ``owner`` ("" for the package), targets made archive names."""
    folder, base = posixpath.split(owner)
    name = posixpath.join(folder, "_rels", f"{base}.rels")
    return [
        {**rel, "Target": _target(folder, rel.get("Target", ""))}
        for rel in _elements(archive, name, "Relationship")
        if rel.get("TargetMode") != "External"
    ]


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    """The first sheet's part and the shared strings part (if any) of a workbook."""
    book = next(
        (
            r["Target"]
            for r in _relationships(archive, "")
            if r.get("Type", "").endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    )
    sheets = _elements(archive, book, "sheet")
    if not sheets:
        raise _refused("工作簿没有工作表 / the workbook has no sheet")
    related = {r.get("Id"): r for r in _relationships(archive, book)}
    first = related.get(sheets[0].get("id"))
    if first is None:
        raise _not_xlsx("找不到第一个工作表 / the first sheet's part is not named")
    shared = next(
        (r["Target"] for r in related.values() if r.get("Type", "").endswith("/sharedStrings")),
        None,
    )
    return first["Target"], shared


class _Text:
    """Text that arrives in pieces, of which at most ``cap`` characters are kept."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0

    def add(self, data: str) -> None:
        if self.size < self.cap:
            self.parts.append(data[: self.cap - self.size])
            self.size += len(self.parts[-1])

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts, self.size = [], 0
        return text


class _SharedStrings:
    """A workbook's shared strings in one UTF-8 buffer with their end offsets: 4 bytes per
    string beside its text, where a list of str would take some 60."""

    def __init__(self) -> None:
        self.text = bytearray()
        self.ends = array("I")

    def add(self, text: str) -> None:
        self.text += text.encode("utf-8", "surrogatepass")
        self.ends.append(len(self.text))

    def get(self, index: int) -> str | None:
        if not 0 <= index < len(self.ends):
            return None
        start = self.ends[index - 1] if index else 0
        return self.text[start : self.ends[index]].decode("utf-8", "surrogatepass")


def _read_shared_strings(
    archive: zipfile.ZipFile, name: str, limits: RegisterLimits
) -> _SharedStrings:
    """Every ``<si>``'s text (its runs joined, phonetic guides left out), each cut to the cell
    bound + 1 while it is read."""
    parser = _Parser(archive, name)
    table = _SharedStrings()
    text = _Text(limits.max_cell_chars + 1)
    state = {"t": False, "phonetic": 0}

    def start(tag: str, _attributes: dict[str, str]) -> None:
        local = _local(tag)
        if local == "si":
            text.take()
        elif local == "rPh":
            state["phonetic"] += 1
        state["t"] = local == "t" and not state["phonetic"]

    def end(tag: str) -> None:
        local = _local(tag)
        if local == "si":
            table.add(text.take())
        elif local == "rPh":
            state["phonetic"] -= 1
        state["t"] = False

    def data(chars: str) -> None:
        if state["t"]:
            text.add(chars)

    parser.expat.StartElementHandler = start
    parser.expat.EndElementHandler = end
    parser.expat.CharacterDataHandler = data
    for _ in parser.chunks():
        pass
    return table


def _column(reference: str | None) -> int | None:
    """0 for "A7", 27 for "AB7"; None when there is no reference."""
    if not reference:
        return None
    letters = reference.rstrip("0123456789").upper()
    if not letters or len(letters) > 3 or not letters.isalpha() or not letters.isascii():
        return None
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _number_text(raw: str) -> str:
    """A numeric cell as the register means it: 13800138000, not 1.3800138E10 or 13800138000.0
    (a phone number typed as a number)."""
    try:
        if "." in raw or "e" in raw.lower():
            number = float(raw)
            return str(int(number)) if number.is_integer() else str(number)
        return str(int(raw))
    except (ValueError, OverflowError):
        return raw


class _Sheet:
    """The handlers that turn a sheet's XML into rows of at most ``MAX_COLUMNS`` cells."""

    def __init__(self, parser: _Parser, strings: _SharedStrings, limits: RegisterLimits) -> None:
        self.parser = parser
        self.strings = strings
        self.limits = limits
        self.done: list[tuple[int, list[str]]] = []
        self.row: list[str] = []
        self.number = 0
        self.cell: dict[str, str] | None = None
        self.text = _Text(limits.max_cell_chars + 1)
        self.reading = False
        self.phonetic = 0
        self.text_chars = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        local = _local(tag)
        if local == "row":
            self.row = []
            given = attributes.get("r", "")
            after = self.number + 1
            self.number = int(given) if given.isdecimal() and after <= int(given) < 10**7 else after
        elif local == "c":
            self.cell = attributes
            self.text.take()
        elif local == "rPh":
            self.phonetic += 1
        self.reading = self.cell is not None and local in ("v", "t") and not self.phonetic

    def end(self, tag: str) -> None:
        local = _local(tag)
        self.reading = False
        if local == "c" and self.cell is not None:
            self._keep_cell(self.cell)
            self.cell = None
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "row":
            self.done.append((self.number, self.row))

    def data(self, chars: str) -> None:
        if self.reading:
            self.text.add(chars)

    def _keep_cell(self, cell: dict[str, str]) -> None:
        column = _column(cell.get("r"))
        column = len(self.row) if column is None else column
        if column >= MAX_COLUMNS:
            return
        value = self._value(cell, self.text.take())
        self.text_chars += len(value)
        if self.text_chars > self.limits.max_text_chars:
            raise _refused(
                f"表格文字超过 {self.limits.max_text_chars} 个字符 / the sheet holds more than "
                f"{self.limits.max_text_chars} characters of text"
            )
        if column >= len(self.row):
            self.row.extend([""] * (column - len(self.row) + 1))
        self.row[column] = value

    def _value(self, cell: dict[str, str], raw: str) -> str:
        kind = cell.get("t", "n")
        if kind == "s":
            found = self.strings.get(int(raw)) if raw.strip().isdecimal() else None
            if found is None:
                reference = cell.get("r", "?")[:12]
                raise _not_xlsx(
                    f"{reference} 引用的共享字符串不存在 / {reference} names a shared string "
                    "that does not exist"
                )
            return found
        if kind == "b":
            return "true" if raw.strip() == "1" else "false"
        if kind in ("inlineStr", "str", "e", "d"):
            return raw
        return _number_text(raw.strip())


def _sheet_rows(
    archive: zipfile.ZipFile, name: str, strings: _SharedStrings, limits: RegisterLimits
) -> Generator[list[str], None, None]:
    parser = _Parser(archive, name)
    sheet = _Sheet(parser, strings, limits)
    parser.expat.StartElementHandler = sheet.start
    parser.expat.EndElementHandler = sheet.end
    parser.expat.CharacterDataHandler = sheet.data
    return _bounded(_numbered(parser.chunks(), sheet), limits)


def _numbered(chunks: Iterator[None], sheet: _Sheet) -> Iterator[list[str]]:
    """The sheet's rows in order, a blank one for each row number the sheet skips (so rows are
    numbered as the spreadsheet shows them)."""
    number = 0
    for _ in chunks:
        for row_number, cells in sheet.done:
            while number + 1 < row_number:
                number += 1
                yield []
            number += 1
            yield cells
        sheet.done.clear()


# One enterprise as JSON


def record_as_csv(values: Mapping[str, Any]) -> str:
    """One enterprise given as an object (lists for the multi-valued columns) as a CSV file of
    one data row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerow(
        [
            ";".join(value)
            if isinstance(value := values.get(column), list | tuple)
            else value or ""
            for column in HEADER
        ]
    )
    return out.getvalue()
