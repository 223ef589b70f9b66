"""How ``analyze`` writes its table: the terminal's plain table, or a report format.

:func:`render` picks the plain table for ``--format table`` and hands every other format to
:func:`core.report.render_report`, the one report-format switch.
"""

from __future__ import annotations

import pandas as pd

from slicewise.core.metrics import OVERALL
from slicewise.core.prioritize import describe_priorities, format_hlp, rank_rule
from slicewise.core.report import ClassResults, render_report

#: Most classes the plain table's per-class section lists (the rarest first).
PLAIN_CLASSES = 20


def render(
    table: pd.DataFrame, fmt: str, *, dataset: str, task: str, classes: ClassResults | None = None
) -> str:
    """Render a ranked table in one of the CLI's formats: ``table`` or a report format.

    ``classes`` (:func:`core.report.compute_class_results`) adds the per-class table and
    confusion matrix to the JSON, Markdown and HTML reports and a per-class section to the
    plain table; CSV stays the slice table. The text ends in a line break (a JSON report
    gets one).
    """
    if fmt == "table":
        return plain_table(table, task=task, summary=describe_priorities(table), classes=classes)
    text = render_report(table, fmt, dataset=dataset, task=task, classes=classes).text
    return text if text.endswith("\n") else text + "\n"


#: The plain table's columns, before the task's own (:func:`_shown_columns` adds the rest).
PLAIN_COLUMNS = (
    "rank",
    "n",
    "share",
    "accuracy",
    "hlp",
    "hlp_n",
    "gap",
    "error_rate",
    "error_share",
    "max_gain",
    "potential_gain",
    "significant",
)


def plain_table(
    table: pd.DataFrame, *, task: str, summary: list[str], classes: ClassResults | None = None
) -> str:
    """Write the ranked table for a terminal: a head line, the slices, the advice, classes.

    Fractions are percentages, gaps and gains accuracy points; ``summary`` is the advice
    (:func:`core.prioritize.describe_priorities`), one ``*`` line each; ``classes`` adds
    the per-class section (the :data:`PLAIN_CLASSES` rarest).
    """
    overall = table.loc[OVERALL]
    base = overall.get("baseline")
    base = base if isinstance(base, str) and base and base != "HLP" else "HLP"
    head = (
        f"task: {task}   examples: {int(overall['n'])}   accuracy: "
        f"{100 * overall['accuracy']:.1f}%   {base}: {format_hlp(overall)}"
    )
    body = _slice_rows(table).to_string()
    notes = "\n".join(f"* {s}" for s in summary)
    same = table["same_as"] if "same_as" in table.columns else pd.Series(dtype=object)
    same = same[same.astype(str) != ""]
    once = (
        ""
        if not len(same)
        else "shown once, same examples: "
        + "; ".join(f"{name} = {', '.join(str(o).split('; '))}" for name, o in same.items())
        + "\n"
    )
    text = (
        f"{head}\n\n{body}\n\n{notes}\n{once}(ordered by rank: {rank_rule(table)}; gap, "
        "vs_rest (error rate minus the rest's), gain and max_gain in accuracy points; "
        "max_gain: if every error in the slice were fixed; 95% intervals in brackets)\n"
    )
    return text if classes is None else text + _class_section(classes)


def _slice_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return the table's shown columns formatted as text, one row per slice."""
    cols = list(PLAIN_COLUMNS)
    if "excess_error" in table.columns:
        cols[cols.index("error_share") + 1 : cols.index("error_share") + 1] = ["vs_rest", "worse"]
        table = table.assign(
            vs_rest=table["excess_error"],
            worse=table["worse_than_rest"]
            .map({True: "yes", False: "no"})
            .where(table["excess_q_value"].notna(), "–"),
        )
    if "scope" in table.columns and (table["scope"] != "all").any():
        cols.append("scope")
    extra = [
        c
        for c in ("precision", "recall", "f1", "fpr", "fnr", "wer", "mae", "rmse")
        if c in table.columns
    ]
    shown = table[cols + extra].copy()
    pct = ["share", "accuracy", "hlp", "error_rate", "error_share"]
    for c in pct + [c for c in extra if c not in ("mae", "rmse")]:
        shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{100 * v:.1f}%")
    for c in ("fpr", "fnr"):  # binary error rates with their 95% interval, when computed
        if c in shown.columns and f"{c}_ci_low" in table.columns:
            shown[c] = [
                v if pd.isna(lo) or pd.isna(hi) else f"{v} ({100 * lo:.1f}–{100 * hi:.1f})"
                for v, lo, hi in zip(
                    shown[c], table[f"{c}_ci_low"], table[f"{c}_ci_high"], strict=True
                )
            ]
    for c in ("gap", "potential_gain", "vs_rest"):
        if c in shown.columns:
            shown[c] = shown[c].map(lambda v: "–" if pd.isna(v) else f"{100 * v:+.2f}")
    shown["max_gain"] = shown["max_gain"].map(lambda v: "–" if pd.isna(v) else f"{100 * v:.2f}")
    shown["rank"] = shown["rank"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    shown["hlp_n"] = _hlp_counts(table)
    shown["significant"] = shown["significant"].map({True: "yes", False: "no"})
    return shown


def _hlp_counts(table: pd.DataFrame) -> list[str]:
    """Human labels behind a measured HLP; ``user`` for an entered one, ``–`` for none."""
    return [
        (
            "user"
            if s == "user"
            else "–"
            if s == "none"
            else f"{int(k)}" + (" (too few)" if s == "too_few" else "")
        )
        for s, k in zip(table["hlp_source"], table["hlp_n"], strict=True)
    ]


def _class_section(classes: ClassResults) -> str:
    """Write the per-class section: the rarest classes' support, precision, recall, F1."""
    per = classes.per_class
    rows = per.head(PLAIN_CLASSES)[
        [c for c in ("support", "predicted", "precision", "recall", "f1") if c in per.columns]
    ]
    rows = rows.astype(object)
    for c in ("precision", "recall", "f1"):
        if c in rows.columns:
            rows[c] = [
                ("–" if pd.isna(v) else f"{100 * v:.1f}%") for v in per[c].head(PLAIN_CLASSES)
            ]
    more = (
        f" ({PLAIN_CLASSES} rarest of {len(per)} shown; --format json lists all)"
        if len(per) > PLAIN_CLASSES
        else ""
    )
    return f"\nper class, rarest first{more}:\n{rows.to_string()}\n"
