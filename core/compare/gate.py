"""The regression gate: the rows of a comparison that got significantly worse.

:func:`find_regressions` picks them (the CLI's ``compare --fail-on-regression`` fails on
any); :func:`describe_regression` writes one line for each.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from slicewise.core.compare.metric_specs import METRICS
from slicewise.core.errors import InvalidValueError
from slicewise.core.values import class_key, class_keys


def _pick_rows(index: pd.Index, names: Sequence[str]) -> list:
    """Return the rows of ``index`` that ``names`` name (exactly, else by class key)."""
    keys = class_keys(pd.Series([str(i) for i in index], dtype=object)).tolist()
    picked: list = []
    for name in names:
        if name in index:
            picked.append(name)
            continue
        key = class_key(name)
        hits = [i for i, k in zip(index, keys, strict=True) if k is not None and k == key]
        if not hits:
            shown = ", ".join(repr(str(i)) for i in index[:15])
            more = f" and {len(index) - 15} more" if len(index) > 15 else ""
            raise InvalidValueError(
                f"{name!r} is not a row of the comparison; its rows are "
                f"{shown}{more} (write the name as the table shows it)"
            )
        picked += hits
    return list(dict.fromkeys(picked))


def find_regressions(
    comparison: pd.DataFrame, *, points: float = 0.0, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the rows that got worse by more than ``points`` and significantly so.

    Parameters
    ----------
    comparison
        A table of :func:`compare_datasets` or :func:`compare_tables` (accuracy: a row
        fails when its accuracy fell by more than ``points`` percentage points), or one
        metric's table of :func:`compare_slice_metrics` or :func:`compare_classes` (a row
        fails when ``worse_by`` exceeds ``points``: percentage points, label units for MAE;
        for FPR, FNR, WER and MAE a rise is worse).
    points
        The tolerated worsening, >= 0.
    names
        Only these rows (slice or class names as the table shows them; a class may be
        written in any spelling of it, ``1.0`` for ``1``); default: every row, ``All
        data`` included.

    Returns
    -------
    The failing rows, worst first.

    Raises
    ------
    core.errors.InvalidValueError
        A negative ``points``, or a name that is no row of the table.
    """
    if points < 0:
        raise InvalidValueError(
            f"the regression threshold is in points and cannot be negative, got {points}"
        )
    c = comparison if names is None else comparison.loc[_pick_rows(comparison.index, names)]
    if "worse_by" in c.columns:
        hit = c["regression"].to_numpy(bool) & (c["worse_by"].to_numpy(float) > points)
        return c[hit].sort_values("worse_by", ascending=False, kind="stable")
    hit = c["regression"].to_numpy(bool) & (c["delta"].to_numpy(float) < -points / 100)
    return c[hit].sort_values("delta", kind="stable")


def describe_regression(name: str, row: pd.Series) -> str:
    """One line for a row :func:`find_regressions` returned: what got worse, by how much, p.

    ``{name} fell 8.0 points (70.0% -> 62.0%, mcnemar p=0.00223)`` for accuracy tables;
    ``FPR of race = African-American rose 11.6 points (44.8% -> 56.4%, mcnemar
    p=2.1e-22)`` for a metric's table (``class 1`` for a class's row).
    """
    if "metric" not in row.index:
        return (
            f"{name} fell {-100 * row['delta']:.1f} points "
            f"({100 * row['accuracy_before']:.1f}% -> {100 * row['accuracy_after']:.1f}%, "
            f"{row['test']} p={row['p_value']:.3g})"
        )
    spec = METRICS[str(row["metric"])]
    who = f"class {name}" if row["kind"] == "class" else name
    verb = "fell" if (row["worse_by"] > 0) == spec.higher_is_better else "rose"
    if spec.percent:
        amount = f"{abs(row['worse_by']):.1f} points"
        values = f"{100 * row['before']:.1f}% -> {100 * row['after']:.1f}%"
    else:
        amount = f"{abs(row['worse_by']):.4g}"
        values = f"{row['before']:.4g} -> {row['after']:.4g}"
    return f"{spec.label} of {who} {verb} {amount} ({values}, {row['test']} p={row['p_value']:.3g})"
