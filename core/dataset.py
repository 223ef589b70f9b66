"""Load, validate and map a predictions table.

The data contract: one row per example, from CSV, TSV or Parquet, with a label and a
prediction column (auto-detected from common names, always overridable), and optionally an
id, one human-label column, a score column, tag columns and metadata of any type.

Every problem is raised as a :class:`core.errors.DataError` subclass whose message names
the file, the column and example rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from core.errors import (
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
    format_rows,
)

# Names each role is recognised by, compared after lower-casing and turning spaces and
# hyphens into underscores.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "label": (
        "label", "labels", "y_true", "ytrue", "target", "ground_truth", "groundtruth", "gold",
        "gold_label", "true_label", "truth", "reference", "ref", "actual", "y", "class",
    ),
    "prediction": (
        "prediction", "predictions", "pred", "preds", "y_pred", "ypred", "predicted",
        "predicted_label", "prediction_label", "model_prediction", "model_output", "output",
        "hypothesis", "hyp", "yhat", "y_hat",
    ),
    "human": (
        "human_label", "human", "annotator_label", "human_prediction", "human_transcript",
        "human_labels", "annotator", "inspector", "inspector_label", "hlp", "hlp_label",
    ),
    "id": ("id", "example_id", "item_id", "uid", "example", "item", "sample_id", "key", "row_id"),
    "score": (
        "score", "scores", "confidence", "probability", "prob", "proba", "y_score",
        "y_prob", "pred_score", "prediction_score",
    ),
    "tags_column": ("tags", "tag", "tag_list", "error_tags", "slices"),
}

TRUE_TOKENS = frozenset({"true", "t", "1", "1.0", "yes", "y", "x", "✓", "✔"})
FALSE_TOKENS = frozenset({"false", "f", "0", "0.0", "no", "n", ""})
MissingPolicy = Literal["fail", "drop"]
RESERVED = ("id", "label", "prediction", "human", "score")


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column plays which role. ``None`` means "detect" (or "none" once resolved).

    Attributes
    ----------
    label, prediction
        Required roles (``prediction`` may be absent when a score and threshold stand in).
    id, human, score
        Optional roles.
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

    def to_dict(self) -> dict[str, Any]:
        """Return the mapping as a JSON-friendly dict."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if d["tag_columns"] is not None:
            d["tag_columns"] = list(d["tag_columns"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnMapping:
        """Build a mapping from :meth:`to_dict` output."""
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
    """

    frame: pd.DataFrame
    tags: pd.DataFrame
    mapping: ColumnMapping
    source_name: str = "table"
    content_hash: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def metadata_columns(self) -> list[str]:
        """Columns of ``frame`` that are not a role."""
        return [c for c in self.frame.columns if c not in RESERVED]

    @property
    def has_human(self) -> bool:
        """Whether a human-label column is present."""
        return "human" in self.frame.columns

    @property
    def n(self) -> int:
        """Number of examples."""
        return len(self.frame)

    def fingerprint(self) -> str:
        """A short stable key for caches: content hash plus mapping."""
        h = hashlib.sha256((self.content_hash + repr(self.mapping)).encode())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------- reading


def _source_bytes(source: str | Path | IO[bytes] | bytes, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, name or "upload"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.is_dir():
            raise DataError(f"{path}: is a folder, not a file")
        return path.read_bytes(), name or path.name
    if hasattr(source, "getvalue"):
        data = source.getvalue()
    else:
        data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    return data, name or getattr(source, "name", None) or "upload"


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """Decode text, honouring a BOM; return (text, encoding used)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise EncodingError(
                f"{name}: cannot be read as {encoding} ({exc}); "
                "leave the encoding empty to detect it"
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise EncodingError(f"{name}: has a UTF-16 byte-order mark but is not UTF-16") from None
    if b"\x00" in data[:8192]:
        # UTF-16 without a BOM shows as every other byte NUL in ASCII text.
        head = data[:8192]
        if head[1::2].count(0) > 0.4 * len(head[1::2]):
            try:
                return data.decode("utf-16-le"), "utf-16-le"
            except UnicodeDecodeError:
                pass
        raise FileFormatError(
            f"{name}: looks like binary data, not a CSV/TSV text file "
            "(save it as CSV or Parquet)"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    enc = best.encoding if best is not None else "cp1252"
    try:
        return data.decode(enc), enc
    except (UnicodeDecodeError, LookupError):
        return data.decode("latin-1"), "latin-1"


def _sniff_delimiter(header: str) -> str:
    counts = {d: _count_outside_quotes(header, d) for d in (",", "\t", ";", "|")}
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


def read_table(
    source: str | Path | IO[bytes] | bytes,
    *,
    name: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a CSV, TSV or Parquet file into a DataFrame, checking its shape.

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

    Returns
    -------
    (frame, content_hash, warnings)

    Raises
    ------
    EmptyFileError, FileFormatError, EncodingError, DuplicateColumnError
    """
    data, name = _source_bytes(source, name)
    digest = hashlib.sha256(data).hexdigest()
    warnings: list[str] = []
    if not data.strip():
        raise EmptyFileError(f"{name}: the file is empty; it needs a header row and data rows")
    lower = name.lower()
    if data[:4] == b"PAR1" or lower.endswith((".parquet", ".pq")):
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise FileFormatError(f"{name}: not a readable Parquet file ({exc})") from None
        _check_names(list(map(str, df.columns)), name)
        if df.empty:
            raise EmptyFileError(f"{name}: the Parquet file has columns but no rows")
        return df.reset_index(drop=True), digest, warnings

    text, used = _decode(data, name, encoding)
    if used not in ("utf-8", "utf-8-sig") and encoding is None:
        warnings.append(f"{name}: read as {used} (not UTF-8)")
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise EmptyFileError(f"{name}: the first line is blank; it must hold the column names")
    if sep is None:
        sep = "\t" if lower.endswith((".tsv", ".tab")) else _sniff_delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=sep))
    header = [h.strip() for h in header]
    if len(header) == 1:
        others = [d for d in (",", "\t", ";", "|") if d != sep and d in first_line]
        if others:
            raise FileFormatError(
                f"{name}: the header splits into one column with delimiter {sep!r}, but it "
                f"contains {others[0]!r}; the file is probably {others[0]!r}-delimited"
            )
    _check_names(header, name)
    _check_header_is_names(header, name)
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=sep, skipinitialspace=False, low_memory=False,
            keep_default_na=True, na_values=[""], skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise EmptyFileError(f"{name}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise FileFormatError(f"{name}: cannot be parsed as {_sep_name(sep)}-separated text: "
                              f"{_short_parser_message(exc)}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise EmptyFileError(f"{name}: has a header but no data rows")
    return df, digest, warnings


def _sep_name(sep: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def _short_parser_message(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[-1]
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return (f"line {m.group(2)} has {m.group(3)} fields where the header has {m.group(1)} "
                "(a stray delimiter or an unquoted value?)")
    return msg


def _check_names(names: list[str], file: str) -> None:
    blanks = [i + 1 for i, n in enumerate(names) if not str(n).strip() or
              str(n).startswith("Unnamed: ")]
    if blanks:
        where = ", ".join(map(str, blanks[:5]))
        raise DuplicateColumnError(
            f"{file}: column {where} of the header has no name; give every column a name"
        )
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise DuplicateColumnError(
                f"{file}: column name {n!r} appears twice (columns {seen[n] + 1} and {i + 1}); "
                "rename one of them"
            )
        seen[n] = i


def _check_header_is_names(header: list[str], file: str) -> None:
    def numeric(s: str) -> bool:
        try:
            float(s)
            return True
        except ValueError:
            return False

    if len(header) >= 2 and sum(numeric(h) for h in header) * 2 > len(header):
        raise EmptyFileError(
            f"{file}: the first line ({', '.join(header[:4])}...) looks like data, not column "
            "names; add a header row such as id,label,prediction"
        )


# --------------------------------------------------------------------------- mapping


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _is_boolean_like(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return True
    uniques = col.drop_duplicates()
    if len(uniques) > 3:
        return False
    tokens = {("" if pd.isna(v) else str(v).strip().lower()) for v in uniques}
    return bool(tokens) and tokens <= (TRUE_TOKENS | FALSE_TOKENS) and bool(tokens & TRUE_TOKENS)


def find_role_candidates(df: pd.DataFrame) -> dict[str, list[str]]:
    """Return, for each role, the columns whose names match it (in file order)."""
    out: dict[str, list[str]] = {role: [] for role in ROLE_NAMES}
    for col in df.columns:
        n = _norm(col)
        for role, names in ROLE_NAMES.items():
            if n in names:
                out[role].append(col)
                break
    return out


def detect_mapping(df: pd.DataFrame) -> ColumnMapping:
    """Guess the mapping from column names and values; never raises.

    A role matched by exactly one column is filled; ambiguous or absent roles stay ``None``.
    Tag columns are the remaining columns holding only boolean-like values, unless a
    delimited tags column is found by name.
    """
    cands = find_role_candidates(df)
    pick = {role: (c[0] if len(c) == 1 else None) for role, c in cands.items()}
    used = {v for v in pick.values() if v}
    tag_columns: tuple[str, ...] | None
    if pick["tags_column"]:
        tag_columns = ()
    else:
        tag_columns = tuple(c for c in df.columns if c not in used and _is_boolean_like(df[c]))
    return ColumnMapping(
        label=pick["label"], prediction=pick["prediction"], id=pick["id"], human=pick["human"],
        score=pick["score"], tag_columns=tag_columns, tags_column=pick["tags_column"],
    )


def resolve_mapping(df: pd.DataFrame, mapping: ColumnMapping | None, *, file: str,
                    require_prediction: bool = True) -> ColumnMapping:
    """Fill the unset roles of ``mapping`` by detection and check every named column exists.

    Raises
    ------
    MissingColumnError
        A named column is absent, or the label/prediction cannot be found.
    AmbiguousColumnError
        Several columns match the label or prediction role and none was chosen.
    """
    mapping = mapping or ColumnMapping()
    cols = list(df.columns)
    for role in ("label", "prediction", "id", "human", "score", "tags_column"):
        value = getattr(mapping, role)
        if value is not None and value not in cols:
            raise MissingColumnError(
                f"{file}: column {value!r} (given as the {role.replace('_', ' ')}) is not in the "
                f"file; its columns are {_list(cols)}"
            )
    for c in mapping.tag_columns or ():
        if c not in cols:
            raise MissingColumnError(f"{file}: tag column {c!r} is not in the file; "
                                     f"its columns are {_list(cols)}")
    cands = find_role_candidates(df)
    explicit = {getattr(mapping, r) for r in ("label", "prediction", "id", "human", "score")}
    filled: dict[str, Any] = {}
    for role in ("label", "prediction", "id", "human", "score", "tags_column"):
        if getattr(mapping, role) is not None:
            continue
        options = [c for c in cands[role] if c not in explicit]
        if len(options) == 1:
            filled[role] = options[0]
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
    if mapping.label == mapping.prediction:
        raise InvalidValueError(f"{file}: column {mapping.label!r} cannot be both the label "
                                "and the prediction")
    if mapping.tag_columns is None and mapping.tags_column is None:
        used = {mapping.label, mapping.prediction, mapping.id, mapping.human, mapping.score}
        mapping = replace(mapping, tag_columns=tuple(
            c for c in cols if c not in used and _is_boolean_like(df[c])))
    elif mapping.tags_column is not None and mapping.tag_columns is None:
        mapping = replace(mapping, tag_columns=())
    return mapping


def _list(cols: Iterable[str], limit: int = 12) -> str:
    cols = list(cols)
    text = ", ".join(repr(c) for c in cols[:limit])
    return text + (f" and {len(cols) - limit} more" if len(cols) > limit else "")


# --------------------------------------------------------------------------- preparing


def parse_boolean_column(col: pd.Series, *, file: str, name: str) -> pd.Series:
    """Turn true/false, 1/0, yes/no or x/blank values into booleans.

    Raises
    ------
    InvalidValueError
        Some values are none of those; the message names them and their rows.
    """
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).astype(bool)
    tokens = col.astype("string").str.strip().str.lower().fillna("")
    truthy = tokens.isin(TRUE_TOKENS)
    bad = ~(truthy | tokens.isin(FALSE_TOKENS))
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        examples = ", ".join(repr(v) for v in col[bad].astype(str).unique()[:3])
        raise InvalidValueError(
            f"{file}: tag column {name!r} holds {examples} in {format_rows(rows)}; tag columns "
            "take true/false, 1/0, yes/no or x/blank"
        )
    return truthy.astype(bool)


def parse_tags_column(col: pd.Series, delimiter: str | None = None) -> pd.DataFrame:
    """Split a delimited tags column (``;`` or ``|``) into boolean tag columns.

    Blank cells carry no tag; names are stripped of surrounding spaces.
    """
    s = col.astype("string").fillna("")
    if delimiter is None:
        delimiter = "|" if s.str.contains("|", regex=False).any() else ";"
    s = s.str.replace(rf"\s*{re.escape(delimiter)}\s*", "|", regex=True).str.strip("| ")
    dummies = s.str.get_dummies(sep="|").astype(bool)
    dummies.columns = [str(c).strip() for c in dummies.columns]
    dummies = dummies.T.groupby(level=0).any().T if dummies.columns.duplicated().any() else dummies
    return dummies.reset_index(drop=True)


def _canonical_values(cols: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Give label, prediction and human one comparable type.

    All numeric: kept as numbers (so 1 and 1.0 match). Otherwise strings, with whole-number
    floats written without ``.0`` so a numeric column and a text column of the same classes
    compare equal.
    """
    present = {k: v for k, v in cols.items() if v is not None}
    if all(pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
           for v in present.values()):
        return present
    out = {}
    for k, v in present.items():
        if pd.api.types.is_float_dtype(v):
            arr = v.to_numpy()
            whole = np.isfinite(arr) & (np.mod(np.nan_to_num(arr), 1) == 0)
            if whole[~np.isnan(arr)].all():
                v = v.astype("Int64")
        s = v.astype("string").str.strip()
        s = s.mask(s == "")
        out[k] = s.astype(object).where(s.notna(), None)
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
) -> Dataset:
    """Validate a raw table and return a :class:`Dataset` in canonical form.

    Parameters
    ----------
    df
        The raw table, as read by :func:`read_table`.
    mapping
        Explicit roles; unset roles are detected.
    missing
        ``"fail"`` raises when labels or predictions are missing; ``"drop"`` drops those rows
        and records a warning.
    positive, threshold
        With a score column and no prediction column: the prediction is ``positive`` where
        ``score >= threshold`` and the other class elsewhere.

    Raises
    ------
    DataError
        Any problem with the table, naming the file, the column and the rows.
    """
    file = source_name
    warnings = list(warnings or [])
    use_score = threshold is not None
    mapping = resolve_mapping(df, mapping, file=file, require_prediction=not use_score)
    if df.empty:
        raise EmptyFileError(f"{file}: has no data rows")
    df = df.reset_index(drop=True)

    label = df[mapping.label]
    if use_score and mapping.prediction is None:
        if mapping.score is None:
            raise MissingColumnError(f"{file}: a threshold needs a score column (CLI: --score)")
        prediction = _prediction_from_score(df[mapping.score], label, positive, threshold,
                                            file=file, score_col=mapping.score)
    else:
        prediction = df[mapping.prediction]

    # Missing labels or predictions.
    checks = [(mapping.label, label)] + (
        [(mapping.prediction, prediction)] if mapping.prediction else [])
    drop = np.zeros(len(df), dtype=bool)
    for colname, values in checks:
        miss = values.isna().to_numpy()
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            miss = miss | values.astype("string").str.strip().fillna("").eq("").to_numpy()
        if miss.all():
            raise MissingValuesError(f"{file}: column {colname!r} is empty in every row")
        if miss.any():
            rows = np.flatnonzero(miss)
            if missing == "fail":
                raise MissingValuesError(
                    f"{file}: column {colname!r} is missing in {len(rows)} of {len(df)} rows "
                    f"({format_rows(rows)}); fill them or drop those rows "
                    "(CLI: --drop-missing)"
                )
            drop |= miss
    if drop.any():
        warnings.append(f"{file}: dropped {int(drop.sum())} rows with a missing label or "
                        "prediction")
        keep = ~drop
        df = df[keep].reset_index(drop=True)
        label = label[keep].reset_index(drop=True)
        prediction = prediction[keep].reset_index(drop=True)

    # Ids.
    if mapping.id is not None:
        ids = df[mapping.id]
        if ids.isna().any():
            rows = np.flatnonzero(ids.isna().to_numpy())
            raise MissingValuesError(f"{file}: id column {mapping.id!r} is blank in "
                                     f"{format_rows(rows)}")
        dup = ids.duplicated(keep=False).to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            values = ", ".join(repr(v) for v in ids[dup].astype(str).unique()[:3])
            raise DuplicateIdError(
                f"{file}: id column {mapping.id!r} repeats {values} ({int(dup.sum())} rows share "
                f"an id: {format_rows(rows)}); ids must be unique"
            )
    else:
        ids = pd.Series(np.arange(len(df)), name="id")

    # Tags.
    if mapping.tags_column is not None:
        tags = parse_tags_column(df[mapping.tags_column], mapping.tag_delimiter)
    else:
        tags = pd.DataFrame(index=range(len(df)))
    for c in mapping.tag_columns or ():
        if c in tags.columns:
            tags[c] = tags[c] | parse_boolean_column(df[c], file=file, name=c).to_numpy()
        else:
            tags[c] = parse_boolean_column(df[c], file=file, name=c).to_numpy()

    roles = _canonical_values({
        "label": label.reset_index(drop=True),
        "prediction": prediction.reset_index(drop=True),
        "human": df[mapping.human].reset_index(drop=True) if mapping.human else None,
    })
    frame = pd.DataFrame({"id": ids.reset_index(drop=True)})
    frame["label"] = roles["label"]
    frame["prediction"] = roles["prediction"]
    if "human" in roles:
        frame["human"] = roles["human"]
    if mapping.score is not None:
        score = pd.to_numeric(df[mapping.score], errors="coerce")
        bad = score.isna() & df[mapping.score].notna()
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            raise InvalidValueError(f"{file}: score column {mapping.score!r} is not numeric in "
                                    f"{format_rows(rows)}")
        frame["score"] = score.to_numpy()
    role_cols = {mapping.label, mapping.prediction, mapping.id, mapping.human, mapping.score,
                 mapping.tags_column, *(mapping.tag_columns or ())}
    for c in df.columns:
        if c in role_cols:
            continue
        target = f"{c}_meta" if c in RESERVED else c
        frame[target] = df[c].to_numpy()
    return Dataset(frame=frame, tags=tags.reset_index(drop=True), mapping=mapping,
                   source_name=file, content_hash=content_hash, warnings=warnings)


def _prediction_from_score(score: pd.Series, label: pd.Series, positive: str | None,
                           threshold: float, *, file: str, score_col: str) -> pd.Series:
    classes = pd.unique(label.dropna().astype(str))
    if positive is None:
        raise InvalidValueError(f"{file}: a score threshold needs a positive class "
                                "(CLI: --positive CLASS)")
    if str(positive) not in classes:
        raise InvalidValueError(f"{file}: positive class {positive!r} never occurs in the labels "
                                f"(classes: {_list(classes)})")
    others = [c for c in classes if c != str(positive)]
    if len(others) != 1:
        raise InvalidValueError(f"{file}: a score threshold needs exactly two classes, found "
                                f"{len(classes)}")
    values = pd.to_numeric(score, errors="coerce")
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())
        raise InvalidValueError(f"{file}: score column {score_col!r} is missing or not numeric "
                                f"in {format_rows(rows)}")
    pred = np.where(values.to_numpy() >= threshold, str(positive), others[0])
    return pd.Series(pred, index=score.index, dtype=object)


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
) -> Dataset:
    """Read and validate a predictions file in one call (see :func:`read_table`, :func:`prepare`)."""
    df, digest, warnings = read_table(source, name=name, encoding=encoding, sep=sep)
    file = name or (Path(source).name if isinstance(source, (str, Path)) else
                    getattr(source, "name", None) or "upload")
    return prepare(df, mapping, source_name=file, content_hash=digest, missing=missing,
                   positive=positive, threshold=threshold, warnings=warnings)


def dataset_from_frame(df: pd.DataFrame, mapping: ColumnMapping | None = None, *,
                       name: str = "table", **kwargs: Any) -> Dataset:
    """Validate an in-memory DataFrame, hashing its content for the fingerprint."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
                            + "|".join(map(str, df.columns)).encode()).hexdigest()
    return prepare(df, mapping, source_name=name, content_hash=digest, **kwargs)
