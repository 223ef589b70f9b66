"""Rank slices by what closing their gap to human-level performance would be worth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.errors import InvalidValueError
from core.metrics import MIN_HUMAN_LABELS

NEUTRAL = 3  # importance and ease are 1-5; 3 leaves the potential gain unchanged
#: ``hlp_source`` values whose gap may be ranked (see :func:`core.metrics.compute_slice_metrics`).
USABLE_HLP = ("human_label", "user")


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
    a usable HLP (``hlp_source`` ``none`` or ``too_few``: fewer than
    :data:`core.metrics.MIN_HUMAN_LABELS` human labels) get no rank. Whether a gap is
    statistically distinguishable from zero comes from the table's ``significant`` column
    (see :func:`core.metrics.compute_slice_metrics`).

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
    out = add_excess_error(out)
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    rankable = kind.isin(["tag", "column"]) & out["priority"].notna()
    if "hlp_source" in out.columns:
        rankable &= out["hlp_source"].isin(USABLE_HLP)
    order = out.loc[rankable, "priority"].sort_values(ascending=False, kind="stable").index
    out["rank"] = pd.Series(np.arange(1, len(order) + 1), index=order).reindex(out.index)
    out["rank"] = out["rank"].astype("Int64")
    rest = [i for i in out.index if i not in set(order)]
    return out.loc[list(order) + rest]


#: Columns of :func:`add_excess_error`.
EXCESS_COLUMNS = ("error_rate_rest", "lift", "excess_error", "excess_p_value",
                  "excess_q_value", "worse_than_rest")
#: False discovery rate at which a slice counts as worse than the rest.
FDR = 0.05


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values (q-values) of ``p``; NaN stays NaN.

    ``q_(i) = min_{j >= i} p_(j) · m / j`` over the ``m`` p-values present, sorted
    ascending (Benjamini & Hochberg, 1995), capped at 1; the same values as statsmodels'
    ``multipletests(method="fdr_bh")``.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    if not len(present):
        return q
    order = present[np.argsort(p[present], kind="stable")]
    m = len(order)
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q


def add_excess_error(table: pd.DataFrame, *, fdr: float = FDR) -> pd.DataFrame:
    """Add each slice's excess error over the rest of the data, with a test and BH q-value.

    The rest of a slice is every example outside it (its complement; tags overlap, so each
    slice has its own). From the counts alone (``n``, ``errors``, and the ``All data`` row):

    - ``error_rate_rest`` = (E − e) / (N − n); ``lift`` = error rate / error_rate_rest;
      ``excess_error`` = error rate − error_rate_rest (positive: worse than the rest).
    - ``excess_p_value``: two-sided test of association between being in the slice and
      being an error: the pooled two-proportion z-test, Fisher's exact test where an
      expected count is under 5 (:func:`core.compare.two_proportion_p`).
    - ``excess_q_value``: Benjamini–Hochberg over the slices of the table (``tag`` and
      ``column`` rows with both sides non-empty); ``worse_than_rest``: ``excess_error > 0``
      and ``excess_q_value < fdr``.

    Rows whose error rate is not known (a tag known only on errors or on a sample, see
    :mod:`core.tag_scope`), ``All data`` and empty slices get NaN and False.
    """
    from core.compare import two_proportion_p  # compare imports this module

    out = table.copy()
    if not len(out) or "errors" not in out.columns:
        return out
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    n = out["n"].to_numpy(dtype=float)
    errors = pd.to_numeric(out["errors"], errors="coerce").to_numpy(dtype=float)
    overall = (kind == "overall").to_numpy()
    n_all = n[overall][0] if overall.any() else n[0]
    e_all = errors[overall][0] if overall.any() else errors[0]
    exact = (out["scope"] == "all").to_numpy() if "scope" in out.columns else np.ones(len(out),
                                                                                       bool)
    rest_n, rest_e = n_all - n, e_all - errors
    usable = exact & ~overall & (n > 0) & (rest_n > 0) & ~np.isnan(errors)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(usable, errors / n, np.nan)
        rest = np.where(usable, rest_e / rest_n, np.nan)
        lift = np.where(usable & (rest > 0), rate / rest, np.nan)
    p, _ = two_proportion_p(np.where(usable, rest_e, 0), np.where(usable, rest_n, 0),
                            np.where(usable, errors, 0), np.where(usable, n, 0))
    p = np.where(usable, p, np.nan)
    tested = usable & kind.isin(["tag", "column"]).to_numpy()
    q = np.full(len(out), np.nan)
    q[tested] = benjamini_hochberg(p[tested])
    out["error_rate_rest"] = rest
    out["lift"] = lift
    out["excess_error"] = rate - rest
    out["excess_p_value"] = p
    out["excess_q_value"] = q
    out["worse_than_rest"] = tested & (rate - rest > 0) & (q < fdr)
    return out


def display_name(name: str) -> str:
    """``car_noise`` -> ``Car noise``: a slice name as a reader would write it."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def human_labels_text(n: int) -> str:
    """``1 human label``, ``12 human labels``."""
    return f"{n:,} human label" + ("" if n == 1 else "s")


def too_few_text(n: int, *, minimum: int = MIN_HUMAN_LABELS) -> str:
    """Say that ``n`` human labels are too few to compare a slice with its HLP.

    ``1 human label — too few to compare; at least 30 needed`` (``minimum`` defaults to
    :data:`core.metrics.MIN_HUMAN_LABELS`).
    """
    return f"{human_labels_text(n)} — too few to compare; at least {minimum} needed"


def describe_hlp_basis(row: Mapping) -> str:
    """Say in words what backs one slice's HLP (a row of the metrics table).

    ``human_label``: ``n = 1,200, 95% CI 94.1–96.5%``; ``too_few``: :func:`too_few_text`;
    ``user``: ``entered``; ``none`` (or no ``hlp_source``): ``no HLP``.
    """
    source = row.get("hlp_source", "none")
    if source == "user":
        return "entered"
    if source == "too_few":
        return too_few_text(int(row["hlp_n"]))
    if source == "human_label":
        return (f"n = {int(row['hlp_n']):,}, 95% CI {100 * row['hlp_ci_low']:.1f}–"
                f"{100 * row['hlp_ci_high']:.1f}%")
    return "no HLP"


def format_hlp(row: Mapping) -> str:
    """Write one slice's HLP with what backs it, for a one-line summary.

    ``95.4% (n = 1,200, 95% CI 94.1–96.5%)``, ``100.0% (n = 1, too few human labels)``,
    ``93.0% (entered)``, or ``–`` without an HLP.
    """
    hlp = row.get("hlp")
    if hlp is None or pd.isna(hlp):
        return "–"
    source = row.get("hlp_source", "none")
    if source == "too_few":
        basis = f"n = {int(row['hlp_n']):,}, too few human labels"
    else:
        basis = describe_hlp_basis(row)
    return f"{100 * hlp:.1f}% ({basis})"


def describe_priorities(ranked: pd.DataFrame, *, top: int = 3) -> list[str]:
    """Plain-words advice for the ``top`` ranked slices, then the slices with no room left.

    Each sentence gives the gap to HLP in accuracy points, the share of data, and a next
    step; a gap that is not statistically significant is said to be so. Slices whose HLP
    rests on too few human labels (``hlp_source`` ``too_few``) are named in one sentence
    with their counts, since they are not ranked.
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
        if "worse_than_rest" in row and not bool(row["worse_than_rest"]):
            # The slice trails HLP but errs no more than the rest: the gap is the whole
            # model's, and more data of this kind alone is not indicated.
            rest = row.get("error_rate_rest")
            if rest is None or pd.isna(rest):
                how = "its error rate cannot be set against the rest of the data"
            elif row["error_rate"] <= rest:
                how = (f"it errs no more than the rest of the data ({100 * row['error_rate']:.1f}%"
                       f" vs {100 * rest:.1f}%)")
            else:
                how = (f"its error rate ({100 * row['error_rate']:.1f}% vs {100 * rest:.1f}% "
                       f"elsewhere) is not significantly higher (q = "
                       f"{row['excess_q_value']:.2g})")
            lines.append(f"{label}: {gap_pts:.1f} points below HLP on {share:.0f}% of the data, "
                         f"but {how} — not a data collection target on its own; the gap is "
                         "the model's overall")
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
    if "hlp_source" in ranked.columns:
        kind = ranked["kind"] if "kind" in ranked.columns else pd.Series("tag", ranked.index)
        few = ranked[(ranked["hlp_source"] == "too_few") & kind.isin(["tag", "column"])]
        if len(few):
            named = ", ".join(
                f"{n if k == 'column' else display_name(str(n))} ({int(h):,})"
                for n, k, h in zip(few.index[:6], kind[few.index[:6]], few["hlp_n"][:6],
                                   strict=True))
            more = f" and {len(few) - 6} more" if len(few) > 6 else ""
            lines.append(f"Too few human labels to compare with HLP (at least "
                         f"{MIN_HUMAN_LABELS} needed), not ranked: {named}{more} — label more "
                         "of their examples or enter an HLP")
    labelled = int(ranked["hlp_n"].max()) if "hlp_n" in ranked.columns and len(ranked) else 0
    if not lines and 0 < labelled < MIN_HUMAN_LABELS:  # too few human labels anywhere
        lines.append(f"No slice has enough human labels to compare with HLP (at least "
                     f"{MIN_HUMAN_LABELS} needed; the most in any slice is {labelled:,}): label "
                     "more examples or enter an HLP per tag")
    if not lines:
        lines.append("No slice has an HLP to compare with: add a human-label column or enter "
                     "an HLP per tag")
    return lines + _scope_lines(ranked)


def _scope_lines(table: pd.DataFrame) -> list[str]:
    """Sentences for tags known only on errors (see :mod:`core.tag_scope`).

    Such a tag has an error share and a ceiling (``max_gain``) but no accuracy, so it is not
    ranked; it is named with what it could be worth at most and what would measure it.
    """
    if "scope" not in table.columns:
        return []
    kind = table["kind"] if "kind" in table.columns else pd.Series("tag", table.index)
    lines = []
    only = table[(table["scope"] == "errors") & (kind == "tag")]
    only = only.sort_values("max_gain", ascending=False, kind="stable")
    for name, row in only.head(4).iterrows():
        lines.append(f"{display_name(str(name))}: tagged on errors only — "
                     f"{100 * row['error_share']:.0f}% of the errors; fixing all of them would "
                     f"gain at most {100 * row['max_gain']:.1f} points. Its accuracy is unknown: "
                     "review a sample of correct examples for this tag too")
    untagged = table[(kind == "untagged") & table["max_gain"].notna()]
    for _, row in untagged.iterrows():
        if row["error_share"] >= 0.2:
            lines.append(f"{100 * row['error_share']:.0f}% of the errors carry no tag yet (up to "
                         f"{100 * row['max_gain']:.1f} points): tag them to find their causes")
    return lines
