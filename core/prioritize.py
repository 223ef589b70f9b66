"""Rank slices by what closing their gap to human-level performance would be worth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.errors import InvalidValueError

NEUTRAL = 3  # importance and ease are 1-5; 3 leaves the potential gain unchanged


def rank_slices(
    table: pd.DataFrame,
    *,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Add a priority and a rank to a per-slice metrics table.

    ``priority = potential_gain × (importance / 3) × (ease / 3)``, where ``potential_gain``
    is gap-to-HLP × share of data and importance and ease are 1-5 per slice (default 3, so
    the weights are neutral). Slices are ranked 1, 2, ... by descending priority; the
    ``All data`` and ``No tag`` rows (``kind`` ``overall`` / ``untagged``) and slices without
    an HLP get no rank. Whether a gap is statistically distinguishable from zero comes from
    the table's ``significant`` column (see :func:`core.metrics.compute_slice_metrics`).

    Returns
    -------
    A copy of ``table`` with ``importance``, ``ease``, ``priority`` and ``rank`` columns,
    ranked slices first (best first), then the unranked rows in their original order.
    """
    out = table.copy()
    weights = {}
    for name, given in (("importance", importance), ("ease", ease)):
        values = pd.Series(given or {}, dtype=float).reindex(out.index)
        bad = values[(values < 1) | (values > 5)]
        if len(bad):
            raise InvalidValueError(f"{name} of {bad.index[0]!r} is {bad.iloc[0]:g}; use 1 to 5")
        weights[name] = values.fillna(NEUTRAL)
        out[name] = weights[name]
    out["priority"] = out["potential_gain"] * (out["importance"] / NEUTRAL) * (
        out["ease"] / NEUTRAL)
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    rankable = kind.isin(["tag", "column"]) & out["priority"].notna()
    order = out.loc[rankable, "priority"].sort_values(ascending=False, kind="stable").index
    out["rank"] = pd.Series(np.arange(1, len(order) + 1), index=order).reindex(out.index)
    out["rank"] = out["rank"].astype("Int64")
    rest = [i for i in out.index if i not in set(order)]
    return out.loc[list(order) + rest]


def display_name(name: str) -> str:
    """``car_noise`` -> ``Car noise``: a slice name as a reader would write it."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def describe_priorities(ranked: pd.DataFrame, *, top: int = 3) -> list[str]:
    """Plain-words advice for the ``top`` ranked slices, then the slices with no room left.

    Each sentence gives the gap to HLP in accuracy points, the share of data, and a next
    step; a gap that is not statistically significant is said to be so.
    """
    if "rank" not in ranked.columns:
        return []
    ranked_rows = ranked[ranked["rank"].notna()].sort_values("rank")
    lines = []
    for name, row in ranked_rows.head(top).iterrows():
        gap_pts = 100 * row["gap"]
        share = 100 * row["share"]
        label = str(name) if row.get("kind") == "column" else display_name(str(name))
        if gap_pts <= 0.05:
            continue
        if row.get("kind") == "column":
            action = f"collect more examples where {name}, or check their labels"
        else:
            action = f"collect more or augment {label.lower()} examples, or check their labels"
        sentence = f"{label}: {gap_pts:.1f} points below HLP on {share:.0f}% of the data — {action}"
        if not bool(row.get("significant", True)):
            sentence += f" (the gap is not statistically significant, p = {row['p_value']:.2g})"
        lines.append(sentence)
    at_hlp = ranked_rows[ranked_rows["gap"] <= 0.005]
    if len(at_hlp):
        names = ", ".join(display_name(str(n)) for n in at_hlp.index[:4])
        lines.append(f"{names}: at or above HLP — little room left; improving label "
                     "consistency would raise HLP first")
    if not lines:
        lines.append("No slice has an HLP to compare with: add a human-label column or enter "
                     "an HLP per tag")
    return lines
