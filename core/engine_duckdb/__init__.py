"""The error-analysis table of a file larger than memory: per-slice counts from DuckDB.

Every metric of the table derives from per-slice counts (:data:`core.metrics.COUNT_COLUMNS`),
so the counts can come from an engine instead of pandas. This module computes them with SQL
over a CSV, TSV or Parquet file that DuckDB streams, then hands them to
:func:`core.metrics.compute_slice_metrics` and :func:`core.analysis.finish_table`: the table
is the one :func:`core.analysis.analyze` returns for ``load_dataset(path)`` (same rows,
order, columns, dtypes and values; sums of floating-point errors agree to rounding).

How the pandas loader's rules (:mod:`core.values`) are followed:

- Reading: every CSV cell is read as text (DuckDB's ``all_varchar``) and only a blank cell
  is missing (``nullstr``); text cells whose trimmed text is one of the user's
  ``na_values`` are missing too (masked in the view every query reads). Parquet columns
  keep the file's types.
- Roles and tag columns: detected from the first 10,000 rows (read as the loader reads
  them, ``na_values`` masked) with :func:`core.column_roles.resolve_mapping`; whether a column
  holds only boolean-like values (a tag) is then decided on the distinct values of the
  whole file, with the loader's own test.
- Classes (label, prediction, human label): DuckDB lists each column's distinct values
  with their row counts (at most :data:`_MAX_CLASSES`); Python turns them into the
  loader's text (:func:`core.values.as_text`), groups them by
  :func:`core.values.class_keys` (``1``, ``1.0`` and ``true`` are one class, ``01`` is
  another) and shows each class under its most frequent spelling over the kept rows of all
  three columns; SQL reads every row's class by a join with that small table. Regression
  reads the shown classes as numbers, as the loader does; a column with more distinct
  values than :data:`_MAX_CLASSES` can only be read that way (numbers parsed in SQL).
- Ids: trimmed text compared exactly (``7``, ``07`` and ``007`` are three ids); blank and
  repeated ids are found in SQL and reported with the loader's messages.
- Numbers (the score, numeric slice-by metadata): a text column's number format is
  :func:`core.values.infer_number_format` of one cell of each *shape* (the cell with its
  digits written as ``1``, a leading zero kept), since a cell fits a format exactly when
  every cell of its shape does; the cells are then parsed in SQL (separators removed,
  ``TRY_CAST``). A metadata column that reads two ways stays text with the loader's
  warning (metadata columns are typed when they are sliced by).
- Validation over the whole file: missing labels or predictions (counted in SQL, the same
  message as the loader's, or dropped with ``missing="drop"``), blank or repeated ids, score
  values that are not numbers, tag values that are not true/false, 1/0, yes/no or x/blank.
- Numeric ``slice_by`` columns: the loader's quantile bins, edges computed by numpy's linear
  rule from order statistics that DuckDB selects (``quantile_disc``), so they are the same
  floats; other columns: one slice per distinct value.

Not supported (a :class:`~core.errors.DataError` says so): text tasks (normalisation and
word error rate need Python), predictions from a score threshold, classification on a
label, prediction or human-label column with more than :data:`_MAX_CLASSES` distinct
values, and column types the loader would read differently (dates, decimals, lists, pandas
categoricals or nullable integers stored in a Parquet file).

The package, one step of :class:`DuckDBFile` per module (each a mixin of the class):
:mod:`.sql` (quoting, trimming, number parsing, the column model), :mod:`.opening` (the
file's views and the pandas sample roles are detected on), :mod:`.profile` (whole-file
checks, kept rows, ids), :mod:`.numbers` (score, human accuracy, numeric metadata),
:mod:`.tags`, :mod:`.classes` (shown spellings, class tables), :mod:`.slices` (slice-by
values and quantile bins), :mod:`.counts` (per-slice counts; the outcomes are read off
:func:`core.metrics.compute_outcomes`, see :func:`.counts.outcome_table`) and :mod:`.file`
(the class and :func:`analyze_file_duckdb`).
"""

from slicewise.core.engine_duckdb.file import (
    TEXT_TASK_MESSAGE,
    DuckDBFile,
    analyze_file_duckdb,
)
from slicewise.core.engine_duckdb.slices import nanquantile_linear
from slicewise.core.engine_duckdb.sql import SAMPLE_ROWS

__all__ = [
    "SAMPLE_ROWS",
    "TEXT_TASK_MESSAGE",
    "DuckDBFile",
    "analyze_file_duckdb",
    "nanquantile_linear",
]
