"""Rank slices by what closing their gap to the baseline (or their excess error) is worth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.prioritize.excess import add_excess_error

NEUTRAL = 3  # importance and ease are 1-5; 3 leaves the potential gain unchanged
#: ``hlp_source`` values whose gap may be ranked (see :func:`core.metrics.compute_slice_metrics`):
#: a measured HLP, a typed one, mean single-annotator accuracy, an older system, a target.
USABLE_HLP = ("human_label", "user", "human_accuracy", "older_system", "target")
#: How :func:`rank_slices` orders the slices, in words, by ``rank_basis``.
RANK_RULES = {
    "priority": "slices worse than the rest of the data first, then by priority = gap to the "
    "baseline × share of data × importance/3 × ease/3",
    "lower_bound": "slices worse than the rest of the data first, then by priority from the "
    "gap's 95% lower bound = lower bound of the gap × share × importance/3 × "
    "ease/3",
    "excess": "no baseline: slices worse than the rest of the data first, then by excess gain "
    "= (error rate − the rest's error rate) × share × importance/3 × ease/3",
}
RANK_BASES = tuple(RANK_RULES)


def rank_slices(
    table: pd.DataFrame,
    *,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    rank_by: str = "priority",
    production_share: Mapping[str, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """Add a priority and a rank to a per-slice metrics table.

    ``priority = potential_gain × (importance / 3) × (ease / 3)``, where ``potential_gain``
    is the gap to the baseline × share of data (the lecture's "room for improvement × how
    frequent") and importance and ease are 1-5 per slice (default 3, neutral).

    The order (the rule in words is :data:`RANK_RULES`, kept per row in ``rank_basis``):
    slices worse than the rest of the data (``worse_than_rest``, see
    :func:`add_excess_error`) come first, then the others, each group by descending
    priority. A large slice that errs no more than the rest only inherits the model's
    overall gap, so it never outranks a slice that is worse than the rest.

    ``rank_by``:

    - ``priority`` (default): as above.
    - ``lower_bound``: the gap is replaced by the lower end of its 95% interval
      (``gap_ci_low``, floored at 0), so a gap measured on few examples counts less.
    - ``excess``: rank by ``excess_gain`` = excess error × share (accuracy points on all data
      if the slice erred like the rest) instead of a gap. Used automatically when no slice
      has a usable baseline (``hlp_source`` in :data:`USABLE_HLP`), so a table without HLP,
      target or older system is still ranked.

    The ``All data`` and ``No tag`` rows (``kind`` ``overall`` / ``untagged``), tags whose
    accuracy is unknown (known only on errors) and, when ranking by a gap, slices without a
    usable baseline (``hlp_source`` ``none`` or ``too_few``) get no rank.

    ``production_share`` (slice name -> share of the production sample, 0-1, e.g. the
    ``production_share`` column of :func:`core.drift.slice_mix`): the share that matters
    is the one the model now serves. When given, the test set's share is kept as
    ``test_share``, ``share`` becomes the production share (NaN for a slice it does not
    name) and ``potential_gain`` (and the excess and lower-bound gains) is recomputed as
    gap × production share; ``share_basis`` says which share was used (``production``;
    without a production share the column is absent and the share is the test set's).

    Returns
    -------
    A copy of ``table`` with the :data:`EXCESS_COLUMNS`, ``excess_gain``, ``importance``,
    ``ease``, ``priority``, ``rank`` (Int64) and ``rank_basis`` columns (and
    ``test_share`` and ``share_basis`` with a production share), ranked slices first (best
    first), then the unranked rows in their original order.

    Raises
    ------
    InvalidValueError
        An importance or ease outside 1-5, an unknown ``rank_by``, or a production share
    outside 0-1.
    """
    if rank_by not in RANK_RULES:
        raise InvalidValueError(f"cannot rank by {rank_by!r}; use one of {', '.join(RANK_RULES)}")
    out = _use_share(table.copy(), production_share)
    weight = _add_weights(out, importance, ease)
    out = add_excess_error(out)
    if "excess_error" in out.columns:
        out["excess_gain"] = out["excess_error"] * out["share"]
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    slices = kind.isin(["tag", "column"])
    has_baseline = out["potential_gain"].notna()
    if "hlp_source" in out.columns:
        has_baseline &= out["hlp_source"].isin(USABLE_HLP)
    basis = _basis(out, rank_by, slices, has_baseline)
    gain, rankable = _gain(out, basis, slices, has_baseline)
    out["priority"] = gain * weight
    return _order(out, rankable, basis)


def _use_share(
    out: pd.DataFrame, production_share: Mapping[str, float] | pd.Series | None
) -> pd.DataFrame:
    """With a production share, move ``share`` to ``test_share`` and set ``share_basis``.

    ``share`` then holds the production share and ``potential_gain`` is ``gap × share``.
    A table ranked before by production keeps its ``test_share``.
    """
    if production_share is None:
        return out
    shares = pd.Series(production_share, dtype=float)
    bad = shares[(shares < 0) | (shares > 1)]
    if len(bad):
        raise InvalidValueError(
            f"production share of {bad.index[0]!r} is {bad.iloc[0]:g}; use a share from 0 to 1"
        )
    if "test_share" not in out.columns:
        out["test_share"] = out["share"]
    out["share"] = shares.reindex(out.index).to_numpy(dtype=float)
    if "gap" in out.columns:
        out["potential_gain"] = out["gap"] * out["share"]
    out["share_basis"] = "production"
    return out


def _add_weights(
    out: pd.DataFrame, importance: Mapping[str, float] | None, ease: Mapping[str, float] | None
) -> pd.Series:
    """Set ``out``'s ``importance`` and ``ease`` columns (1-5, default 3); return their weight.

    The weight is ``importance / 3 × ease / 3``. Raises :class:`InvalidValueError` for a
    value outside 1-5, naming the slice.
    """
    for name, given in (("importance", importance), ("ease", ease)):
        values = pd.Series(given or {}, dtype=float).reindex(out.index)
        bad = values[(values < 1) | (values > 5)]
        if len(bad):
            raise InvalidValueError(f"{name} of {bad.index[0]!r} is {bad.iloc[0]:g}; use 1 to 5")
        out[name] = values.fillna(NEUTRAL)
    return (out["importance"] / NEUTRAL) * (out["ease"] / NEUTRAL)


def _basis(out: pd.DataFrame, rank_by: str, slices: pd.Series, has_baseline: pd.Series) -> str:
    """Return ``rank_by``, or ``excess`` when no slice has a usable baseline to rank a gap by."""
    if (
        rank_by != "excess"
        and slices.any()
        and not (slices & has_baseline).any()
        and "excess_gain" in out
    ):
        return "excess"
    return rank_by


def _gain(
    out: pd.DataFrame, basis: str, slices: pd.Series, has_baseline: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Return the gain each row is ranked by (before weights) and which rows get a rank."""
    if basis == "excess":
        # Only slices that err more than the rest: without a baseline nothing else says
        # there is room to gain.
        gain = out["excess_gain"] if "excess_gain" in out.columns else out["potential_gain"]
        return gain, slices & gain.notna() & (gain > 0)
    gain = out["potential_gain"]
    if basis == "lower_bound" and "gap_ci_low" in out.columns:
        gain = out["gap_ci_low"].clip(lower=0) * out["share"]
    return gain, slices & has_baseline & gain.notna()


def _order(out: pd.DataFrame, rankable: pd.Series, basis: str) -> pd.DataFrame:
    """Rank the rankable rows (worse than the rest first, then by priority) and sort ``out``.

    Adds ``rank`` (Int64) and ``rank_basis``; ranked rows come first, best first, then the
    others in their order; ``attrs["rank_basis"]`` holds ``basis`` even when none is ranked.
    """
    worse = (
        out["worse_than_rest"].astype(bool)
        if "worse_than_rest" in out.columns
        else pd.Series(False, index=out.index)
    )
    keys = pd.DataFrame({"worse": worse, "priority": out["priority"]})[rankable]
    order = keys.sort_values(["worse", "priority"], ascending=[False, False], kind="stable").index
    out["rank"] = pd.Series(np.arange(1, len(order) + 1), index=order).reindex(out.index)
    out["rank"] = out["rank"].astype("Int64")
    out["rank_basis"] = pd.Series(basis, index=order).reindex(out.index).astype(object)
    taken = set(order)
    rest = [i for i in out.index if i not in taken]
    out = out.loc[list(order) + rest]
    out.attrs["rank_basis"] = basis  # also when no slice could be ranked
    return out


def rank_basis(table: pd.DataFrame) -> str:
    """Return what ``table`` (:func:`rank_slices`) is ranked by: a key of :data:`RANK_RULES`."""
    basis = table["rank_basis"].dropna() if "rank_basis" in table.columns else pd.Series()
    if len(basis):
        return str(basis.iloc[0])
    return str(table.attrs.get("rank_basis", "priority"))


def share_basis(table: pd.DataFrame) -> str:
    """Return which share ``table`` (:func:`rank_slices`) weighs: ``production`` or ``test``."""
    if "share_basis" in table.columns and len(table):
        return str(table["share_basis"].iloc[0])
    return "test"


def rank_rule(table: pd.DataFrame) -> str:
    """Say in words how ``table`` (from :func:`rank_slices`) is ordered (:data:`RANK_RULES`).

    With a production share the rule says so: "share" is then each slice's share of the
    production sample.
    """
    rule = RANK_RULES[rank_basis(table)]
    if share_basis(table) == "production":
        rule += " (share = the slice's share of production traffic, not of the test set)"
    return rule
