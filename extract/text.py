"""A landed file's bytes, checked and made plain before DuckDB reads them.

The agreement (extract/feeds/README.md) asks for UTF-8 text with `\n` line ends, the JSON
lines gzip-compressed. What real senders do besides, and what the extract does about it:

- a UTF-8 byte order mark at the start: accepted (it is not part of the first column's name);
- CRLF line ends, throughout or on some lines: standard CSV (RFC 4180), accepted as `\n`;
- a carriage return alone, outside a quoted field: not a line end of either kind; the row
  that holds it is quarantined, naming the column (the `\r` is read as `CR_MARK`, a control
  character that no valid field or JSON line holds unescaped, so the row can be found);
- another encoding (latin-1, UTF-16) or a NUL byte: the file is refused, naming the line of
  the first bad byte: a reader that guessed the encoding would load wrong names silently;
- a `.gz` file that is empty, not gzip, or cut short: the file is refused, naming the cause.

A file that needs none of this (the usual case) is read where it landed; one that needs
it is read from a plain copy in a private temporary directory, under the same name, so
that lineage (file and row) is the landed file's.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BOM = b"\xef\xbb\xbf"
CR_MARK = "\x01"
"""What a stray carriage return is read as (see the module's docstring)."""
_CHUNK = 1 << 20


class FileRefused(Exception):
    """The file cannot be loaded at all (e.g. a required column is missing)."""


@dataclass(frozen=True)
class PlainFile:
    """What DuckDB reads for one landed file: `path` (the landed file, or a plain copy with the
    same name) and whether stray carriage returns were marked in it (`CR_MARK`)."""

    path: Path
    marked_cr: bool = False


def open_landed(path: Path) -> IO[bytes]:
    """The file's content as bytes: decompressed for `.gz`."""
    opener: Any = gzip.open if path.name.endswith(".gz") else Path.open
    handle: IO[bytes] = opener(path, "rb")
    return handle


def _chunks(path: Path) -> Iterator[bytes]:
    """The content in chunks, with gzip's errors turned into a refusal naming the cause."""
    if path.name.endswith(".gz"):
        with path.open("rb") as raw:
            magic = raw.read(2)
        if not magic:
            raise FileRefused(f"{path.name}: 0 bytes: not a gzip file (an hour without events is left out)")
        if magic != b"\x1f\x8b":
            raise FileRefused(f"{path.name}: not a gzip file (it starts with {magic!r}, gzip with b'\\x1f\\x8b')")
    try:
        with open_landed(path) as fh:
            yield from iter(lambda: fh.read(_CHUNK), b"")
    except EOFError as exc:
        raise FileRefused(f"{path.name}: truncated gzip file (the compressed stream ends early: {exc})") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise FileRefused(f"{path.name}: corrupt gzip data ({exc})") from exc


def check_text(path: Path) -> tuple[bool, bool]:
    """Refuse a file that is not UTF-8 text, naming the line of its first bad byte.

    Returns (starts with a BOM, holds a carriage return): whether it needs a plain copy."""
    lines, carry, has_bom, has_cr, first = 0, b"", False, False, True
    for chunk in _chunks(path):
        data = carry + chunk
        if first:
            has_bom, first = data.startswith(BOM), False
        nul = data.find(b"\x00")
        if nul >= 0:
            line = lines + data.count(b"\n", 0, nul) + 1
            raise FileRefused(
                f"{path.name}: line {line}: a NUL byte: not UTF-8 text (UTF-16?); the agreement's encoding is UTF-8"
            )
        try:
            data.decode("utf-8")
            carry = b""
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                line = lines + data.count(b"\n", 0, exc.start) + 1
                raise FileRefused(
                    f"{path.name}: line {line}: byte 0x{data[exc.start]:02X} is not UTF-8 text "
                    "(latin-1? UTF-16?); the agreement's encoding is UTF-8"
                ) from exc
            carry, data = data[exc.start :], data[: exc.start]  # a character split between chunks
        lines += data.count(b"\n")
        has_cr = has_cr or b"\r" in data
    if carry:
        raise FileRefused(
            f"{path.name}: line {lines + 1}: the file ends inside a character: not UTF-8 text; "
            "the agreement's encoding is UTF-8"
        )
    return has_bom, has_cr


def plain_file(path: Path, workdir: Path, *, csv_quoting: bool) -> PlainFile:
    """The file to read for landed file `path` (see the module's docstring); refuses bad bytes.

    `workdir` is made only when a copy is needed (most files need none)."""
    has_bom, has_cr = check_text(path)
    if not (has_bom or has_cr):
        return PlainFile(path)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / path.name
    opener: Any = gzip.open if path.name.endswith(".gz") else Path.open
    with opener(target, "wb") as out:
        inside_quotes, pending_cr, first = False, b"", True
        for chunk in _chunks(path):
            if first:
                chunk, first = chunk.removeprefix(BOM), False
            data = pending_cr + chunk
            pending_cr = b""
            if data.endswith(b"\r"):  # a CR whose next byte is in the next chunk
                data, pending_cr = data[:-1], b"\r"
            parts = data.split(b'"') if csv_quoting else [data]
            for i, part in enumerate(parts):
                if i:
                    inside_quotes = not inside_quotes
                    out.write(b'"')
                out.write(part if inside_quotes else _plain_line_ends(part))
        if pending_cr:
            out.write(b"\r" if inside_quotes else b"\n")  # a last line ending with CR alone
    return PlainFile(target, marked_cr=has_cr)


def _plain_line_ends(text: bytes) -> bytes:
    return text.replace(b"\r\n", b"\n").replace(b"\r", CR_MARK.encode())
