"""Shape core's tables for display: readable names, points, intervals and column configs.

These helpers only rename, select and format columns; every number comes from core.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core.charts import baseline_label
from slicewise.core.metrics import OVERALL, UNTAGGED
from slicewise.core.prioritize import describe_hlp_basis, display_name, too_few_text
from slicewise.ui.text import md

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("precision", "recall", "f1", "fpr", "fnr"),
    "text": ("wer",),
    "regression": ("mae", "rmse"),
    "classification": (),
}
NOT_SIGNIFICANT = "⚠ not significant"
HLP_SOURCES = {
    "human_label": "human labels",
    "user": "entered",
    "none": "—",
    "too_few": "too few human labels",
    "human_accuracy": "mean annotator accuracy",
    "older_system": "older system",
    "target": "target",
}


def baseline_name(table: pd.DataFrame) -> str:
    """Name the baseline the table's gaps are measured against (``HLP`` unless told)."""
    return baseline_label(table)


def slice_label(name: str, kind: str) -> str:
    """Name a slice as a reader would (tags prettified, column slices as written)."""
    if kind in ("column", "overall", "untagged") or name in (OVERALL, UNTAGGED):
        return str(name)
    return display_name(str(name))


def _pts(values: pd.Series) -> pd.Series:
    return 100 * values.astype(float)


def _interval(low: pd.Series, high: pd.Series) -> list[str]:
    return [
        "–" if np.isnan(a) or np.isnan(b) else f"{100 * a:.1f}–{100 * b:.1f}%"
        for a, b in zip(low.astype(float), high.astype(float), strict=True)
    ]


def hlp_from_text(table: pd.DataFrame) -> list[str]:
    """Per row, where the HLP comes from; a slice with too few human labels says so in words.

    ``human labels``, ``entered``, ``—``, or e.g. ``1 human label — too few to compare; at
    least 30 needed`` (:func:`core.prioritize.too_few_text`).
    """
    return [
        too_few_text(int(k)) if s == "too_few" else HLP_SOURCES.get(s, "—")
        for s, k in zip(table["hlp_source"], table["hlp_n"], strict=True)
    ]


def too_few_note(table: pd.DataFrame) -> str | None:
    """Name the slices whose HLP rests on too few human labels, as Markdown (names escaped).

    ``None`` when there are none. The rows are not compared with HLP nor ranked (see
    :data:`core.metrics.MIN_HUMAN_LABELS`).
    """
    few = table[table["hlp_source"] == "too_few"]
    if not len(few):
        return None
    kinds = few["kind"] if "kind" in few.columns else pd.Series("tag", few.index)
    parts = [
        f"{md(slice_label(n, k))}: {too_few_text(int(h))}"
        for n, k, h in zip(few.index, kinds, few["hlp_n"], strict=True)
    ]
    return (
        "Not compared with HLP and not ranked — "
        + "; ".join(parts)
        + ". Label more of their examples, or enter an HLP per tag above."
    )


def _hlp_n(table: pd.DataFrame) -> np.ndarray:
    """Human labels behind each measured HLP; missing for an entered HLP or none."""
    measured = table["hlp_source"].isin(["human_label", "too_few"])
    return table["hlp_n"].astype("Int64").where(measured).to_numpy()


def significance_text(table: pd.DataFrame) -> list[str]:
    """Per row: ``yes (p=…)``, the not-significant mark, or ``—`` when there is no HLP."""
    out = []
    for sig, p, hlp in zip(table["significant"], table["p_value"], table["hlp"], strict=True):
        if pd.isna(hlp) or pd.isna(p):
            out.append("—")
        elif bool(sig):
            out.append(f"yes (p={p:.2g})")
        else:
            out.append(f"{NOT_SIGNIFICANT} (p={p:.2g})")
    return out


SCOPE_HELP = (
    "Where the tag's status is known: every example (exact figures); errors only "
    "(its share of errors and ceiling; accuracy unknown); a review sample "
    "(estimated, with 95% intervals); not reviewed"
)
_SCOPE_WORDS = {
    "all": "every example",
    "errors": "errors only",
    "sample": "a review sample",
    "none": "not reviewed",
}


def scope_text(table: pd.DataFrame) -> list[str]:
    """Say where each row's tag status is known (``every example`` for exact rows)."""
    if "scope" not in table.columns:
        return ["every example"] * len(table)
    return [
        _SCOPE_WORDS.get(s, str(s)) + (f" ({int(r):,} reviewed)" if s == "sample" else "")
        for s, r in zip(table["scope"], table.get("reviewed", table["n"]), strict=True)
    ]


def _drop_all_known(view: pd.DataFrame) -> None:
    """Leave out the "Tag known on" column when every row is known on every example."""
    if (view["known on"] == "every example").all():
        del view["known on"]


def _ordered_slices(table: pd.DataFrame) -> pd.DataFrame:
    """All data first, then the slices in ranked order, then the untagged examples."""
    kind = table["kind"]
    return pd.concat(
        [
            table[kind == "overall"],
            table[~kind.isin(["overall", "untagged"])],
            table[kind == "untagged"],
        ]
    )


def _gap_interval(t: pd.DataFrame) -> list[str] | str:
    return _interval(t["gap_ci_low"], t["gap_ci_high"]) if "gap_ci_low" in t else "–"


def _slice_frame(t: pd.DataFrame) -> pd.DataFrame:
    """Return the per-slice display columns of the (ordered) analysis table ``t``, in points."""
    return pd.DataFrame(
        {
            "slice": [slice_label(n, k) for n, k in zip(t.index, t["kind"], strict=True)],
            "kind": t["kind"].to_numpy(),
            "n": t["n"].to_numpy(),
            "share": _pts(t["share"]).to_numpy(),
            "accuracy": _pts(t["accuracy"]).to_numpy(),
            "95% interval": _interval(t["accuracy_ci_low"], t["accuracy_ci_high"]),
            "HLP": _pts(t["hlp"]).to_numpy(),
            "HLP n": _hlp_n(t),
            "HLP interval": _interval(t["hlp_ci_low"], t["hlp_ci_high"]),
            "HLP source": hlp_from_text(t),
            "gap": _pts(t["gap"]).to_numpy(),
            "gap interval": _gap_interval(t),
            "gap significant?": significance_text(t),
            "error rate": _pts(t["error_rate"]).to_numpy(),
            "share of errors": _pts(t["error_share"]).to_numpy(),
            "max gain": _pts(t["max_gain"]).to_numpy() if "max_gain" in t else np.nan,
            "known on": scope_text(t),
            "also": t["same_as"].to_numpy() if "same_as" in t else "",
        }
    )


def _slice_config(base: str) -> dict[str, Any]:
    """Column config of :func:`slice_view`; ``base`` names the baseline (``HLP`` unless told)."""
    return {
        "max gain": st.column_config.NumberColumn(
            "Most it could gain",
            format="%.2f pts",
            help="Accuracy points on all data if every error in the slice were fixed: the "
            "ceiling of working on it",
        ),
        "known on": st.column_config.TextColumn("Tag known on", help=SCOPE_HELP),
        "also": _same_as_column(),
        "slice": st.column_config.TextColumn("Slice", pinned=True, width="medium"),
        "kind": st.column_config.TextColumn(
            "Kind", width="small", help="overall, tag, column (metadata) or untagged"
        ),
        "n": st.column_config.NumberColumn("n", format="localized"),
        "share": _pct_column("% of data"),
        "accuracy": _pct_column("Accuracy"),
        "95% interval": st.column_config.TextColumn(
            "95% interval",
            help="Wilson score interval of the accuracy (for a tag known on a "
            "review sample: the interval of its stratified estimate)",
        ),
        "HLP n": st.column_config.NumberColumn(
            "Human labels",
            format="localized",
            help="Human-labelled examples behind the HLP; the gap compares model and human on "
            "these same examples",
        ),
        "HLP interval": st.column_config.TextColumn(
            "HLP 95% interval", help="Wilson score interval of the measured HLP"
        ),
        **_slice_baseline_config(base),
        "error rate": _pct_column("Error rate"),
        "share of errors": _pct_column(
            "% of errors", help="What fraction of all errors has this tag"
        ),
    }


def _slice_baseline_config(base: str) -> dict[str, Any]:
    """Return the columns of :func:`slice_view` that name the baseline ``base``."""
    return {
        "HLP source": st.column_config.TextColumn(
            f"{base} from",
            help="A slice with too few human labels is not compared with HLP nor ranked by its gap",
        ),
        "gap": st.column_config.NumberColumn(
            f"Gap to {base}",
            format="%+.1f pts",
            help=f"{base} − the model's accuracy on the same examples where it is measured "
            "per example (human labels, an older system), else on all examples, in "
            "accuracy points",
        ),
        "gap interval": st.column_config.TextColumn(
            "Gap 95% interval",
            help="Newcombe's paired interval where human and model are "
            "on the same examples; for an entered value, from the accuracy's interval",
        ),
        "HLP": st.column_config.NumberColumn(
            base,
            format="%.1f%%",
            help="The baseline: human-level performance unless a target or older system is chosen",
        ),
        "gap significant?": st.column_config.TextColumn(
            "Gap significant?",
            help="McNemar's exact test with human labels, else an exact "
            "binomial test against the entered HLP (5% level)",
        ),
    }


def _pct_column(label: str, **kwargs: Any) -> Any:
    return st.column_config.NumberColumn(label, format="%.1f%%", **kwargs)


def _same_as_column() -> Any:
    return st.column_config.TextColumn(
        "Same examples as", help="Other slices with exactly these examples, shown once"
    )


def _drop_empty(view: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Leave out the text columns holding only ``–`` or nothing."""
    for col in columns:
        if view[col].astype(str).isin(["–", ""]).all():
            view = view.drop(columns=col)
    return view


def _first(view: pd.DataFrame, first: tuple[str, ...]) -> pd.DataFrame:
    """Put the columns ``first`` (those present, in that order) before the others."""
    lead = [c for c in first if c in view.columns]
    return view[lead + [c for c in view.columns if c not in lead]]


#: Where a tag is known, its share of errors and its ceiling sit beside the accuracy: a row
#: of dashes says why at once.
_SLICE_FIRST = (
    "slice",
    "kind",
    "known on",
    "n",
    "share",
    "accuracy",
    "95% interval",
    "share of errors",
    "max gain",
)


def _add_task_metrics(
    view: pd.DataFrame, config: dict[str, Any], t: pd.DataFrame, task_kind: str
) -> None:
    """Add the task's own metrics (e.g. precision, WER, MAE), each with its 95% interval."""
    for col in TASK_METRICS.get(task_kind, ()):
        if col not in t.columns:
            continue
        if col in ("mae", "rmse"):
            view[col.upper()] = t[col].to_numpy()
            config[col.upper()] = st.column_config.NumberColumn(col.upper(), format="%.3g")
        else:
            label = col.upper() if col in ("wer", "fpr", "fnr") else col.capitalize()
            view[label] = _pts(t[col]).to_numpy()
            config[label] = _pct_column(label)
        if f"{col}_ci_low" in t.columns:  # its 95% interval, beside it
            name = f"{col.upper() if col != 'f1' else 'F1'} 95% interval"
            low, high = t[f"{col}_ci_low"], t[f"{col}_ci_high"]
            view[name] = (
                _interval(low, high)
                if col not in ("mae", "rmse")
                else [
                    ("–" if pd.isna(a) else f"{a:.3g}–{b:.3g}")
                    for a, b in zip(low, high, strict=True)
                ]
            )
            config[name] = st.column_config.TextColumn(name)


def slice_view(table: pd.DataFrame, task_kind: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the per-slice table for *Slices vs HLP*: display frame and its column config.

    Parameters
    ----------
    table : pandas.DataFrame
        The analysis table (one row per slice, as :func:`core.analysis` returns it), with
        fractions in 0–1.
    task_kind : str
        ``classification``, ``binary``, ``text`` or ``regression``: which task metrics to add.

    Returns
    -------
    tuple of (pandas.DataFrame, dict)
        One row per slice, all data first, then the slices in ranked order, then the
        untagged examples; rates in percentage points. The dict is ``st.dataframe``'s
        ``column_config``.
    """
    t = _ordered_slices(table)
    view = _slice_frame(t)
    config = _slice_config(baseline_name(table))
    _drop_all_known(view)
    view = _first(_drop_empty(view, ("gap interval", "also")), _SLICE_FIRST)
    _add_task_metrics(view, config, t, task_kind)
    return view, config


def _worse_than_rest(t: pd.DataFrame) -> list[str]:
    """``yes``/``no`` per slice where the excess-error test ran, else ``–``."""
    return [
        ("yes" if w else "no") if not pd.isna(q) else "–"
        for w, q in zip(
            t.get("worse_than_rest", pd.Series(False, t.index)),
            t.get("excess_q_value", pd.Series(np.nan, t.index)),
            strict=True,
        )
    ]


def _priority_frame(t: pd.DataFrame) -> pd.DataFrame:
    """Return the ranking's display columns of the slice rows ``t``, in points."""
    return pd.DataFrame(
        {
            "rank": t["rank"].astype("Int64").to_numpy(),
            "slice": [slice_label(n, k) for n, k in zip(t.index, t["kind"], strict=True)],
            "accuracy": _pts(t["accuracy"]).to_numpy(),
            "HLP": _pts(t["hlp"]).to_numpy(),
            "HLP from": hlp_from_text(t),
            "gap": _pts(t["gap"]).to_numpy(),
            "gap interval": _gap_interval(t),
            "share": _pts(t["share"]).to_numpy(),
            "potential gain": _pts(t["potential_gain"]).to_numpy(),
            "excess gain": _pts(t["excess_gain"]).to_numpy() if "excess_gain" in t else np.nan,
            "also": t["same_as"].to_numpy() if "same_as" in t else "",
            "importance": t["importance"].to_numpy(),
            "ease": t["ease"].to_numpy(),
            "priority": _pts(t["priority"]).to_numpy(),
            "gap significant?": significance_text(t),
            "max gain": _pts(t["max_gain"]).to_numpy() if "max_gain" in t else np.nan,
            "known on": scope_text(t),
            "vs rest": _pts(t["excess_error"]).to_numpy() if "excess_error" in t else np.nan,
            "worse than rest": _worse_than_rest(t),
        }
    )


def _priority_config(base: str) -> dict[str, Any]:
    """Column config of :func:`priority_view`; ``base`` names the baseline."""
    return {
        "vs rest": st.column_config.NumberColumn(
            "Errors vs rest",
            format="%+.1f pts",
            help="The slice's error rate minus the rest of the data's, in points",
        ),
        "worse than rest": st.column_config.TextColumn(
            "Worse than the rest?",
            help="Excess error significant after Benjamini–Hochberg "
            "across the slices (5% false discovery rate): only such slices are advised for "
            "more data",
        ),
        "max gain": st.column_config.NumberColumn(
            "Most it could gain",
            format="%.2f pts",
            help="Accuracy points on all data if every error in the slice were fixed",
        ),
        "known on": st.column_config.TextColumn("Tag known on", help=SCOPE_HELP),
        "rank": st.column_config.NumberColumn("Rank", format="%d", width="small"),
        "slice": st.column_config.TextColumn("Slice", width="medium"),
        "accuracy": _pct_column("Accuracy"),
        "HLP": _pct_column(base),
        "HLP from": st.column_config.TextColumn(
            f"{base} from", help="A slice with too few human labels is not ranked by its gap"
        ),
        "gap": st.column_config.NumberColumn(f"Gap to {base}", format="%+.1f pts"),
        "gap interval": st.column_config.TextColumn(
            "Gap 95% interval", help="Paired where human labels and model are on the same examples"
        ),
        "excess gain": st.column_config.NumberColumn(
            "Excess gain",
            format="%+.2f pts",
            help="(Error rate − the rest's) × share: "
            "accuracy points on all data if the slice erred like the rest",
        ),
        "also": _same_as_column(),
        "share": _pct_column("% of data"),
        "potential gain": st.column_config.NumberColumn(
            "Potential gain",
            format="%+.2f pts",
            help="Gap × share of data: accuracy points on all data if the gap closed",
        ),
        "importance": st.column_config.NumberColumn("Importance", format="%d"),
        "ease": st.column_config.NumberColumn("Ease", format="%d"),
        "priority": st.column_config.NumberColumn(
            "Priority", format="%.2f", help="Potential gain × importance/3 × ease/3"
        ),
        "gap significant?": st.column_config.TextColumn("Gap significant?"),
    }


_PRIORITY_FIRST = (
    "rank",
    "slice",
    "known on",
    "accuracy",
    "HLP",
    "HLP from",
    "gap",
    "gap interval",
    "vs rest",
    "worse than rest",
    "share",
    "potential gain",
    "excess gain",
    "max gain",
    "also",
)


def priority_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the ranked table for *Prioritise*: ranked slices first, with the significance mark.

    Parameters
    ----------
    table : pandas.DataFrame
        The ranked analysis table (:func:`core.prioritize`), fractions in 0–1; only its tag
        and column slices are shown.

    Returns
    -------
    tuple of (pandas.DataFrame, dict)
        One row per slice in the table's order; rates and gains in percentage points. The
        dict is ``st.dataframe``'s ``column_config``.
    """
    t = table[table["kind"].isin(["tag", "column"])]
    view = _priority_frame(t)
    config = _priority_config(baseline_name(table))
    _drop_all_known(view)
    view = _drop_empty(view, ("gap interval", "also"))
    if view["excess gain"].isna().all():
        view = view.drop(columns="excess gain")
    return _first(view, _PRIORITY_FIRST), config


def headline(table: pd.DataFrame) -> dict[str, Any]:
    """Return the headline numbers of the ``All data`` row, with what backs its HLP."""
    row = table.loc[OVERALL]
    return {
        "n": int(row["n"]),
        "accuracy": float(row["accuracy"]),
        "errors": int(row["errors"]),
        "hlp": float(row["hlp"]),
        "gap": float(row["gap"]),
        "hlp_source": row.get("hlp_source", "none"),
        "hlp_basis": describe_hlp_basis(row),
    }


def percent(value: float, digits: int = 1) -> str:
    """``0.912`` -> ``91.2%``; missing -> ``–``."""
    return "–" if value is None or np.isnan(value) else f"{100 * value:.{digits}f}%"


def class_view(report: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-class report for display (rare classes first, as core sorts it)."""
    view = report.reset_index()
    view["class"] = view["class"].astype(str)
    config: dict[str, Any] = {}
    for col in ("precision", "recall", "f1"):
        view[col] = 100 * view[col]
        if f"{col}_ci_low" in view.columns:  # the 95% interval as text beside the value
            name = f"{col} interval"
            view[name] = _interval(view.pop(f"{col}_ci_low"), view.pop(f"{col}_ci_high"))
            config[name] = st.column_config.TextColumn(
                f"{'F1' if col == 'f1' else col.capitalize()} 95% interval"
            )
    order = ["class", "support", "predicted"] + [
        c for col in ("precision", "recall", "f1") for c in (col, f"{col} interval")
    ]
    view = view[
        [c for c in order if c in view.columns] + [c for c in view.columns if c not in order]
    ]
    config |= {
        "class": st.column_config.TextColumn("Class", pinned=True),
        "support": st.column_config.NumberColumn(
            "Support", format="localized", help="Examples with this label"
        ),
        "predicted": st.column_config.NumberColumn("Predicted", format="localized"),
        "precision": st.column_config.NumberColumn("Precision", format="%.1f%%"),
        "recall": st.column_config.NumberColumn("Recall (class accuracy)", format="%.1f%%"),
        "f1": st.column_config.NumberColumn("F1", format="%.1f%%"),
    }
    return view, config
