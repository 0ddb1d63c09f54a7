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

`read_landed` reads a landed file once for everything the extract checks on its bytes: its
checksum (the manifest's), the text checks above and its record count (`RecordCount`). Each
was a read of its own before, three reads of every file (issue 20).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

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


def _chunks(path: Path, source: _Readable | None = None) -> Iterator[bytes]:
    """The content in chunks, with gzip's errors turned into a refusal naming the cause.

    `source`: the file's bytes as an open stream (read_landed's, which hashes them), else the
    file is opened here."""
    if path.name.endswith(".gz"):
        if source is None:
            with path.open("rb") as raw:
                magic = raw.read(2)
        else:
            magic = source.read(2)
        if not magic:
            raise FileRefused(f"{path.name}: 0 bytes: not a gzip file (an hour without events is left out)")
        if magic != b"\x1f\x8b":
            raise FileRefused(f"{path.name}: not a gzip file (it starts with {magic!r}, gzip with b'\\x1f\\x8b')")
    try:
        if source is None:
            with open_landed(path) as fh:
                yield from iter(lambda: fh.read(_CHUNK), b"")
        elif path.name.endswith(".gz"):
            with gzip.GzipFile(fileobj=_Prefixed(magic, source), mode="rb") as fh:
                yield from iter(lambda: fh.read(_CHUNK), b"")
        else:
            yield from iter(lambda: source.read(_CHUNK), b"")
    except EOFError as exc:
        raise FileRefused(f"{path.name}: truncated gzip file (the compressed stream ends early: {exc})") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise FileRefused(f"{path.name}: corrupt gzip data ({exc})") from exc


class _TextCheck:
    """The UTF-8 check of `check_text`, fed chunk by chunk: `feed` raises FileRefused at the first
    bad byte, naming its line; `end` returns (starts with a BOM, holds a carriage return)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines, self.carry, self.has_bom, self.has_cr, self.first = 0, b"", False, False, True

    def feed(self, chunk: bytes) -> None:
        data = self.carry + chunk
        if self.first:
            self.has_bom, self.first = data.startswith(BOM), False
        nul = data.find(b"\x00")
        if nul >= 0:
            line = self.lines + data.count(b"\n", 0, nul) + 1
            raise FileRefused(
                f"{self.name}: line {line}: a NUL byte: not UTF-8 text (UTF-16?); the agreement's encoding is UTF-8"
            )
        try:
            data.decode("utf-8")
            self.carry = b""
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                line = self.lines + data.count(b"\n", 0, exc.start) + 1
                raise FileRefused(
                    f"{self.name}: line {line}: byte 0x{data[exc.start]:02X} is not UTF-8 text "
                    "(latin-1? UTF-16?); the agreement's encoding is UTF-8"
                ) from exc
            self.carry, data = data[exc.start :], data[: exc.start]  # a character split between chunks
        self.lines += data.count(b"\n")
        self.has_cr = self.has_cr or b"\r" in data

    def end(self) -> tuple[bool, bool]:
        if self.carry:
            raise FileRefused(
                f"{self.name}: line {self.lines + 1}: the file ends inside a character: not UTF-8 text; "
                "the agreement's encoding is UTF-8"
            )
        return self.has_bom, self.has_cr


def check_text(path: Path) -> tuple[bool, bool]:
    """Refuse a file that is not UTF-8 text, naming the line of its first bad byte.

    Returns (starts with a BOM, holds a carriage return): whether it needs a plain copy."""
    check = _TextCheck(path.name)
    for chunk in _chunks(path):
        check.feed(chunk)
    return check.end()


_BLANK_LINE_END = re.compile(rb"\n(?=\n)")


class RecordCount:
    """Lines counted chunk by chunk (extract.convert.count_records says what a record is):
    `quoted`, a line end inside double quotes ends no line; `skip_blank`, a blank line counts
    for nothing. `lines` once every chunk is fed: a last line without its line end counts."""

    def __init__(self, *, quoted: bool, skip_blank: bool) -> None:
        self.quoted, self.skip_blank = quoted, skip_blank
        self.counted, self.inside_quotes, self.previous = 0, False, b"\n"  # the start of the file is a line start

    def feed(self, chunk: bytes) -> None:
        for i, part in enumerate(chunk.split(b'"') if self.quoted else [chunk]):
            if i:  # a quote between this part and the one before
                self.inside_quotes, self.previous = not self.inside_quotes, b'"'
            if not part:
                continue
            if not self.inside_quotes:
                self.counted += part.count(b"\n")
                if self.skip_blank:
                    self.counted -= len(_BLANK_LINE_END.findall(part)) + (self.previous == b"\n" and part[:1] == b"\n")
            self.previous = part[-1:]

    @property
    def lines(self) -> int:
        return self.counted + (self.previous != b"\n" or self.inside_quotes)


@dataclass(frozen=True)
class LandedRead:
    """What one read of a landed file found (`read_landed`)."""

    sha256: str
    lines: int
    """Lines as `RecordCount` counts them (CSV: quoted, blank lines skipped; the header included)."""
    has_bom: bool = False
    has_cr: bool = False
    refused: str | None = None
    """Why the file is not readable text (bad bytes, not gzip, cut short): the refusal its
    conversion raises (`plain_file`); the checksum is the whole file's all the same."""


def read_landed(path: Path, *, csv_quoting: bool) -> LandedRead:
    """Read a landed file once: its SHA-256 (of the bytes as landed), its text checks
    (`check_text`) and its lines (`RecordCount`, on the content: decompressed for `.gz`).

    The bytes pass through the hash on their way to the decompression and the checks, which
    is what makes it one read; a file refused part way is hashed to its end all the same."""
    digest = hashlib.sha256()
    check = _TextCheck(path.name)
    count = RecordCount(quoted=csv_quoting, skip_blank=csv_quoting)
    refused = None
    with path.open("rb") as raw:
        source = _Hashing(raw, digest)
        try:
            for chunk in _chunks(path, source):
                check.feed(chunk)
                count.feed(chunk)
            has_bom, has_cr = check.end()
        except FileRefused as refusal:
            refused, has_bom, has_cr = str(refusal), False, False
        while source.read(_CHUNK):  # what the decompression left (trailing bytes, a refusal): hashed
            pass
    return LandedRead(digest.hexdigest(), count.lines, has_bom, has_cr, refused)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Hashing:
    """A binary stream that hashes every byte read through it."""

    def __init__(self, raw: _Readable, digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def read(self, size: int = -1, /) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data


class _Prefixed:
    """`prefix` (bytes already read) followed by the rest of `source`: a stream for gzip."""

    def __init__(self, prefix: bytes, source: _Readable) -> None:
        self.prefix, self.source = prefix, source

    def read(self, size: int = -1, /) -> bytes:
        if not self.prefix:
            return self.source.read(size)
        if 0 <= size < len(self.prefix):
            head, self.prefix = self.prefix[:size], self.prefix[size:]
            return head
        head, self.prefix = self.prefix, b""
        rest = size - len(head) if size >= 0 else -1
        return head + (self.source.read(rest) if rest else b"")

    def seek(self, offset: int, /) -> int:
        raise io.UnsupportedOperation("a landed file is read once, from its start")  # gzip seeks only to rewind


def plain_file(path: Path, workdir: Path, *, csv_quoting: bool, read: LandedRead | None = None) -> PlainFile:
    """The file to read for landed file `path` (see the module's docstring); refuses bad bytes.

    `read`: what `read_landed` found in the file (else it is checked here). `workdir` is made
    only when a copy is needed (most files need none)."""
    if read is None:
        has_bom, has_cr = check_text(path)
    elif read.refused:
        raise FileRefused(read.refused)
    else:
        has_bom, has_cr = read.has_bom, read.has_cr
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
