r"""Containers around a table: gzip, bzip2 and zip, recognised by their leading bytes.

:func:`unpack` opens what people wrap a CSV, TSV or Parquet file in, whatever its name:

- gzip (``1f 8b``) and bzip2 (``BZh``) streams, e.g. ``preds.csv.gz`` or ``preds.tsv.bz2``;
- a zip archive (``PK\x03\x04``) holding exactly one table;
- an Excel ``.xlsx`` workbook (a zip archive holding ``xl/workbook.xml``), handed to
  :func:`core.formats.xlsx.read_sheet`.

Decompression streams and stops at :data:`MAX_DECOMPRESSED_BYTES`, so a small file that
expands without end (a "decompression bomb") is refused with a clear message instead of
filling the server's memory. Every problem is a :class:`~core.errors.DataError` whose
message names the file.
"""

from __future__ import annotations

import bz2
import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import PurePosixPath

import pandas as pd

from slicewise.core.errors import DataError, FileFormatError, InvalidValueError
from slicewise.core.formats.xlsx import read_sheet

#: The most bytes a compressed file or a zip member may expand to (2 GiB). The server has
#: 24 GB; the table read from a file takes several times the file's size, so a larger
#: file belongs to the CLI's DuckDB engine (``--engine duckdb``), which streams.
MAX_DECOMPRESSED_BYTES = 2 * 1024**3

#: How many containers may be nested (a ``.csv.gz`` inside a ``.zip`` is two).
MAX_NESTING = 2

_CHUNK = 1 << 24  # bytes of output per decompression step

#: Names of archive members that are not tables (macOS and Windows leave these behind).
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)

_SUFFIXES = {"gzip": (".gz", ".gzip"), "bzip2": (".bz2", ".bzip2", ".bz")}


def container_kind(head: bytes) -> str | None:
    r"""Return ``"gzip"``, ``"bzip2"`` or ``"zip"`` from a file's leading bytes, else ``None``.

    The signatures are those of RFC 1952 (gzip: ``1f 8b``), bzip2 (``BZh``, the block size
    digit, then the block or end-of-stream magic) and PKWARE's APPNOTE (a local file header
    ``PK\x03\x04``, or ``PK\x05\x06`` for an empty archive).

    Examples
    --------
    >>> container_kind(b"\x1f\x8b\x08\x00")
    'gzip'
    >>> container_kind(b"label,prediction") is None
    True
    """
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if (
        head[:3] == b"BZh"
        and head[3:4] in b"123456789"
        and len(head) >= 10
        and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")
    ):
        return "bzip2"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    return None


def unpack(
    data: bytes, name: str, *, sheet: str | None = None, na_values: Iterable[str] = ()
) -> tuple[bytes | pd.DataFrame, str, list[str]]:
    """Open the containers around a table.

    Parameters
    ----------
    data
        The file's bytes.
    name
        The file's name, used in messages and, once containers are opened, to tell the
        inner format (``preds.tsv.gz`` holds ``preds.tsv``).
    sheet
        The sheet of a workbook to read (default: the first visible one).
    na_values
        Text cells of a workbook read as missing (the CSV reader's list).

    Returns
    -------
    (table, inner_name, warnings)
        ``table`` is the bytes of the CSV, TSV or Parquet file inside (bytes that are no
        container come back as they are) and ``inner_name`` the name that tells their
        format; or, for a workbook, the sheet as a DataFrame whose header is still to be
        checked (:func:`read_sheet`) and ``inner_name`` the name of the file and sheet for
        messages (``"book.xlsx, sheet 'preds'"``).

    Raises
    ------
    FileFormatError
        A damaged or truncated container, a zip archive holding no table or several, a
        password, or more than :data:`MAX_DECOMPRESSED_BYTES` once decompressed.
    EmptyFileError
        The chosen sheet is empty or has a header but no rows.
    InvalidValueError
        ``sheet`` is given for a file that is no workbook, or names no sheet of it.
    """
    inner = name
    for _ in range(MAX_NESTING + 1):
        kind = container_kind(data[:16])
        if kind is None:
            break
        if kind == "zip":
            with _open_zip(data, name) as archive:
                if _is_workbook(archive, name):
                    _check_declared_sizes(archive, name)
                    frame, label, note = read_sheet(data, name, sheet=sheet, na_values=na_values)
                    return frame, label, note
                data, inner = _only_member(archive, name)
        else:
            data = _decompress(data, name, kind)
            inner = _strip_suffix(inner, _SUFFIXES[kind])
    else:
        raise FileFormatError(
            f"{name}: holds archives or compressed files nested more than "
            f"{MAX_NESTING} deep; extract the table and read it directly"
        )
    if sheet is not None:
        raise InvalidValueError(
            f"{name}: a sheet ({sheet!r}) can be chosen in an Excel .xlsx "
            "workbook only; this file is not one"
        )
    return data, inner, []


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for s in suffixes:
        if name.lower().endswith(s):
            return name[: -len(s)]
    return name


# --------------------------------------------------------------------------- gzip, bzip2


def _too_big(name: str, what: str) -> FileFormatError:
    limit = MAX_DECOMPRESSED_BYTES
    shown = f"{limit / 2**30:g} GiB" if limit >= 2**30 else f"{limit:,} bytes"
    return FileFormatError(
        f"{name}: expands to more than {shown} once {what} (the most Slicewise decompresses; "
        "a very small file that expands this far may be a decompression bomb); decompress it "
        "yourself and analyse the table with `slicewise analyze FILE --engine duckdb`"
    )


def _damaged(name: str, what: str, reason: str) -> FileFormatError:
    return FileFormatError(
        f"{name}: is {what} but cannot be decompressed ({reason}); the file "
        "may be truncated or damaged: compress it again, or save the table "
        "as CSV"
    )


def _decompress(data: bytes, name: str, kind: str) -> bytes:
    """Decompress every stream of a gzip or bzip2 file, at most :data:`MAX_DECOMPRESSED_BYTES`.

    Several streams one after the other (``cat a.gz b.gz``) are one file, as for ``gunzip``;
    bytes after the last stream that start no other (zero padding) are ignored.
    """
    what = {"gzip": "gzip-compressed", "bzip2": "bzip2-compressed"}[kind]
    step = _gunzip_stream if kind == "gzip" else _bunzip_stream
    magic = b"\x1f\x8b" if kind == "gzip" else b"BZh"
    chunks: list[bytes] = []
    rest = data
    try:
        while rest.startswith(magic):
            rest = step(rest, chunks, name, what)
    except DataError:
        raise
    except (zlib.error, OSError, EOFError, ValueError) as exc:
        raise _damaged(name, what, str(exc) or type(exc).__name__) from None
    return b"".join(chunks)


def _emit(chunks: list[bytes], out: bytes, name: str) -> None:
    """Append ``out`` to ``chunks``, refusing past :data:`MAX_DECOMPRESSED_BYTES` in all."""
    if sum(map(len, chunks)) + len(out) > MAX_DECOMPRESSED_BYTES:
        raise _too_big(name, "decompressed")
    chunks.append(out)


def _gunzip_stream(data: bytes, chunks: list[bytes], name: str, what: str) -> bytes:
    """Decompress one gzip member of ``data`` into ``chunks``; return the bytes after it."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    buf = data
    while not d.eof:
        out = d.decompress(buf, _CHUNK)
        before, buf = len(buf), d.unconsumed_tail
        if out:
            _emit(chunks, out, name)
        elif not d.eof and (not buf or len(buf) == before):  # at eof: a complete (empty) file
            raise _damaged(name, what, "the compressed data ends early")
    return d.unused_data


def _bunzip_stream(data: bytes, chunks: list[bytes], name: str, what: str) -> bytes:
    """Decompress one bzip2 stream of ``data`` into ``chunks``; return the bytes after it."""
    d = bz2.BZ2Decompressor()
    buf = data
    while not d.eof:
        if d.needs_input and not buf:
            raise _damaged(name, what, "the compressed data ends early")
        out = d.decompress(buf, _CHUNK)
        buf = b""
        if out:
            _emit(chunks, out, name)
    return d.unused_data


# --------------------------------------------------------------------------- zip


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileFormatError(
            f"{name}: starts like a zip archive (or an Excel .xlsx workbook) but cannot be "
            f"opened ({exc}); it may be truncated or damaged: save it again, or export the "
            "sheet as CSV"
        ) from None


def _is_workbook(archive: zipfile.ZipFile, name: str) -> bool:
    """Whether the archive is an Excel .xlsx (or .xlsm) workbook."""
    names = set(archive.namelist())
    if "xl/workbook.bin" in names:
        raise FileFormatError(
            f"{name}: is an Excel binary workbook (.xlsb); save it as .xlsx or CSV"
        )
    return "xl/workbook.xml" in names


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in archive.infolist() if not i.is_dir() and not _JUNK.search(i.filename)]


def _check_declared_sizes(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse an archive whose members say they expand past the limit (read by others)."""
    if sum(i.file_size for i in archive.infolist()) > MAX_DECOMPRESSED_BYTES:
        raise _too_big(name, "unzipped")


def _only_member(archive: zipfile.ZipFile, name: str) -> tuple[bytes, str]:
    """Return the bytes and name of the one table in ``archive``."""
    names = set(archive.namelist())
    if "mimetype" in names and "content.xml" in names:
        raise FileFormatError(
            f"{name}: is an OpenDocument file (.ods); save the sheet as .xlsx or CSV"
        )
    members = _members(archive)
    if not members:
        raise FileFormatError(
            f"{name}: is a zip archive with no file in it; put one CSV, TSV "
            "or Parquet file in it, or read that file directly"
        )
    if len(members) > 1:
        shown = ", ".join(repr(i.filename) for i in members[:5])
        more = f" and {len(members) - 5} more" if len(members) > 5 else ""
        raise FileFormatError(
            f"{name}: is a zip archive holding {len(members)} files ({shown}{more}); Slicewise "
            "reads one table at a time: extract the one you mean and read it, or zip it alone"
        )
    info = members[0]
    return _read_member(archive, info, name), PurePosixPath(info.filename).name


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """Return the bytes of one member, at most :data:`MAX_DECOMPRESSED_BYTES` of them."""
    label = f"{name} ({info.filename})"
    if info.flag_bits & 0x1:
        raise FileFormatError(
            f"{label}: the zip archive is password-protected; extract the file and read it directly"
        )
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > MAX_DECOMPRESSED_BYTES:
                    raise _too_big(name, "unzipped")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise _damaged(label, "a zip archive", str(exc) or type(exc).__name__) from None
    except NotImplementedError as exc:  # e.g. deflate64 or an unknown compression method
        raise FileFormatError(
            f"{label}: the zip archive uses a compression method Python "
            f"cannot read ({exc}); zip it again with the usual method "
            "(deflate)"
        ) from None
    return b"".join(chunks)
