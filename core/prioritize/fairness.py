"""Fairness: protected attributes, and their slices' error rates against the rest's."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from slicewise.core.prioritize.excess import FDR, benjamini_hochberg
from slicewise.core.prioritize.wording import overall_row, pct

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


#: Columns of :func:`fairness_disparities`.
DISPARITY_COLUMNS = (
    "slice",
    "attribute",
    "rate",
    "value",
    "rest",
    "n",
    "p_value",
    "q_value",
    "significant",
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
    if "protected" not in table.columns or not table["protected"].astype(bool).any():
        return pd.DataFrame(columns=list(DISPARITY_COLUMNS))
    overall = overall_row(table)
    if not len(overall):
        return pd.DataFrame(columns=list(DISPARITY_COLUMNS))
    counts = table.copy()
    if "fpr" in counts.columns and "negatives" in counts.columns:
        counts["fp"] = np.rint(counts["fpr"].fillna(0) * counts["negatives"])
        counts["fn"] = np.rint(counts["fnr"].fillna(0) * counts["positives"])
    rows = _disparity_rows(counts[counts["protected"].astype(bool)], counts.loc[overall.name])
    out = pd.DataFrame(rows, columns=list(DISPARITY_COLUMNS[:7]))
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(float))
    out["significant"] = out["q_value"] < fdr
    return out


def _disparity_rows(prot: pd.DataFrame, overall: pd.Series) -> list[tuple]:
    """Return one row per protected slice and rate: the first seven :data:`DISPARITY_COLUMNS`.

    ``prot`` holds the protected slices' counts, ``overall`` the All data row's; the p-value
    is NaN where the slice or the rest has no example for the rate.
    """
    from slicewise.core.compare import two_proportion_p  # compare imports this package

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
    return rows


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
                f"{r.rate} {pct(r.value)} vs {pct(r.rest)} for the rest (q = {r.q_value:.2g})"
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
