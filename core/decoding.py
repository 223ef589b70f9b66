"""Bytes in, text out: open a source, refuse what is no table, decode its text.

The first room of reading a predictions file (:func:`core.reading.read_table`): a path,
upload or bytes becomes raw bytes (:func:`source_bytes`), and CSV/TSV bytes become text
(:func:`decode_text`: a BOM, else UTF-8, else a detected encoding such as cp1252). Files
that are no table (PDF, images, old .xls) are recognised by their leading bytes
(:data:`MAGIC`). Every problem is a :class:`~core.errors.DataError` subclass whose message
starts with the file name.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import IO

import numpy as np

from slicewise.core.errors import DataError, EncodingError, FileFormatError

# Leading bytes of files that hold no table Slicewise reads. gzip, bzip2, zip and .xlsx are
# read (core.formats, recognised there by their own leading bytes).
MAGIC = (
    (
        b"\xd0\xcf\x11\xe0",
        "an old Excel .xls workbook (or a password-protected .xlsx); save "
        "it as .xlsx without a password, or export the sheet as CSV",
    ),
    (b"%PDF", "a PDF document, not a table"),
    (b"\x89PNG", "a PNG image, not a table"),
    (b"\xff\xd8\xff", "a JPEG image, not a table"),
    (b"SQLite format 3", "an SQLite database, not a table"),
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_file_path(path: Path) -> None:
    """Raise a :class:`DataError` when ``path`` is missing or is a folder."""
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise DataError(
            f"{path}: is a folder, not a file; give the path of a CSV, TSV or Parquet file"
        )


def source_bytes(source: str | Path | IO[bytes] | bytes, name: str | None) -> tuple[bytes, str]:
    """Return the raw bytes of ``source`` and the file name used in messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "upload"
    if isinstance(source, (str, Path)):
        path = Path(source)
        label = name or path.name or str(path)
        try:
            check_file_path(path)
            return path.read_bytes(), label
        except OSError as exc:
            raise DataError(
                f"{label}: cannot be opened ({exc.strerror or exc}); check the path "
                "and the file's permissions"
            ) from None
    if not (hasattr(source, "getvalue") or hasattr(source, "read")):
        raise TypeError(
            f"expected a path, bytes or a file-like object, got {type(source).__name__}"
        )
    raw_name = getattr(source, "name", None)
    label = name or (Path(raw_name).name if isinstance(raw_name, str) and raw_name else "upload")
    try:
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
    except (OSError, ValueError) as exc:
        raise DataError(f"{label}: cannot be read ({exc}); upload the file again") from None
    if isinstance(data, str):
        data = data.encode("utf-8")
    return bytes(data), label


def _decode_error_detail(data: bytes, exc: UnicodeDecodeError, encoding: str) -> str:
    line = data[: exc.start].count(b"\n") + 1
    return f"byte 0x{data[exc.start]:02x} on line {line} is not valid {encoding}"


def decode_text(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """Decode text, honouring a BOM, else UTF-8, else a detected encoding.

    Parameters
    ----------
    data
        The file's bytes (after any decompression).
    name
        The file name used in messages.
    encoding
        The encoding the user gave; ``None`` or ``""`` detects it.

    Returns
    -------
    (text without BOM, encoding used)

    Raises
    ------
    EncodingError
        The given encoding is unknown or does not fit, or a BOM contradicts the bytes.
    FileFormatError
        The bytes are binary data (or a known non-table format, :data:`MAGIC`), not text.
    """
    if encoding:
        return _decode_as(data, name, encoding)
    with_bom = _decode_with_bom(data, name)
    if with_bom is not None:
        return with_bom
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise FileFormatError(
                f"{name}: is {what}; Slicewise reads CSV, TSV, Parquet or Excel .xlsx files"
            )
    if b"\x00" in data[:8192]:
        return _decode_utf16_without_bom(data, name)
    try:
        return _check_text(data.decode("utf-8"), name, "utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _decode_detected(data, name)


def _decode_as(data: bytes, name: str, encoding: str) -> tuple[str, str]:
    """Decode with the encoding the user gave (a BOM of it is dropped)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise EncodingError(
            f"{name}: {encoding!r} is not a known text encoding; use e.g. utf-8, cp1252, "
            "latin-1 or utf-16, or leave the encoding empty to detect it"
        ) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{name}: cannot be read as {encoding}: {_decode_error_detail(data, exc, encoding)}"
            "; give the file's real encoding (e.g. cp1252, latin-1, utf-16) or leave the "
            "encoding empty to detect it"
        ) from None
    return _check_text(text.removeprefix("\ufeff"), name, encoding), encoding


def _decode_with_bom(data: bytes, name: str) -> tuple[str, str] | None:
    """Decode by the byte-order mark the bytes start with; ``None`` when there is none."""
    for bom, codec, enc in (
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
    ):
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                text = body.decode(codec)
            except UnicodeDecodeError as exc:
                raise EncodingError(
                    f"{name}: starts with a {codec[:6].upper()} byte-order mark but "
                    f"{_decode_error_detail(body, exc, codec[:6])}; save the file again as UTF-8"
                ) from None
            return _check_text(text, name, enc), enc
    return None


def _decode_utf16_without_bom(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes with NULs in their head as UTF-16 without a BOM, else refuse them."""
    head = data[:8192]
    # UTF-16 without a BOM: every other byte of ASCII text is NUL.
    odd, even = head[1::2], head[0::2]
    for enc, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
            try:
                return _check_text(data.decode(enc), name, enc), enc
            except UnicodeDecodeError:
                break
    raise FileFormatError(_binary_message(name))


def _decode_detected(data: bytes, name: str) -> tuple[str, str]:
    """Decode text that is not UTF-8 in the encoding ``charset_normalizer`` detects."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:200_000])
    best = matches.best()
    if best is None:
        raise FileFormatError(_binary_message(name))
    # With few non-ASCII bytes the detector is guessing (it reads "\xfcbung" as Chinese),
    # and several single-byte encodings often fit equally well: then prefer cp1252 (Excel's
    # CSV export on Western Windows; a superset of latin-1's letters) when it fits.
    ties = {enc for m in matches if m.chaos <= best.chaos for enc in m.could_be_from_charset}
    high = int(np.count_nonzero(np.frombuffer(data[:200_000], dtype=np.uint8) >= 0x80))
    enc = best.encoding
    if "cp1252" in ties or (high < 64 and _decodes(data, "cp1252")):
        enc = "cp1252"
    try:
        text = data.decode(enc)
    except UnicodeDecodeError:
        raise EncodingError(
            f"{name}: is not UTF-8 and its encoding cannot be detected; save it as UTF-8 or "
            "give its encoding (e.g. cp1252, latin-1)"
        ) from None
    return _check_text(text, name, enc), enc


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _binary_message(name: str) -> str:
    return (
        f"{name}: looks like binary data, not CSV/TSV text; save the table as CSV (UTF-8) "
        "or Parquet"
    )


def _check_text(text: str, name: str, encoding: str) -> str:
    """Reject decoded text that is mostly control characters (binary data)."""
    sample = text[:65536].rstrip("\x1a")  # DOS end-of-file marker
    if sample:
        bad = len(_CONTROL.findall(sample))
        if "\x00" in sample or bad > max(2, 0.01 * len(sample)):
            raise FileFormatError(
                _binary_message(name)
                if encoding in ("utf-8", "utf-8-sig")
                else (
                    f"{name}: does not read as {encoding} text (it is full of control "
                    "characters); it may be binary data or in another encoding: "
                    "save it as CSV (UTF-8)"
                )
            )
    return text
