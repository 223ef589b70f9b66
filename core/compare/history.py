"""A project's iterations in one long table, for the history chart.

:func:`iteration_history` stacks the per-slice tables of successive iterations; the chart
itself is :func:`core.charts.compare.history_chart`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError


def iteration_history(tables: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Stack per-slice tables of successive iterations into one long table for a chart.

    Parameters
    ----------
    tables
        ``(iteration label, analysis table)`` pairs, oldest first; labels must be unique.

    Returns
    -------
    DataFrame with one row per (iteration, slice): ``iteration`` (the label), ``step``
    (0, 1, ... in the given order), ``slice``, ``kind``, ``n``, ``accuracy``, ``hlp``,
    ``gap`` (NaN where a table lacks a value).
    """
    labels = [label for label, _ in tables]
    if len(set(labels)) != len(labels):
        raise InvalidValueError("iteration labels must be unique to draw their history")
    cols = ["n", "accuracy", "hlp", "gap"]
    frames = []
    for step, (label, table) in enumerate(tables):
        part = pd.DataFrame(
            {
                c: (
                    table[c].astype(float)
                    if c in table.columns
                    else pd.Series(np.nan, index=table.index)
                )
                for c in cols
            },
            index=table.index,
        )
        part.insert(0, "kind", table["kind"].astype(object) if "kind" in table.columns else "tag")
        part.insert(0, "slice", [str(i) for i in table.index])
        part.insert(0, "step", step)
        part.insert(0, "iteration", label)
        frames.append(part.reset_index(drop=True))
    if not frames:
        return pd.DataFrame(columns=["iteration", "step", "slice", "kind", *cols])
    return pd.concat(frames, ignore_index=True)
