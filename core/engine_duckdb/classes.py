"""Classes in SQL: label, prediction and human label under the loader's shown spellings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.engine_duckdb.profile import _MAX_CLASSES
from slicewise.core.engine_duckdb.sql import (
    _Column,
    _dbl,
    _format_rows,
    _ident,
    _in,
    _lit,
    _not_finite_text,
    _Role,
    _strip,
    _to_number,
)
from slicewise.core.errors import (
    InvalidValueError,
    count_of,
)
from slicewise.core.task import TaskSpec, infer_task_kind
from slicewise.core.values import (
    NumberFormat,
    as_text,
    class_key,
    class_keys,
    classes_text,
)

#: The first rows :func:`core.task.infer_task_kind` looks at.
_TASK_ROWS = 50_000


class _Classes:
    def _class_roles(self) -> dict[str, _Role]:
        """Build label, prediction and human label by the class rules of :mod:`core.values`.

        Over the kept rows, each distinct value's text is the loader's
        (:func:`core.values.as_text`) and each class (equal :func:`core.values.class_keys`)
        is shown under its most frequent spelling in the three columns together, as
        :func:`core.values.canonical_classes` shows it. A role whose values all show as
        they are written is read straight from the file; the others through a join with a
        small registered table (key, shown class, that class as a number). Without a table
        for every role (more values than :data:`_MAX_CLASSES`), the roles are read as
        numbers only (see :meth:`_require_class_tables`).
        """
        m = self.mapping
        present = {
            r: self.columns[getattr(m, r)]
            for r in ("label", "prediction", "human")
            if getattr(m, r) is not None
        }
        if not all(c.texts is not None for c in present.values()):
            self._zero_one = self._zero_one_spellings(present)
            return {r: self._numeric_role(c, self._zero_one) for r, c in present.items()}
        kept = self._kept_histograms(present)
        totals: dict[str, int] = {}
        for r, c in present.items():
            for k, n in kept[r].items():
                text = c.texts[k]
                if text is not None:
                    totals[text] = totals.get(text, 0) + n
        shown_of = _shown_spellings(totals)
        roles = {}
        for r, c in present.items():
            shown = {k: None if t is None else shown_of.get(t, t) for k, t in c.texts.items()}
            expr, num = self._class_columns_sql(r, c, shown)
            roles[r] = _Role(c, expr, num, shown=shown, counts=kept[r])
        self._define_rows()
        return roles

    def _kept_histograms(self, present: Mapping[str, _Column]) -> dict[str, dict[str, int]]:
        """Return, per role, the rows of each distinct value (its key) among the kept rows.

        The whole file's histograms when no row is dropped, else one scan of the kept rows.
        """
        if self.keep == "true":
            return {r: dict(c.histogram or {}) for r, c in present.items()}
        got = self._aggregate({r: f"histogram({c.key})" for r, c in present.items()}, self.keep)
        return {r: {str(k): int(v) for k, v in (got[r] or {}).items()} for r in present}

    def _class_columns_sql(
        self, r: str, c: _Column, shown: Mapping[str, str | None]
    ) -> tuple[str, str]:
        """Return the SQL of role ``r``'s shown class and of that class as a number.

        ``shown`` maps each value's key to its shown class (``None``: missing). A text
        column whose every value shows as written is read straight from ``src``; else a
        class table (key, shown, num) is registered and joined to the rows' view. The
        columns are added to the view the analysis reads (``_view_columns``).
        """
        expr, num = _ident(f"__slicewise_{r}"), _ident(f"__slicewise_{r}_num")
        if c.group == "text" and all(s == k for k, s in shown.items()):
            # Every value shows as written and none is blank: no table needed.
            self._view_columns[num] = _to_number(c.ident, NumberFormat("."))
            return c.ident, num
        nums = pd.to_numeric(pd.Series(list(shown.values()), dtype=object), errors="coerce")
        table, alias = f"__slicewise_classes_{r}", f"__slicewise_{r}_classes"
        frame = pd.DataFrame(
            {
                "k": pd.Series(list(shown), dtype=object),
                "shown": pd.Series(list(shown.values()), dtype=object),
                "num": nums.to_numpy(dtype=float, na_value=np.nan),
            }
        )
        self._class_tables[r] = frame  # DuckDB reads it while the file is open
        self._con.register(table, frame)
        self._joins.append(
            f"LEFT JOIN {table} AS {alias} ON "
            f"{c.key_of('src.' + c.ident)} = CAST({alias}.k AS VARCHAR)"
        )
        self._view_columns[expr] = f"CAST({alias}.shown AS VARCHAR)"
        self._view_columns[num] = f"CAST({alias}.num AS DOUBLE)"
        return expr, num

    @staticmethod
    def _numeric_role(col: _Column, zero_one: Mapping[str, str]) -> _Role:
        """Build a role without a class table: read as a number in SQL (``to_numeric``).

        ``zero_one`` gives the shown spelling of the cells whose class is 0 or 1 (see
        :meth:`_zero_one_spellings`); every other class shows as it is written.
        """
        expr = f"(CASE WHEN {col.missing} THEN NULL ELSE {col.key} END)"
        if col.group == "text":
            num = _to_number(_strip(col.ident), NumberFormat("."))
        elif col.group in ("int", "float"):
            num = f"CAST({col.raw} AS DOUBLE)"
        else:
            num = "CAST(NULL AS DOUBLE)"  # true/false: no number to the loader either
        text = _zero_one_text(col)
        if text is not None and zero_one:
            values = pd.to_numeric(
                pd.Series(list(zero_one.values()), dtype=object), errors="coerce"
            )
            whens = " ".join(
                f"WHEN {_lit(k)} THEN {'NULL' if np.isnan(v) else _dbl(v)}"
                for k, v in zip(zero_one, values, strict=True)
            )
            num = f"(CASE {text} {whens} ELSE {num} END)"
        return _Role(col, expr, num)

    def _zero_one_spellings(self, present: Mapping[str, _Column]) -> dict[str, str]:
        """Map each spelling of the classes 0 and 1 to the one its class is shown under.

        Without class tables the roles are read as numbers, each cell as it is written,
        which is how the loader shows it except where its class is 0 or 1: ``yes``,
        ``TRUE``, ``1`` and ``1.0`` are one class, shown under its most frequent spelling
        over the kept rows (:func:`core.values.canonical_classes`), so ``yes`` is the
        number 1 where ``1`` is the more frequent spelling, and ``1`` no number where
        ``yes`` is. One scan counts those spellings.
        """
        texts = {r: _zero_one_text(c) for r, c in present.items()}
        got = self._aggregate(
            {r: f"histogram({t})" for r, t in texts.items() if t is not None}, self.keep
        )
        totals: dict[str, int] = {}
        for hist in got.values():
            for k, n in (hist or {}).items():
                totals[str(k)] = totals.get(str(k), 0) + int(n)
        shown = _shown_spellings(totals)
        keys = class_keys(pd.Series(list(shown), dtype=object)).tolist()
        return {k: v for (k, v), key in zip(shown.items(), keys, strict=True) if key in ("0", "1")}

    def _require_class_tables(self, task: TaskSpec, slice_by: Sequence[str]) -> None:
        """Refuse what needs classes when a class column has too many values for a table.

        Raises
        ------
        InvalidValueError
            A classification or binary task, or slicing by such a column.
        """
        frame = self._frame_columns()
        for r, role in self.roles.items():
            if role.shown is not None:
                continue
            sliced = [s for s in slice_by if frame.get(s, ("",))[0] == role.expr]
            if task.kind != "regression" or sliced:
                col = self.columns[getattr(self.mapping, r)]
                what = "slice by it" if task.kind == "regression" else "compare its classes"
                raise InvalidValueError(
                    f"{self.source_name}: the {'human-label' if r == 'human' else r} column "
                    f"{col.name!r} holds more than {_MAX_CLASSES:,} different values; --engine "
                    f"duckdb cannot {what} (it keeps a table of the distinct values): use the "
                    "pandas engine (--engine pandas)"
                )

    def _check_numbers(self) -> None:
        """Refuse regression on classes that are no number, as ``core.metrics.compute_outcomes``.

        Raises
        ------
        InvalidValueError
            The loader's message, naming the role, the rows and the first such value.
        """
        for r, role in self.roles.items():
            col = role.column
            self._check_finite(r, role)
            if role.shown is not None:
                bad = [
                    k
                    for k, s in role.shown.items()
                    if s is not None
                    and role.counts.get(k)
                    and pd.isna(pd.to_numeric(s, errors="coerce"))
                ]
                n = sum(role.counts[k] for k in bad)
                cond = f"{col.key} IN {_in(bad)}" if bad else "false"
            else:
                cond = f"(NOT {col.missing} AND {role.num} IS NULL)"
                n = int(self._aggregate({"n": f"count_if({cond})"}, self.keep)["n"])
            if n:
                key = self._fetch(
                    f"SELECT {col.key} FROM src WHERE {self.keep} AND {cond} LIMIT 1"
                )[0][0]
                if role.shown is not None:
                    first = role.shown[key]
                else:
                    first = as_text(pd.Series([col.value_of(key)], dtype=object)).iloc[0]
                    first = self._zero_one.get(first, first)
                raise InvalidValueError(
                    f"{self.source_name}: a regression task needs numbers; the {r} is not "
                    f"numeric in {count_of(n, 'row')} (first: {first!r})"
                )

    def _check_finite(self, r: str, role: Any) -> None:
        """Refuse ``inf``, ``1e400`` or ``nan`` as numbers, as ``core.metrics.compute_outcomes``."""
        col = role.column
        if role.shown is not None:
            worst = [
                k
                for k, s in role.shown.items()
                if s is not None and role.counts.get(k) and _not_finite_text(str(s))
            ]
            cond = f"{col.key} IN {_in(worst)}" if worst else "false"
            n = sum(role.counts[k] for k in worst)
        else:
            text = f"lower(trim(CAST({col.key} AS VARCHAR)))"
            cond = (
                f"(isinf({role.num}) OR (NOT {col.missing} AND {text} IN ('nan', '+nan', '-nan')))"
            )
            n = int(self._aggregate({"n": f"count_if({cond})"}, self.keep)["n"])
        if not n:
            return
        where = f"{self.keep} AND {cond}"
        positions = self._first_positions(where)
        shown = self._examples(col.ident, where, as_loader_text=True)
        raise InvalidValueError(
            f"{self.source_name}: a regression task needs finite numbers; the {r} is not "
            f"finite in {_format_rows(positions, n, numbering=self.numbering)} ({shown}); "
            "fix those cells or leave those rows out"
        )

    def _positive_class(self, positive: Any) -> str:
        """Return the data's spelling of ``positive``, as :func:`core.metrics.compute_outcomes`.

        Matched by :func:`core.values.class_key` in the labels, then in the predictions (a
        class only the model predicted is its false alarms).

        Raises
        ------
        InvalidValueError
            No positive class, or one in neither the labels nor the predictions (the
            loader's messages).
        """
        at = f"{self.source_name}: "
        if positive is None:
            raise InvalidValueError(
                f"{at}a binary task needs a positive class (CLI: --positive "
                f"CLASS); classes: {classes_text(self._classes())}"
            )
        wanted = class_key(positive)
        for role in (self.roles["label"], self.roles["prediction"]):
            classes = {s for k, s in role.shown.items() if s is not None and role.counts.get(k)}
            if str(positive) in classes:
                return str(positive)
            match = [c for c in sorted(classes) if class_key(c) == wanted]
            if match:
                return match[0]  # one spelling per class: the shown one
        raise InvalidValueError(
            f"{at}positive class {positive!r} never occurs in the labels or "
            f"the predictions; classes: {classes_text(self._classes())}"
        )

    def infer_task_kind(self) -> str:
        """:func:`core.task.infer_task_kind` on the loader's labels (their first rows)."""
        y = self.roles["label"]
        col = y.column
        keys = [
            r[0]
            for r in self._fetch(f"SELECT {col.key} FROM src WHERE {self.keep} LIMIT {_TASK_ROWS}")
        ]
        if y.shown is not None:
            labels = pd.Series([y.shown[k] for k in keys], dtype=object)
        else:
            texts = as_text(pd.Series([col.value_of(k) for k in keys], dtype=object))
            labels = pd.Series([self._zero_one.get(t, t) for t in texts], dtype=object)
        return infer_task_kind(labels)

    def _classes(self, limit: int = 10) -> list[str]:
        """List the first classes of the labels in order of appearance (error messages)."""
        y = self.roles["label"]
        rows = self._fetch(
            f"SELECT k FROM (SELECT {y.column.key} AS k, row_number() OVER () AS __slicewise_rn "
            f"FROM src WHERE {self.keep}) WHERE k IS NOT NULL GROUP BY k "
            "ORDER BY min(__slicewise_rn)"
        )
        shown = (y.shown or {}).get
        classes = dict.fromkeys(s for s in (shown(r[0]) for r in rows) if s is not None)
        return list(classes)[:limit]


def _zero_one_text(col: _Column) -> str | None:
    """Write the loader's text of the cells whose class may be 0 or 1 (else NULL) in SQL.

    A superset (``01`` is read as 1 here, and dropped by its class key in Python); ``None``
    for a column that holds no such cell.
    """
    x = col.ident
    if col.group == "text":
        s = _strip(x)
        return (
            f"(CASE WHEN lower({s}) IN ('true', 'yes', 'false', 'no') OR "
            f"{_to_number(s, NumberFormat('.'))} IN (0, 1) THEN {s} END)"
        )
    if col.group == "int":
        return f"(CASE WHEN {x} IN (0, 1) THEN CAST({x} AS VARCHAR) END)"
    if col.group == "float":
        return f"(CASE WHEN {x} = 0 THEN '0' WHEN {x} = 1 THEN '1' END)"
    if col.group == "bool":
        return f"(CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' END)"
    return None


def _shown_spellings(counts: Mapping[str, int]) -> dict[str, str]:
    """Map each class spelling to the one its class is shown under.

    ``counts`` holds the rows of each spelling (the loader's trimmed text). Spellings with
    equal :func:`core.values.class_keys` are one class, shown under the most frequent (ties:
    the first in sorted order): the rule of :func:`core.values.canonical_classes`, here on
    counts that DuckDB gathered.

    Examples
    --------
    >>> _shown_spellings({"1": 3, "1.0": 5, "01": 9, "yes": 5})
    {'1': '1.0', '1.0': '1.0', '01': '01', 'yes': '1.0'}
    """
    spellings = list(counts)
    keys = class_keys(pd.Series(spellings, dtype=object)).tolist()
    best: dict[str, str] = {}
    for spelling, key in zip(spellings, keys, strict=True):
        held = best.get(key)
        if held is None or (-counts[spelling], spelling) < (-counts[held], held):
            best[key] = spelling
    return {s: best[k] for s, k in zip(spellings, keys, strict=True)}
