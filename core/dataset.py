"""Load, validate and map a predictions table.

The data contract: one row per example, from CSV, TSV, Parquet or an Excel .xlsx sheet
(also compressed or zipped, see :mod:`core.formats`), with a label and a prediction column
(auto-detected from common names, always overridable), and optionally an id, one
human-label column, a score column, tag columns and metadata of any type.

Every problem is raised as a :class:`core.errors.DataError` subclass whose message names
the file, the column and example rows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from slicewise.core import formats
from slicewise.core.baselines import HUMAN_KINDS, is_majority_name
from slicewise.core.errors import (
    AmbiguousColumnError,
    DataError,
    DuplicateColumnError,
    DuplicateIdError,
    EmptyFileError,
    EncodingError,
    FileFormatError,
    InvalidValueError,
    MissingColumnError,
    MissingValuesError,
    RowNumbers,
    format_rows,
)
from slicewise.core.values import (
    NumberFormat,
    as_text,
    canonical_classes,
    class_key,
    class_keys,
    likely_number_cause,
    read_numbers,
    to_numbers,
)

# Names each role is recognised by, compared after lower-casing and turning spaces and
# hyphens into underscores.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "label": (
        "label",
        "labels",
        "y_true",
        "ytrue",
        "target",
        "ground_truth",
        "groundtruth",
        "gold",
        "gold_label",
        "true_label",
        "true_class",
        "true_category",
        "truth",
        "reference",
        "ref",
        "actual",
        "y",
        "class",
    ),
    "prediction": (
        "prediction",
        "predictions",
        "pred",
        "preds",
        "y_pred",
        "ypred",
        "predicted",
        "predicted_label",
        "prediction_label",
        "model_prediction",
        "model_output",
        "output",
        "hypothesis",
        "hyp",
        "yhat",
        "y_hat",
    ),
    "human": (
        "human_label",
        "human",
        "annotator_label",
        "human_prediction",
        "human_transcript",
        "human_labels",
        "annotator",
        "inspector",
        "inspector_label",
        "hlp",
        "hlp_label",
        "human_majority",
        "majority_label",
        "human_consensus",
        "consensus_label",
        "crowd_label",
    ),
    # The probability that one person labels the example right (CIFAR-10H: the share of
    # its annotators choosing the true class); see core.baselines.
    "human_accuracy": (
        "human_accuracy",
        "human_acc",
        "annotator_accuracy",
        "human_correct_rate",
        "human_p_correct",
    ),
    "id": ("id", "example_id", "item_id", "uid", "example", "item", "sample_id", "key", "row_id"),
    "score": (
        "score",
        "scores",
        "confidence",
        "probability",
        "prob",
        "proba",
        "y_score",
        "y_prob",
        "pred_score",
        "prediction_score",
    ),
    "tags_column": ("tags", "tag", "tag_list", "error_tags", "slices"),
}

TRUE_TOKENS = frozenset({"true", "t", "1", "1.0", "yes", "y", "x", "✓", "✔"})
FALSE_TOKENS = frozenset({"false", "f", "0", "0.0", "no", "n", ""})
MissingPolicy = Literal["fail", "drop"]
RESERVED = ("id", "label", "prediction", "human", "score", "human_accuracy")
#: A role mapped to this is switched off (not detected): ``ColumnMapping(score=NO_COLUMN)``.
NO_COLUMN = ""


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column plays which role. ``None`` means "detect" (or "none" once resolved).

    Attributes
    ----------
    label, prediction
        Required roles (``prediction`` may be absent when a score and threshold stand in).
    id, human, score
        Optional roles.
    human_accuracy
        Optional role: per example, the probability in [0, 1] that one person labels it
        right (see :mod:`core.baselines`). When given it is the HLP, taking precedence over
        the human-label column.
    human_kind
        What the human-label column holds: ``"single"`` (one person's label) or
        ``"majority"`` (a majority or other aggregate of several people, whose HLP is an
        upper bound on one person's); ``None`` decides by the column's name
        (:func:`core.baselines.is_majority_name`).
    tag_columns
        Boolean columns used as tags; ``None`` detects them (columns holding only
        true/false, 1/0, yes/no or x/blank values).
    tags_column, tag_delimiter
        Alternatively one column holding delimited tag names (``;`` or ``|``).
    """

    label: str | None = None
    prediction: str | None = None
    id: str | None = None
    human: str | None = None
    score: str | None = None
    tag_columns: tuple[str, ...] | None = None
    tags_column: str | None = None
    tag_delimiter: str | None = None
    human_accuracy: str | None = None
    human_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the mapping as a JSON-friendly dict."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if d["tag_columns"] is not None:
            d["tag_columns"] = list(d["tag_columns"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnMapping:
        """Build a mapping from :meth:`to_dict` output (one stored before a field existed too)."""
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if d.get("tag_columns") is not None:
            d["tag_columns"] = tuple(d["tag_columns"])
        return cls(**d)


@dataclass
class Dataset:
    """A validated predictions table.

    Attributes
    ----------
    frame
        One row per example with canonical columns ``id``, ``label``, ``prediction`` and,
        when present, ``human`` and ``score``; then the metadata columns under their own
        names. Index is a RangeIndex.
    tags
        Boolean DataFrame aligned with ``frame``: one column per tag, ``True`` where the
        example carries the tag (tags overlap).
    mapping
        The resolved :class:`ColumnMapping`.
    source_name
        The file name used in messages.
    content_hash
        SHA-256 of the file's bytes (or of the table, when built from a DataFrame).
    warnings
        Legal but notable facts (rows dropped, encoding detected...).
    options
        The :func:`prepare` options that shaped the table (``missing``, ``positive``,
        ``threshold``); part of the fingerprint.
    blank_tags
        Tags whose file writes "no" as a blank cell (an ``x``/blank column, a tags column):
        a blank there may mean "not reviewed", so a tag only errors carry is read as
        filled on errors only (:mod:`core.tag_scope`).
    """

    frame: pd.DataFrame
    tags: pd.DataFrame
    mapping: ColumnMapping
    source_name: str = "table"
    content_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    blank_tags: tuple[str, ...] = ()

    @property
    def metadata_columns(self) -> list[str]:
        """Columns of ``frame`` that are not a role."""
        return [c for c in self.frame.columns if c not in RESERVED]

    @property
    def has_human(self) -> bool:
        """Whether a human-label column is present."""
        return "human" in self.frame.columns

    @property
    def has_human_accuracy(self) -> bool:
        """Whether a per-example human-accuracy column is present (see :mod:`core.baselines`)."""
        return "human_accuracy" in self.frame.columns

    @property
    def n(self) -> int:
        """Number of examples."""
        return len(self.frame)

    def fingerprint(self) -> str:
        """Return a short stable key for caches: content hash, mapping and options."""
        key = self.content_hash + repr(self.mapping) + repr(sorted(self.options.items()))
        h = hashlib.sha256(key.encode())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------- reading

# Cells read as missing: only blank ones. "NA", "N/A", "null", "None", "nan" are values
# (North America, a class called "None") unless the user lists them (see core.values).
NA_VALUES = ("",)
DELIMITERS = (",", "\t", ";", "|")
# The ``DataFrame.attrs`` key listing the columns read from lists, structs or maps as JSON
# text (set by the Parquet reader and dataset_from_frame, read by prepare).
_NESTED_ATTR = "slicewise_nested_columns"
_SEP_ALIASES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}

# Leading bytes of files that hold no table Slicewise reads. gzip, bzip2, zip and .xlsx are
# read (core.formats, recognised there by their own leading bytes).
_MAGIC = (
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


def _source_bytes(source: str | Path | IO[bytes] | bytes, name: str | None) -> tuple[bytes, str]:
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


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """Decode text, honouring a BOM, else UTF-8, else a detected encoding.

    Returns
    -------
    (text without BOM, encoding used)

    Raises
    ------
    EncodingError
        The given encoding is unknown or does not fit, or a BOM contradicts the bytes.
    FileFormatError
        The bytes are binary data, not text.
    """
    if encoding:
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

    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise FileFormatError(
                f"{name}: is {what}; Slicewise reads CSV, TSV, Parquet or Excel .xlsx files"
            )

    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 without a BOM: every other byte of ASCII text is NUL.
        odd, even = head[1::2], head[0::2]
        for enc, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
                try:
                    return _check_text(data.decode(enc), name, enc), enc
                except UnicodeDecodeError:
                    break
        raise FileFormatError(_binary_message(name))
    try:
        return _check_text(data.decode("utf-8"), name, "utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
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


def _sniff_delimiter(header: str) -> str:
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def _normalize_sep(sep: str | None, name: str) -> str | None:
    if sep is None or sep == "":
        return None
    sep = _SEP_ALIASES.get(sep.lower() if len(sep) > 1 else sep, sep)
    if len(sep) != 1 or sep in '"\r\n' or sep.isalnum():
        raise InvalidValueError(
            f"{name}: {sep!r} cannot be a delimiter; use one character such as ',', ';', '|' "
            "or a tab, or leave it empty to detect it"
        )
    return sep


def read_table(
    source: str | Path | IO[bytes] | bytes,
    *,
    name: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | None = None,
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a CSV, TSV, Parquet or Excel .xlsx file into a DataFrame, checking its shape.

    gzip- and bzip2-compressed files and zip archives holding one such file are read too,
    recognised by their leading bytes (see :mod:`core.formats`). Lists, structs and maps
    in a Parquet file are read as JSON text (one value per cell), with a warning.

    What spreadsheet exports add around a table is left out, with a warning: columns with
    no name and no value (trailing delimiters) and rows where every cell is blank. Excel's
    first line ``sep=;`` gives the delimiter. The frame records how the file numbers its
    rows (:class:`~core.errors.RowNumbers` in ``frame.attrs``), for :func:`prepare`'s
    messages.

    Parameters
    ----------
    source
        A path, raw bytes or a file-like object (e.g. Streamlit's ``UploadedFile``).
    name
        The file name used in messages (defaults to the path's or object's name).
    encoding
        Text encoding; ``None`` honours a BOM, tries UTF-8, then detects.
    sep
        Field delimiter; ``None`` uses tab for ``.tsv`` and otherwise sniffs the header.
    sheet
        The sheet of an .xlsx workbook to read; ``None`` reads the first visible one.

    Returns
    -------
    (frame, content_hash, warnings)

    Raises
    ------
    EmptyFileError, FileFormatError, EncodingError, DuplicateColumnError, InvalidValueError
        Every problem, including whatever pandas, pyarrow or the decompressors would raise,
        is one of these :class:`~core.errors.DataError` subclasses; the message starts with
        the file name (and names the sheet of a workbook). A compressed file expanding past
        :data:`core.formats.MAX_DECOMPRESSED_BYTES` is a FileFormatError.
    """
    df, digest, warnings, _ = _read(source, name=name, encoding=encoding, sep=sep, sheet=sheet)
    return df, digest, warnings


def _read(
    source: str | Path | IO[bytes] | bytes,
    *,
    name: str | None,
    encoding: str | None,
    sep: str | None,
    sheet: str | None = None,
) -> tuple[pd.DataFrame, str, list[str], str]:
    """:func:`read_table`, also returning the file name used in messages."""
    data, name = _source_bytes(source, name)
    try:
        df, warnings = _parse(data, name, encoding, sep, sheet)
    except DataError:
        raise
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # pandas, pyarrow and csv raise many types
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        raise FileFormatError(
            f"{name}: cannot be read as a CSV, TSV or Parquet table ({reason}); check that it "
            "is a text table with one header row, or save it again as CSV (UTF-8)"
        ) from None
    return df, hashlib.sha256(data).hexdigest(), warnings, name


def _parse(
    data: bytes, name: str, encoding: str | None, sep: str | None, sheet: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read the table in ``data``: open its containers, then read CSV/TSV text or Parquet."""
    sep = _normalize_sep(sep, name)
    if not re.search(rb"\S", data):
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row (e.g. "
            "id,label,prediction) and one row per example"
        )
    table, inner, warnings = formats.unpack(data, name, sheet=sheet, na_values=NA_VALUES)
    if isinstance(table, pd.DataFrame):  # a sheet of a workbook; inner names file and sheet
        header = [str(c) for c in table.columns]
        _check_header_is_names(header, inner)
        _check_names(header, inner)
        return table, warnings  # rows and columns without values already left out
    if table is not data:  # decompressed or unzipped: the inner name tells the format
        data = table
        if not re.search(rb"\S", data):
            raise EmptyFileError(
                f"{name}: holds an empty file ({inner}); it needs a header "
                "row (e.g. id,label,prediction) and one row per example"
            )
        if sep is None and inner.lower().endswith((".tsv", ".tab")):
            sep = "\t"
    lower = inner.lower()
    if data[:4] == b"PAR1":
        df, notes = _parse_parquet(data, name)
        return df, [*warnings, *notes]
    if lower.endswith((".parquet", ".pq")):
        raise FileFormatError(
            f"{name}: is named like a Parquet file but is not one (no Parquet "
            "signature); save it again as Parquet, or rename it to .csv if "
            "it is text"
        )
    numbering = RowNumbers(first=2)  # line 1 is the header
    excel = _EXCEL_SEP_LINE.match(data)
    if excel:  # Excel's "sep=;" line: it gives the delimiter, the header is line 2
        sep = sep or _normalize_sep(excel.group(2).decode("latin-1"), name)
        data = (excel.group(1) or b"") + data[excel.end() :]
        numbering = RowNumbers(first=3)
    df = _parse_utf8_with_arrow(data, name, encoding, sep)
    if df is None:
        df = _parse_text(data, name, encoding, sep, warnings, lines_before=numbering.first - 2)
    df, notes = _leave_out_blank_shapes(df, name, numbering)
    return df, [*warnings, *notes]


# Excel reads a first line "sep=;" as the delimiter to use, and writes one when asked.
_EXCEL_SEP_LINE = re.compile(rb"(\xef\xbb\xbf)?sep=([^\w\s\"]|\t)(?:\r\n|\n|\r|$)")


def _parse_text(
    data: bytes,
    name: str,
    encoding: str | None,
    sep: str | None,
    warnings: list[str],
    *,
    lines_before: int = 0,
) -> pd.DataFrame:
    """Read CSV/TSV text with pandas (any encoding; checks that name the rows at fault).

    Every cell is text, blank cells missing; a note on the encoding goes to ``warnings``.
    ``lines_before``: lines of the file before ``data`` (Excel's ``sep=`` line), counted in
    the line numbers of messages.
    """
    text, used = _decode(data, name, encoding)
    if used not in ("utf-8", "utf-8-sig") and encoding is None:
        warnings.append(
            f"{name}: not UTF-8; read as {used} (detected). If letters look "
            "wrong, give the encoding"
        )
    sep, header = _read_header(text, name, sep)
    # pandas pads rows that are too short with missing values, and reads the first column as
    # the index when every row has one field too many: check the field counts first.
    checked = _field_counts_balanced(data, sep, len(header)) if used == "utf-8" else False
    if not checked:
        _check_field_counts(text, sep, name, lines_before=lines_before)
    # UTF-8 bytes go to the parser as they are (faster than re-encoding the text).
    buffer = io.BytesIO(data) if used == "utf-8" else io.StringIO(text)
    try:
        df = pd.read_csv(
            buffer,
            sep=sep,
            skipinitialspace=False,
            low_memory=False,
            encoding="utf-8",
            keep_default_na=False,
            na_values=list(NA_VALUES),
            skip_blank_lines=True,
            dtype=str,
        )
    except pd.errors.EmptyDataError:
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row and one row per example"
        ) from None
    except pd.errors.ParserError as exc:
        raise FileFormatError(
            f"{name}: cannot be parsed as {_sep_name(sep)}-separated text: "
            f"{_short_parser_message(exc, lines_before)}"
        ) from None
    if checked and not isinstance(df.index, pd.RangeIndex):  # pandas took a column as the
        _check_field_counts(text, sep, name, lines_before=lines_before)  # index: find why
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _is_nameless(name: str) -> bool:
    """Whether a header field is blank (pandas names a blank one ``Unnamed: 3``)."""
    return not name.strip() or name.startswith("Unnamed: ")


def _leave_out_blank_shapes(
    df: pd.DataFrame, name: str, numbering: RowNumbers
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out what spreadsheet exports add around a table, with a warning for each.

    - a column with no name in the header and no value in any row (trailing delimiters:
      ``id,label,prediction,,,``); a nameless column that holds values is refused;
    - rows where every cell is blank (rows of only delimiters, ``,,``), e.g. at the end.

    The returned frame records ``numbering``, past the skipped rows, in its ``attrs``
    (:class:`~core.errors.RowNumbers`), so that messages name the file's rows.

    Raises
    ------
    DuplicateColumnError
        A column holds values but has no name.
    EmptyFileError
        No row holds a value.
    """
    names = [str(c) for c in df.columns]
    nameless = [j for j, c in enumerate(names) if _is_nameless(c)]
    notes = []
    if nameless:
        holding = [j for j in nameless if not _missing_mask(df.iloc[:, j]).all()]
        if holding:
            raise _nameless_error([j + 1 for j in holding], name, with_values=True)
        df = df.iloc[:, [j for j, c in enumerate(names) if not _is_nameless(c)]]
        notes.append(formats.nameless_columns_note(name, [j + 1 for j in nameless]))
    blank = _blank_rows(df)
    if blank.all():
        raise EmptyFileError(f"{name}: has a header but no data rows; add one row per example")
    if blank.any():
        positions = np.flatnonzero(blank)
        notes.append(formats.blank_rows_note(name, positions, numbering))
        last = np.flatnonzero(~blank)[-1]  # skipped rows after it change no row's number
        numbering = replace(numbering, skipped=tuple(numbering.of(positions[positions < last])))
        df = df[~blank].reset_index(drop=True)
    numbering.attach(df)
    return df, notes


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Return a mask: True for rows where every cell is missing or only spaces.

    The first column is checked in full; each next one only on the rows still blank (none,
    in most files), so a million rows cost one pass over one column.
    """
    blank = np.ones(len(df), dtype=bool)
    for j in range(df.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        col = df.iloc[:, j]
        blank[rows] = _missing_mask(col if len(rows) == len(df) else col.iloc[rows])
    return blank


def _read_csv_arrow(data: bytes, sep: str, names: list[str]) -> pd.DataFrame | None:
    """Read well-formed UTF-8 text with pyarrow's multi-threaded CSV reader, or return ``None``.

    The fast path for large files (about 2.5x faster than pandas' C parser on 2 cores). Like
    the pandas path it reads every column as text (``names``: the header's fields as
    written), blank cells as missing, so both yield the same table. pyarrow rejects every
    row whose field count differs from the header's (pandas pads short rows), so a table it
    returns needs no field-count check. Any file it cannot read (ragged rows, invalid UTF-8,
    whitespace-only lines...) returns ``None`` and goes through the pandas path, whose checks
    name the rows at fault.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=b'"' in data)
    convert = pacsv.ConvertOptions(
        null_values=list(NA_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        # large_string: what pandas' str dtype holds, so to_pandas copies nothing.
        column_types={n: pa.large_string() for n in names},
    )
    try:
        table = pacsv.read_csv(pa.py_buffer(data), parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    # Blank names as pandas names them ("Unnamed: 3"), so both paths give the same frame.
    read = [f"Unnamed: {i}" if not str(c).strip() else c for i, c in enumerate(table.column_names)]
    if len(set(read)) != table.num_columns:
        return None  # duplicate names (after quoting rules): the pandas path explains them
    if any(not pa.types.is_large_string(t) for t in table.schema.types):
        return None  # a name that did not match the header as split here
    df = table.rename_columns(read).to_pandas(split_blocks=True, self_destruct=True)
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_header(text: str, name: str, sep: str | None) -> tuple[str, list[str]]:
    """Check the first line of ``text`` and return the delimiter and the column names."""
    if not re.search(r"\S", text):
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row (e.g. "
            "id,label,prediction) and one row per example"
        )
    first_line = re.match(r"[^\r\n]*", text).group()
    if not first_line.strip():
        raise EmptyFileError(
            f"{name}: the first line is blank; it must hold the column names "
            "(delete the blank lines above the header)"
        )
    if sep is None:
        tsv = name.lower().endswith((".tsv", ".tab"))
        sep = "\t" if tsv else _sniff_delimiter(first_line)
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=sep), [])]
    if len(header) == 1:
        others = [d for d in DELIMITERS if d != sep and d in first_line]
        if others:
            raise FileFormatError(
                f"{name}: the header is one single column when split on {_sep_name(sep)}s, but "
                f"it contains {_sep_name(others[0])}s; the file is probably "
                f"{_sep_name(others[0])}-delimited: give that delimiter (CLI: --sep "
                f"{others[0]!r}) or leave it empty to detect it"
            )
    _check_header_is_names(header, name)
    _check_names(header, name, allow_nameless=True)  # decided once their values are read
    return sep, header


_HEAD_BYTES = 1 << 16


def _parse_utf8_with_arrow(
    data: bytes, name: str, encoding: str | None, sep: str | None
) -> pd.DataFrame | None:
    """Read a large UTF-8 file fast: check its head here and let pyarrow read the rest.

    Only the head is decoded here (pyarrow checks that the rest is UTF-8: a column that is
    not comes back as binary and the file takes the full path). ``None`` when the file is
    not plain UTF-8 text that pyarrow reads as pandas would (see :func:`_read_csv_arrow`).
    """
    if encoding not in (None, "utf-8", "utf8", "UTF-8") or len(data) <= _HEAD_BYTES:
        return None
    end = data.rfind(b"\n", 0, _HEAD_BYTES) + 1
    if not end or data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        text, used = _decode(data[:end], name, encoding)
        if used != "utf-8":
            return None
        sep, _ = _read_header(text, name, sep)
    except DataError:
        return None  # the full path finds the same problem and reports it
    first_line = re.match(r"[^\r\n]*", text).group()
    names = next(csv.reader([first_line], delimiter=sep), [])
    return _read_csv_arrow(data, sep, names)


def _field_counts_balanced(data: bytes, sep: str, n_fields: int) -> bool:
    """Cheap proof that no row is short, for plain files (no quotes, no CR, no blank lines).

    When the delimiters in the whole file number exactly ``(n_fields - 1)`` per line, a short
    row would need a long row to balance it, and pandas rejects long rows itself (or, when the
    first row is long, takes a column as the index, which the caller checks). Two ``count``
    calls instead of a per-line count at a million rows.
    """
    if len(sep) != 1 or ord(sep) > 127 or b'"' in data or b"\r" in data or b"\n\n" in data:
        return False
    body = data[:-1] if data.endswith(b"\n") else data
    lines = body.count(b"\n") + 1
    return body.count(sep.encode()) == (n_fields - 1) * lines


def _parse_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Read a Parquet file; list, struct and map columns become JSON text (with a warning).

    Their names are kept in ``frame.attrs`` so that :func:`prepare` refuses them as roles.
    """
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        # Names are stripped like a CSV header's: " night " is the tag "night".
        names = [str(n).strip() for n in pf.schema_arrow.names]
    except Exception:  # pyarrow raises many types for corrupt files
        raise FileFormatError(
            f"{name}: is not a readable Parquet file (truncated or damaged?); "
            "save it again as Parquet or CSV"
        ) from None
    _check_names(names, name)
    table, nested = formats.nested_arrow_to_text(pf.read())
    df = table.to_pandas()
    if any(n is not None for n in df.index.names):
        df = df.reset_index()  # an index saved with the table (e.g. the ids) becomes a column
        _check_names([str(c).strip() for c in df.columns], name)
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise EmptyFileError(f"{name}: the Parquet file has no rows; add one row per example")
    df = df.reset_index(drop=True)
    RowNumbers(first=1).attach(df)  # no header row: the first row of data is row 1
    if not nested:
        return df, []
    nested = [str(n).strip() for n in nested]
    df.attrs[_NESTED_ATTR] = tuple(nested)
    return df, [formats.nested_warning(name, nested)]


def check_nested_roles(nested: Iterable[str], mapping: ColumnMapping, *, file: str) -> None:
    """Raise when a column read from lists, structs or maps (JSON text) was given a role.

    ``nested`` names those columns: kept in ``DataFrame.attrs`` by the Parquet reader and
    :func:`dataset_from_frame` (checked by :func:`prepare`), found from the column types by
    the DuckDB engine.

    Raises
    ------
    InvalidValueError
        Naming the file, the column, the role and the option to choose another column.
    """
    nested = set(nested)
    if not nested:
        return
    roles = [(r, getattr(mapping, r)) for r in _ROLES]
    roles += [("tag", c) for c in mapping.tag_columns or ()]
    for role, col in roles:
        if col is not None and col in nested:
            what = role.replace("_", " ")
            flag = {"tag": "tag-columns", "tags_column": "tags-column"}.get(role, role)
            raise InvalidValueError(
                f"{file}: the {what} column {col!r} holds lists, structs or maps (read as JSON "
                f"text), but the {what} column must hold one text or number per row: choose "
                f"another column (CLI: --{flag} COLUMN), or flatten it in the file"
            )


def _check_field_counts(text: str, sep: str, name: str, *, lines_before: int = 0) -> None:
    """Raise when a row has more or fewer fields than the header (pandas pads short rows).

    Vectorised over the bytes: a delimiter or line break counts when an even number of
    quote characters precede it. Stray quotes can fool that count, so a mismatch found in a
    file with quotes is confirmed with the ``csv`` module before it is reported.
    ``lines_before``: lines of the file before ``text``, added to the line numbers shown.
    """
    if len(sep) != 1 or ord(sep) > 127:
        return
    raw = text.encode("utf-8")
    b = np.frombuffer(raw, dtype=np.uint8)
    quoted = b'"' in raw
    if quoted:
        inside = (np.cumsum(b == 34, dtype=np.uint8) & 1).astype(bool)
        if inside[-1]:
            return  # an unclosed quote: pandas reports it
        outside = ~inside
    breaks = b == 10
    if b"\r" in raw:  # a lone CR ends a line too (pandas reads old Mac files)
        breaks |= (b == 13) & np.append(b[1:] != 10, True)
    all_breaks = breaks
    if quoted:
        breaks = breaks & outside
    seps = b == ord(sep)
    if quoted:
        seps &= outside
    ends = np.flatnonzero(breaks)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(b)]))
    sep_pos = np.flatnonzero(seps)
    counts = np.searchsorted(sep_pos, ends) - np.searchsorted(sep_pos, starts) + 1
    n_fields = int(counts[0])
    cand = np.flatnonzero(counts != n_fields)
    if len(cand) == 0:
        return
    # Lines holding only whitespace are skipped by the parser, not rows.
    ws = (b == 32) | (b == 13)
    if sep != "\t":
        ws |= b == 9
    s, e = starts[cand], ends[cand]
    nonempty = s < e
    blank = ~nonempty
    if nonempty.any():
        idx = np.empty(2 * int(nonempty.sum()), dtype=np.int64)
        idx[0::2], idx[1::2] = s[nonempty], e[nonempty]
        blank[nonempty] = np.logical_and.reduceat(np.append(ws, True), idx)[0::2]
    cand = cand[~blank]
    if len(cand) == 0:
        return
    hint = "check for a missing or extra delimiter, and quote values that contain one"
    if quoted:
        confirmed = _confirm_field_counts(text, sep)
        if confirmed is None or not len(confirmed[0]):
            return
        lines, found = confirmed
    else:
        lines = np.searchsorted(np.flatnonzero(all_breaks), starts[cand]) + 1
        found = counts[cand]
        header_text = raw[: ends[0]].decode("utf-8", errors="replace")
        row_text = raw[starts[cand[0]] : ends[cand[0]]].decode("utf-8", errors="replace")
        others = [d for d in DELIMITERS if d != sep and d in row_text and d not in header_text]
        if int(found[0]) == 1 and others:
            hint = (
                f"the rows look {_sep_name(others[0])}-delimited while the header is "
                f"{_sep_name(sep)}-delimited; use one delimiter throughout"
            )
    if len(lines) > 1 and int(lines[0]) == 2 and len(set(found[:3].tolist())) == 1:
        hint += "; if line 1 is a title or a note, delete it: the first line must be the header"
    shown = ", ".join(
        f"line {int(ln) + lines_before} has {int(k)}"
        for ln, k in zip(lines[:3], found[:3], strict=True)
    )
    more = f" ({len(lines)} rows in all)" if len(lines) > 3 else ""
    raise FileFormatError(
        f"{name}: the header has {n_fields} {'field' if n_fields == 1 else 'fields'} but "
        f"{shown}{more}; {hint}"
    )


def _confirm_field_counts(text: str, sep: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact (slow) field counts with the ``csv`` module; only run once a mismatch is suspected.

    Returns the first line of each row whose field count differs from the header's, and
    that count; ``None`` when the ``csv`` module cannot read the text either.
    """
    old = csv.field_size_limit()
    try:
        csv.field_size_limit(max(old, len(text) + 1))
        reader = csv.reader(io.StringIO(text, newline=None), delimiter=sep)
        n_fields = len(next(reader, []))
        lines, found = [], []
        start = reader.line_num + 1
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()) and len(row) != n_fields:
                lines.append(start)
                found.append(len(row))
            start = reader.line_num + 1
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(old)
    return np.asarray(lines, dtype=np.int64), np.asarray(found, dtype=np.int64)


def _sep_name(sep: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def _short_parser_message(exc: Exception, lines_before: int = 0) -> str:
    msg = (str(exc).strip().splitlines() or [""])[-1]
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return (
            f"line {int(m.group(2)) + lines_before} has {m.group(3)} fields where the "
            f"header has {m.group(1)}; "
            "check for a stray delimiter, and quote values that contain one"
        )
    m = re.search(r"EOF inside string starting at row (\d+)", msg)
    if m:
        return (
            f"a quoted value starting on line {int(m.group(1)) + 1 + lines_before} is "
            "never closed; "
            'remove the stray " or close the quote'
        )
    return msg[:200]


def _check_names(names: list[str], file: str, *, allow_nameless: bool = False) -> None:
    """Raise when a header field is blank or two fields share a name.

    ``allow_nameless``: blank fields pass (the reader decides once it has read their
    values, see :func:`_leave_out_blank_shapes`); named fields must still differ.

    Raises
    ------
    DuplicateColumnError
        Naming the file and the columns (1-based).
    """
    blanks = [i + 1 for i, n in enumerate(names) if _is_nameless(str(n))]
    if blanks and not allow_nameless:
        raise _nameless_error(blanks, file)
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if allow_nameless and i + 1 in blanks:
            continue
        if n in seen:
            raise DuplicateColumnError(
                f"{file}: column name {n!r} appears twice (columns {seen[n] + 1} and {i + 1}); "
                "rename one of them"
            )
        seen[n] = i


def _nameless_error(
    columns: list[int], file: str, *, with_values: bool = False
) -> DuplicateColumnError:
    """Return the error for header fields with no name (``columns``: 1-based positions)."""
    one = len(columns) == 1
    where = ", ".join(map(str, columns[:5])) + (
        f" and {len(columns) - 5} more" if len(columns) > 5 else ""
    )
    what = "has no name" if one else "have no name"
    if with_values:
        what += " but holds values" if one else " but hold values"
    hint = (
        " (a table saved by pandas with its index has a blank first column: save it "
        "with index=False)"
        if columns[0] == 1
        else " (the first line must be the header: delete any title or notes above it)"
        if with_values
        else ""
    )
    return DuplicateColumnError(
        f"{file}: {'column' if one else 'columns'} {where} of the header "
        f"{what}; give every column a name{hint}"
    )


def _check_header_is_names(header: list[str], file: str) -> None:
    def numeric(s: str) -> bool:
        try:
            float(s)
            return True
        except ValueError:
            return False

    if sum(numeric(h) for h in header) * 2 > len(header):
        raise EmptyFileError(
            f"{file}: the first line ({', '.join(header[:4])}{'...' if len(header) > 4 else ''})"
            " looks like data, not column names; add a header row such as label,prediction"
        )


# --------------------------------------------------------------------------- mapping


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _distinct_present(col: pd.Series, limit: int | None = None) -> list[Any] | None:
    """Return the distinct non-missing values of ``col``; ``None`` when more than ``limit``.

    A column's head is looked at first, so a column of many values (ids, scores) is rejected
    without hashing a million cells. Raises ``TypeError`` for unhashable cells.
    """
    if limit is not None and len(col) > 4096:
        head = col.iloc[:4096].unique()
        if len(head) > limit + 1:  # + 1: a missing value may be among them
            return None
    uniques = [v for v in col.unique() if not _is_missing_scalar(v)]
    if limit is not None and len(uniques) > limit:
        return None
    return uniques


def _is_missing_scalar(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _is_boolean_like(col: pd.Series, seen: dict[str, list[Any]] | None = None) -> bool:
    """Whether ``col`` holds true/false-like values; their distinct values go in ``seen``."""
    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        uniques = _distinct_present(col, limit=6)
    except TypeError:  # unhashable cells (lists from Parquet)
        return False
    if uniques is None:
        return False
    if seen is not None:
        seen[str(col.name)] = uniques
    tokens = {str(v).strip().lower() for v in uniques}  # missing cells count as false
    tokens = {t[:-2] if t in ("1.0", "0.0") else t for t in tokens}
    truthy, falsy = tokens & TRUE_TOKENS, tokens & FALSE_TOKENS - {""}
    # One spelling per side: {"x", "y"} or {"yes", "y"} are categories, not a flag.
    return tokens <= (TRUE_TOKENS | FALSE_TOKENS) and len(truthy) == 1 and len(falsy) <= 1


def find_role_candidates(df: pd.DataFrame) -> dict[str, list[str]]:
    """Return, for each role, the columns whose names match it (in file order)."""
    out: dict[str, list[str]] = {role: [] for role in ROLE_NAMES}
    for col in df.columns:
        n = _norm(col)
        for role, names in ROLE_NAMES.items():
            if n in names:
                # A "tag" column of true/false values is one boolean tag, not a tag list.
                if role == "tags_column" and _is_boolean_like(df[col]):
                    break
                out[role].append(col)
                break
    return out


def _pick(role: str, options: list[str]) -> str | None:
    """One column for ``role``: the only candidate, or the one named exactly like the role."""
    if len(options) == 1:
        return options[0]
    exact = [c for c in options if _norm(c) == ROLE_NAMES[role][0]]
    return exact[0] if len(exact) == 1 else None


#: Words that make a true/false column read as an outcome, a target or a model output rather
#: than a tag (``is_recid``, ``fraud_label``, ``target_flag`` is a tag: see
#: :data:`TAG_WORDS`); compared with the words of the name (see :func:`name_words`).
OUTCOME_WORDS = frozenset(
    {
        "label",
        "labels",
        "target",
        "targets",
        "outcome",
        "outcomes",
        "result",
        "response",
        "truth",
        "gt",
        "gold",
        "actual",
        "expected",
        "y",
        "yhat",
        "decision",
        "verdict",
        "score",
        "scores",
        "prob",
        "proba",
        "probability",
        "pred",
        "preds",
        "prediction",
        "predictions",
        "predicted",
    }
)
#: Words that make a column a tag whatever else its name says.
TAG_WORDS = frozenset({"tag", "tags", "flag", "flags", "slice"})
#: A name starting with one of these words states a property of the example that is usually
#: the thing predicted (``is_recid``, ``is_fraud``, ``is_spam``), not a reason for an error.
OUTCOME_PREFIXES = frozenset({"is"})


def name_words(name: Any) -> list[str]:
    """Split a column name into lower-case words at non-alphanumerics and camelCase humps.

    Letters of any script count (``نویز`` is one word).

    Examples
    --------
    >>> name_words("isRecid"), name_words("two_year-recid"), name_words("Car noise")
    (['is', 'recid'], ['two', 'year', 'recid'], ['car', 'noise'])
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


def is_tag_name(name: Any) -> bool:
    """Whether a true/false column called ``name`` may be proposed as a tag.

    A tag marks a reason for an error (``car_noise``, ``blurry``, ``night``). A column whose
    name says it is an outcome, a target or a model output (a word of
    :data:`OUTCOME_WORDS`, or a first word of :data:`OUTCOME_PREFIXES` such as ``is_*``) is
    not proposed, unless a word of :data:`TAG_WORDS` (``tag``, ``flag``) says it is one.
    Detection only proposes: such a column can still be chosen as a tag by name.

    Examples
    --------
    >>> [is_tag_name(n) for n in ("car_noise", "is_recid", "target", "y", "risk_flag")]
    [True, False, False, False, True]
    """
    words = name_words(name)
    if TAG_WORDS.intersection(words):
        return True
    if OUTCOME_WORDS.intersection(words):
        return False
    return not words or words[0] not in OUTCOME_PREFIXES


def _detect_tag_columns(
    df: pd.DataFrame,
    exclude: set[str | None],
    cands: dict[str, list[str]],
    seen: dict[str, list[Any]] | None = None,
) -> tuple[str, ...]:
    named_like_role = {c for role, cs in cands.items() if role != "tags_column" for c in cs}
    return tuple(
        c
        for c in df.columns
        if c not in exclude
        and c not in named_like_role
        and is_tag_name(c)
        and _is_boolean_like(df[c], seen)
    )


def detect_mapping(df: pd.DataFrame) -> ColumnMapping:
    """Guess the mapping from column names and values; never raises.

    A role matched by exactly one column is filled; when several match, a column named
    exactly like the role (``label``, ``prediction``, ``id``, ``human_label``, ``score``,
    ``tags``) wins, and otherwise the role stays ``None``. Tag columns are the other columns
    holding only boolean-like values whose names may be tags (:func:`is_tag_name`: not
    ``is_recid``, ``target`` or ``y``), unless a delimited tags column is found by name.
    """
    cands = find_role_candidates(df)
    pick = {role: _pick(role, c) for role, c in cands.items()}
    used = {v for v in pick.values() if v}
    tag_columns: tuple[str, ...] | None
    if pick["tags_column"]:
        tag_columns = ()
    else:
        tag_columns = _detect_tag_columns(df, used, cands)
    return ColumnMapping(
        label=pick["label"],
        prediction=pick["prediction"],
        id=pick["id"],
        human=pick["human"],
        score=pick["score"],
        tag_columns=tag_columns,
        tags_column=pick["tags_column"],
        human_accuracy=pick["human_accuracy"],
    )


_ROLES = ("label", "prediction", "id", "human", "score", "tags_column", "human_accuracy")


def resolve_mapping(
    df: pd.DataFrame,
    mapping: ColumnMapping | None,
    *,
    file: str,
    require_prediction: bool = True,
    distinct: dict[str, list[Any]] | None = None,
) -> ColumnMapping:
    """Fill the unset roles of ``mapping`` by detection and check every named column exists.

    ``distinct``, when given, receives the distinct values of the columns looked at for tag
    detection, so that :func:`parse_boolean_column` need not find them again.

    Raises
    ------
    MissingColumnError
        A named column is absent, or the label/prediction cannot be found.
    AmbiguousColumnError
        Several columns match the label or prediction role and none was chosen.
    InvalidValueError
        One column is given two roles.

    A role given as ``""`` (:data:`NO_COLUMN`; CLI ``--score none``) is switched off: it is
    not detected and comes back as ``None``. Label and prediction cannot be switched off.
    """
    mapping = mapping or ColumnMapping()
    cols = list(df.columns)
    off = {role for role in _ROLES if getattr(mapping, role) == NO_COLUMN}
    for role in off & {"label", "prediction"}:
        if role == "label" or require_prediction:
            raise InvalidValueError(
                f"{file}: the {role} column cannot be switched off; "
                f"choose it (CLI: --{role} COLUMN)"
            )
    if off:
        mapping = replace(mapping, **{role: None for role in off})
    for role in _ROLES:
        value = getattr(mapping, role)
        if value is not None and value not in cols:
            raise MissingColumnError(
                f"{file}: column {value!r} (given as the {role.replace('_', ' ')}) is not in the "
                f"file; its columns are {_list(cols)}"
            )
    for c in mapping.tag_columns or ():
        if c not in cols:
            raise MissingColumnError(
                f"{file}: tag column {c!r} is not in the file; its columns are {_list(cols)}"
            )
    cands = find_role_candidates(df)
    explicit = {getattr(mapping, r) for r in _ROLES} | set(mapping.tag_columns or ())
    filled: dict[str, Any] = {}
    for role in _ROLES:
        if getattr(mapping, role) is not None or role in off:
            continue
        options = [c for c in cands[role] if c not in explicit]
        choice = _pick(role, options) if options else None
        if choice is not None:
            filled[role] = choice
        elif len(options) > 1 and role in ("label", "prediction"):
            raise AmbiguousColumnError(
                f"{file}: several columns could be the {role}: {_list(options)}; "
                f"choose one (CLI: --{role} COLUMN)"
            )
    mapping = replace(mapping, **filled)
    if mapping.label is None:
        raise MissingColumnError(
            f"{file}: no label column found among {_list(cols)}; name it 'label' (or y_true, "
            "target, ground_truth) or choose it (CLI: --label COLUMN)"
        )
    if mapping.prediction is None and require_prediction:
        raise MissingColumnError(
            f"{file}: no prediction column found among {_list(cols)}; name it 'prediction' "
            "(or pred, y_pred, predicted) or choose it (CLI: --prediction COLUMN), or give a "
            "score column and a threshold"
        )
    roles = [(r.replace("_", " "), getattr(mapping, r)) for r in _ROLES]
    roles += [("tag", c) for c in mapping.tag_columns or ()]
    seen: dict[str, str] = {}
    for role, col in roles:
        if col is None:
            continue
        if col in seen:
            raise InvalidValueError(
                f"{file}: column {col!r} cannot be both the {seen[col]} and the {role}; "
                f"choose another column for one of them"
            )
        seen[col] = role
    if mapping.tag_columns is None and mapping.tags_column is None:
        used = {getattr(mapping, r) for r in _ROLES}
        mapping = replace(mapping, tag_columns=_detect_tag_columns(df, used, cands, distinct))
    elif mapping.tags_column is not None and mapping.tag_columns is None:
        mapping = replace(mapping, tag_columns=())
    return replace(mapping, human_kind=_human_kind(mapping, file))


def _human_kind(mapping: ColumnMapping, file: str) -> str | None:
    """Say what the human-label column holds: ``single`` or ``majority`` (``None``: no column).

    Given, or read from the column's name (:func:`core.baselines.is_majority_name`:
    ``human_majority``, ``crowd_label``, ``consensus``...).

    Raises
    ------
    InvalidValueError
        A kind other than single or majority, or a majority without a human-label column.
    """
    kind = mapping.human_kind
    if kind is not None and kind not in HUMAN_KINDS:
        raise InvalidValueError(
            f"{file}: the human label kind must be 'single' or 'majority', not {kind!r}"
        )
    if mapping.human is None:
        if kind == "majority":
            raise InvalidValueError(
                f"{file}: a majority human label needs a human-label "
                "column; choose it (CLI: --human COLUMN)"
            )
        return None
    if kind is None:
        kind = "majority" if is_majority_name(mapping.human) else "single"
    return kind


def _list(cols: Iterable[Any], limit: int = 12) -> str:
    cols = list(cols)
    text = ", ".join(repr(c) for c in cols[:limit])
    return text + (f" and {len(cols) - limit} more" if len(cols) > limit else "")


# --------------------------------------------------------------------------- preparing


def says_no(col: pd.Series, distinct: list[Any] | None = None) -> bool:
    """Whether a tag column writes "no" explicitly (false, 0, no...), not as a blank cell.

    A column of ``x`` and blanks (the lecture's spreadsheet) says nothing about the rows
    left blank: they may not have been reviewed (see :mod:`core.tag_scope`). Boolean
    columns always say no.
    """
    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        present = distinct if distinct is not None else _distinct_present(col)
    except TypeError:
        return True
    return writes_no(present or ())


def writes_no(values: Iterable[Any]) -> bool:
    """Whether some of a tag column's distinct values is an explicit "no" (not a blank)."""
    return any(str(v).strip().lower() in FALSE_TOKENS - {""} for v in values)


def parse_boolean_column(
    col: pd.Series,
    *,
    file: str,
    name: str,
    distinct: list[Any] | None = None,
    numbering: RowNumbers | None = None,
) -> pd.Series:
    """Turn true/false, 1/0, yes/no or x/blank values into booleans.

    Vectorised over the distinct values (``distinct``, when already known: the column's
    distinct non-missing values), so a million rows cost one pass. ``numbering``: how the
    file numbers the rows, for messages (default: a CSV file's).

    Raises
    ------
    InvalidValueError
        Some values are none of those; the message names them and their rows.
    """
    if pd.api.types.is_bool_dtype(col):
        return pd.Series(col.fillna(False).to_numpy(dtype=bool), index=col.index, name=col.name)
    present = distinct
    if present is None:
        try:
            present = _distinct_present(col)
        except TypeError:
            present = None
    if present is not None:
        tokens = [str(v).strip().lower() for v in present]
        if all(t in TRUE_TOKENS or t in FALSE_TOKENS for t in tokens):
            # The common case: every value is valid, so one pass over the rows marks the
            # true ones (every present value true, as in x/blank columns: the non-missing).
            truthy = [v for v, t in zip(present, tokens, strict=True) if t in TRUE_TOKENS]
            mask = col.notna() if len(truthy) == len(present) else col.isin(truthy)
            return pd.Series(mask.to_numpy(dtype=bool), index=col.index, name=col.name, copy=False)
    try:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
    except TypeError:
        raise InvalidValueError(
            f"{file}: tag column {name!r} holds lists or other compound "
            "values; tag columns take true/false, 1/0, yes/no or "
            "x/blank"
        ) from None
    tokens = pd.Index(uniques, dtype=object).astype(str).str.strip().str.lower()
    truthy_u = np.append(tokens.isin(TRUE_TOKENS), False)  # code -1 (missing) is False
    valid_u = np.append(tokens.isin(TRUE_TOKENS | FALSE_TOKENS), True)
    bad = ~valid_u[codes]
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = _examples(col, rows)
        raise InvalidValueError(
            f"{file}: tag column {name!r} holds {examples} in "
            f"{format_rows(rows, numbering=numbering)}; tag columns "
            "take true/false, 1/0, yes/no or x/blank (fix those cells, or choose the tag "
            "columns yourself)"
        )
    return pd.Series(truthy_u[codes], index=col.index, name=col.name)


def parse_tags_column(col: pd.Series, delimiter: str | None = None) -> pd.DataFrame:
    """Split a delimited tags column (``;`` or ``|``) into boolean tag columns.

    Blank cells carry no tag; names are stripped of surrounding spaces and blank names
    (``a;;b``) are ignored. Columns are sorted by tag name; the index is a RangeIndex.
    """
    s = col.reset_index(drop=True).astype("string")
    n = len(s)
    if delimiter is None:
        delimiter = "|" if s.str.contains("|", regex=False).any() else ";"
    parts = s.str.split(delimiter, regex=False).explode()
    parts = parts.astype("string").str.strip()
    keep = (parts.notna() & parts.ne("")).to_numpy(dtype=bool)
    rows = parts.index.to_numpy()[keep]
    codes, names = pd.factorize(parts[keep], sort=True)
    mat = np.zeros((n, len(names)), dtype=bool)
    mat[rows, codes] = True
    return pd.DataFrame(mat, columns=[str(t) for t in names])


def _examples(values: pd.Series, rows: np.ndarray, limit: int = 3) -> str:
    """Up to ``limit`` distinct offending values, quoted, e.g. ``"'high', 'n/a'"``."""
    shown = pd.unique(values.iloc[rows[:1000]].astype(str).to_numpy(dtype=object))[:limit]
    return ", ".join(repr(v) for v in shown)


def _missing_mask(values: pd.Series) -> np.ndarray:
    """Return a mask that is True where a value is missing or a blank string."""
    miss = values.isna().to_numpy(dtype=bool)
    arrow = _arrow_strings(values)
    if arrow is not None:  # one pass over the bytes, no stripped copy of every string
        import pyarrow.compute as pc

        blank = pc.or_kleene(pc.utf8_is_space(arrow), pc.equal(arrow, ""))
        return miss | pc.fill_null(blank, False).to_numpy(zero_copy_only=False)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        # A string dtype strips in place (pyarrow compute); converting it would copy 1M
        # Python strings.
        text = values if values.dtype != object else values.astype("string")
        blank = text.str.strip().eq("").fillna(False)
        miss = miss | blank.to_numpy(dtype=bool)
    return miss


def _is_number(v: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)


def _is_text(v: pd.Series) -> bool:
    return v.dtype == object or pd.api.types.is_string_dtype(v)


def _mask_na_tokens(df: pd.DataFrame, na_values: tuple[str, ...]) -> pd.DataFrame:
    """Blank out the cells (of text columns) that the user declared missing."""
    if not na_values:
        return df
    numbers = pd.to_numeric(pd.Series(na_values, dtype=object), errors="coerce").dropna()
    out = {}
    for c in df.columns:
        col = df[c]
        if _is_text(col):
            hit = col.astype("string").str.strip().isin(na_values).fillna(False)
        elif _is_number(col) and len(numbers):  # typed cells (Parquet, xlsx): -999 is -999.0
            hit = col.isin(numbers.tolist())
        else:
            continue
        if hit.any():
            col = col.mask(hit.to_numpy(dtype=bool))
        out[c] = col
    return df.assign(**out) if out else df


def _trimmed(text: pd.Series) -> pd.Series:
    """Return Arrow-backed text without surrounding spaces, blank cells missing.

    Checked on the distinct cells first: a clean column (the common case) is returned as it
    is, without a pass over every row.
    """
    import pyarrow.compute as pc

    cells = pc.unique(text.array.__arrow_array__())
    trimmed = pc.utf8_trim_whitespace(cells)
    if (
        pc.all(pc.equal(trimmed, cells)).as_py() is not False
        and not pc.any(pc.equal(cells, "")).as_py()
    ):
        return text
    out = text.str.strip()
    return out.mask(out.eq("").fillna(False).to_numpy(dtype=bool))


def _id_text(ids: pd.Series) -> pd.Series:
    """Ids as trimmed text (see :mod:`core.values`); text columns stay in their fast dtype."""
    if pd.api.types.is_string_dtype(ids) and ids.dtype != object:
        return ids.str.strip().reset_index(drop=True)
    return as_text(ids).reset_index(drop=True)


def _typed_metadata(
    col: pd.Series, *, file: str, decimal: str | None, thousands: str | None, warnings: list[str]
) -> pd.Series:
    """Turn a text metadata column that holds only numbers into numbers (int64 or float64).

    The number format (decimal comma, thousands separators) is inferred per column when
    unambiguous (see :func:`core.values.infer_number_format`); an ambiguous column stays text
    with a warning. Columns typed by the reader (Parquet) are kept as they are.
    """
    if not _is_text(col) or not col.notna().any():
        return col
    name = col.name
    # Text is trimmed and a blank cell is missing, as for every role (core.values).
    col = as_text(col).rename(name) if col.dtype == object else _trimmed(col)
    fmt, values = read_numbers(col, decimal=decimal, thousands=thousands)
    if fmt == "ambiguous":
        warnings.append(
            f"{file}: column {name!r} holds numbers such as {col.dropna().iloc[0]!r} that "
            "read differently with a decimal comma and with a thousands separator; it is kept "
            "as text: give the format (CLI: --decimal , or --thousands ,)"
        )
        return col
    if values is None:
        return col
    if (
        not np.isnan(values).any()
        and np.all(np.mod(values, 1) == 0)
        and np.all(np.abs(values) < 2**63)
    ):
        return pd.Series(values.astype(np.int64), index=col.index, name=col.name, copy=False)
    return pd.Series(values, index=col.index, name=col.name, copy=False)


def _metadata_names(columns: list[str], taken: set[str]) -> list[str]:
    """Names for the metadata columns: their own, or ``<name>_meta`` when that would clash."""
    out = []
    all_names = set(columns) | taken
    for c in columns:
        target = c
        if c in RESERVED or c in taken:
            target, i = f"{c}_meta", 2
            while target in all_names:
                target, i = f"{c}_meta{i}", i + 1
        taken.add(target)
        all_names.add(target)
        out.append(target)
    return out


def prepare(
    df: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    source_name: str = "table",
    content_hash: str = "",
    missing: MissingPolicy = "fail",
    positive: str | None = None,
    threshold: float | None = None,
    warnings: list[str] | None = None,
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    task: str | None = None,
) -> Dataset:
    """Validate a raw table and return a :class:`Dataset` in canonical form.

    The value contract (missing cells, ids, classes, numbers) is :mod:`core.values`'s.

    Parameters
    ----------
    df
        The raw table, as read by :func:`read_table`.
    mapping
        Explicit roles; unset roles are detected, roles set to ``""`` are switched off.
    missing
        ``"fail"`` raises when labels or predictions are missing; ``"drop"`` drops those rows
        and records a warning with their number.
    positive, threshold
        With a score column: the prediction is ``positive`` where ``score >= threshold`` and
        the other class elsewhere. A detected prediction column is then kept as metadata;
        an explicitly mapped one is an error.
    na_values
        Cell texts read as missing besides blank cells (e.g. ``("NA", "N/A")``); by default
        ``NA``, ``null``, ``None``... are values.
    decimal, thousands
        The number format of the score and numeric metadata columns (e.g. ``","`` and
        ``"."``); ``None`` infers it per column where unambiguous.
    task
        The task kind when known. ``"text"``: a blank label or prediction is an empty
        transcript (``""``), not missing, and transcripts keep their spelling (they are
        normalised when compared).

    Raises
    ------
    DataError
        Any problem with the table, naming the file, the column and the rows: numbered as
        the file numbers them, as the reader recorded (:class:`~core.errors.RowNumbers` in
        ``df.attrs``: CSV lines with the header as line 1, sheet rows, Parquet rows from 1),
        else as a CSV file's.
    """
    file = source_name
    numbering = RowNumbers.of_frame(df)
    warnings = list(warnings or [])
    if missing not in ("fail", "drop"):
        raise InvalidValueError(f"{file}: missing must be 'fail' or 'drop', not {missing!r}")
    na_values = tuple(str(v).strip() for v in na_values if str(v).strip())
    text_task = task == "text"
    names = [str(c) for c in df.columns]
    _check_names(names, file)
    df = df.set_axis(names, axis=1).reset_index(drop=True)
    if df.empty:
        raise EmptyFileError(f"{file}: has no data rows; add one row per example")
    df = _mask_na_tokens(df, na_values)
    use_score = threshold is not None
    if use_score:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise InvalidValueError(
                f"{file}: the threshold must be a number, not {threshold!r}"
            ) from None
        if np.isnan(threshold):
            raise InvalidValueError(f"{file}: the threshold must be a number, not NaN")
        if mapping is not None and mapping.prediction:
            raise InvalidValueError(
                f"{file}: give either a prediction column ({mapping.prediction!r}) or a score "
                "threshold, not both"
            )
    distinct: dict[str, list[Any]] = {}
    mapping = resolve_mapping(
        df, mapping, file=file, require_prediction=not use_score, distinct=distinct
    )
    check_nested_roles(df.attrs.get(_NESTED_ATTR, ()), mapping, file=file)
    n_rows = len(df)
    ids_raw = _id_text(df[mapping.id]) if mapping.id is not None else None
    # Whether the ids are unique is found on a thread (a sort that releases the GIL) while
    # the tags and labels are parsed; unique over all rows means unique over the rows kept.
    ids_distinct = _in_background(_all_distinct, ids_raw) if ids_raw is not None else None

    score = None
    if mapping.score is not None:
        score = _parse_score(
            df[mapping.score],
            file=file,
            column=mapping.score,
            decimal=decimal,
            thousands=thousands,
            numbering=numbering,
        )
    human_accuracy = None
    if mapping.human_accuracy is not None:
        human_accuracy = parse_human_accuracy(
            df[mapping.human_accuracy],
            file=file,
            column=mapping.human_accuracy,
            decimal=decimal,
            thousands=thousands,
            numbering=numbering,
        )
    # Classes keep the file's cells until canonical_classes reads them (one factorize each;
    # a blank cell becomes missing there, and is found missing by _missing_mask below).
    label = as_text(df[mapping.label], keep_blank=True) if text_task else df[mapping.label]
    if use_score:
        if score is None:
            raise MissingColumnError(
                f"{file}: a threshold needs a score column; name it 'score' (or confidence, "
                "probability) or choose it (CLI: --score COLUMN)"
            )
        if mapping.prediction is not None:
            warnings.append(
                f"{file}: predictions come from {mapping.score!r} >= {threshold:g}; "
                f"column {mapping.prediction!r} is kept as metadata"
            )
            mapping = replace(mapping, prediction=None)
        prediction = _prediction_from_score(
            score, label, positive, threshold, file=file, label_col=mapping.label
        )
        pred_col = mapping.score
    else:
        prediction = (
            as_text(df[mapping.prediction], keep_blank=True)
            if text_task
            else df[mapping.prediction]
        )
        pred_col = mapping.prediction

    # Tags, parsed on every row so that messages name the file's rows.
    if mapping.tags_column is not None:
        tags = parse_tags_column(df[mapping.tags_column], mapping.tag_delimiter)
    else:
        tags = pd.DataFrame(index=range(n_rows))
    tag_data = {c: tags[c].to_numpy() for c in tags.columns}
    blank_tags = set(tag_data)  # a tags-column lists the tags present: "no" is a blank cell
    for c in mapping.tag_columns or ():
        values = parse_boolean_column(
            df[c], file=file, name=c, distinct=distinct.get(c), numbering=numbering
        ).to_numpy()
        tag_data[c] = tag_data[c] | values if c in tag_data else values
        if says_no(df[c], distinct.get(c)):
            blank_tags.discard(c)
        else:
            blank_tags.add(c)
    tags = pd.DataFrame(tag_data, index=range(n_rows), copy=False)

    # Missing labels or predictions.
    drop = np.zeros(n_rows, dtype=bool)
    problems = []
    for role, colname, values in (
        ("label", mapping.label, label),
        ("prediction", pred_col, prediction),
    ):
        # In text tasks "" is an empty transcript: only a missing cell (none here) is missing.
        miss = values.isna().to_numpy(dtype=bool) if text_task else _missing_mask(values)
        what = (
            f"the {role} column {colname!r}"
            if colname != mapping.score or role == "label"
            else f"the score column {colname!r} (standing in for the prediction)"
        )
        if miss.all():
            raise MissingValuesError(
                f"{file}: {what} is empty in every row; check that the right column is chosen "
                f"(CLI: --{role} COLUMN)"
            )
        if miss.any():
            rows = np.flatnonzero(miss)
            problems.append(
                f"{what} is missing in {len(rows)} of {n_rows} rows "
                f"({format_rows(rows, numbering=numbering)})"
            )
            drop |= miss
    positions = np.arange(n_rows)
    if problems and missing == "fail":
        hint = (
            ""
            if text_task
            else "; if these are transcripts, an empty cell is an empty "
            "transcript: choose the text task (CLI: --task text)"
        )
        raise MissingValuesError(
            f"{file}: {' and '.join(problems)}; fill them in, or load with missing='drop' "
            f"(CLI: --drop-missing) to leave those rows out{hint}"
        )
    human = df[mapping.human] if mapping.human else None
    if human is not None and text_task:
        human = as_text(human)  # a blank human transcript: not transcribed, so missing
    if drop.any():
        keep = ~drop
        if not keep.any():
            raise MissingValuesError(
                f"{file}: every row misses a label or a prediction ({' and '.join(problems)}); "
                "nothing is left to analyse: check the column choice"
            )
        rows = np.flatnonzero(drop)
        warnings.append(
            f"{file}: left out {len(rows)} of {n_rows} rows with a missing label or "
            f"prediction ({format_rows(rows, numbering=numbering)})"
        )
        df = df[keep].reset_index(drop=True)
        label = label[keep].reset_index(drop=True)
        prediction = prediction[keep].reset_index(drop=True)
        human = human[keep].reset_index(drop=True) if human is not None else None
        tags = tags[keep].reset_index(drop=True)
        score = score[keep].reset_index(drop=True) if score is not None else None
        if human_accuracy is not None:
            human_accuracy = human_accuracy[keep].reset_index(drop=True)
        ids_raw = ids_raw[keep].reset_index(drop=True) if ids_raw is not None else None
        positions = positions[keep]

    # Ids: text, compared exactly (007 and 7 are two ids).
    if ids_raw is not None:
        ids = ids_raw
        blank = _missing_mask(ids)
        if blank.any():
            rows = positions[np.flatnonzero(blank)]
            raise MissingValuesError(
                f"{file}: the id column {mapping.id!r} is blank in "
                f"{format_rows(rows, numbering=numbering)}; give "
                "every row an id, or choose no id column to number the rows"
            )
        try:
            dup = (
                np.zeros(len(ids), dtype=bool)
                if ids_distinct.result()  # cheaper when clean
                else ids.duplicated(keep=False).to_numpy(dtype=bool)
            )
        except TypeError:
            raise InvalidValueError(
                f"{file}: the id column {mapping.id!r} holds lists or other "
                "compound values; ids must be text or numbers"
            ) from None
        if dup.any():
            rows = positions[np.flatnonzero(dup)]
            values = _examples(ids, np.flatnonzero(dup))
            raise DuplicateIdError(
                f"{file}: the id column {mapping.id!r} repeats {values} ({int(dup.sum())} rows "
                f"share an id: {format_rows(rows, numbering=numbering)}); ids must be unique: "
                "fix them, or choose no "
                "id column to number the rows"
            )
    else:
        ids = pd.Series(positions, name="id", copy=False)

    roles = {"label": label.reset_index(drop=True), "prediction": prediction.reset_index(drop=True)}
    if human is not None:
        roles["human"] = human.reset_index(drop=True)
    if not text_task:
        roles = canonical_classes(roles)
    columns: dict[str, Any] = {"id": ids, **roles}
    if score is not None:
        columns["score"] = score
    if human_accuracy is not None:
        columns["human_accuracy"] = human_accuracy
    role_cols = {
        mapping.label,
        mapping.prediction,
        mapping.id,
        mapping.human,
        mapping.score,
        mapping.tags_column,
        mapping.human_accuracy,
        *(mapping.tag_columns or ()),
    }
    meta = [c for c in df.columns if c not in role_cols]
    for name, c in zip(_metadata_names(meta, set(columns)), meta, strict=True):
        columns[name] = _typed_metadata(
            df[c], file=file, decimal=decimal, thousands=thousands, warnings=warnings
        )
    # copy=False: the columns are new arrays or copy-on-write views of the file's table.
    frame = pd.DataFrame(columns, copy=False)
    # Later messages (e.g. a regression task's) name the file's rows: the reader's numbering,
    # with the rows left out here counted as skipped.
    # A mask, not np.setdiff1d: numpy 2.4's hash-based unique took 7.8 s at 1,000,000 rows.
    left_out = np.ones(n_rows, dtype=bool)
    left_out[positions] = False
    dropped = np.flatnonzero(left_out)
    replace(
        numbering, skipped=tuple(sorted({*numbering.skipped, *numbering.of(dropped.tolist())}))
    ).attach(frame)
    options = {"missing": missing, "positive": positive, "threshold": threshold}
    if na_values:
        options["na_values"] = na_values
    if decimal or thousands:
        options["number_format"] = (decimal, thousands)
    if text_task:
        options["task"] = "text"
    return Dataset(
        frame=frame,
        tags=tags,
        mapping=mapping,
        source_name=file,
        content_hash=content_hash,
        warnings=warnings,
        options=options,
        blank_tags=tuple(str(t) for t in tags.columns if t in blank_tags),
    )


def _in_background(fn: Callable[..., Any], *args: Any) -> Future:
    """Start ``fn(*args)`` on a thread of its own; its result (or error) waits in the future."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def _arrow_strings(values: pd.Series) -> Any:
    """Return the pyarrow ChunkedArray behind a pyarrow-backed string Series, else ``None``."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return values.array.__arrow_array__()
    return None


def _all_distinct(values: pd.Series) -> bool:
    """Whether no value repeats: sorted and compared with the neighbour for text and numbers.

    Sorting 1M Arrow strings takes a fifth of the time of hashing them (``is_unique``).
    ``False`` when a value is missing: the caller then checks the rows it keeps exactly.
    """
    if len(values) < 2:
        return True
    if values.isna().any():
        return False
    arr = _arrow_strings(values)
    if arr is not None:
        import pyarrow.compute as pc

        ordered = arr.take(pc.sort_indices(arr))
        return not pc.any(pc.equal(ordered[1:], ordered[:-1])).as_py()
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        arr = np.sort(values.to_numpy())
        return not bool((arr[1:] == arr[:-1]).any())
    return bool(values.is_unique)


def _parse_score(
    raw: pd.Series,
    *,
    file: str,
    column: str,
    decimal: str | None = None,
    thousands: str | None = None,
    numbering: RowNumbers | None = None,
    role: str = "score",
    values_are: str = "scores",
) -> pd.Series:
    """Return the score column as floats (NaN where blank); text that is not a number fails.

    The number format is inferred as for metadata (a decimal comma such as ``0,85`` is read
    when every cell fits it), or given by ``decimal``/``thousands``. ``numbering``: how the
    file numbers the rows, for messages. A score that is not finite (``inf``,
    ``-Infinity``, ``1e400``, an infinite float in a Parquet file) fails too: no threshold
    can rank it. A NaN float in a typed column is a blank cell. ``role`` and ``values_are``
    name the column and its values in messages (another numeric role is read the same way).
    """

    def finite(values: np.ndarray) -> pd.Series:
        infinite = np.isinf(values)
        if infinite.any():
            rows = np.flatnonzero(infinite)
            raise InvalidValueError(
                f"{file}: the {role} column {column!r} holds {_examples(raw, rows)} in "
                f"{format_rows(rows, numbering=numbering)}; {values_are} must be finite "
                f"numbers: fix those cells or choose another {role} column"
            )
        return pd.Series(values, copy=False)

    if _is_number(raw):
        return finite(raw.to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.is_bool_dtype(raw):
        raise InvalidValueError(
            f"{file}: the {role} column {column!r} holds true/false "
            f"values; {values_are} must be numbers (choose another {role} "
            "column)"
        )
    text = as_text(raw) if raw.dtype == object else raw.str.strip().mask(_missing_mask(raw))
    fmt, values = read_numbers(text, decimal=decimal, thousands=thousands)
    if fmt == "ambiguous":
        raise InvalidValueError(
            f"{file}: the {role} column {column!r} holds numbers such as "
            f"{text.dropna().iloc[0]!r} that read differently with a decimal comma and with a "
            "thousands separator; give the format (CLI: --decimal , or --thousands ,)"
        )
    if values is None:
        values = to_numbers(text, NumberFormat("."))
    bad = np.isnan(values) & text.notna().to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = _examples(raw, rows)
        sample = str(raw.iloc[rows[0]])
        cause = likely_number_cause(sample)
        raise InvalidValueError(
            f"{file}: the {role} column {column!r} holds {examples} in "
            f"{format_rows(rows, numbering=numbering)}{cause}; "
            f"{values_are} must be numbers: fix those cells or choose another {role} column"
        )
    return finite(values)


def parse_human_accuracy(
    raw: pd.Series,
    *,
    file: str,
    column: str,
    decimal: str | None = None,
    thousands: str | None = None,
    numbering: RowNumbers | None = None,
) -> pd.Series:
    """Read the human-accuracy column: per example, a probability in [0, 1] (NaN where blank).

    Numbers are read as the score's are (:func:`_parse_score`: a decimal comma is inferred
    where unambiguous); a value that is no number, not finite, or outside [0, 1] (``95``
    meant as a percent) is refused. ``numbering``: how the file numbers the rows.

    Raises
    ------
    InvalidValueError
        Naming the file, the column, the rows and the values.
    """
    values = _parse_score(
        raw,
        file=file,
        column=column,
        decimal=decimal,
        thousands=thousands,
        numbering=numbering,
        role="human accuracy",
        values_are="human accuracies",
    )
    arr = values.to_numpy(dtype=float)
    outside = ~np.isnan(arr) & ((arr < 0) | (arr > 1))
    if outside.any():
        rows = np.flatnonzero(outside)
        raise InvalidValueError(
            f"{file}: the human accuracy column {column!r} holds {_examples(raw, rows)} in "
            f"{format_rows(rows, numbering=numbering)}; a human accuracy is the probability "
            "that one person labels the example right, a number between 0 and 1 (write 95% "
            "as 0.95): fix those cells or choose another column (CLI: --human-accuracy COLUMN)"
        )
    return values


def _prediction_from_score(
    score: pd.Series,
    label: pd.Series,
    positive: Any,
    threshold: float,
    *,
    file: str,
    label_col: str,
) -> pd.Series:
    """Predict ``positive`` where ``score >= threshold``, the other class elsewhere.

    Classes are matched by :func:`core.values.class_keys` (``--positive true`` finds the
    class written ``1`` or ``TRUE``); the prediction uses the label's spelling of each class.
    Missing scores give missing predictions (handled like any missing prediction).
    """
    label = as_text(label)
    keys = class_keys(label)
    spelling = pd.DataFrame({"key": keys, "text": label}).dropna()
    spelling = spelling.drop_duplicates("key").set_index("key")["text"]
    classes = sorted(spelling.tolist())
    if positive is None:
        raise InvalidValueError(
            f"{file}: predicting from a score threshold needs the positive class; choose one of "
            f"{_list(classes)} (CLI: --positive CLASS)"
        )
    pos_key = class_key(positive)
    if pos_key not in spelling.index:
        raise InvalidValueError(
            f"{file}: the positive class {positive!r} never occurs in the label column "
            f"{label_col!r} (its classes: {_list(classes)}); choose one of those"
        )
    others = [k for k in spelling.index if k != pos_key]
    if len(others) != 1:
        raise InvalidValueError(
            f"{file}: predicting from a score threshold needs exactly two classes in the label "
            f"column {label_col!r}, found {len(classes)} ({_list(classes)}); give a prediction "
            "column instead"
        )
    values = score.to_numpy(dtype=float)
    pred = np.where(values >= threshold, spelling[pos_key], spelling[others[0]]).astype(object)
    pred[np.isnan(values)] = None
    return pd.Series(pred, dtype=object)


def load_dataset(
    source: str | Path | IO[bytes] | bytes,
    mapping: ColumnMapping | None = None,
    *,
    name: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    missing: MissingPolicy = "fail",
    positive: str | None = None,
    threshold: float | None = None,
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    task: str | None = None,
    sheet: str | None = None,
) -> Dataset:
    """Read and validate a predictions file in one call.

    See :func:`read_table` for ``name``, ``encoding``, ``sep`` and ``sheet`` and
    :func:`prepare` for the rest. Every problem is raised as a
    :class:`~core.errors.DataError` subclass.
    """
    df, digest, warnings, file = _read(source, name=name, encoding=encoding, sep=sep, sheet=sheet)
    return prepare(
        df,
        mapping,
        source_name=file,
        content_hash=digest,
        missing=missing,
        positive=positive,
        threshold=threshold,
        warnings=warnings,
        na_values=na_values,
        decimal=decimal,
        thousands=thousands,
        task=task,
    )


def dataset_from_frame(
    df: pd.DataFrame, mapping: ColumnMapping | None = None, *, name: str = "table", **kwargs: Any
) -> Dataset:
    """Validate an in-memory DataFrame, hashing its content for the fingerprint.

    Dicts, lists, tuples, arrays and sets in its cells (and Arrow list, struct or map columns) are
    turned into JSON text first, with a warning naming the columns, as for a Parquet file
    (see :func:`core.formats.nested_cells_to_text`); such a column cannot be a role.
    """
    df, nested = formats.nested_cells_to_text(df)
    if nested:
        df.attrs[_NESTED_ATTR] = tuple(map(str, nested))
        kwargs["warnings"] = [*(kwargs.get("warnings") or []), formats.nested_warning(name, nested)]
    try:
        hashed = pd.util.hash_pandas_object(df, index=False)
    except (TypeError, ValueError):  # cells pandas cannot hash (objects of other kinds)
        hashed = pd.util.hash_pandas_object(df.astype(str), index=False)
    digest = hashlib.sha256(
        hashed.to_numpy().tobytes() + "|".join(map(str, df.columns)).encode()
    ).hexdigest()
    return prepare(df, mapping, source_name=name, content_hash=digest, **kwargs)
