"""Large downloads sent as they are read: a spooled file or a generator, never one body."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import IO

CHUNK = 64 * 1024


def spooled(write: Callable[[IO[bytes]], object]) -> Iterator[bytes]:
    """What ``write`` writes into a temporary file, read back in chunks; the file is gone
    once the chunks are read (or the reader stops).

    The file is written before the first chunk is given out, so a refusal still comes as an
    error before any byte is sent.
    """
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the generator below
    try:
        write(file)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return file_chunks(file)


def file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    """``file`` read from where it stands in chunks, closed at the end (or when the reader
    stops)."""
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


def encoded(texts: Iterator[str], encoding: str = "utf-8") -> Iterator[bytes]:
    """``texts`` as bytes, one by one."""
    for text in texts:
        yield text.encode(encoding)
