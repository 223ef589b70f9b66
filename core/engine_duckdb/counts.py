"""Per-slice counts in SQL: every slice's :data:`core.metrics.COUNT_COLUMNS` in one scan.

What counts as correct, a true positive, a human-only success... is defined once, by
:func:`core.metrics.compute_outcomes`. SQL computes only a few per-row *facts* (:data:`FACTS`:
does the prediction match the label, is there a human label and does it match...), and
:func:`outcome_table` reads off ``compute_outcomes`` itself, run on a small probe table holding
every combination of those facts, which combinations make each 0/1 outcome 1. The sums that
are not 0/1 (errors, human accuracies) are the quantities of :data:`SUMMED`, each counted
where a 0/1 outcome of that table holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.engine_duckdb.sql import _dbl, _lit, _Slice
from slicewise.core.metrics import COUNT_COLUMNS, compute_outcomes
from slicewise.core.slice_names import OVERALL, UNTAGGED
from slicewise.core.task import TaskSpec

#: The per-row facts the SQL computes, in the bit order of a row's fact code: the
#: prediction matches the label (for regression: within the tolerance), the row has a human
#: label, the human label matches the label (same rule), the label and the prediction are
#: the positive class (binary), the row has a human accuracy.
FACTS: tuple[str, ...] = (
    "correct",
    "has_human",
    "human_agrees",
    "label_positive",
    "predicted_positive",
    "has_accuracy",
)

#: Outcome columns of :func:`core.metrics.compute_outcomes` that are sums of a quantity, not
#: 0/1: the quantity (``err`` is prediction - label, ``a`` the human accuracy) and the 0/1
#: outcome where it counts (``None``: every row). The other outcomes come from
#: :func:`outcome_table`.
SUMMED: dict[str, tuple[str, str | None]] = {
    "abs_error": ("abs(err)", None),
    "sq_error": ("err * err", None),
    "hacc_sum": ("a", "hacc_n"),
    "hacc_sq": ("a * a", "hacc_n"),
    "hacc_cross": ("a", "hacc_model"),
}


def _probe(task: TaskSpec, human: bool, accuracy: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Build a frame holding every combination of :data:`FACTS`, and each row's fact code.

    Classes ``P`` (the positive one), ``N`` and ``M``; for regression the label 0 and the
    predictions 0 (correct) and the tolerance + 1 (wrong).
    """
    if task.kind == "regression":
        far = (task.tolerance or 0.0) + 1.0
        labels, predictions, humans = [0.0], [0.0, far], [np.nan, 0.0, far]
    else:
        labels, predictions, humans = ["P", "N"], ["P", "N", "M"], [None, "P", "N", "M"]
    rows, codes = [], []
    for y in labels:
        for p in predictions:
            for h in humans if human else [None]:
                for a in (np.nan, 0.5) if accuracy else (np.nan,):
                    has_h = h is not None and h == h  # NaN != NaN
                    facts = (
                        p == y,
                        has_h,
                        has_h and h == y,
                        task.kind == "binary" and y == "P",
                        task.kind == "binary" and p == "P",
                        accuracy and a == a,
                    )
                    rows.append({"label": y, "prediction": p, "human": h, "human_accuracy": a})
                    codes.append(sum(int(f) << i for i, f in enumerate(facts)))
    frame = pd.DataFrame(rows, dtype=object)
    if not human:
        frame = frame.drop(columns="human")
    if not accuracy:
        frame = frame.drop(columns="human_accuracy")
    return frame, np.array(codes)


def outcome_table(task: TaskSpec, *, human: bool, accuracy: bool) -> dict[str, frozenset[int]]:
    """Map each 0/1 outcome column of :func:`core.metrics.compute_outcomes` to its fact codes.

    Parameters
    ----------
    task
        A classification, binary or regression task (text outcomes need Python).
    human, accuracy
        Whether the rows have a human label, a human accuracy.

    Returns
    -------
    dict
        Outcome column -> the fact codes (bit ``i`` set when ``FACTS[i]`` holds) of the rows
        where ``compute_outcomes`` gives it 1, for every column it returns except those of
        :data:`SUMMED` (which the task's columns hold in the same order).

    Raises
    ------
    RuntimeError
        ``compute_outcomes`` gives two rows with the same facts different outcomes: the facts
        no longer determine them, and the SQL would disagree with the pandas engine.
    """
    frame, codes = _probe(task, human, accuracy)
    probe_task = dataclasses.replace(task, positive="P") if task.kind == "binary" else task
    outcomes = compute_outcomes(frame, probe_task)
    table: dict[str, frozenset[int]] = {}
    for column in outcomes.columns:
        if column in SUMMED:
            table[column] = frozenset()
            continue
        values = outcomes[column].to_numpy(dtype=float)
        ones = {int(c) for c, v in zip(codes, values, strict=True) if v == 1}
        zeros = {int(c) for c, v in zip(codes, values, strict=True) if v == 0}
        if ones & zeros or len(ones) + len(zeros) != len(set(codes.tolist())):
            raise RuntimeError(
                f"compute_outcomes' {column!r} is not a 0/1 function of the facts {FACTS}"
            )
        table[column] = frozenset(ones)
    return table


def _in_codes(code: str, codes: frozenset[int]) -> str:
    """Write SQL true where the fact code ``code`` is one of ``codes``."""
    if not codes:
        return "false"
    return f"({code} IN ({', '.join(map(str, sorted(codes)))}))"


class _Counting:
    """Per-slice counts of :class:`~core.engine_duckdb.file.DuckDBFile` (a mixin).

    Reads ``roles``, ``tags``, ``keep``, ``_rows``, ``_positive`` and ``_human_accuracy``;
    sets ``_fingerprints`` (see :func:`_same_members`).
    """

    def _facts(self, task: TaskSpec) -> dict[str, str]:
        """Write each of :data:`FACTS` (and ``err``, ``a``) in SQL for the task's rows."""
        r = self.roles
        y, p, h = r["label"], r["prediction"], r.get("human")
        tol = _dbl(task.tolerance if task.tolerance is not None else 0.0)

        def same(a: Any, b: Any) -> str:  # the loader's equality of two roles' classes
            if task.kind == "regression":
                return f"coalesce(abs({a.num} - {b.num}) <= {tol}, false)"
            return f"coalesce({a.expr} = {b.expr}, false)"

        facts = {"correct": same(p, y)}
        if h is not None:
            facts["has_human"] = f"({h.expr} IS NOT NULL)"
            facts["human_agrees"] = same(h, y)
        if task.kind == "binary":
            pos = _lit(self._positive)  # the labels' spelling of the positive class
            facts["label_positive"] = f"coalesce({y.expr} = {pos}, false)"
            facts["predicted_positive"] = f"coalesce({p.expr} = {pos}, false)"
        if self._human_accuracy is not None:
            facts["has_accuracy"] = f"({self._human_accuracy} IS NOT NULL)"
        quantities = {"err": f"({p.num} - {y.num})" if task.kind == "regression" else "NULL"}
        quantities["a"] = self._human_accuracy or "NULL"
        code = " + ".join(
            f"(CASE WHEN {facts[f]} THEN {1 << i} ELSE 0 END)"
            for i, f in enumerate(FACTS)
            if f in facts
        )
        return {"__slicewise_facts": code, **quantities}

    def _outcome_sql(self, task: TaskSpec) -> dict[str, str]:
        """Write each outcome column of the task as SQL over ``__slicewise_facts``, ``err``, ``a``.

        The columns are those :func:`core.metrics.compute_outcomes` returns, in
        :data:`COUNT_COLUMNS` order; their definitions come from :func:`outcome_table`.
        """
        table = outcome_table(
            task, human="human" in self.roles, accuracy=self._human_accuracy is not None
        )
        out = {}
        for column in (k for k in COUNT_COLUMNS[1:] if k in table):
            if column in SUMMED:
                quantity, gate = SUMMED[column]
                where = "true" if gate is None else _in_codes("__slicewise_facts", table[gate])
                out[column] = f"(CASE WHEN {where} THEN {quantity} ELSE 0 END)"
            else:
                out[column] = _in_codes("__slicewise_facts", table[column])
        return out

    def _counts(self, task: TaskSpec, slices: Sequence[_Slice]) -> pd.DataFrame:
        """Every slice's :data:`COUNT_COLUMNS` in one scan of conditional aggregates.

        The innermost query computes each row's facts and slice memberships once, the middle
        one its outcome columns (:meth:`_outcome_sql`); the outer one aggregates
        ``count_if(slice AND outcome)`` for 0/1 outcomes and ``sum(CASE WHEN slice THEN
        outcome END)`` for the summed ones (:data:`SUMMED`).
        """
        row = self._outcome_sql(task)
        stats = list(row)
        names = [OVERALL, *(s.name for s in slices)]
        conds = {f"s{i}": s.cond for i, s in enumerate(slices)}
        if self.tags:
            tagged = " OR ".join(f"coalesce({c}, false)" for c in self.tags.values())
            conds["untagged"] = f"NOT ({tagged})"
            names.append(UNTAGGED)

        def agg(stat: str, cond: str | None) -> str:
            if stat == "n":
                return f"count_if({cond})" if cond else "count(*)"
            if stat in SUMMED:
                return f"sum(CASE WHEN {cond} THEN st_{stat} END)" if cond else f"sum(st_{stat})"
            return f"count_if({cond} AND st_{stat})" if cond else f"count_if(st_{stat})"

        groups = [None, *conds]
        aggs = [agg(stat, cond) for cond in groups for stat in ("n", *stats)]
        # A fingerprint of each slice's members (XOR of its row numbers' hashes) tells
        # slices with the same members apart from the rest, as mark_same_members does.
        marks = [f"bit_xor(CASE WHEN s{i} THEN __slicewise_h END)" for i in range(len(slices))]
        facts = ", ".join(
            [
                *(f"{e} AS {k}" for k, e in self._facts(task).items()),
                *(f"coalesce({c}, false) AS {k}" for k, c in conds.items()),
                "hash(row_number() OVER ()) AS __slicewise_h",
            ]
        )
        outcomes = ", ".join([*(f"{e} AS st_{k}" for k, e in row.items()), *conds, "__slicewise_h"])
        values = self._fetch(
            f"SELECT {', '.join([*aggs, *marks])} FROM (SELECT {outcomes} FROM "
            f"(SELECT {facts} FROM {self._rows} WHERE {self.keep}))"
        )[0]
        self._fingerprints = dict(zip((s.name for s in slices), values[len(aggs) :], strict=True))
        out = np.zeros((len(groups), len(COUNT_COLUMNS)))
        cols = [COUNT_COLUMNS.index(k) for k in ("n", *stats)]
        width = len(cols)
        for g in range(len(groups)):
            chunk = values[g * width : (g + 1) * width]
            out[g, cols] = [0.0 if v is None else float(v) for v in chunk]
        return pd.DataFrame(out, index=names, columns=list(COUNT_COLUMNS))


def _same_members(counts: pd.DataFrame, fingerprints: Mapping[str, Any]) -> list[Any]:
    """Name, per slice, the first earlier slice with the same members (else None).

    Members are compared by (count, XOR of the hashes of their row numbers), which differ for
    different sets but with a chance of about 2^-64; empty slices are never merged, as in
    :func:`core.analysis.mark_same_members`.
    """
    first: dict[tuple[int, Any], str] = {}
    out: list[Any] = []
    for name, mark in fingerprints.items():
        n = int(counts.loc[name, "n"])
        key = (n, mark)
        out.append(first.get(key) if n else None)
        if n and key not in first:
            first[key] = name
    return out
