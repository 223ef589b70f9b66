"""Opening a file for the DuckDB engine: the views ``raw`` and ``src``, and a pandas sample.

:class:`_Opening` reads the header and the first :data:`SAMPLE_ROWS` rows as the pandas
loader reads them (roles are detected on that sample), and defines the view ``src`` that
every later query reads: one column per file column, named as the loader names it (CSV
here, Parquet in :mod:`.parquet`).
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from dataclasses import replace
from typing import Any

import pandas as pd

from slicewise.core.column_parsing import FALSE_TOKENS, TRUE_TOKENS, mask_na_tokens
from slicewise.core.column_roles import (
    ColumnMapping,
    check_nested_roles,
    find_role_candidates,
    is_tag_name,
    resolve_mapping,
)
from slicewise.core.decoding import MAGIC, check_file_path
from slicewise.core.engine_duckdb.parquet import _ParquetOpening
from slicewise.core.engine_duckdb.sql import (
    SAMPLE_ROWS,
    _Column,
    _ident,
    _in,
    _lit,
    _strip,
)
from slicewise.core.errors import (
    DataError,
    EmptyFileError,
    EncodingError,
    FileFormatError,
    RowNumbers,
)
from slicewise.core.formats import container_kind
from slicewise.core.reading import NA_VALUES
from slicewise.core.table_shape import (
    check_header_is_names,
    check_names,
    normalize_sep,
    sniff_delimiter,
)


class _Opening(_ParquetOpening):
    def _open(self, mapping: ColumnMapping | None, sep: str | None) -> None:
        """Open the file: read its head, define ``raw`` and ``src``, resolve roles, profile.

        Raises
        ------
        DataError
            The file cannot be opened, or (its subclasses) is empty, of another format or
            encoding, or its roles or values are refused as the loader refuses them.
        """
        head = self._read_head()
        sample = self._read_sample(head, sep)
        self.mapping, possible = self._sample_roles(sample, mapping)
        self._profile(possible)

    def _read_head(self) -> bytes:
        """Return the file's first MiB (of its text, for a gzip file); set ``gzip``.

        Raises
        ------
        DataError
            The file cannot be opened.
        EmptyFileError
            It holds only blank space.
        FileFormatError
            It is another container than gzip, or a damaged gzip file.
        """
        name = self.source_name
        try:
            check_file_path(self.path)
            with self.path.open("rb") as fh:
                head = fh.read(1 << 20)
                self.gzip = _container(head, name) == "gzip"
                if self.gzip:  # DuckDB streams gzip itself; the sample is the text's head
                    fh.seek(0)
                    head = _gzip_head(fh, name)
        except OSError as exc:
            raise DataError(
                f"{name}: cannot be opened ({exc.strerror or exc}); check the path "
                "and the file's permissions"
            ) from None
        if not re.search(rb"\S", head):
            raise EmptyFileError(
                f"{name}: the file is empty; it needs a header row (e.g. "
                "id,label,prediction) and one row per example"
            )
        return head

    def _read_sample(self, head: bytes, sep: str | None) -> pd.DataFrame:
        """Define the views as Parquet or CSV; return the first rows as the loader reads them.

        Sets ``parquet`` and ``numbering``; with ``na_values``, masks those cells in the
        sample and in ``src``.

        Raises
        ------
        FileFormatError
            A gzip-compressed Parquet file, a file named ``.parquet`` that is not one, or
            one :meth:`_open_parquet` or :meth:`_open_csv` refuses.
        """
        name = self.source_name
        self.parquet = head[:4] == b"PAR1"
        # Rows as the pandas engine numbers them: Parquet's from 1, CSV lines (header: 1).
        self.numbering = RowNumbers(first=1 if self.parquet else 2)
        if self.parquet and self.gzip:
            raise FileFormatError(
                f"{name}: is a gzip-compressed Parquet file, which the duckdb "
                "engine does not read; decompress it, or use the pandas "
                "engine (--engine pandas)"
            )
        if self.parquet:
            sample = self._open_parquet()
        else:
            if _inner_name(name, self.gzip).lower().endswith((".parquet", ".pq")):
                raise FileFormatError(
                    f"{name}: is named like a Parquet file but is not one (no "
                    "Parquet signature); save it again as Parquet, or rename "
                    "it to .csv if it is text"
                )
            sample = self._open_csv(head, sep)
        if self.na_values:
            sample = mask_na_tokens(sample, self.na_values)
            self._mask_na_cells()
        return sample

    def _sample_roles(
        self, sample: pd.DataFrame, mapping: ColumnMapping | None
    ) -> tuple[ColumnMapping, list[str]]:
        """Resolve the roles on the sample; list the columns that may be tags.

        Tags are detected (when no tag columns and no tags column are given) among the
        columns of no role, not named like one, named like a tag and possibly boolean on
        the sample: they are decided on the whole file's distinct values later
        (:meth:`_resolve_tags`), so the mapping returned then has no tag columns.

        Raises
        ------
        DataError
            The loader's refusals of the mapping (:func:`core.column_roles.resolve_mapping`,
            :func:`core.column_roles.check_nested_roles`).
        """
        name = self.source_name
        detect_tags = mapping is None or (
            mapping.tag_columns is None and mapping.tags_column is None
        )
        m = resolve_mapping(sample, mapping, file=name)
        check_nested_roles(
            [c.name for c in self.columns.values() if _nested_type(c.duck)], m, file=name
        )
        if not detect_tags or m.tags_column is not None:
            return m, []
        roles = {m.label, m.prediction, m.id, m.human, m.score, m.tags_column, m.human_accuracy}
        cands = find_role_candidates(sample)
        named_like_role = {c for role, cs in cands.items() if role != "tags_column" for c in cs}
        possible = [
            c
            for c in sample.columns
            if c not in roles
            and c not in named_like_role
            and is_tag_name(c)
            and _possibly_boolean(sample[c])
        ]
        return replace(m, tag_columns=()), possible

    def _mask_na_cells(self) -> None:
        """Define ``src`` again with the text cells whose trimmed text is an NA token missing.

        The rule of :func:`core.dataset.prepare` (``na_values``): typed Parquet columns keep
        their values.
        """
        select = []
        for c in self.columns.values():
            if c.group == "text":
                select.append(
                    f"CASE WHEN {_strip(c.ident)} IN {_in(self.na_values)} THEN NULL "
                    f"ELSE {c.ident} END AS {c.ident}"
                )
            else:
                select.append(c.ident)
        self._con.execute("ALTER VIEW src RENAME TO __slicewise_unmasked")
        self._con.execute(
            f"CREATE VIEW src AS SELECT {', '.join(select)} FROM __slicewise_unmasked"
        )

    def _open_csv(self, head: bytes, sep: str | None) -> pd.DataFrame:
        name = self.source_name
        for magic, what in MAGIC:
            if head.startswith(magic):
                raise FileFormatError(f"{name}: is {what}; Slicewise reads CSV, TSV or Parquet")
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        if b"\x00" in head[:8192]:
            raise EncodingError(
                f"{name}: is not UTF-8 text (UTF-16 or binary data); the "
                "duckdb engine reads UTF-8: save the file as UTF-8, or use the "
                "pandas engine (--engine pandas)"
            )
        cut = head.rfind(b"\n") if len(head) == 1 << 20 else len(head)
        try:
            text = head[: cut if cut > 0 else len(head)].decode("utf-8")
        except UnicodeDecodeError:
            raise EncodingError(
                f"{name}: is not UTF-8; the duckdb engine reads UTF-8 files: "
                "save it as UTF-8, or use the pandas engine (--engine pandas), "
                "which detects the encoding"
            ) from None
        first_line = re.match(r"[^\r\n]*", text).group()
        if not first_line.strip():
            raise EmptyFileError(
                f"{name}: the first line is blank; it must hold the column "
                "names (delete the blank lines above the header)"
            )
        sep = normalize_sep(sep, name)
        if sep is None:
            tsv = _inner_name(name, self.gzip).lower().endswith((".tsv", ".tab"))
            sep = "\t" if tsv else sniff_delimiter(first_line)
        header = [h.strip() for h in next(csv.reader([first_line], delimiter=sep), [])]
        check_header_is_names(header, name)
        check_names(header, name)
        try:
            sample = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                nrows=SAMPLE_ROWS,
                skipinitialspace=False,
                low_memory=False,
                keep_default_na=False,
                na_values=list(NA_VALUES),
                skip_blank_lines=True,
                dtype=str,
            )
        except Exception as exc:  # pandas raises many types
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
            raise FileFormatError(
                f"{name}: cannot be read as a CSV, TSV or Parquet table "
                f"({reason}); check that it is a text table with one header "
                "row, or save it again as CSV (UTF-8)"
            ) from None
        sample.columns = [str(c).strip() for c in sample.columns]
        if sample.empty:
            raise EmptyFileError(f"{name}: has a header but no data rows; add one row per example")

        self._csv_views(sep, header)
        return sample

    def _csv_views(self, sep: str, header: list[str]) -> None:
        """Define ``raw`` (every cell text, only a blank one missing) and ``src`` over it.

        Raises
        ------
        FileFormatError
            DuckDB reads another number of columns than the header has.
        """
        opts = [
            f"delim = {_lit(sep)}",
            "header = true",
            "quote = '\"'",
            "escape = '\"'",
            f"nullstr = [{', '.join(_lit(v) for v in NA_VALUES)}]",
            "all_varchar = true",
        ]
        if self.gzip:
            opts.append("compression = 'gzip'")
        reader = f"read_csv({_lit(self.path)}, {', '.join(opts)})"
        self._con.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {reader}")
        described = self._fetch("DESCRIBE SELECT * FROM raw")
        if len(described) != len(header):
            raise FileFormatError(
                f"{self.source_name}: DuckDB reads {len(described)} columns where the "
                f"header has {len(header)}; check the delimiter, or use the "
                "pandas engine (--engine pandas)"
            )
        select = ", ".join(
            f"{_ident(r[0])} AS {_ident(h)}" for r, h in zip(described, header, strict=True)
        )
        self._con.execute(f"CREATE OR REPLACE VIEW src AS SELECT {select} FROM raw")
        self.columns = {
            h: _Column(h, _ident(h), str(r[1])) for r, h in zip(described, header, strict=True)
        }


def _possibly_boolean(col: pd.Series) -> bool:
    """Whether the whole column could be boolean-like given this sample of it."""
    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        uniques = pd.unique(col.dropna())
    except TypeError:
        return False
    if len(uniques) > 6:
        return False
    tokens = {str(v).strip().lower() for v in uniques}
    tokens = {t[:-2] if t in ("1.0", "0.0") else t for t in tokens}
    truthy, falsy = tokens & TRUE_TOKENS, tokens & FALSE_TOKENS - {""}
    return tokens <= (TRUE_TOKENS | FALSE_TOKENS) and len(truthy) <= 1 and len(falsy) <= 1


def _container(head: bytes, name: str) -> str | None:
    """Return ``"gzip"`` or ``None``; refuse the other containers the pandas loader opens.

    Raises
    ------
    FileFormatError
        For a bzip2 file, a zip archive or an Excel workbook, naming the file and the way on.
    """
    kind = container_kind(head[:16])
    if kind in (None, "gzip"):
        return kind
    what = {"bzip2": "bzip2-compressed", "zip": "a zip archive (or an Excel .xlsx workbook)"}
    raise FileFormatError(
        f"{name}: is {what[kind]}; the duckdb engine reads CSV and TSV files "
        "(also gzip-compressed) and Parquet files: use the pandas engine "
        "(--engine pandas), or save the table as CSV or Parquet"
    )


def _gzip_head(fh: Any, name: str, size: int = 1 << 20) -> bytes:
    """Return the first ``size`` bytes of the text in the gzip file ``fh`` (all if shorter)."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = b""
    try:
        while len(out) < size:
            chunk = d.unconsumed_tail or fh.read(1 << 16)
            if d.eof:  # the next member of a multi-member file (``cat a.gz b.gz``)
                chunk = d.unused_data + chunk
                if not chunk.startswith(b"\x1f\x8b"):
                    break
                d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            if not chunk:
                break  # truncated: DuckDB reports it when it reads the file
            out += d.decompress(chunk, size - len(out))
    except zlib.error as exc:
        raise FileFormatError(
            f"{name}: is gzip-compressed but cannot be decompressed ({exc}); "
            "the file may be truncated or damaged"
        ) from None
    return out


def _nested_type(duck: str) -> bool:
    """Whether a DuckDB type holds several values: a list or array, struct, map or union."""
    return duck.endswith("]") or duck.startswith(("STRUCT", "MAP", "UNION"))


def _inner_name(name: str, gzip: bool) -> str:
    """``preds.tsv`` for ``preds.tsv.gz``: the name that tells the compressed file's format."""
    if gzip and name.lower().endswith((".gz", ".gzip")):
        return name[: name.rfind(".")]
    return name
