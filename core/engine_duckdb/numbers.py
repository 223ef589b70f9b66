"""Numbers read from text in SQL: the score, the human accuracy and numeric metadata columns.

:class:`_Numbers` infers a text column's number format as :func:`core.values.
infer_number_format` does, from one cell of each shape (:func:`_shape`), parses the cells in
SQL and refuses the cells the loader refuses, with its messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from slicewise.core.engine_duckdb.sql import (
    _Column,
    _dbl,
    _format_rows,
    _lit,
    _shape,
    _strip,
    _to_number,
)
from slicewise.core.errors import (
    DataError,
    InvalidValueError,
)
from slicewise.core.values import (
    NumberFormat,
    infer_number_format,
    likely_number_cause,
)

#: A text column of numbers has few shapes (see :func:`_shape`); more than this is refused.
_MAX_SHAPES = 100_000
#: The characters the number formats of :mod:`core.values` write (digits, signs, decimal
#: marks, exponents, thousands separators), as an RE2 class body: a trimmed cell holding
#: another character is no number in any of them.
_NUMBER_CHARS = "0-9+\\-.,eE \\x{a0}\\x{202f}"


class _Numbers:
    #: The numeric roles read as :func:`core.column_parsing.parse_score` reads the score: the
    #: mapping field, the view column of the parsed value, the role and its values in messages.
    _NUMBER_ROLES = {
        "score": ("__slicewise_score", "score", "scores"),
        "human_accuracy": ("__slicewise_human_accuracy", "human accuracy", "human accuracies"),
    }

    def _score_facts(self) -> dict[str, str]:
        """Decide the number formats of the score and the human accuracy; return their checks.

        The format is the loader's (:func:`core.column_parsing.parse_score`): inferred over the
        present cells, ``.`` when they hold other text; the SQL of the parsed score goes
        in ``_score``, that of the human accuracy in ``_human_accuracy``.
        """
        self._numbers: dict[str, dict[str, Any]] = {}
        aggs: dict[str, str] = {}
        for role, (view, _, _) in self._NUMBER_ROLES.items():
            column = getattr(self.mapping, role)
            if column is None:
                continue
            sc = self.columns[column]
            info: dict[str, Any] = {"column": column, "sql": None, "format": None, "bad": None}
            self._numbers[role] = info
            if sc.group != "text":
                if sc.kind not in ("bool", "boolobj"):
                    info["sql"] = self._row_column(view, f"CAST({sc.raw} AS DOUBLE)")
                continue
            fmt = info["format"] = self._number_format(sc)
            if fmt == "ambiguous":
                continue
            text = _strip(sc.ident)
            num = _to_number(text, fmt if isinstance(fmt, NumberFormat) else NumberFormat("."))
            info["sql"] = self._row_column(view, num)
            info["bad"] = f"({text} <> '' AND {num} IS NULL)"
            aggs[f"{role}_bad"] = f"count_if({info['bad']})"
        self._score = self._numbers.get("score", {}).get("sql")
        self._human_accuracy = self._numbers.get("human_accuracy", {}).get("sql")
        return aggs

    def _check_finite_score(self, role: str = "score") -> None:
        """Refuse infinite values (``inf``, ``1e400``) as ``core.column_parsing.parse_score``."""
        info = self._numbers.get(role)
        if info is None or info["sql"] is None:
            return
        _, what, values_are = self._NUMBER_ROLES[role]
        sc = self.columns[info["column"]]
        fmt = info["format"]
        value = (
            f"CAST({sc.raw} AS DOUBLE)"
            if sc.group != "text"
            else _to_number(
                _strip(sc.ident), fmt if isinstance(fmt, NumberFormat) else NumberFormat(".")
            )
        )
        self._refuse_cells(
            sc,
            f"isinf({value})",
            (
                f"{values_are} must be finite numbers: fix those cells or choose another {what} "
                "column"
            ),
            what=what,
        )
        if role == "human_accuracy":  # core.column_parsing.parse_human_accuracy's range
            self._refuse_cells(
                sc,
                f"({value} < 0 OR {value} > 1)",
                (
                    "a human accuracy is the probability that one person labels the example "
                    "right, a number between 0 and 1 (write 95% as 0.95): fix those cells or "
                    "choose another column (CLI: --human-accuracy COLUMN)"
                ),
                what="human accuracy",
            )

    def _refuse_cells(self, sc: _Column, bad: str, why: str, *, what: str) -> None:
        """Raise :class:`InvalidValueError` naming the cells of ``sc`` where ``bad`` holds."""
        n = int(self._aggregate({"n": f"count_if({bad})"}, "true")["n"])
        if n:
            positions = self._first_positions(bad)
            raise InvalidValueError(
                f"{self.source_name}: the {what} column {sc.name!r} holds "
                f"{self._examples(sc.ident, bad, as_loader_text=True)} in "
                f"{_format_rows(positions, n, numbering=self.numbering)}; {why}"
            )

    def _check_score(self) -> None:
        """Refuse the score and human-accuracy cells :func:`core.dataset.prepare` refuses.

        With the loader's messages (:func:`core.column_parsing.parse_score`,
        :func:`core.column_parsing.parse_human_accuracy`), the score first.

        Raises
        ------
        InvalidValueError
            True/false values, numbers that read two ways, cells that are no number, values
            that are not finite, human accuracies outside [0, 1].
        """
        name = self.source_name
        for role, info in self._numbers.items():
            _, what, values_are = self._NUMBER_ROLES[role]
            sc = self.columns[info["column"]]
            if sc.kind in ("bool", "boolobj"):
                raise InvalidValueError(
                    f"{name}: the {what} column {sc.name!r} holds true/false values; "
                    f"{values_are} must be numbers (choose another {what} column)"
                )
            if info["format"] == "ambiguous":
                text = _strip(sc.ident)
                first = self._fetch(f"SELECT {text} FROM src WHERE {text} <> '' LIMIT 1")[0][0]
                raise InvalidValueError(
                    f"{name}: the {what} column {sc.name!r} holds numbers such as {first!r} "
                    "that read differently with a decimal comma and with a thousands "
                    "separator; give the format (CLI: --decimal , or --thousands ,)"
                )
            n_bad = int(self._score_stats.get(f"{role}_bad") or 0)
            if n_bad:
                bad = info["bad"]
                positions = self._first_positions(bad)
                sample = str(self._fetch(f"SELECT {sc.ident} FROM src WHERE {bad} LIMIT 1")[0][0])
                cause = likely_number_cause(sample)
                raise InvalidValueError(
                    f"{name}: the {what} column {sc.name!r} holds "
                    f"{self._examples(sc.ident, bad)} in "
                    f"{_format_rows(positions, n_bad, numbering=self.numbering)}{cause}; "
                    f"{values_are} must be numbers: fix those cells or choose another {what} "
                    "column"
                )
            self._check_finite_score(role)

    def _number_format(self, col: _Column, where: str = "true") -> NumberFormat | str | None:
        """Return :func:`core.values.infer_number_format` of a text column's present cells.

        A cell fits a number format exactly when every cell of its shape (:func:`_shape`)
        does, so the format is inferred on one distinct cell of each shape: one with a
        non-zero digit where the shape has one, so that two formats that place the decimal
        mark apart give different numbers on it, as they do on the whole column. A cell
        holding a character no number format writes makes the column text at once.

        Raises
        ------
        DataError
            More than :data:`_MAX_SHAPES` shapes (the pandas engine reads such a column).
        """
        extra = "".join(f"\\{c}" for c in sorted({self.decimal, self.thousands} - {None}))
        chars = _lit(f"[{_NUMBER_CHARS}{extra}]+")
        rows = self._fetch(
            f"SELECT CASE WHEN regexp_full_match(s, {chars}) THEN {_shape('s')} END AS shape, "
            "arg_max(s, regexp_matches(s, '[1-9]')) FROM (SELECT "
            f"{_strip('v')} AS s FROM (SELECT DISTINCT {col.ident} AS v FROM {self._rows} "
            f"WHERE {where}) WHERE v IS NOT NULL) WHERE s <> '' GROUP BY shape "
            f"LIMIT {_MAX_SHAPES + 2}"
        )
        if not rows or any(shape is None for shape, _ in rows):
            return None  # no value, or a cell that is no number in any format: text
        if len(rows) > _MAX_SHAPES:
            raise DataError(
                f"{self.source_name}: column {col.name!r} holds numbers written in "
                f"more than {_MAX_SHAPES:,} ways; the duckdb engine cannot tell its "
                "number format: use the pandas engine (--engine pandas)"
            )
        return infer_number_format(
            pd.Series([r[1] for r in rows], dtype=object),
            decimal=self.decimal,
            thousands=self.thousands,
        )

    def _type_metadata(self, cols: Sequence[_Column]) -> None:
        """Give metadata columns the loader's dtype (:func:`core.column_parsing.typed_metadata`).

        Over the kept rows, a text column whose every present cell reads as a number in one
        format is int64 when the numbers are whole and none is missing, else float64; one
        that reads two ways stays text, with the loader's warning.
        """
        typed = [c for c in cols if c.group != "text"]
        stats = self._aggregate({c.name: f"count({c.raw})" for c in typed})
        numbers = {}
        for col in cols:
            if col.group != "text":
                col.nonnull = int(stats[col.name])
                col.nulls = self.n_rows - col.nonnull
            col.kind = self._pandas_kind(col)
            col.typed = True
            if col.group != "text":
                continue
            fmt = self._number_format(col, self.keep)
            if fmt == "ambiguous":
                first = self._fetch(
                    f"SELECT {col.ident} FROM src WHERE {self.keep} AND "
                    f"{col.ident} IS NOT NULL LIMIT 1"
                )[0][0]
                self.warnings.append(
                    f"{self.source_name}: column {col.name!r} holds numbers such as {first!r} "
                    "that read differently with a decimal comma and with a thousands separator; "
                    "it is kept as text: give the format (CLI: --decimal , or --thousands ,)"
                )
            elif isinstance(fmt, NumberFormat):
                numbers[col.name] = _to_number(_strip(col.ident), fmt)
        whole = self._aggregate(
            {
                c: (
                    f"count({num}) = count(*) AND coalesce(bool_and(isfinite({num}) AND "
                    f"{num} = trunc({num}) AND abs({num}) < {_dbl(2.0**63)}), true)"
                )
                for c, num in numbers.items()
            },
            self.keep,
        )
        for c, num in numbers.items():
            col = self.columns[c]
            col.kind = "int" if whole[c] else "float"
            col.number = self._row_column(
                f"__slicewise_number_{c}", f"CAST({num} AS BIGINT)" if whole[c] else num
            )
