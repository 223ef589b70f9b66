"""Advice that follows the evidence: for each ranked slice, the first rule that holds."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from slicewise.core.metrics import MIN_HUMAN_LABELS
from slicewise.core.prioritize.fairness import fairness_lines
from slicewise.core.prioritize.ranking import USABLE_HLP, rank_basis
from slicewise.core.prioritize.wording import (
    baseline_name,
    display_name,
    overall_row,
    pct,
    slice_label,
)

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


def _needed_more(row: Mapping) -> int | None:
    """Examples to add so the slice's accuracy interval is ±:data:`TARGET_HALF_WIDTH`."""
    from slicewise.core.intervals import n_for_half_width

    p, n = row.get("accuracy"), row.get("n")
    if p is None or pd.isna(p) or n is None or pd.isna(n):
        return None
    need = int(n_for_half_width(float(p), TARGET_HALF_WIDTH))
    return max(need - int(n), 0)


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
    label = slice_label(name, row)
    gap = row.get("gap")
    has_gap = gap is not None and not pd.isna(gap)
    share = 100 * row["share"]
    of_what = "of production traffic" if row.get("share_basis") == "production" else "of the data"
    base = baseline_name(row)
    rest = row.get("error_rate_rest")
    vs_rest = (
        ""
        if rest is None or pd.isna(rest)
        else f"error rate {pct(row['error_rate'])} vs {pct(rest)} for the rest"
    )
    head = (
        f"{label}: {100 * gap:.1f} points below {base} on {share:.0f}% {of_what}"
        if has_gap
        else f"{label}: {share:.0f}% {of_what}"
    )
    if has_gap and gap <= 0.005:
        why = "; improving label consistency would raise HLP first" if base == "HLP" else ""
        return "little_headroom", (
            f"{label}: within 0.5 points of {base} or above it — little headroom{why}"
        )
    hlp, all_hlp = row.get("hlp"), overall.get("hlp") if len(overall) else None
    if row.get("hlp_source") == "human_label" and _humans_agree_less(row, overall):
        return "fix_labels", (
            f"{head} — but humans agree with the label on only {pct(hlp)} here vs "
            f"{pct(all_hlp)} overall: fix or standardise these labels first (label "
            "consistency), then measure again"
        )
    loose = _too_loose(row, head, has_gap)
    if loose:
        return "review_more", loose
    if "worse_than_rest" in row and not bool(row["worse_than_rest"]):
        return "not_worse", _not_worse(row, head, rest)
    if row.get("kind") == "column":
        action = f"collect more examples where {name}, or augment them"
    else:
        action = f"collect more or augment {label.lower()} examples"
    if not vs_rest:
        return "collect", f"{head} — {action}"
    return "collect", f"{head}, worse than the rest ({vs_rest}) — {action}"


def _too_loose(row: Mapping, head: str, has_gap: bool) -> str | None:
    """Return the ``review_more`` sentence when the figures are too loose to act on, else None.

    Too loose: an accuracy interval wider than ±:data:`WIDE_HALF_WIDTH`, or a gap that is
    not significant.
    """
    low, high = row.get("accuracy_ci_low", np.nan), row.get("accuracy_ci_high", np.nan)
    wide = not pd.isna(low) and (high - low) / 2 > WIDE_HALF_WIDTH
    significant = bool(row.get("significant", True)) if has_gap else True
    more = _needed_more(row)
    if not (wide or not significant):
        return None
    reasons = []
    if wide:
        reasons.append(
            f"only {int(row['n']):,} examples (accuracy "
            f"{pct(row['accuracy'])}, 95% interval {pct(low)}–{pct(high)})"
        )
    if not significant:
        reasons.append(f"the gap is not statistically significant (p = {row['p_value']:.2g})")
    why = " and ".join(reasons)
    if more:
        return (
            f"{head}, but {why}: review about {more:,} more to "
            f"confirm (for an interval of ±"
            f"{100 * TARGET_HALF_WIDTH:.0f} points)"
        )
    return f"{head}, but {why}: review more examples to confirm"


def _not_worse(row: Mapping, head: str, rest: float | None) -> str:
    """Return the ``not_worse`` sentence: the slice trails the baseline, not the rest."""
    # The slice trails the baseline but errs no more than the rest: the gap is the whole
    # model's, and more data of this kind alone is not indicated.
    if rest is None or pd.isna(rest):
        how = "its error rate cannot be set against the rest of the data"
    elif row["error_rate"] <= rest:
        how = f"it errs no more than the rest of the data ({pct(row['error_rate'])} vs {pct(rest)})"
    else:
        how = (
            f"its error rate ({pct(row['error_rate'])} vs {pct(rest)} elsewhere) is "
            f"not significantly higher (q = {row['excess_q_value']:.2g})"
        )
    return (
        f"{head}, but {how} — not a data collection target on its own; "
        "the gap is the model's overall"
    )


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
        overall = overall_row(ranked)
        ranked_rows = ranked[ranked["rank"].notna()].sort_values("rank")
        rows += [("", a, t) for a, t in _basis_lines(ranked, ranked_rows, overall)]
        if "protected" in ranked_rows.columns:
            for name, text in fairness_lines(ranked):
                rows.append((name, "fairness", text))
            ranked_rows = ranked_rows[~ranked_rows["protected"].astype(bool)]
        for name, row in ranked_rows.head(top).iterrows():
            action, text = _row_advice(name, row, overall)
            rows.append((str(name), action, text))
        rows += [("", a, t) for a, t in _headroom_lines(ranked_rows.iloc[top:])]
    rows += [("", action, text) for action, text in _table_lines(ranked)]
    out = pd.DataFrame(rows, columns=list(ADVICE_COLUMNS))
    # What explains the ranking first, then what to do (the first three are the report's
    # "things to do next"), then what not to do; rank order within each.
    order = out["action"].map(ADVICE_ORDER).fillna(len(ADVICE_ORDER))
    return out.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def _basis_lines(
    ranked: pd.DataFrame, ranked_rows: pd.DataFrame, overall: Mapping
) -> list[tuple[str, str]]:
    """Return (action, sentence) pairs on why slices are ranked by excess error, if they are."""
    lines: list[tuple[str, str]] = []
    labelled = int(ranked["hlp_n"].max()) if "hlp_n" in ranked.columns and len(ranked) else 0
    kinds = ranked["kind"] if "kind" in ranked.columns else pd.Series("tag", ranked.index)
    few = bool(
        ((ranked["hlp_source"] == "too_few") & kinds.isin(["tag", "column"])).any()
        if "hlp_source" in ranked
        else False
    )
    if rank_basis(ranked) != "excess":
        return lines
    if not len(ranked_rows) and kinds.isin(["tag", "column"]).any():
        lines.append(
            (
                "not_worse",
                "No slice errs more than the rest of the data, so "
                "none is ranked: no slice stands out as a data collection target",
            )
        )
    if few:
        pass  # the "Too few human labels" line below names them and says how we rank
    elif 0 < labelled < MIN_HUMAN_LABELS:
        lines.append(
            (
                "too_few",
                f"No slice has enough human labels to compare with "
                f"HLP (at least {MIN_HUMAN_LABELS} needed; the most in any slice is "
                f"{labelled:,}): label more examples or enter an HLP per tag; "
                "meanwhile slices are ranked by how much more they err than the rest",
            )
        )
    elif _has_usable_baseline(overall):
        lines.append(
            (
                "too_few",
                f"All data is compared with "
                f"{baseline_name(overall)}, but no slice can be: slices are ranked by "
                "how much more they err than the rest",
            )
        )
    else:
        lines.append(
            (
                "no_baseline",
                "No baseline to compare with (no human label, target or older "
                "system): slices are ranked by how much more they err than the rest; "
                "add a human-label column, enter an HLP or a target, or pick an older "
                "system to see the gap",
            )
        )
    return lines


def _headroom_lines(later: pd.DataFrame) -> list[tuple[str, str]]:
    """Return one (action, sentence) pair naming ranked slices past ``top`` at the baseline."""
    if "gap" not in later.columns:
        return []
    at = later[later["gap"] <= 0.005]
    if not len(at):
        return []
    names = ", ".join(slice_label(n, r) for n, r in at.head(4).iterrows())
    return [
        (
            "little_headroom",
            f"{names}: within 0.5 points of "
            f"{baseline_name(at.iloc[0])} or above it — little headroom",
        )
    ]


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
            base = baseline_name(few.iloc[0])
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
