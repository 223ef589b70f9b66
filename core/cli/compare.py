"""``slicewise compare``: two iterations' predictions, slice by slice and class by class.

The command loads both files, compares them (:mod:`core.compare`), writes the comparison
(:mod:`core.cli.compare_text`) and, with ``--fail-on-regression``, exits 1 on a regression
the gate watches: each a named step below.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pandas as pd

from slicewise.core.cli.compare_text import compare_json, compare_text
from slicewise.core.cli.group import main
from slicewise.core.cli.options import (
    ValueOptions,
    emit,
    max_slices_option,
    note,
    output_option,
    packed,
    packed_value_options,
    role,
    task_spec,
)
from slicewise.core.dataset import ColumnMapping, Dataset, load_dataset
from slicewise.core.errors import DataError
from slicewise.core.task import TASK_KINDS, TaskSpec, infer_task_kind

#: ``compare --metric`` choices: the names of :data:`core.compare.METRICS` (not imported
#: here, so the other commands start without core.compare).
GATE_METRICS = ("accuracy", "recall", "precision", "f1", "fpr", "fnr", "wer", "mae")
#: Metrics ``compare`` shows per slice besides accuracy, by task kind.
SLICE_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("fpr", "fnr"),
    "text": ("wer",),
    "regression": ("mae",),
}


@dataclasses.dataclass(frozen=True)
class GateOptions:
    """What ``--fail-on-regression`` watches: ``--metric`` on the ``--slice``/``--class`` rows."""

    fail_points: float | None = None
    gate_metric: str = "accuracy"
    gate_slices: tuple[str, ...] = ()
    gate_classes: tuple[str, ...] = ()

    @property
    def on_slices(self) -> bool:
        """Whether slices are gated: the ``--slice`` rows, or every slice without ``--class``."""
        return self.fail_points is not None and (bool(self.gate_slices) or not self.gate_classes)


@main.command("compare")
@click.argument("before", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--id",
    "id_col",
    help="Example id column in both files (detected by name); examples are matched by it.",
)
@click.option("--label", help="Label column in both files; detected by name if omitted.")
@click.option("--prediction", help="Prediction column in both files; detected if omitted.")
@click.option(
    "--human",
    help="Human-label column in both files (for HLP); detected by name "
    "if omitted, 'none' for no HLP.",
)
@click.option("--encoding", help="Text encoding of both files (default: detected).")
@click.option("--sep", help="Field delimiter of both files (default: detected).")
@click.option(
    "--drop-missing",
    is_flag=True,
    help="Drop rows with a missing label or prediction instead of failing.",
)
@click.option(
    "--slice-by",
    multiple=True,
    help="Metadata column, or the label or prediction "
    "column by its name in the file: one slice per value. Repeatable.",
)
@click.option("--task", type=click.Choice(TASK_KINDS), help="Task kind (default: inferred).")
@click.option("--positive", help="Positive class for a binary task.")
@click.option("--tolerance", type=float, help="Regression: |error| counted as correct.")
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "markdown")),
    default="table",
    show_default=True,
)
@click.option(
    "--fail-on-regression",
    "fail_points",
    type=click.FloatRange(min=0),
    metavar="POINTS",
    help="Exit with code 1 when a slice's --metric gets worse by "
    "more than POINTS percentage points (MAE: label units) and the change is "
    "significant at --alpha.",
)
@click.option(
    "--metric",
    "gate_metric",
    type=click.Choice(GATE_METRICS),
    default="accuracy",
    show_default=True,
    help="Metric --fail-on-regression watches; for fpr, fnr, wer and mae a rise is worse.",
)
@click.option(
    "--slice",
    "gate_slices",
    multiple=True,
    metavar="NAME",
    help="Gate only this slice, named as the table shows it (e.g. 'race = "
    "Caucasian', 'All data'). Repeatable.",
)
@click.option(
    "--class",
    "gate_classes",
    multiple=True,
    metavar="NAME",
    help="Gate this class's --metric (accuracy is the class's recall). Repeatable; "
    "without --slice only the classes are gated.",
)
@output_option
@packed_value_options
@packed(GateOptions, "gate")
@max_slices_option
def compare_command(
    before: Path,
    after: Path,
    id_col: str | None,
    label: str | None,
    prediction: str | None,
    slice_by: tuple[str, ...],
    task: str | None,
    positive: str | None,
    tolerance: float | None,
    alpha: float,
    fmt: str,
    output: Path | None,
    gate: GateOptions,
    values: ValueOptions,
    human: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    drop_missing: bool = False,
    max_slices: int | None = None,
) -> None:
    """Compare two iterations' predictions (BEFORE, AFTER) slice by slice and class by class.

    Per slice: accuracy before and after, the change, the gap to HLP, and whether the change
    is significant (McNemar's exact test where a slice holds the same examples in both
    files, else a two-proportion test); binary tasks add FPR and FNR per slice, text tasks
    WER, regression MAE; classification tasks add per-class precision, recall and F1 and
    both confusion matrices. ``--fail-on-regression`` gates on ``--metric`` for every slice,
    or the ``--slice`` and ``--class`` rows named.
    """
    _check_gate_options(gate)
    mapping = ColumnMapping(id=role(id_col), label=label, prediction=prediction, human=role(human))
    options = dict(
        positive=positive,
        task=task,
        encoding=encoding,
        sep=sep,
        missing="drop" if drop_missing else "fail",
        **values.reading(),
    )
    data_b, data_a = _load_both(before, after, mapping, options)
    spec = task_spec(data_a, task, positive, None, tolerance, False, False)
    result = _compare(data_b, data_a, spec, gate, slice_by=slice_by, alpha=alpha, cap=max_slices)
    failed = _regressions(result, gate)
    if fmt == "json":
        text = compare_json(result, alpha=alpha, gate=gate, failed=failed)
    else:
        text = compare_text(result, markdown=fmt == "markdown")
    emit(text, output)
    _fail_on(failed)


@dataclasses.dataclass
class Comparison:
    """What ``compare`` found: both datasets, the task and every table it writes."""

    before: Dataset
    after: Dataset
    task: TaskSpec
    pairing: str
    table: pd.DataFrame
    overall: dict
    shown: list[str]
    rates: dict[str, pd.DataFrame]
    classes: object


def _check_gate_options(gate: GateOptions) -> None:
    """Refuse --metric, --slice and --class without --fail-on-regression (a usage error)."""
    if gate.fail_points is None and (
        gate.gate_metric != "accuracy" or gate.gate_slices or gate.gate_classes
    ):
        raise click.UsageError(
            "--metric, --slice and --class choose what "
            "--fail-on-regression watches; give --fail-on-regression POINTS"
        )


def _check_gate_metric(gate: GateOptions, spec: TaskSpec) -> None:
    """Refuse a gated metric the task has not (:func:`core.compare.check_metric`)."""
    from slicewise.core.compare import check_metric

    if gate.on_slices and gate.gate_metric != "accuracy":
        check_metric(gate.gate_metric, spec.kind)
    if gate.gate_classes:
        check_metric(gate.gate_metric, spec.kind, per_class=True)


def _load_both(
    before: Path, after: Path, mapping: ColumnMapping, options: dict
) -> tuple[Dataset, Dataset]:
    """Load BEFORE and AFTER alike, print their notes, and refuse files of two task kinds."""
    data_b = load_dataset(before, mapping, **options)
    data_a = load_dataset(after, mapping, **options)
    for dataset in (data_b, data_a):
        for warning in dataset.warnings:
            note(warning)  # warnings name the file
    if options["task"] is None and options["positive"] is None:
        kinds = [infer_task_kind(d.frame["label"]) for d in (data_b, data_a)]
        if kinds[0] != kinds[1]:
            raise DataError(
                f"{data_b.source_name} looks like a {kinds[0]} task and "
                f"{data_a.source_name} like a {kinds[1]} task; compare files of "
                "one task, or say which with --task"
            )
    return data_b, data_a


def _compare(
    data_b: Dataset,
    data_a: Dataset,
    spec: TaskSpec,
    gate: GateOptions,
    *,
    slice_by: tuple[str, ...],
    alpha: float,
    cap: int | None,
) -> Comparison:
    """Compare accuracy per slice, the task's other metrics per slice, and the classes."""
    from slicewise.core.compare import (
        compare_classes,
        compare_datasets,
        compare_overall,
        compare_slice_metrics,
        describe_pairing,
    )

    pairing = describe_pairing(data_b, data_a)
    if pairing.ids_are_row_numbers:
        note(
            "no id column in a file: rows are matched by position; "
            "give --id COL if the files list different examples"
        )
    _check_gate_metric(gate, spec)
    table = compare_datasets(
        data_b, data_a, task=spec, slice_by=slice_by, alpha=alpha, max_slices=cap
    )
    _note_errors_only_tags(table)
    shown = list(SLICE_METRICS.get(spec.kind, ()))
    watched = [gate.gate_metric] if gate.on_slices and gate.gate_metric != "accuracy" else []
    rates = (
        compare_slice_metrics(
            data_b,
            data_a,
            metrics=[*shown, *watched],
            task=spec,
            slice_by=slice_by,
            alpha=alpha,
            max_slices=cap,
        )
        if shown or watched
        else {}
    )
    classes = None
    if spec.kind in ("binary", "classification"):
        per_class = [gate.gate_metric] if gate.gate_classes else []
        metrics = ["precision", "recall", "f1", *per_class]
        classes = compare_classes(data_b, data_a, task=spec, alpha=alpha, metrics=metrics)
    overall = compare_overall(table)
    return Comparison(
        data_b, data_a, spec, pairing.describe(), table, overall, shown, rates, classes
    )


def _note_errors_only_tags(table: pd.DataFrame) -> None:
    """Say which tags are not compared: filled on errors only, their accuracy is unknown."""
    on_errors = [
        str(r) for r in table.index[(table["scope"] == "errors") & (table["kind"] == "tag")]
    ]
    if on_errors:
        note(
            f"{', '.join(map(repr, on_errors[:6]))} only tag errors, "
            "so they are read as filled on errors only and not compared (their "
            "accuracy is unknown)"
        )


def _regressions(result: Comparison, gate: GateOptions) -> list[tuple[str, pd.Series]]:
    """Return the gated rows that got worse by more than the gate's points, significantly."""
    from slicewise.core.compare import find_regressions

    failed: list[tuple[str, pd.Series]] = []
    points, names = gate.fail_points, list(gate.gate_slices) or None
    if gate.on_slices:
        gated = result.table if gate.gate_metric == "accuracy" else result.rates[gate.gate_metric]
        failed += list(find_regressions(gated, points=points, names=names).iterrows())
    if gate.gate_classes and result.classes is not None:
        changes = result.classes.changes[gate.gate_metric]  # type: ignore[attr-defined]
        names = list(gate.gate_classes)
        failed += list(find_regressions(changes, points=points, names=names).iterrows())
    return failed


def _fail_on(failed: list[tuple[str, pd.Series]]) -> None:
    """Print each regression on stderr and exit with code 1 when there is one."""
    from slicewise.core.compare import describe_regression

    for name, row in failed:
        click.echo(f"slicewise: regression: {describe_regression(str(name), row)}", err=True)
    if failed:
        raise click.exceptions.Exit(1)
