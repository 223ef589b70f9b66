"""``slicewise suggest`` and ``slicewise label-issues``: what the data says to look at.

``suggest`` searches metadata conditions where the model errs most often (SliceLine with a
false-discovery-rate test, :mod:`core.discovery`); ``label-issues`` lists the examples whose
given label is probably wrong (confident learning, :mod:`core.label_issues`).
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from slicewise.core.cli.group import main
from slicewise.core.cli.options import (
    ReadOptions,
    emit,
    load_predictions,
    note,
    output_option,
    prediction_options,
    read_mapping,
    role,
)
from slicewise.core.dataset import Dataset
from slicewise.core.errors import DataError
from slicewise.core.jsonable import dumps_json
from slicewise.core.report import to_safe_csv


@main.command("suggest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@prediction_options
@click.option(
    "--columns",
    help="Comma-separated metadata columns to search (default: all "
    "but ids, free text and per-class probabilities).",
)
@click.option(
    "--max-conditions",
    type=click.IntRange(1, 3),
    default=3,
    show_default=True,
    help="Most conditions in one slice.",
)
@click.option(
    "--min-support",
    type=click.IntRange(min=1),
    help="Fewest examples in a slice (default: 30 or 1% of the rows).",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many slices to show.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.95,
    show_default=True,
    help="SliceLine weight of error rate against slice size.",
)
@click.option(
    "--fdr",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="False discovery rate (Benjamini-Hochberg).",
)
@click.option(
    "--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True
)
@output_option
def suggest_command(
    file: Path,
    read: ReadOptions,
    columns: str | None,
    max_conditions: int,
    min_support: int | None,
    top: int,
    alpha: float,
    fdr: float,
    fmt: str,
    output: Path | None,
) -> None:
    """Suggest slices of FILE (metadata conditions) where the model errs most often.

    FILE is a CSV, TSV, Parquet or Excel .xlsx file, also gzip- or bzip2-compressed
    (.csv.gz, .tsv.bz2) or alone in a .zip.
    """
    from slicewise.core.discovery import format_suggestions, suggest_slices

    dataset, spec = load_predictions(file, read_mapping(read), read)
    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    found = suggest_slices(
        dataset,
        task=spec,
        columns=cols,
        max_conditions=max_conditions,
        min_support=min_support,
        top=top,
        alpha=alpha,
        fdr=fdr,
    )
    for warning in found.warnings:
        note(warning)
    if fmt == "json":
        text = _suggestions_json(dataset, found)
    else:
        text = format_suggestions(found, source=dataset.source_name)
    emit(text, output)


def _suggestions_json(dataset: Dataset, found: object) -> str:
    """Return the search's settings and slices as JSON; NaN and inf are null."""
    from slicewise.core.discovery import SLICE_COLUMNS  # scipy: only when suggesting

    data = {
        "dataset": dataset.source_name,
        **{
            key: getattr(found, key)
            for key in (
                "n",
                "errors",
                "overall_error_rate",
                "n_tested",
                "fdr",
                "alpha",
                "min_support",
                "max_conditions",
                "columns",
                "skipped",
            )
        },
        "note": found.fdr_note(),  # type: ignore[attr-defined]
        "slices": found.slices[list(SLICE_COLUMNS)].to_dict("records"),  # type: ignore[attr-defined]
    }
    return dumps_json(data) + "\n"


@main.command("label-issues")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@prediction_options
@click.option(
    "--human",
    help="Human-label column: a second opinion on each label (one that "
    "agrees with the given label vetoes a flag); detected by name if omitted, "
    "'none' to leave it out.",
)
@click.option(
    "--annotations",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Multi-annotator labels of the examples (long: item, annotator, label; or "
    "wide: one column per annotator; items are FILE's ids): each example's votes.",
)
@click.option(
    "--filter-by",
    type=click.Choice(
        (
            "prune_by_noise_rate",
            "prune_by_class",
            "both",
            "confident_learning",
            "predicted_neq_given",
        )
    ),
    default="prune_by_noise_rate",
    show_default=True,
    help="cleanlab's method for flagging from the probabilities.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    help="List only the first N flags (the summary still counts all).",
)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json", "csv")), default="text", show_default=True
)
@output_option
def label_issues_command(
    file: Path,
    read: ReadOptions,
    human: str | None,
    annotations: Path | None,
    filter_by: str,
    top: int | None,
    fmt: str,
    output: Path | None,
) -> None:
    """List the examples of FILE whose given label is probably wrong, most likely first.

    FILE needs one probability column per class (prob_<class>, e.g. prob_cat), from a model
    that did not train on these examples. Confident learning (cleanlab) flags labels the
    probabilities contradict; a human label (--human) or annotators (--annotations) that
    confirm the given label veto a flag, and a flag is added where the model and the humans
    name the same other class (see core.label_issues.find_label_issues).
    """
    from slicewise.core.errors import RowNumbers
    from slicewise.core.label_issues import find_label_issues

    if read.task in ("regression", "text"):
        raise DataError(
            f"--task {read.task}: label errors are found among classes; use classification "
            "or binary"
        )
    dataset, _ = load_predictions(file, read_mapping(read, human=role(human)), read)
    votes = None
    if annotations is not None:
        from slicewise.core.agreement import load_annotations

        votes = load_annotations(annotations, encoding=read.encoding, sep=read.sep)
        for warning in votes.warnings:
            note(warning)
    try:
        found = find_label_issues(dataset.frame, filter_by=filter_by, annotations=votes)
    except DataError as exc:  # name the file the table came from
        raise type(exc)(f"{dataset.source_name}: {exc}") from None
    for warning in found.warnings:
        note(f"{dataset.source_name}: {warning}")
    issues = found.issues.head(top) if top else found.issues
    file_rows = RowNumbers.of_frame(dataset.frame).of(issues["row"].tolist())
    if fmt == "json":
        text = _label_issues_json(dataset, found, issues, file_rows)
    elif fmt == "csv":
        text = to_safe_csv(issues.assign(file_row=file_rows))
    else:
        summary = f"{dataset.source_name}: {found.summary()}"
        text = _label_issues_text(issues, found.signals, summary)
    emit(text, output)


def _label_issues_json(
    dataset: Dataset, found: object, issues: pd.DataFrame, file_rows: list[int]
) -> str:
    """Return the flags and their counts as JSON; NaN and a missing human label are null."""
    records = [
        {
            **row,
            "signals": row["signals"].split(", ") if row["signals"] else [],
            "file_row": number,
        }
        for row, number in zip(issues.to_dict("records"), file_rows, strict=True)
    ]
    data = {
        "dataset": dataset.source_name,
        **{
            key: getattr(found, key)
            for key in ("n_checked", "n_issues", "signals", "n_model_flags", "n_confirmed")
        },
        "n_added": found.n_added,  # type: ignore[attr-defined]
        "probability_columns": found.columns,  # type: ignore[attr-defined]
        "summary": found.summary(),  # type: ignore[attr-defined]
        "notes": found.warnings,  # type: ignore[attr-defined]
        "issues": records,
    }
    return dumps_json(data) + "\n"


def _label_issues_text(issues: pd.DataFrame, signals: list[str], summary: str) -> str:
    """Render the flags as a plain table followed by the summary line."""
    if issues.empty:
        return summary + "\n"
    shown = pd.DataFrame(
        {
            "id": issues["id"].astype(str).to_numpy(),
            "given label": issues["label"].astype(str).to_numpy(),
            "suggested": issues["suggested_label"].astype(str).to_numpy(),
            "score": issues["quality_score"].map(lambda v: f"{v:.3g}").to_numpy(),
            "p(given)": issues["label_quality"].map(lambda v: f"{v:.3g}").to_numpy(),
        }
    )
    if "human" in signals:
        shown["human label"] = [
            ("–" if v is None or pd.isna(v) else str(v)) for v in issues["human_label"]
        ]
    if "annotators" in signals:
        shown["annotators agreeing"] = [
            "–" if n == 0 else f"{round(s * n)}/{n}"
            for s, n in zip(issues["annotator_share"], issues["n_annotators"], strict=True)
        ]
    shown["signals"] = issues["signals"].to_numpy()
    legend = (
        "score: combined support for the given label (mean of the model's probability "
        "and the humans' share), lowest first; signals: sources saying it is wrong"
    )
    return f"{shown.to_string(index=False)}\n\n{summary}\n({legend})\n"
