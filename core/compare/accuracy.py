"""Accuracy slice by slice before and after: the comparison table and its summaries.

:func:`compare_datasets` compares two prediction tables (paired tests where a slice holds
the same examples on both sides, see :mod:`core.compare`); :func:`compare_tables` two
stored per-slice tables when the examples are not at hand (unpaired tests only).
:func:`compare_overall` and :func:`review_order` summarise and order a comparison.

Columns of the comparison
-------------------------
:data:`COMPARE_COLUMNS`, indexed by slice (``All data``, the tags, the ``slice_by``
values, ``No tag``):

- ``kind``: ``overall``, ``tag``, ``column`` or ``untagged``.
- ``n_before``, ``n_after``: examples in the slice on each side; ``n_paired``: examples
  present on both sides.
- ``accuracy_before``, ``accuracy_after`` (NaN for an empty side); ``delta`` = after −
  before.
- ``hlp_before``, ``hlp_after``, ``gap_before``, ``gap_after``: human-level performance
  and HLP − accuracy on each side (NaN without HLP).
- ``right_to_wrong``, ``wrong_to_right``: paired examples whose outcome changed (McNemar's
  ``b`` and ``c``).
- ``test``, ``p_value``: the test used and its two-sided p-value; ``significant``:
  ``p_value < alpha``.
- ``regression``: ``delta < 0`` and significant; ``improvement``: ``delta > 0`` and
  significant.
- ``worse_while_overall_better``: the slice got worse (``delta < 0``, significant or not)
  while all data improved — the slices to look at first.
- ``scope``: ``errors`` for a tag known only on errors on either side (and ``No tag``
  then): its accuracies, change, gaps and test are left empty (``test`` ``none``), as
  its accuracy is unknown; ``all`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.analysis import slice_kinds
from slicewise.core.compare.pairing import _prepare, _Prepared
from slicewise.core.compare.significance import two_proportion_p
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import mcnemar_exact_p, sum_by_slice
from slicewise.core.slice_names import OVERALL, UNTAGGED
from slicewise.core.task import TaskSpec

#: Columns of :func:`compare_datasets` and :func:`compare_tables`, in order.
COMPARE_COLUMNS: tuple[str, ...] = (
    "kind",
    "n_before",
    "n_after",
    "n_paired",
    "accuracy_before",
    "accuracy_after",
    "delta",
    "hlp_before",
    "hlp_after",
    "gap_before",
    "gap_after",
    "right_to_wrong",
    "wrong_to_right",
    "test",
    "p_value",
    "significant",
    "regression",
    "improvement",
    "worse_while_overall_better",
    "scope",
)


def compare_datasets(
    before: Dataset,
    after: Dataset,
    *,
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    tag_scopes: str | Mapping[str, str] = "auto",
    max_slices: int | None = None,
) -> pd.DataFrame:
    """Compare two prediction tables slice by slice (the tests: see :mod:`core.compare`).

    Parameters
    ----------
    before, after
        The two iterations' predictions; examples are matched by id (as text).
    task
        How a prediction is judged (default: inferred from AFTER's labels).
    slice_by, bins, max_slices
        Metadata columns to slice by, as in :func:`core.metrics.build_slices` (at most
        ``max_slices`` slices: :func:`core.limits.max_slices`).
    hlp
        Human-level performance per row name, used on both sides (else the human-label
        column of each table); settings kept per tag are re-keyed with
        :func:`core.slice_names.settings_by_row` over :func:`union_tag_names`.
    alpha
        Significance level.
    tag_scopes
        Where tags are known, as :func:`core.analysis.analyze` takes it (``auto`` reads a
        blank-for-no tag only errors carry as filled on errors only).

    Returns
    -------
    DataFrame indexed by slice with columns :data:`COMPARE_COLUMNS`, described in the
    module notes (:mod:`core.compare.accuracy`).

    Raises
    ------
    core.errors.InvalidValueError
        ``alpha`` outside (0, 1), or a ``slice_by`` column neither table has.
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    prep = _prepare(
        before,
        after,
        task=task,
        slice_by=slice_by,
        bins=bins,
        hlp=hlp,
        alpha=alpha,
        max_slices=max_slices,
    )
    out = _side_by_side(prep)
    # A tag only errors carry (on either side, read as `analyze` reads it) has no accuracy
    # to compare: its rows say so instead of comparing 0% with 0%.
    out["scope"] = np.where(
        out.index.isin(list(prep.rows_on_errors(tag_scopes))), "errors", "all"
    ).astype(object)
    unknown = (out["scope"] == "errors").to_numpy()
    out.loc[unknown, ["accuracy_before", "accuracy_after", "delta", "gap_before", "gap_after"]] = (
        np.nan
    )
    _add_accuracy_test(out, prep.sides, unknown)
    out = _finish(out, alpha)
    out.attrs["labels_changed"] = prep.labels_changed
    return out


def _side_by_side(prep: _Prepared) -> pd.DataFrame:
    """Set each slice's size, accuracy and HLP gap before and after side by side.

    The paired counts (``n_paired``, ``right_to_wrong``, ``wrong_to_right``) are one
    :func:`core.metrics.sum_by_slice` over the union's membership.
    """
    sides, m = prep.sides, prep.membership
    cb = prep.on_union("before", prep.outcomes["before"]["correct"]).astype(bool)
    ca = prep.on_union("after", prep.outcomes["after"]["correct"]).astype(bool)
    in_both = prep.in_both
    paired = [in_both, in_both & cb & ~ca, in_both & ~cb & ca]  # build_slices puts tags first
    paired_sums = sum_by_slice(
        m, [v.astype(np.float32) for v in paired], tag_positions=prep.tag_positions
    )[:, 1:]
    b, a = sides["before"], sides["after"]
    out = pd.DataFrame(index=b.index)
    out["kind"] = slice_kinds(out.index, prep.info)
    out["n_before"] = b["n"].astype(np.int64)
    out["n_after"] = a["n"].astype(np.int64)
    out["n_paired"] = paired_sums[:, 0].astype(np.int64)
    out["accuracy_before"] = b["accuracy"]
    out["accuracy_after"] = a["accuracy"]
    out["delta"] = out["accuracy_after"] - out["accuracy_before"]
    out["hlp_before"] = b["hlp"]
    out["hlp_after"] = a["hlp"]
    out["gap_before"] = b["gap"]
    out["gap_after"] = a["gap"]
    out["right_to_wrong"] = paired_sums[:, 1].astype(np.int64)
    out["wrong_to_right"] = paired_sums[:, 2].astype(np.int64)
    return out


def _add_accuracy_test(
    out: pd.DataFrame, sides: Mapping[str, pd.DataFrame], unknown: np.ndarray
) -> None:
    """Add ``test`` and ``p_value``: McNemar where the slice is paired, else unpaired."""
    b, a = sides["before"], sides["after"]
    n_b, n_a, n_p = (out[c].to_numpy() for c in ("n_before", "n_after", "n_paired"))
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    k_b = n_b - b["errors"].to_numpy()
    k_a = n_a - a["errors"].to_numpy()
    p_unpaired, test_unpaired = two_proportion_p(k_b, n_b, k_a, n_a)
    p_paired = mcnemar_exact_p(out["right_to_wrong"].to_numpy(), out["wrong_to_right"].to_numpy())
    out["test"] = np.where(unknown, "none", np.where(paired, "mcnemar", test_unpaired)).astype(
        object
    )
    out["p_value"] = np.where(unknown, np.nan, np.where(paired, p_paired, p_unpaired))


def _finish(out: pd.DataFrame, alpha: float) -> pd.DataFrame:
    p = out["p_value"].to_numpy(dtype=float)
    delta = out["delta"].to_numpy(dtype=float)
    significant = ~np.isnan(p) & (p < alpha)
    out["significant"] = significant
    out["regression"] = significant & (delta < 0)
    out["improvement"] = significant & (delta > 0)
    is_overall = (out["kind"] == "overall").to_numpy(dtype=bool)
    overall = delta[is_overall][0] if is_overall.any() else np.nan
    worse = (delta < 0) & bool(overall > 0) & ~is_overall
    out["worse_while_overall_better"] = worse
    return out[list(COMPARE_COLUMNS)]


def compare_tables(
    before: pd.DataFrame, after: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Compare two stored per-slice tables when the examples themselves are not at hand.

    Without the examples nothing can be paired, so every slice gets the unpaired test (the
    pooled two-proportion z-test, or Fisher's exact test for small counts); prefer
    :func:`compare_datasets`, whose paired test is more powerful on the same examples.

    Parameters
    ----------
    before, after
        Tables of :func:`core.analysis.analyze` (indexed by slice, with ``n``, ``accuracy``,
        ``hlp``, ``gap`` and ``kind``), e.g. saved with an iteration.
    alpha
        Significance level.

    Returns
    -------
    DataFrame like :func:`compare_datasets`, over the union of both tables' slices;
    ``n_paired``, ``right_to_wrong`` and ``wrong_to_right`` are 0.
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    for name, table in (("before", before), ("after", after)):
        missing = [c for c in ("n", "accuracy") if c not in table.columns]
        if missing:
            raise InvalidValueError(
                f"the {name} table has no {', '.join(missing)} column; "
                "give a table of core.analysis.analyze"
            )
    order = _row_order(before, after)
    b = before.reindex(order)
    a = after.reindex(order)
    out = pd.DataFrame(index=pd.Index(order, dtype=object))
    out["kind"] = _row_kinds(a, b, out.index)
    out["n_before"] = _column(b, "n").fillna(0).astype(np.int64)
    out["n_after"] = _column(a, "n").fillna(0).astype(np.int64)
    out["n_paired"] = 0
    out["accuracy_before"] = _column(b, "accuracy").where(out["n_before"] > 0)
    out["accuracy_after"] = _column(a, "accuracy").where(out["n_after"] > 0)
    out["delta"] = out["accuracy_after"] - out["accuracy_before"]
    out["hlp_before"] = _column(b, "hlp")
    out["hlp_after"] = _column(a, "hlp")
    out["gap_before"] = _column(b, "gap")
    out["gap_after"] = _column(a, "gap")
    out["right_to_wrong"] = 0
    out["wrong_to_right"] = 0
    n_b, n_a = out["n_before"].to_numpy(), out["n_after"].to_numpy()
    k_b = np.round(out["accuracy_before"].fillna(0).to_numpy() * n_b)
    k_a = np.round(out["accuracy_after"].fillna(0).to_numpy() * n_a)
    out["p_value"], out["test"] = two_proportion_p(k_b, n_b, k_a, n_a)
    unknown = _rows_without_accuracy(out, a, b)
    out["scope"] = np.where(unknown, "errors", "all").astype(object)
    out.loc[unknown, ["accuracy_before", "accuracy_after", "delta", "p_value"]] = np.nan
    out.loc[unknown, "test"] = "none"
    return _finish(out, alpha)


def _row_order(before: pd.DataFrame, after: pd.DataFrame) -> list:
    """Return the union of both tables' rows: ``All data``, the others, ``No tag`` last."""
    index = list(before.index) + [i for i in after.index if i not in set(before.index)]
    order = [OVERALL] if OVERALL in index else []
    order += [i for i in index if i not in (OVERALL, UNTAGGED)]
    order += [UNTAGGED] if UNTAGGED in index else []
    return order


def _column(t: pd.DataFrame, c: str) -> pd.Series:
    """Return column ``c`` of ``t`` as floats (NaN where the table has no such column)."""
    return t[c].astype(float) if c in t.columns else pd.Series(np.nan, index=t.index)


def _row_kinds(a: pd.DataFrame, b: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Return each row's kind: AFTER's first; tables without one: by name, else ``tag``."""
    kind = pd.Series(None, index=index, dtype=object)
    for t in (a, b):
        if "kind" in t.columns:
            kind = kind.combine_first(t["kind"].astype(object))
    kind[(kind.index == OVERALL) & kind.isna()] = "overall"
    kind[(kind.index == UNTAGGED) & kind.isna()] = "untagged"
    return kind.fillna("tag").astype(object)


def _rows_without_accuracy(out: pd.DataFrame, a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Return the rows either table knows only on errors (no accuracy): not compared."""
    n_b, n_a = out["n_before"].to_numpy(), out["n_after"].to_numpy()
    unknown = np.zeros(len(out), dtype=bool)
    for t in (a, b):
        if "scope" in t.columns:
            unknown |= (t["scope"].reindex(out.index) == "errors").to_numpy(dtype=bool)
    unknown |= out["accuracy_before"].isna().to_numpy() & (n_b > 0)
    unknown |= out["accuracy_after"].isna().to_numpy() & (n_a > 0)
    return unknown


def compare_overall(comparison: pd.DataFrame) -> dict:
    """Summarise a comparison: the ``All data`` row and the slices that changed.

    Returns
    -------
    dict
        The ``All data`` row's columns (plain Python values, ``None`` for NaN) plus
        ``improved`` and ``regressed`` (slice names with a significant change) and
        ``worse_while_overall_better`` (slices that got worse while all data improved,
        worst first).
    """
    row = comparison.loc[OVERALL]
    out = {k: _plain(v) for k, v in row.items()}
    slices = comparison[comparison["kind"] != "overall"]
    out["improved"] = [str(i) for i in slices.index[slices["improvement"].to_numpy(bool)]]
    out["regressed"] = [str(i) for i in slices.index[slices["regression"].to_numpy(bool)]]
    worse = slices[slices["worse_while_overall_better"].to_numpy(bool)]
    out["worse_while_overall_better"] = [
        str(i) for i in worse.sort_values("delta", kind="stable").index
    ]
    return out


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def review_order(comparison: pd.DataFrame) -> pd.DataFrame:
    """Reorder a comparison for a reader: all data, then what got worse, then the rest.

    Order: ``All data``; slices that got worse while all data improved (worst first);
    other significant regressions (worst first); every other slice in its original order;
    ``No tag`` last.
    """
    c = comparison
    first = list(c.index[c["kind"] == "overall"])
    rest = c[~c["kind"].isin(["overall", "untagged"])]
    worse = rest[rest["worse_while_overall_better"]].sort_values("delta", kind="stable")
    regress = rest[rest["regression"] & ~rest["worse_while_overall_better"]].sort_values(
        "delta", kind="stable"
    )
    shown = set(worse.index) | set(regress.index)
    others = [i for i in rest.index if i not in shown]
    last = list(c.index[c["kind"] == "untagged"])
    return c.loc[first + list(worse.index) + list(regress.index) + others + last]
