"""Quantile bins in SQL: the streaming engine groups a numeric column's rows by bin.

The rule is the shared one (:func:`core.batches.frame_source.bin_keys`): a cell is binned
when it reads as a plain finite number away from every edge; other cells stay themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from slicewise.core.batches.source import NEAR_EDGE


def bin_sql(cell: str, edges: Sequence[float], *, text: bool) -> tuple[str, str]:
    """Return SQL telling whether ``cell`` is binned, and its bin code (``slice_codes``').

    A cell is binned when it is a finite number (text: plain dot numbers only, ``-12.5``,
    as the loader reads them alike) not within :data:`NEAR_EDGE` of an edge; its code is
    how many inner edges are ``<=`` it (``np.searchsorted(edges[1:-1], v, "right")``).
    Other cells (blank, NaN, near an edge, another spelling) stay themselves.
    """
    value = f"TRY_CAST({cell} AS DOUBLE)"
    conds = [f"isfinite({value})"]
    if text:
        conds.insert(0, f"regexp_full_match({cell}, '-?[0-9]+(\\.[0-9]+)?')")
    lits = [f"CAST('{float(e)!r}' AS DOUBLE)" for e in edges]
    conds += [f"abs({value} - {e}) > {NEAR_EDGE} * abs({e})" for e in lits]
    code = " + ".join(f"({value} >= {e})::INT" for e in lits[1:-1]) or "0"
    return "(" + " AND ".join(conds) + ")", f"({code})"
