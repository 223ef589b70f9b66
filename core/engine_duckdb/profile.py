"""Checking the whole file as the pandas loader does: counts, missing values, ids.

:class:`_Profiling` runs :func:`core.dataset.prepare`'s checks over the whole file in few
scans, in the loader's order (score, tags, missing labels and predictions, ids: the id
checks are :class:`~core.engine_duckdb.ids._Ids`'), then builds the class roles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from slicewise.core.engine_duckdb.sql import (
    _MAX_TAG_VALUES,
    _Column,
    _format_rows,
    _ident,
)
from slicewise.core.errors import (
    EmptyFileError,
    InvalidValueError,
    MissingValuesError,
)
from slicewise.core.values import (
    as_text,
)

#: Label, prediction and human-label columns with at most about this many distinct values
#: (DuckDB's estimate) get a class table; beyond it only a regression task runs.
_MAX_CLASSES = 100_000


class _Profiling:
    """Whole-file checks of :class:`~core.engine_duckdb.file.DuckDBFile` (a mixin).

    Reads ``mapping``, ``columns``, ``source_name``, ``n_rows`` and the query helpers of the
    file; sets ``n_rows``, ``keep`` (SQL of the kept rows), ``n_kept``, ``roles`` and the
    facts the later steps read (``_tag_stats``, ``_tag_values``, ``_score_stats``...).
    """

    def _profile(self, possible_tags: Sequence[str]) -> None:
        """Check the whole file as :func:`core.dataset.prepare` does, in its order.

        One scan counts rows, values and distinct-value estimates; a second lists the
        distinct values of the tag columns and of label, prediction and human label (with
        their rows). Then the score is parsed, the tags decided, missing labels and
        predictions counted, the ids checked over the kept rows and the class tables built.
        """
        cols = self.columns
        self._possible_tags = [
            c for c in possible_tags if cols[c].group != "other" and not cols[c].unsupported
        ]
        used = self._used_columns()
        stats = self._first_scan(used)
        missing = self._second_scan(stats)
        self._check_score()  # parsed before anything is dropped, as by the loader
        self._resolve_tags()  # tag values are checked before labels, as by the loader
        self._keep_rows(missing)
        if self.mapping.id is not None:
            self._check_ids()
        self.roles = self._class_roles()

    def _used_columns(self) -> list[str]:
        """List the role and tag columns, refusing those DuckDB does not read as pandas does.

        Raises
        ------
        InvalidValueError
            A used column (other than the id) of a type the loader reads differently.
        """
        m = self.mapping
        roles = (m.label, m.prediction, m.human, m.id, m.score, m.tags_column, m.human_accuracy)
        used = list(
            dict.fromkeys(
                c for c in (*roles, *(m.tag_columns or ()), *self._possible_tags) if c is not None
            )
        )
        for c in used:
            col = self.columns[c]
            if c != m.id and (col.group == "other" or col.unsupported):
                why = col.unsupported or f"values of DuckDB type {col.duck}"
                raise InvalidValueError(
                    f"{self.source_name}: column {c!r} holds {why}, which the duckdb engine "
                    "does not read as the pandas loader does; use the pandas engine "
                    "(--engine pandas)"
                )
        return used

    def _class_columns(self) -> list[str]:
        m = self.mapping
        return [c for c in (m.label, m.prediction, m.human) if c is not None]

    def _first_scan(self, used: Sequence[str]) -> dict[str, Any]:
        """Count rows, values and distinct-value estimates in one scan; set the dtypes.

        Raises
        ------
        EmptyFileError
            A file without rows.
        """
        m, cols = self.mapping, self.columns
        aggs: dict[str, str] = {"rows": "count(*)"}
        for c in used:
            aggs[f"nonnull:{c}"] = f"count({cols[c].raw})"
        for c in self._class_columns():
            aggs[f"approx:{c}"] = f"approx_count_distinct({cols[c].key})"
        if m.tags_column is not None:
            aggs["pipe"] = f"bool_or(contains({cols[m.tags_column].ident}, '|'))"
        for c in (*(m.tag_columns or ()), *self._possible_tags):
            if cols[c].group != "bool":
                aggs[f"approx:{c}"] = f"approx_count_distinct({cols[c].ident})"
        stats = self._aggregate(aggs)
        self.n_rows = int(stats["rows"])
        if self.n_rows == 0:
            raise EmptyFileError(
                f"{self.source_name}: the Parquet file has no rows; add one row per example"
                if self.parquet
                else f"{self.source_name}: has a header but no data rows; add one row per example"
            )
        for c in used:
            col = cols[c]
            col.nonnull = int(stats[f"nonnull:{c}"])
            col.nulls = self.n_rows - col.nonnull
            col.kind = self._pandas_kind(col)
        self._tag_stats = stats
        return stats

    def _second_scan(self, stats: Mapping[str, Any]) -> dict[str, int]:
        """List distinct tag and class values in one scan; return missing label/prediction counts.

        The class columns' values come with their rows and are turned into the loader's text
        in Python (:func:`core.values.as_text`); the score and id checks ride along.
        """
        m, cols = self.mapping, self.columns
        explicit = m.tag_columns or ()
        tags = [
            c
            for c in (*explicit, *self._possible_tags)
            if cols[c].group == "bool"
            or stats[f"approx:{c}"] <= (_MAX_TAG_VALUES if c in explicit else 100)
        ]
        distinct = {
            f"tag:{c}": f"array_agg(DISTINCT {cols[c].raw}) FILTER (WHERE "
            f"{cols[c].raw} IS NOT NULL)"
            for c in tags
        }
        for c in self._class_columns():
            if stats[f"approx:{c}"] <= _MAX_CLASSES:
                distinct[f"hist:{c}"] = f"histogram({cols[c].key})"
            elif c in (m.label, m.prediction):
                distinct[f"missing:{c}"] = f"count_if({cols[c].missing})"
        score = self._score_facts()
        ids = self._id_facts()
        got = self._aggregate({**distinct, **score, **ids})
        self._score_stats = {k: got[k] for k in score}
        self._id_stats = {k: got[k] for k in ids}  # over every row: kept ones if none drop
        self._tag_values = {c: list(got[f"tag:{c}"] or []) for c in tags}
        return self._missing_counts(got)

    def _missing_counts(self, got: Mapping[str, Any]) -> dict[str, int]:
        """Give the class columns their texts; count missing labels and predictions."""
        m, cols = self.mapping, self.columns
        missing: dict[str, int] = {}
        for c in self._class_columns():
            col = cols[c]
            hist = {str(k): int(v) for k, v in (got.get(f"hist:{c}") or {}).items()}
            if f"hist:{c}" in got and len(hist) <= _MAX_CLASSES:
                col.histogram = hist
                texts = as_text(pd.Series([col.value_of(k) for k in hist], dtype=object))
                col.texts = dict(zip(hist, texts.tolist(), strict=True))
                missing[c] = col.nulls + sum(n for k, n in hist.items() if col.texts[k] is None)
            elif f"missing:{c}" in got:
                missing[c] = int(got[f"missing:{c}"])
        late = {
            c: f"count_if({cols[c].missing})" for c in (m.label, m.prediction) if c not in missing
        }  # more values than DuckDB's estimate said
        missing.update({c: int(n) for c, n in self._aggregate(late).items()})
        return missing

    def _keep_rows(self, missing: Mapping[str, int]) -> None:
        """Refuse or drop the rows missing a label or a prediction, as the loader does.

        Sets ``keep`` (SQL true on the kept rows) and ``n_kept``.

        Raises
        ------
        MissingValuesError
            Missing labels or predictions with ``missing="fail"``, a column empty in every
            row, or no row left after dropping.
        """
        name, cols = self.source_name, self.columns
        problems, conds = [], []
        for role in ("label", "prediction"):
            col = cols[getattr(self.mapping, role)]
            k = missing[col.name]
            what = f"the {role} column {col.name!r}"
            if k == self.n_rows:
                raise MissingValuesError(
                    f"{name}: {what} is empty in every row; check that the right column is "
                    f"chosen (CLI: --{role} COLUMN)"
                )
            if k:
                rows = _format_rows(self._first_positions(col.missing), k, numbering=self.numbering)
                problems.append(f"{what} is missing in {k} of {self.n_rows} rows ({rows})")
                conds.append(col.missing)
        self.keep = "true"
        self.n_kept = self.n_rows
        if problems and self._missing_policy == "fail":
            raise MissingValuesError(
                f"{name}: {' and '.join(problems)}; fill them in, or load with missing='drop' "
                "(CLI: --drop-missing) to leave those rows out; if these are transcripts, an "
                "empty cell is an empty transcript: choose the text task (CLI: --task text)"
            )
        if not problems:
            return
        dropped = " OR ".join(conds)
        self.keep = f"NOT ({dropped})"
        n_drop = int(self._aggregate({"n": f"count_if({dropped})"})["n"])
        self.n_kept = self.n_rows - n_drop
        if self.n_kept == 0:
            raise MissingValuesError(
                f"{name}: every row misses a label or a prediction "
                f"({' and '.join(problems)}); nothing is left to analyse: check the column "
                "choice"
            )
        rows = _format_rows(self._first_positions(dropped), n_drop, numbering=self.numbering)
        self.warnings.append(
            f"{name}: left out {n_drop} of {self.n_rows} rows with a "
            f"missing label or prediction ({rows})"
        )

    def _row_column(self, name: str, expr: str) -> str:
        """Add ``expr`` as column ``name`` of the view the analysis reads; return its SQL.

        Computed once per row there, however many slice conditions read it.
        """
        ident = _ident(name)
        self._view_columns[ident] = expr
        self._define_rows()
        return ident

    def _define_rows(self) -> None:
        """(Re)define the view of the file's rows with the class and number columns."""
        if not self._view_columns:
            self._rows = "src"
            return
        select = ", ".join(f"{expr} AS {ident}" for ident, expr in self._view_columns.items())
        self._con.execute(
            f"CREATE OR REPLACE VIEW __slicewise_rows AS SELECT src.*, {select} "
            f"FROM src {' '.join(self._joins)}"
        )
        self._rows = "__slicewise_rows"

    @staticmethod
    def _pandas_kind(col: _Column) -> str:
        """Return the loader reader's dtype of the column (text until typed as numbers)."""
        g = col.group
        if col.unsupported or g == "other":
            return "other"
        if g == "int":
            return "int" if col.nulls == 0 else "float"  # pandas: integers with gaps are floats
        if g == "float":
            return "float"
        if g == "bool":
            return "bool" if col.nulls == 0 else "boolobj"
        return "str"

    def _examples(
        self, expr: str, cond: str, *, as_loader_text: bool = False, limit: int = 3
    ) -> str:
        """:func:`core.column_parsing.example_values`: first distinct values where ``cond`` holds.

        Taken from the first 1000 such rows in file order; ``as_loader_text`` writes typed
        values as the loader's text (:func:`core.values.as_text`).
        """
        rows = self._fetch(
            f"SELECT v FROM (SELECT {expr} AS v, row_number() OVER () AS __slicewise_rn FROM "
            f"src WHERE {cond} LIMIT 1000) GROUP BY v ORDER BY min(__slicewise_rn) "
            f"LIMIT {limit}"
        )
        values = [r[0] for r in rows]
        if as_loader_text:
            values = as_text(pd.Series(values, dtype=object)).tolist()
        return ", ".join(repr(str(v)) for v in values)
