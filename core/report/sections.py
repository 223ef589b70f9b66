"""What the readable report says: its sections as blocks the Markdown and HTML writers draw.

A block is a tuple whose first item names its kind: ``("p", text)``, ``("small", text)``,
``("h3", text)``, ``("facts", [(label, value), ...])``, ``("ul" | "ol", [text, ...])``,
``("chart", table)`` and ``("table", header, rows, css_class)``; a table cell is text or a
:class:`Cell` (a value with its 95% interval). Nothing here escapes or lays out: that is
:mod:`core.report.writers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd

from slicewise.core.baselines import BASIS_ENTERED, BASIS_SINGLE, BASIS_TARGET
from slicewise.core.jsonable import plain_value
from slicewise.core.metrics import MIN_HUMAN_LABELS, compute_confusion_matrix
from slicewise.core.prioritize import describe_hlp_basis, describe_priorities, format_hlp, rank_rule
from slicewise.core.report.content import TASK_COLUMNS, ClassResults, report_frame
from slicewise.core.slice_names import OVERALL

#: Most classes the Markdown/HTML per-class table lists (the rarest first); JSON has all.
MAX_CLASS_ROWS = 40
#: Most classes of the Markdown/HTML confusion matrix (the most frequent; the others are
#: summed in an "(other)" row and column); JSON has every cell.
MAX_MATRIX_CLASSES = 12
#: Most label corrections the Markdown/HTML report lists (the latest); JSON has all.
MAX_CORRECTION_ROWS = 50


#: Fraction columns, shown as percentages.
_PERCENT = frozenset(
    {
        "share",
        "accuracy",
        "hlp",
        "error_rate",
        "error_share",
        "paired_accuracy",
        "precision",
        "recall",
        "f1",
        "fpr",
        "fnr",
        "wer",
        "error_rate_rest",
    }
)
#: Columns in accuracy points (differences of fractions), signed.
_POINTS = frozenset({"gap", "potential_gain", "excess_gain", "excess_error"})


def _fmt(value: Any, col: str) -> str:
    """Write one cell of the readable tables: percentages, points, yes/no, ``–`` if missing."""
    value = plain_value(value)
    if value is None or (isinstance(value, str) and col == "same_as" and not value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if (
        col in _PERCENT
        or col.endswith(("_ci_low", "_ci_high"))
        and col.split("_ci_")[0] in _PERCENT
    ):
        return f"{100 * value:.1f}%"
    if col in _POINTS:
        return f"{100 * value:+.1f}"
    if col in ("max_gain", "priority"):
        return f"{100 * value:.2f}"
    if col in ("p_value", "excess_p_value", "excess_q_value"):
        return f"{value:.3g}"
    if col in ("rank", "n", "hlp_n", "errors", "support", "predicted"):
        return f"{int(value)}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _interval(row: Mapping[str, Any], col: str) -> str:
    """Write the 95% interval of ``col`` in ``row`` (``<col>_ci_low``/``_ci_high``), or ``""``."""
    low, high = plain_value(row.get(f"{col}_ci_low")), plain_value(row.get(f"{col}_ci_high"))
    if not isinstance(low, float) or not isinstance(high, float) or low == high:
        return ""  # none, or an exact figure (a tag's error share where it is known)
    if col in _PERCENT:
        return f"{100 * low:.1f}–{100 * high:.1f}%"
    if col in _POINTS:
        return f"{100 * low:+.1f} to {100 * high:+.1f}"
    return f"{low:.3g}–{high:.3g}"


class Cell(NamedTuple):
    """A table cell holding a value and its 95% interval (each renderer places the two)."""

    value: str
    interval: str

    def __str__(self) -> str:
        return f"{self.value} ({self.interval})"


#: A block of the readable report: its kind first (see the module docstring).
Block = tuple[Any, ...]


def _with_interval(row: Mapping[str, Any], col: str) -> str | Cell:
    """``44.8% (41.9–47.8%)``: a value followed by its 95% interval when there is one."""
    text = _fmt(row.get(col), col)
    ci = _interval(row, col)
    return Cell(text, ci) if ci and text != "–" else text


#: Readable headers of the Markdown and HTML tables by machine name (JSON and CSV keep the
#: machine names). ``accuracy_interval`` and ``hlp_basis`` are made for display.
READABLE_NAMES: dict[str, str] = {
    "rank": "Rank",
    "name": "Slice",
    "n": "Examples",
    "share": "Share of data",
    "accuracy": "Accuracy",
    "accuracy_interval": "95% interval",
    "hlp": "HLP",
    "hlp_basis": "HLP measured on",
    "gap": "Gap (points)",
    "significant": "Gap significant",
    "error_share": "Share of errors",
    "excess_error": "Errors vs rest (points)",
    "worse_than_rest": "Worse than rest",
    "priority": "Priority",
    "importance": "Importance",
    "ease": "Ease",
    "max_gain": "Max gain (points)",
    "scope": "Tag known on",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "fpr": "False-positive rate",
    "fnr": "False-negative rate",
    "wer": "WER",
    "mae": "MAE",
    "rmse": "RMSE",
    "support": "Support",
    "predicted": "Predicted",
}
#: What each ``hlp_source`` is called in the headline, and how that baseline was measured.
BASELINE_WORDS: dict[str, tuple[str, str]] = {
    "human_label": (
        "HLP",
        "how often the human-label column agrees with the label, on the "
        "examples that have one; 95% Wilson score interval (Wilson, 1927); a "
        f"slice needs at least {MIN_HUMAN_LABELS} such examples to be compared, "
        "and its gap is tested with McNemar's exact test on the same examples",
    ),
    "too_few": (
        "HLP",
        f"measured on fewer than {MIN_HUMAN_LABELS} human labels: shown, but "
        "too uncertain to compare with the model",
    ),
    "user": (
        "HLP (entered)",
        "typed in by the team, not measured here; the gap is tested "
        "with an exact binomial test of the slice's correct count",
    ),
    "human_accuracy": (
        "HLP",
        "the mean per-row human accuracy: how often one annotator is "
        "right (not a majority vote, which is an upper bound)",
    ),
    "older_system": ("Older system", "the accuracy of the older system on the same slice"),
    "target": ("Target", "a target accuracy the team set"),
}
_TASK_HEADLINE = {
    "binary": ("fpr", "fnr", "precision", "recall"),
    "text": ("wer",),
    "regression": ("mae",),
}


def _overall_row(table: pd.DataFrame) -> dict[str, Any]:
    """Return the ``All data`` row (``kind`` ``overall``, else by name) as a dict, or ``{}``."""
    if "kind" in table.columns:
        rows = table[table["kind"] == "overall"]
    else:
        rows = table[table.index == OVERALL]
    return rows.iloc[0].to_dict() if len(rows) else {}


def _baseline_name(row: Mapping[str, Any]) -> str:
    """``HLP``, ``Older system``, ``Target``: what one row's baseline is called."""
    given = row.get("baseline")
    if isinstance(given, str) and given:
        return given
    return BASELINE_WORDS.get(str(row.get("hlp_source", "none")), ("Baseline", ""))[0]


def _headline(table: pd.DataFrame, *, dataset: str, task: str) -> list[tuple[str, str]]:
    """(label, value) pairs of the report's first lines: data, accuracy, baseline, gap."""
    row = _overall_row(table)
    facts = []
    if dataset:
        facts.append(("Dataset", dataset))
    if task:
        facts.append(("Task", task))
    if not row:
        return facts
    facts.append(("Examples", f"{int(row['n']):,}"))
    acc = _interval(row, "accuracy")
    facts.append(
        (
            "Accuracy",
            _fmt(row.get("accuracy"), "accuracy") + (f" (95% interval {acc})" if acc else ""),
        )
    )
    for col in _TASK_HEADLINE.get(task, ()):
        if plain_value(row.get(col)) is not None:
            ci = _interval(row, col)
            facts.append(
                (READABLE_NAMES[col], _fmt(row[col], col) + (f" (95% interval {ci})" if ci else ""))
            )
    hlp = plain_value(row.get("hlp"))
    if hlp is None:
        facts.append(
            (
                "Baseline",
                "none: no human label, entered HLP, older system or target, "
                "so slices are compared with the rest of the data instead",
            )
        )
        return facts
    name = _baseline_name(row)
    facts.append((name[:1].upper() + name[1:], format_hlp(row)))
    gap = plain_value(row.get("gap"))
    if gap is None:
        facts.append(("Gap", f"not measured ({describe_hlp_basis(row)})"))
        return facts
    side = "below" if gap > 0 else "above"
    text = f"the model is {abs(100 * gap):.1f} points {side} {name}"
    ci = _interval(row, "gap")
    if ci:
        text += f" (95% interval {ci})"
    p = plain_value(row.get("p_value"))
    if p is not None:
        text += (
            "; significant at the 5% level"
            if row.get("significant")
            else "; not statistically significant"
        ) + f" (p = {p:.2g})"
    facts.append(("Gap", text))
    return facts


def _display_columns(flat: pd.DataFrame) -> list[str]:
    """Choose the columns the readable slice table shows: the baseline's only when there is one."""
    has = set(flat.columns) | {"accuracy_interval"}
    slices = flat[flat["kind"].isin(["tag", "column", "untagged"])] if "kind" in flat else flat
    cols = ["rank", "name", "n", "share", "accuracy", "accuracy_interval"]
    if "hlp" in flat.columns and flat["hlp"].notna().any():
        cols += ["hlp", "hlp_basis", "gap", "significant"]
        has.add("hlp_basis")
    cols += ["error_share", "excess_error", "worse_than_rest", "priority"]
    for weight in ("importance", "ease"):
        if weight in flat.columns and (flat[weight].dropna() != 3).any():
            cols.append(weight)
    if "scope" in slices.columns and (slices["scope"].dropna() != "all").any():
        cols += ["max_gain", "scope"]
    cols += list(TASK_COLUMNS)
    return [c for c in cols if c in has]


def _slice_cell(row: Mapping[str, Any], col: str) -> str | Cell:
    """Write one cell of the readable slice table (the renderer escapes it)."""
    if col == "name":
        also = plain_value(row.get("same_as"))
        return str(row["name"]) + (f" (also: {also})" if isinstance(also, str) and also else "")
    if col == "accuracy_interval":
        return _interval(row, "accuracy") or "–"
    if col == "hlp_basis":
        return describe_hlp_basis(row) if plain_value(row.get("hlp")) is not None else "–"
    if col in ("gap", "error_share", *TASK_COLUMNS):
        return _with_interval(row, col)
    if col in ("priority", "worse_than_rest") and plain_value(row.get("rank")) is None:
        return "–"  # only ranked slices have a priority and are compared with the rest
    return _fmt(row.get(col), col)


def _slice_blocks(table: pd.DataFrame) -> list[Block]:
    """Build the slice section: the order it follows in words, a chart (HTML) and the table."""
    flat = report_frame(table)
    cols = _display_columns(flat)
    rows = [[_slice_cell(r, c) for c in cols] for r in flat.to_dict("records")]
    order = (
        f"Ordered by rank: {rank_rule(table)}. Rows without a rank follow: all data, "
        "examples with no tag, and slices that cannot be ranked (no usable baseline, or "
        "accuracy unknown)."
        if "rank" in table.columns
        else ""
    )
    blocks: list[Block] = [("p", order)] if order else []
    blocks.append(("chart", table))
    header = [READABLE_NAMES[c] for c in cols]
    name = _baseline_name(_overall_row(table))
    if name != "HLP" and "hlp" in cols:  # an older system or a target: say so
        header[cols.index("hlp")] = "Baseline"
        header[cols.index("hlp_basis")] = "Baseline measured on"
    blocks.append(("table", header, rows, ""))
    notes = [_interval_note(flat, cols)]
    if "excess_error" in cols:
        notes.append(
            "Errors vs rest: the slice's error rate minus that of every example "
            "outside it; 'worse than rest' when that is positive and significant "
            "after a Benjamini–Hochberg correction across the slices (false "
            "discovery rate 5%)."
        )
    if "gap" in cols:
        notes.append(
            "Gap: the baseline minus the model's accuracy on the same examples, in "
            "accuracy points (positive: the model trails)."
        )
    notes.append(
        "Priority: the gain the order uses (see above), in accuracy points on all "
        "data. A slice with the same examples as another is shown once "
        "('also: …')."
    )
    blocks.append(("small", " ".join(notes)))
    return blocks


#: How the intervals of the table's columns are computed (:mod:`core.intervals`).
INTERVAL_METHODS: dict[str, str] = {
    "gap": "the gap: Newcombe's (1998) interval for a difference of paired proportions "
    "(human labels, an older system), the Student t interval of the mean paired "
    "difference (per-row human accuracy), or the accuracy interval shifted (an "
    "entered HLP, a target)",
    "f1": "F1: a seeded percentile bootstrap of the confusion counts (Efron & Tibshirani, 1993)",
    "wer": "WER: the delta-method interval of a ratio (Cochran, 1977)",
    "mae": "MAE: the Student t interval of a mean",
}


def _interval_note(flat: pd.DataFrame, cols: Sequence[str]) -> str:
    """Say how the intervals shown were computed: Wilson for proportions, then the others."""
    parts = [
        "Intervals are 95% intervals: Wilson score intervals (Wilson, 1927) for "
        "proportions (accuracy, HLP, shares, precision, recall, false-positive and "
        "false-negative rates)"
    ]
    parts += [
        how
        for col, how in INTERVAL_METHODS.items()
        if col in cols and f"{col}_ci_low" in flat.columns
    ]
    return "; ".join(parts) + "."


def _class_blocks(classes: ClassResults) -> list[Block]:
    """Build the per-class table (rarest first) and the confusion matrix."""
    per = classes.per_class
    cols = [c for c in ("support", "predicted", "precision", "recall", "f1") if c in per]
    shown = per.head(MAX_CLASS_ROWS)
    rows = [
        [str(cls), *(_with_interval(r, c) for c in cols)]
        for cls, r in zip(shown.index, shown.to_dict("records"), strict=True)
    ]
    blocks: list[Block] = [
        (
            "p",
            "Precision: of the examples predicted as the class, the share that are; "
            "recall: of the examples of the class, the share found (the class's accuracy); F1: "
            "their harmonic mean. Rarest classes first."
            + (
                f" The {MAX_CLASS_ROWS} rarest of {len(per)} classes are shown; the JSON report "
                "lists all."
                if len(per) > MAX_CLASS_ROWS
                else ""
            ),
        ),
        ("table", ["Class", *(READABLE_NAMES[c] for c in cols)], rows, "classes"),
    ]
    sub = compute_confusion_matrix(pairs=classes.pairs, max_classes=MAX_MATRIX_CLASSES)
    header = ["Label \u2193 / prediction \u2192", *(str(c) for c in sub.columns)]
    body = [
        [str(lbl), *(f"{int(v):,}" for v in counts)]
        for lbl, counts in zip(sub.index, sub.to_numpy(), strict=True)
    ]
    blocks.append(("h3", "Confusion matrix"))
    blocks.append(
        (
            "p",
            "Rows: the label; columns: the prediction; the diagonal is correct."
            + (
                f" The {MAX_MATRIX_CLASSES} most frequent of {len(per):,} classes "
                f"are shown and the others summed in {sub.index[-1]}; the JSON report "
                "has every cell."
                if len(per) > MAX_MATRIX_CLASSES
                else ""
            ),
        )
    )
    blocks.append(("table", header, body, "matrix"))
    return blocks


def _correction_blocks(corrections: pd.DataFrame) -> list[Block]:
    """Say which labels were corrected, from what to what, by whom and when."""
    if corrections.empty:
        return [("p", "No label has been corrected.")]
    who = corrections["user"].astype(str).value_counts() if "user" in corrections else None
    text = f"{len(corrections):,} label{'s' if len(corrections) != 1 else ''} corrected"
    if who is not None:
        text += " by " + ", ".join(f"{u} ({k:,})" for u, k in who.items())
    cols = [
        c
        for c in ("example_id", "original", "corrected", "user", "at", "reason")
        if c in corrections.columns
    ]
    names = {
        "example_id": "Example",
        "original": "Old label",
        "corrected": "New label",
        "user": "By",
        "at": "When",
        "reason": "Reason",
    }
    shown = corrections.tail(MAX_CORRECTION_ROWS)
    rows = [
        ["–" if plain_value(v) is None else str(v) for v in r]
        for r in shown[cols].astype(object).itertuples(index=False)
    ]
    if len(corrections) > MAX_CORRECTION_ROWS:
        text += f"; the latest {MAX_CORRECTION_ROWS} are listed (the JSON report has all)"
    return [("p", text + "."), ("table", [names[c] for c in cols], rows, "corrections")]


def _baseline_blocks(table: pd.DataFrame) -> list[Block]:
    """Say how each baseline in the table was measured, one line per kind."""
    row = _overall_row(table)
    lines = []
    if row and plain_value(row.get("hlp")) is not None:
        lines.append(f"On all data, {_baseline_name(row)}: {format_hlp(row)}.")
    if "hlp_source" in table.columns:
        basis = (
            table["hlp_basis"]
            if "hlp_basis" in table.columns
            else pd.Series(None, index=table.index, dtype=object)
        )
        kinds = pd.DataFrame(
            {
                "source": table["hlp_source"].astype(str),
                "basis": basis.where(basis.notna(), "").astype(str),
            }
        )
        for (source, said), group in kinds.groupby(["source", "basis"], sort=False):
            if source == "none":
                continue
            name, how = BASELINE_WORDS.get(source, (source, "see the hlp_source column"))
            rows = f"{len(group):,} row{'s' if len(group) != 1 else ''}"
            # the wording of the measurement itself (a majority label, an older system...)
            if said and said not in (BASIS_SINGLE, BASIS_ENTERED, BASIS_TARGET):
                rows += f", {said}"
            lines.append(f"{name} ({rows}): {how}.")
    if not lines:
        lines.append(
            "No baseline: the data has no human-label column and no HLP, older "
            "system or target was given. Slices are ranked by how much more they err "
            "than the rest of the data."
        )
    return [("ul", lines)]


def report_sections(
    table: pd.DataFrame,
    *,
    dataset: str,
    task: str,
    summary: Sequence[str] | None,
    classes: ClassResults | None,
    corrections: pd.DataFrame | None,
) -> list[tuple[str, list[Block]]]:
    """Return the report's sections in order, as blocks both renderers draw."""
    advice = list(describe_priorities(table) if summary is None else summary)
    todo: list[Block] = (
        [("ol", advice[:3])] if advice else [("p", "No advice: no slice could be ranked.")]
    )
    if len(advice) > 3:
        todo += [("p", "Also noted:"), ("ul", advice[3:])]
    sections = [
        ("At a glance", [("facts", _headline(table, dataset=dataset, task=task))]),
        ("What to do next", todo),
        ("Slices", _slice_blocks(table)),
    ]
    if classes is not None:
        sections.append(("Per class", _class_blocks(classes)))
    if corrections is not None:
        sections.append(("Label corrections", _correction_blocks(corrections)))
    sections.append(("How the baseline was measured", _baseline_blocks(table)))
    return sections
