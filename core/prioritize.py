"""Rank slices by what closing their gap to human-level performance would be worth."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import MIN_HUMAN_LABELS

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

    Returns
    -------
    A copy of ``table`` with the :data:`EXCESS_COLUMNS`, ``excess_gain``, ``importance``,
    ``ease``, ``priority``, ``rank`` (Int64) and ``rank_basis`` columns, ranked slices first
    (best first), then the unranked rows in their original order.

    Raises
    ------
    InvalidValueError
        An importance or ease outside 1-5, or an unknown ``rank_by``.
    """
    if rank_by not in RANK_RULES:
        raise InvalidValueError(f"cannot rank by {rank_by!r}; use one of {', '.join(RANK_RULES)}")
    out = table.copy()
    weights = {}
    for name, given in (("importance", importance), ("ease", ease)):
        values = pd.Series(given or {}, dtype=float).reindex(out.index)
        bad = values[(values < 1) | (values > 5)]
        if len(bad):
            raise InvalidValueError(f"{name} of {bad.index[0]!r} is {bad.iloc[0]:g}; use 1 to 5")
        weights[name] = values.fillna(NEUTRAL)
        out[name] = weights[name]
    weight = (out["importance"] / NEUTRAL) * (out["ease"] / NEUTRAL)
    out = add_excess_error(out)
    if "excess_error" in out.columns:
        out["excess_gain"] = out["excess_error"] * out["share"]
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    slices = kind.isin(["tag", "column"])
    has_baseline = out["potential_gain"].notna()
    if "hlp_source" in out.columns:
        has_baseline &= out["hlp_source"].isin(USABLE_HLP)
    basis = rank_by
    if (
        basis != "excess"
        and slices.any()
        and not (slices & has_baseline).any()
        and "excess_gain" in out
    ):
        basis = "excess"
    if basis == "excess":
        # Only slices that err more than the rest: without a baseline nothing else says
        # there is room to gain.
        gain = out["excess_gain"] if "excess_gain" in out.columns else out["potential_gain"]
        rankable = slices & gain.notna() & (gain > 0)
    else:
        gain = out["potential_gain"]
        if basis == "lower_bound" and "gap_ci_low" in out.columns:
            gain = out["gap_ci_low"].clip(lower=0) * out["share"]
        rankable = slices & has_baseline & gain.notna()
    out["priority"] = gain * weight
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


def rank_rule(table: pd.DataFrame) -> str:
    """Say in words how ``table`` (from :func:`rank_slices`) is ordered (:data:`RANK_RULES`)."""
    return RANK_RULES[rank_basis(table)]


#: Columns of :func:`add_excess_error`.
EXCESS_COLUMNS = (
    "error_rate_rest",
    "lift",
    "excess_error",
    "excess_p_value",
    "excess_q_value",
    "worse_than_rest",
)
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
    from slicewise.core.compare import two_proportion_p  # compare imports this module

    out = table.copy()
    if not len(out) or "errors" not in out.columns:
        return out
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    n = out["n"].to_numpy(dtype=float)
    errors = pd.to_numeric(out["errors"], errors="coerce").to_numpy(dtype=float)
    overall = (kind == "overall").to_numpy()
    n_all = n[overall][0] if overall.any() else n[0]
    e_all = errors[overall][0] if overall.any() else errors[0]
    exact = (
        (out["scope"] == "all").to_numpy() if "scope" in out.columns else np.ones(len(out), bool)
    )
    rest_n, rest_e = n_all - n, e_all - errors
    usable = exact & ~overall & (n > 0) & (rest_n > 0) & ~np.isnan(errors)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(usable, errors / n, np.nan)
        rest = np.where(usable, rest_e / rest_n, np.nan)
        lift = np.where(usable & (rest > 0), rate / rest, np.nan)
    p, _ = two_proportion_p(
        np.where(usable, rest_e, 0),
        np.where(usable, rest_n, 0),
        np.where(usable, errors, 0),
        np.where(usable, n, 0),
    )
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
    ``user``: ``entered``; ``none`` (or no ``hlp_source``): ``no HLP``. A measured baseline
    other than single human labels (``human_accuracy``, ``older_system``, a majority label)
    starts with its ``hlp_basis`` (``mean single-annotator accuracy, n = 10,000, 95% CI
    95.0–95.4%``); ``target``: ``target``.
    """
    source = row.get("hlp_source", "none")
    if source == "user":
        return "entered"
    if source == "target":
        return "target"
    if source == "too_few":
        return too_few_text(int(row["hlp_n"]))
    if source in ("human_label", "human_accuracy", "older_system"):
        measured = (
            f"n = {int(row['hlp_n']):,}, 95% CI {100 * row['hlp_ci_low']:.1f}–"
            f"{100 * row['hlp_ci_high']:.1f}%"
        )
        basis = row.get("hlp_basis")
        if isinstance(basis, str) and basis and basis != "single human label":
            return f"{basis}, {measured}"
        return measured
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


#: Accuracy interval half-width (fraction) above which a slice's figures are too loose to act
#: on; advice then asks for more examples, enough for :data:`TARGET_HALF_WIDTH`.
WIDE_HALF_WIDTH = 0.10
#: Half-width (fraction) the "review N more" advice aims at: ±5 points.
TARGET_HALF_WIDTH = 0.05
#: Share of the errors without a tag above which the advice is to tag more errors.
UNTAGGED_SHARE = 0.20
#: Order of :func:`advise`'s findings by ``action``: context, actions, then non-actions.
ADVICE_ORDER = {
    a: i
    for i, a in enumerate(
        (
            "no_baseline",
            "too_few",
            "fairness",
            "collect",
            "fix_labels",
            "review_more",
            "tag_more",
            "errors_only",
            "not_worse",
            "little_headroom",
        )
    )
}
#: Columns of :func:`advise`.
ADVICE_COLUMNS = ("slice", "action", "text")
#: Every ``action`` :func:`advise` gives, in the order its rules are tried on a ranked slice.
ACTIONS = (
    "fairness",
    "little_headroom",
    "fix_labels",
    "review_more",
    "not_worse",
    "collect",
    "errors_only",
    "tag_more",
    "too_few",
    "no_baseline",
)


def _label(name: object, row: Mapping) -> str:
    return str(name) if row.get("kind") == "column" else display_name(str(name))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _overall(table: pd.DataFrame) -> Mapping:
    kind = table["kind"] if "kind" in table.columns else pd.Series("tag", table.index)
    rows = table[kind == "overall"]
    return rows.iloc[0] if len(rows) else {}


def _needed_more(row: Mapping) -> int | None:
    """Examples to add so the slice's accuracy interval is ±:data:`TARGET_HALF_WIDTH`."""
    from slicewise.core.intervals import n_for_half_width

    p, n = row.get("accuracy"), row.get("n")
    if p is None or pd.isna(p) or n is None or pd.isna(n):
        return None
    need = int(n_for_half_width(float(p), TARGET_HALF_WIDTH))
    return max(need - int(n), 0)


def _baseline_name(row: Mapping) -> str:
    name = row.get("baseline")
    return str(name) if isinstance(name, str) and name else "HLP"


def _has_usable_baseline(row: Mapping) -> bool:
    return (
        bool(len(row))
        and row.get("hlp_source") in USABLE_HLP
        and not pd.isna(row.get("gap", np.nan))
    )


def _humans_agree_less(row: Mapping, overall: Mapping) -> bool:
    """Whether humans agree with the label significantly less in the slice than elsewhere.

    The slice's human-label agreement (``hlp`` on ``hlp_n`` examples) against the rest of
    the data's, by the two-proportion test of :func:`core.compare.two_proportion_p` at 5%.
    """
    from slicewise.core.compare import two_proportion_p  # compare imports this module

    if not len(overall) or pd.isna(row.get("hlp")) or pd.isna(overall.get("hlp")):
        return False
    n, n_all = float(row["hlp_n"]), float(overall["hlp_n"])
    k, k_all = round(row["hlp"] * n), round(overall["hlp"] * n_all)
    if n <= 0 or n_all - n <= 0 or k / n >= (k_all - k) / (n_all - n):
        return False
    p, _ = two_proportion_p(
        np.array([k_all - k]), np.array([n_all - n]), np.array([k]), np.array([n])
    )
    return bool(p[0] < 0.05)


def _row_advice(name: object, row: Mapping, overall: Mapping) -> tuple[str, str]:
    """One ranked slice's action and sentence: the first rule of :data:`ACTIONS` that holds."""
    label = _label(name, row)
    gap = row.get("gap")
    has_gap = gap is not None and not pd.isna(gap)
    share = 100 * row["share"]
    base = _baseline_name(row)
    rest = row.get("error_rate_rest")
    vs_rest = (
        ""
        if rest is None or pd.isna(rest)
        else f"error rate {_pct(row['error_rate'])} vs {_pct(rest)} for the rest"
    )
    head = (
        f"{label}: {100 * gap:.1f} points below {base} on {share:.0f}% of the data"
        if has_gap
        else f"{label}: {share:.0f}% of the data"
    )
    if has_gap and gap <= 0.005:
        why = "; improving label consistency would raise HLP first" if base == "HLP" else ""
        return "little_headroom", (
            f"{label}: within 0.5 points of {base} or above it — little headroom{why}"
        )
    hlp, all_hlp = row.get("hlp"), overall.get("hlp") if len(overall) else None
    if row.get("hlp_source") == "human_label" and _humans_agree_less(row, overall):
        return "fix_labels", (
            f"{head} — but humans agree with the label on only {_pct(hlp)} here vs "
            f"{_pct(all_hlp)} overall: fix or standardise these labels first (label "
            "consistency), then measure again"
        )
    low, high = row.get("accuracy_ci_low", np.nan), row.get("accuracy_ci_high", np.nan)
    wide = not pd.isna(low) and (high - low) / 2 > WIDE_HALF_WIDTH
    significant = bool(row.get("significant", True)) if has_gap else True
    more = _needed_more(row)
    if wide or not significant:
        reasons = []
        if wide:
            reasons.append(
                f"only {int(row['n']):,} examples (accuracy "
                f"{_pct(row['accuracy'])}, 95% interval {_pct(low)}–{_pct(high)})"
            )
        if not significant:
            reasons.append(f"the gap is not statistically significant (p = {row['p_value']:.2g})")
        why = " and ".join(reasons)
        if more:
            return "review_more", (
                f"{head}, but {why}: review about {more:,} more to "
                f"confirm (for an interval of ±"
                f"{100 * TARGET_HALF_WIDTH:.0f} points)"
            )
        return "review_more", f"{head}, but {why}: review more examples to confirm"
    if "worse_than_rest" in row and not bool(row["worse_than_rest"]):
        # The slice trails the baseline but errs no more than the rest: the gap is the whole
        # model's, and more data of this kind alone is not indicated.
        if rest is None or pd.isna(rest):
            how = "its error rate cannot be set against the rest of the data"
        elif row["error_rate"] <= rest:
            how = (
                f"it errs no more than the rest of the data ({_pct(row['error_rate'])}"
                f" vs {_pct(rest)})"
            )
        else:
            how = (
                f"its error rate ({_pct(row['error_rate'])} vs {_pct(rest)} elsewhere) is "
                f"not significantly higher (q = {row['excess_q_value']:.2g})"
            )
        return "not_worse", (
            f"{head}, but {how} — not a data collection target on its own; "
            "the gap is the model's overall"
        )
    if row.get("kind") == "column":
        action = f"collect more examples where {name}, or augment them"
    else:
        action = f"collect more or augment {label.lower()} examples"
    if not vs_rest:
        return "collect", f"{head} — {action}"
    if not has_gap:
        return "collect", f"{head}, worse than the rest ({vs_rest}) — {action}"
    return "collect", f"{head}, worse than the rest ({vs_rest}) — {action}"


def advise(ranked: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
    """Advice that follows the evidence: one row per finding, the rule that fired named.

    First ``fairness``: the slices of a protected attribute (``protected`` column) whose
    error rate, FPR or FNR differ from the rest's (:func:`fairness_lines`), with a fairness
    audit as the advice, never "collect more of this group"; they leave the ranked list.
    Then, for each of the ``top`` other ranked slices (see :func:`rank_slices`), the first
    rule that holds, in this order (``action``):

    - ``little_headroom``: within 0.5 points of the baseline or above it.
    - ``fix_labels``: humans agree with the label significantly less here than in the rest
      of the data (two-proportion test at 5% on the human labels): low label consistency.
    - ``review_more``: the accuracy interval is wider than ±:data:`WIDE_HALF_WIDTH` or the
      gap is not significant: review the N more examples a ±:data:`TARGET_HALF_WIDTH`
      Wilson interval needs (:func:`core.intervals.n_for_half_width`).
    - ``not_worse``: errs no more than the rest (``worse_than_rest`` false): the gap is the
      whole model's, not this slice's.
    - ``collect``: collect more or augment this slice's data.

    Then for the table: ``errors_only`` (tags known on errors only), ``tag_more`` (over
    :data:`UNTAGGED_SHARE` of the errors carry no tag), ``too_few`` (slices with too few
    human labels to rank) and ``no_baseline`` (no slice has a usable baseline).

    Returns
    -------
    DataFrame with :data:`ADVICE_COLUMNS`: ``slice`` (row name, or "" for the table),
    ``action`` (one of :data:`ACTIONS`) and ``text`` (one sentence).
    """
    rows: list[tuple[str, str, str]] = []
    if "rank" in ranked.columns:
        overall = _overall(ranked)
        ranked_rows = ranked[ranked["rank"].notna()].sort_values("rank")
        labelled = int(ranked["hlp_n"].max()) if "hlp_n" in ranked.columns and len(ranked) else 0
        kinds = ranked["kind"] if "kind" in ranked.columns else pd.Series("tag", ranked.index)
        few = bool(
            ((ranked["hlp_source"] == "too_few") & kinds.isin(["tag", "column"])).any()
            if "hlp_source" in ranked
            else False
        )
        excess = rank_basis(ranked) == "excess"
        if excess and not len(ranked_rows) and kinds.isin(["tag", "column"]).any():
            rows.append(
                (
                    "",
                    "not_worse",
                    "No slice errs more than the rest of the data, so "
                    "none is ranked: no slice stands out as a data collection target",
                )
            )
        if excess and few:
            pass  # the "Too few human labels" line below names them and says how we rank
        elif excess and 0 < labelled < MIN_HUMAN_LABELS:
            rows.append(
                (
                    "",
                    "too_few",
                    f"No slice has enough human labels to compare with "
                    f"HLP (at least {MIN_HUMAN_LABELS} needed; the most in any slice is "
                    f"{labelled:,}): label more examples or enter an HLP per tag; "
                    "meanwhile slices are ranked by how much more they err than the rest",
                )
            )
        elif excess and _has_usable_baseline(overall):
            rows.append(
                (
                    "",
                    "too_few",
                    f"All data is compared with "
                    f"{_baseline_name(overall)}, but no slice can be: slices are ranked by "
                    "how much more they err than the rest",
                )
            )
        elif excess:
            rows.append(
                (
                    "",
                    "no_baseline",
                    "No baseline to compare with (no human label, target or older "
                    "system): slices are ranked by how much more they err than the rest; "
                    "add a human-label column, enter an HLP or a target, or pick an older "
                    "system to see the gap",
                )
            )
        if "protected" in ranked_rows.columns:
            for name, text in fairness_lines(ranked):
                rows.append((name, "fairness", text))
            ranked_rows = ranked_rows[~ranked_rows["protected"].astype(bool)]
        for name, row in ranked_rows.head(top).iterrows():
            action, text = _row_advice(name, row, overall)
            rows.append((str(name), action, text))
        later = ranked_rows.iloc[top:]
        if "gap" in later.columns:
            at = later[later["gap"] <= 0.005]
            if len(at):
                names = ", ".join(_label(n, r) for n, r in at.head(4).iterrows())
                rows.append(
                    (
                        "",
                        "little_headroom",
                        f"{names}: within 0.5 points of "
                        f"{_baseline_name(at.iloc[0])} or above it — little headroom",
                    )
                )
    rows += [("", action, text) for action, text in _table_lines(ranked)]
    out = pd.DataFrame(rows, columns=list(ADVICE_COLUMNS))
    # What explains the ranking first, then what to do (the first three are the report's
    # "things to do next"), then what not to do; rank order within each.
    order = out["action"].map(ADVICE_ORDER).fillna(len(ADVICE_ORDER))
    return out.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


#: Words in a column name that mark a protected attribute by default (legally protected
#: characteristics in US and EU anti-discrimination law: race, colour, ethnicity, sex,
#: gender, religion, age, disability, nationality, marital status, sexual orientation).
PROTECTED_WORDS = (
    "race",
    "ethnic",
    "ethnicity",
    "colour",
    "color",
    "sex",
    "gender",
    "religion",
    "age",
    "disability",
    "disabled",
    "nationality",
    "marital",
    "orientation",
    "pregnancy",
)


def likely_protected(columns: Sequence[str]) -> list[str]:
    """Return the ``columns`` whose name says they are a protected attribute.

    A name matches when one of its words (split at ``_``, ``-``, spaces and case changes)
    is in :data:`PROTECTED_WORDS`: ``race``, ``age_cat``, ``Gender``, ``driver_sex`` match;
    ``page``, ``stage``, ``colourway`` do not. The user can always override the choice.
    """
    found = []
    for column in columns:
        words = re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(column)).lower())
        if any(w in PROTECTED_WORDS for w in words):
            found.append(column)
    return found


#: Rates :func:`fairness_disparities` sets against the rest: (name, numerator, denominator).
FAIRNESS_RATES = (
    ("error rate", "errors", "n"),
    ("false positive rate", "fp", "negatives"),
    ("false negative rate", "fn", "positives"),
)


def fairness_disparities(table: pd.DataFrame, *, fdr: float = FDR) -> pd.DataFrame:
    """Compare each protected slice's error rates with the rest of the data, both ways.

    For every slice with ``protected`` true and every rate of :data:`FAIRNESS_RATES` its
    table has (FPR and FNR on binary tasks, from ``fpr`` × ``negatives`` and ``fnr`` ×
    ``positives``): the slice's rate, the rest's (complement: All data minus the slice),
    the two-sided two-proportion p-value (Fisher's exact test for small counts,
    :func:`core.compare.two_proportion_p`) and the Benjamini–Hochberg q-value across all
    these tests. A disparity in either direction matters for fairness (Hardt et al., 2016,
    equalised odds: equal FPR and FNR across groups).

    Returns
    -------
    DataFrame with columns ``slice``, ``attribute``, ``rate`` (name), ``value``, ``rest``,
    ``n`` (the rate's denominator in the slice), ``p_value``, ``q_value``, ``significant``
    (q < ``fdr``); empty without protected slices.
    """
    from slicewise.core.compare import two_proportion_p  # compare imports this module

    columns = [
        "slice",
        "attribute",
        "rate",
        "value",
        "rest",
        "n",
        "p_value",
        "q_value",
        "significant",
    ]
    if "protected" not in table.columns or not table["protected"].astype(bool).any():
        return pd.DataFrame(columns=columns)
    overall = _overall(table)
    if not len(overall):
        return pd.DataFrame(columns=columns)
    counts = table.copy()
    if "fpr" in counts.columns and "negatives" in counts.columns:
        counts["fp"] = np.rint(counts["fpr"].fillna(0) * counts["negatives"])
        counts["fn"] = np.rint(counts["fnr"].fillna(0) * counts["positives"])
    overall = counts.loc[overall.name]
    prot = counts[counts["protected"].astype(bool)]
    rows = []
    for rate, num, den in FAIRNESS_RATES:
        if num not in prot.columns or den not in prot.columns:
            continue
        k, n = prot[num].to_numpy(float), prot[den].to_numpy(float)
        k_rest, n_rest = float(overall[num]) - k, float(overall[den]) - n
        p, _ = two_proportion_p(k_rest, n_rest, k, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            value, rest = (
                np.where(n > 0, k / n, np.nan),
                np.where(n_rest > 0, k_rest / n_rest, np.nan),
            )
        for i, name in enumerate(prot.index):
            usable = n[i] > 0 and n_rest[i] > 0
            rows.append(
                (
                    str(name),
                    prot["protected_by"].iloc[i],
                    rate,
                    value[i],
                    rest[i],
                    int(n[i]),
                    p[i] if usable else np.nan,
                )
            )
    out = pd.DataFrame(rows, columns=columns[:7])
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(float))
    out["significant"] = out["q_value"] < fdr
    return out


def fairness_lines(table: pd.DataFrame, *, limit: int = 4) -> list[tuple[str, str]]:
    """(slice, sentence) for protected slices whose rates differ from the rest's.

    From :func:`fairness_disparities`: each slice with a significant disparity in error
    rate, FPR or FNR (either direction) is named with its rates beside the rest's; the advice
    is a fairness audit, never "collect more of this group". One sentence per attribute
    says when no disparity was found.
    """
    found = fairness_disparities(table)
    lines: list[tuple[str, str]] = []
    for attribute, group in found.groupby("attribute", sort=False):
        hits = group[group["significant"]]
        # The clearest disparities first.
        order = hits.groupby("slice", sort=False)["q_value"].min().sort_values(kind="stable")
        for name in order.index[:limit]:
            rates = hits[hits["slice"] == name]
            said = "; ".join(
                f"{r.rate} {_pct(r.value)} vs {_pct(r.rest)} for the rest (q = {r.q_value:.2g})"
                for r in rates.itertuples()
            )
            lines.append(
                (
                    str(name),
                    f"{name} (protected attribute): {said} — audit the "
                    f"model's errors across {attribute} for fairness (equal error rates "
                    "by group) and check the labels; more data of this group is not "
                    "the fix by itself",
                )
            )
        if not len(hits):
            lines.append(
                (
                    "",
                    f"{attribute} (protected attribute): no group's error rates "
                    "differ significantly from the rest's (5% false discovery rate) — "
                    "keep monitoring them",
                )
            )
    return lines


def describe_priorities(ranked: pd.DataFrame, *, top: int = 3) -> list[str]:
    """Plain-words advice for the ``top`` ranked slices and the table (:func:`advise`)."""
    lines = advise(ranked, top=top)["text"].tolist()
    if "rank" in ranked.columns and not lines:
        lines.append(
            "No slice has an HLP to compare with: add a human-label column or enter an HLP per tag"
        )
    return lines


def _table_lines(ranked: pd.DataFrame) -> list[tuple[str, str]]:
    """Return (action, sentence) pairs about the table: errors-only tags, untagged, too few."""
    lines = [
        ("errors_only" if "tagged on errors only" in t else "tag_more", t)
        for t in _scope_lines(ranked)
    ]
    if "hlp_source" in ranked.columns:
        kind = ranked["kind"] if "kind" in ranked.columns else pd.Series("tag", ranked.index)
        few = ranked[(ranked["hlp_source"] == "too_few") & kind.isin(["tag", "column"])]
        if len(few):
            named = ", ".join(
                f"{n if k == 'column' else display_name(str(n))} ({int(h):,})"
                for n, k, h in zip(
                    few.index[:6], kind[few.index[:6]], few["hlp_n"][:6], strict=True
                )
            )
            more = f" and {len(few) - 6} more" if len(few) > 6 else ""
            how = (
                "; meanwhile slices are ranked by how much more they err than the rest"
                if rank_basis(ranked) == "excess"
                else ""
            )
            base = _baseline_name(few.iloc[0])
            what = "human labels" if base == "HLP" else f"examples with a value of the {base}"
            lines.append(
                (
                    "too_few",
                    f"Too few {what} to compare with {base} (at least "
                    f"{MIN_HUMAN_LABELS} needed), not ranked by gap: {named}{more} — "
                    f"label more of their examples or enter an HLP{how}",
                )
            )
    return lines


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
        lines.append(
            f"{display_name(str(name))}: tagged on errors only — "
            f"{100 * row['error_share']:.0f}% of the errors; fixing all of them would "
            f"gain at most {100 * row['max_gain']:.1f} points. Its accuracy is unknown: "
            "review a sample of correct examples for this tag too"
        )
    untagged = table[(kind == "untagged") & table["max_gain"].notna()]
    for _, row in untagged.iterrows():
        if row["error_share"] >= UNTAGGED_SHARE:
            lines.append(
                f"Tag more errors: {100 * row['error_share']:.0f}% of the errors carry "
                f"no tag yet (up to {100 * row['max_gain']:.1f} points of accuracy): "
                "tag them to find their causes"
            )
    return lines
