"""Register files built by hand, byte by byte where it matters: the XLSX bombs and malformed
workbooks of the upload tests (a ZIP written member by member with ``zipfile``, large members
streamed, so a 600 MB part costs a few seconds and no memory)."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from xml.sax.saxutils import escape

from notifier.inputs.enterprise_csv import HEADER, HEADER_WORDS

MB = 1 << 20
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def content_types(*parts: tuple[str, str]) -> bytes:
    """``[Content_Types].xml`` for the workbook, its sheet and ``parts`` (name, type pairs)."""
    overrides = [("workbook.xml", "sheet.main"), ("worksheets/sheet1.xml", "worksheet"), *parts]
    xml = "".join(
        f'<Override PartName="/xl/{name}" ContentType="{SPREADSHEET}.{kind}+xml"/>'
        for name, kind in overrides
    )
    return (
        DECLARATION
        + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{xml}</Types>'
        ).encode()
    )


ROOT_RELS = (
    DECLARATION
    + (
        f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
        f'Type="{RELATIONS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ).encode()
)
WORKBOOK = (
    DECLARATION
    + (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONS}"><sheets>'
        '<sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ).encode()
)
SHEET_RELATION = (
    f'<Relationship Id="rId1" Type="{RELATIONS}/worksheet" Target="worksheets/sheet1.xml"/>'
)
STRINGS_RELATION = (
    f'<Relationship Id="rId2" Type="{RELATIONS}/sharedStrings" Target="sharedStrings.xml"/>'
)


def workbook_relations(*relations: str) -> bytes:
    """The workbook's relationships part."""
    return (
        DECLARATION
        + f'<Relationships xmlns="{PACKAGE}">{"".join(relations)}</Relationships>'.encode()
    )


Content = bytes | Iterable[bytes]


def inline_row(cells: Iterable[str]) -> bytes:
    """One sheet row of inline strings."""
    xml = "".join(f'<c t="inlineStr"><is><t>{escape(cell)}</t></is></c>' for cell in cells)
    return f"<row>{xml}</row>".encode()


HEADER_ROW = inline_row(HEADER_WORDS[column][0] for column in HEADER)


def sheet(rows: Iterable[bytes], *, prolog: bytes = DECLARATION) -> Iterator[bytes]:
    """A worksheet part: the header row (Chinese words), then ``rows``."""
    yield prolog + f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + HEADER_ROW
    yield from rows
    yield b"</sheetData></worksheet>"


def shared_strings(texts: Iterable[Content], *, prolog: bytes = DECLARATION) -> Iterator[bytes]:
    """A shared strings part; each item of ``texts`` is the XML text of one ``<si><t>``, and may
    be given in several pieces by passing an iterator of pieces for it."""
    yield prolog + f'<sst xmlns="{MAIN}">'.encode()
    for text in texts:
        yield b"<si><t>"
        if isinstance(text, bytes):
            yield text
        else:
            yield from text
        yield b"</t></si>"
    yield b"</sst>"


def workbook(
    sheet_part: Content, shared: Content | None = None, extra: Mapping[str, Content] = {}
) -> bytes:
    """A whole XLSX file (deflate, level 9) around the given parts."""
    parts: dict[str, Content] = {
        "[Content_Types].xml": content_types(),
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": workbook_relations(SHEET_RELATION),
        "xl/worksheets/sheet1.xml": sheet_part,
    }
    if shared is not None:
        parts["[Content_Types].xml"] = content_types(("sharedStrings.xml", "sharedStrings"))
        parts["xl/_rels/workbook.xml.rels"] = workbook_relations(SHEET_RELATION, STRINGS_RELATION)
        parts["xl/sharedStrings.xml"] = shared
    parts.update(extra)
    return zip_of(parts)


def zip_of(parts: Mapping[str, Content]) -> bytes:
    """A ZIP file of ``parts``, each member written as a stream."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in parts.items():
            with archive.open(name, "w") as member:
                for piece in [content] if isinstance(content, bytes) else content:
                    member.write(piece)
    return out.getvalue()


def repeated(piece: bytes, total_bytes: int) -> Iterator[bytes]:
    """``piece`` repeated to ``total_bytes``, in 1 MB blocks."""
    block = piece * max(1, MB // len(piece))
    written = 0
    while written < total_bytes:
        yield block[: total_bytes - written]
        written += len(block)


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """``data`` (a ZIP) with member ``name``'s uncompressed size changed to ``size`` in its
    central directory entry and its local header: a header that lies."""
    patched = bytearray(data)
    entry = patched.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = struct.unpack_from("<H", patched, entry + 28)[0]
        if patched[entry + 46 : entry + 46 + name_length] == name.encode():
            struct.pack_into("<L", patched, entry + 24, size)
            local = struct.unpack_from("<L", patched, entry + 42)[0]
            struct.pack_into("<L", patched, local + 22, size)
            return bytes(patched)
        entry = patched.find(b"PK\x01\x02", entry + 46)
    raise KeyError(name)


BILLION_LAUGHS = DECLARATION + (
    b'<!DOCTYPE sst [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'.encode()
        for n in range(1, 10)
    )
    + b"]>"
)


def external_entity(url: str) -> bytes:
    """A prolog declaring an external entity at ``url`` (XXE)."""
    return DECLARATION + f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "{url}">]>'.encode()
