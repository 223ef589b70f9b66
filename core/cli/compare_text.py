"""How ``compare`` writes a comparison: a plain or Markdown table with notes, or JSON.

:func:`compare_text` and :func:`compare_json` take the
:class:`core.cli.compare.Comparison` the command built; JSON goes through
:func:`core.jsonable.dumps_json` (NaN and inf are ``null``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from slicewise.core.cli.options import examples
from slicewise.core.cli.plain_table import PLAIN_CLASSES
from slicewise.core.jsonable import dumps_json

if TYPE_CHECKING:
    from slicewise.core.cli.compare import Comparison, GateOptions

#: The columns of a slice in ``compare --format json``.
SLICE_KEYS = (
    "kind",
    "n_before",
    "n_after",
    "n_paired",
    "accuracy_before",
    "accuracy_after",
    "delta",
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
#: The columns of a failed gate row in ``compare --format json``, where the row has them.
FAILED_KEYS = (
    "kind",
    "metric",
    "before",
    "after",
    "accuracy_before",
    "accuracy_after",
    "delta",
    "worse_by",
    "test",
    "p_value",
)
#: The columns of a class's change in one metric in ``compare --format json``.
CLASS_KEYS = [
    "before",
    "after",
    "delta",
    "test",
    "p_value",
    "significant",
    "before_ci_low",
    "before_ci_high",
    "after_ci_low",
    "after_ci_high",
]


def compare_json(
    result: Comparison, *, alpha: float, gate: GateOptions, failed: list[tuple[str, pd.Series]]
) -> str:
    """Return the comparison as JSON text, with the gate's verdict when one was asked for."""
    table = result.table
    slices = [
        {"name": str(name), **{k: row[k] for k in SLICE_KEYS}}
        for name, row in table.iloc[1:].iterrows()
    ]
    data = {
        "before": result.before.source_name,
        "after": result.after.source_name,
        "task": result.task.kind,
        "alpha": alpha,
        "pairing": result.pairing,
        "overall": result.overall,
        "slices": slices,
        **_extras_json(result.rates, result.shown, result.classes),
    }
    if gate.fail_points is not None:
        data["gate"] = _gate_json(gate, failed)
    return dumps_json(data) + "\n"  # null for NaN and inf


def _gate_json(gate: GateOptions, failed: list[tuple[str, pd.Series]]) -> dict:
    """Return what the gate watched and the rows that failed it, with why."""
    from slicewise.core.compare import describe_regression

    return {
        "metric": gate.gate_metric,
        "points": gate.fail_points,
        "slices": list(gate.gate_slices) if gate.on_slices else [],
        "classes": list(gate.gate_classes),
        "passed": not failed,
        "failed": [
            {
                "name": str(name),
                "message": describe_regression(str(name), row),
                **{k: row.get(k) for k in FAILED_KEYS if k in row.index},
            }
            for name, row in failed
        ],
    }


def _extras_json(rates: dict[str, pd.DataFrame], shown: list[str], classes: object) -> dict:
    """Return the per-slice metrics, per-class table and confusion matrices for JSON."""
    out: dict = {}
    if shown:
        out["slice_metrics"] = {
            metric: [{"name": str(name), **row.to_dict()} for name, row in rates[metric].iterrows()]
            for metric in shown
        }
    if classes is not None:
        out["classes"] = _classes_json(classes)
        out["confusion_matrix"] = {
            side: {
                "labels": [str(c) for c in cm.index],
                "counts": cm.to_numpy().astype(int).tolist(),
            }
            for side, cm in (
                ("before", classes.confusion_before),  # type: ignore[attr-defined]
                ("after", classes.confusion_after),  # type: ignore[attr-defined]
            )
        }
    return out


def _classes_json(classes: object) -> list[dict]:
    """One item per class: its support before and after and each metric's change."""
    table = classes.table  # type: ignore[attr-defined]
    # Whole columns at once: a .loc per class and metric took seconds at 10,000 classes.
    picked = {
        metric: classes.changes[metric]  # type: ignore[attr-defined]
        .reindex(table.index)[CLASS_KEYS]
        .to_dict("records")
        for metric in ("precision", "recall", "f1")
    }
    support = table[["support_before", "support_after"]].to_numpy(dtype=np.int64)
    rows = []
    for i, name in enumerate(table.index):
        item: dict = {
            "class": str(name),
            "support_before": int(support[i, 0]),
            "support_after": int(support[i, 1]),
        }
        for metric, changes in picked.items():
            item[metric] = changes[i]
        rows.append(item)
    return rows


# --------------------------------------------------------------------------- text


def _pct(v: object) -> str:
    return "–" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"  # type: ignore[arg-type]


def _pts(v: object) -> str:
    return "–" if v is None or pd.isna(v) else f"{100 * float(v):+.1f}"  # type: ignore[arg-type]


def _p(v: object) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.3g}"  # type: ignore[arg-type]


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    """Return the frame as Markdown table lines (cells as they are: the caller formats them)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    lines += [
        "| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return lines


def _block(title: str, frame: pd.DataFrame, note: str, *, markdown: bool) -> list[str]:
    """Write a titled table with a note under it, as Markdown or plain text."""
    if markdown:
        return ["", f"## {title}", "", *_markdown_table(frame), "", f"_{note}_"]
    return ["", f"{title}:", frame.to_string(index=False), f"({note})"]


def compare_text(result: Comparison, *, markdown: bool) -> str:
    """Return the comparison as a plain or Markdown document: slices, then metrics, classes."""
    text = _slices_text(result, markdown=markdown)
    parts = [
        *_slice_metric_blocks(result.rates, result.shown, markdown=markdown),
        *_class_blocks(result.classes, markdown=markdown),
    ]
    return text + "\n".join(parts) + ("\n" if parts else "")


def _value(v: object, metric: str) -> str:
    """Write a metric's value: a percentage for a rate, 4 significant digits otherwise."""
    from slicewise.core.compare import METRICS

    if v is None or pd.isna(v):  # type: ignore[arg-type]
        return "–"
    return f"{100 * float(v):.1f}%" if METRICS[metric].percent else f"{float(v):.4g}"  # type: ignore[arg-type]


def _with_ci(row: pd.Series, side: str, metric: str) -> str:
    """Write a side's value with its interval in brackets, where computed."""
    from slicewise.core.compare import METRICS

    low, high = row[f"{side}_ci_low"], row[f"{side}_ci_high"]
    text = _value(row[side], metric)
    if pd.isna(low) or pd.isna(high):
        return text
    scale = 100 if METRICS[metric].percent else 1
    return f"{text} [{scale * low:.1f}–{scale * high:.1f}]"


def _change(v: object, metric: str) -> str:
    """Write a signed change: points for a rate, 4 significant digits otherwise."""
    from slicewise.core.compare import METRICS

    if v is None or pd.isna(v):  # type: ignore[arg-type]
        return "–"
    return f"{100 * float(v):+.1f}" if METRICS[metric].percent else f"{float(v):+.4g}"  # type: ignore[arg-type]


def _slice_metric_blocks(
    rates: dict[str, pd.DataFrame], shown: list[str], *, markdown: bool
) -> list[str]:
    """One table per metric the task shows per slice besides accuracy (FPR, FNR, WER, MAE)."""
    from slicewise.core.compare import METRICS

    parts: list[str] = []
    for metric in shown:
        t = rates[metric]
        label = METRICS[metric].label
        unit = "points" if METRICS[metric].percent else "label units"
        frame = pd.DataFrame(
            {
                "slice": [str(i) for i in t.index],
                "n before": [f"{int(v):,}" for v in t["n_before"]],
                "n after": [f"{int(v):,}" for v in t["n_after"]],
                f"{label} before": [_with_ci(r, "before", metric) for _, r in t.iterrows()],
                "after": [_with_ci(r, "after", metric) for _, r in t.iterrows()],
                f"change ({unit})": [_change(v, metric) for v in t["delta"]],
                "test": t["test"].to_numpy(),
                "p-value": [_p(v) for v in t["p_value"]],
                "verdict": np.select(
                    [t["regression"].to_numpy(bool), t["improvement"].to_numpy(bool)],
                    ["worse", "better"],
                    "–",
                ),
            }
        )
        parts += _block(
            f"{label} by slice: {METRICS[metric].definition}",
            frame,
            "n: the examples the rate counts; verdict: a significant change; "
            "[low–high]: interval where computed",
            markdown=markdown,
        )
    return parts


def _class_blocks(classes: object, *, markdown: bool) -> list[str]:
    """Write the per-class table (clearest changes first when there are many), both matrices."""
    if classes is None:
        return []
    t = classes.table  # type: ignore[attr-defined]
    more = ""
    if len(t) > PLAIN_CLASSES:  # the classes whose change is clearest; all in JSON
        best = t[[f"{m}_p_value" for m in ("precision", "recall", "f1")]].min(axis=1)
        t = t.loc[best.sort_values(kind="stable", na_position="last").index[:PLAIN_CLASSES]]
        more = (
            f"; {len(classes.table) - len(t):,} more classes with less clear changes "  # type: ignore[attr-defined]
            "in --format json"
        )
    frame = pd.DataFrame(
        {
            "class": [str(i) for i in t.index],
            "n before": [f"{int(v):,}" for v in t["support_before"]],
            "n after": [f"{int(v):,}" for v in t["support_after"]],
        }
    )
    for metric, label in (("precision", "precision"), ("recall", "recall"), ("f1", "F1")):
        frame[f"{label} before"] = [_value(v, metric) for v in t[f"{metric}_before"]]
        frame[f"{label} after"] = [_value(v, metric) for v in t[f"{metric}_after"]]
        frame[f"{label} change"] = [_change(v, metric) for v in t[f"{metric}_delta"]]
        frame[f"{label} p"] = [_p(v) for v in t[f"{metric}_p_value"]]
    parts = _block(
        "Per class",
        frame,
        "n: examples labelled with the class; changes in points; recall p: "
        "McNemar on the class's examples where they are in both files, else "
        "two-proportion; precision p: the same on the examples predicted as "
        "the class; F1 p: approximate randomization" + more,
        markdown=markdown,
    )
    for side in ("before", "after"):
        cm = getattr(classes, f"confusion_{side}")
        shown_cm = cm.copy()
        shown_cm.index = [f"label {c}" for c in cm.index]
        shown_cm.columns = [f"predicted {c}" for c in cm.columns]
        shown_cm = shown_cm.reset_index(names="")
        parts += _block(
            f"Confusion matrix {side}",
            shown_cm,
            "rows: label, columns: prediction",
            markdown=markdown,
        )
    return parts


def _verdict(row: pd.Series) -> str:
    if row["regression"]:
        return "worse"
    if row["improvement"]:
        return "better"
    return "–"


#: What the slice table's columns and tests mean, under the table.
LEGEND = (
    "change and gaps in accuracy points, gap = HLP − accuracy; verdict: a "
    "significant change;\nmcnemar: exact test on the examples whose outcome "
    "changed; two-proportion: pooled z-test; fisher: Fisher's exact test"
)


def _slice_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Return the accuracy per slice, before and after, in review order, formatted for reading."""
    from slicewise.core.compare import review_order

    ordered = review_order(table)
    return pd.DataFrame(
        {
            "slice": [str(i) for i in ordered.index],
            "n before": ordered["n_before"].map(lambda v: f"{int(v):,}").to_numpy(),
            "n after": ordered["n_after"].map(lambda v: f"{int(v):,}").to_numpy(),
            "accuracy before": ordered["accuracy_before"].map(_pct).to_numpy(),
            "after": ordered["accuracy_after"].map(_pct).to_numpy(),
            "change (pts)": ordered["delta"].map(_pts).to_numpy(),
            "gap before": ordered["gap_before"].map(_pts).to_numpy(),
            "gap after": ordered["gap_after"].map(_pts).to_numpy(),
            "test": ordered["test"].to_numpy(),
            "p-value": ordered["p_value"]
            .map(lambda v: "–" if pd.isna(v) else f"{v:.3g}")
            .to_numpy(),
            "verdict": [_verdict(r) for _, r in ordered.iterrows()],
        }
    )


def _slice_notes(table: pd.DataFrame, overall: dict) -> list[str]:
    """Slices that got worse while all data improved, and those that improved."""
    notes = []
    for name in overall["worse_while_overall_better"]:
        row = table.loc[name]
        mark = "significant" if row["significant"] else "could be chance"
        notes.append(
            f"{name} got worse while all data improved: {_pct(row['accuracy_before'])}"
            f" -> {_pct(row['accuracy_after'])} ({_pts(row['delta'])} pts, "
            f"{row['test']} p={row['p_value']:.3g}, {mark})"
        )
    for name in overall["improved"]:
        row = table.loc[name]
        notes.append(
            f"{name} improved: {_pct(row['accuracy_before'])} -> "
            f"{_pct(row['accuracy_after'])} ({_pts(row['delta'])} pts, "
            f"p={row['p_value']:.3g})"
        )
    return notes


def _slices_text(result: Comparison, *, markdown: bool) -> str:
    """Write the head (files, pairing, all data), the slice table and the notes."""
    before, after, overall = result.before, result.after, result.overall
    shown = _slice_frame(result.table)
    head = (
        f"before: {before.source_name} ({examples(before.n)})   after: "
        f"{after.source_name} ({examples(after.n)})\nmatched: {result.pairing}\n"
        f"All data: {_pct(overall['accuracy_before'])} -> {_pct(overall['accuracy_after'])} "
        f"({_pts(overall['delta'])} pts, {overall['test']} p="
        f"{overall['p_value']:.3g})"
    )
    notes = _slice_notes(result.table, overall)
    if markdown:
        parts = [
            "# Slicewise comparison",
            "",
            *[f"{line}  " for line in head.splitlines()],
            "",
            "\n".join(_markdown_table(shown)),
            "",
            *[f"- {n}" for n in notes],
            "",
            f"_{LEGEND.replace(chr(10), ' ')}_",
        ]
        return "\n".join(parts) + "\n"
    parts = [head, "", shown.to_string(index=False), ""]
    parts += [f"! {n}" if "worse" in n else f"* {n}" for n in notes]
    parts += [f"({LEGEND})"]
    return "\n".join(parts) + "\n"
