"""The ``slicewise`` command line: analyse a file, start the app, build the demo project."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np
import pandas as pd

from slicewise.core.analysis import analyze
from slicewise.core.baselines import Baseline, parse_fraction
from slicewise.core.dataset import NO_COLUMN, ColumnMapping, Dataset, load_dataset, read_table
from slicewise.core.errors import DataError, count_of
from slicewise.core.metrics import OVERALL, compute_outcomes
from slicewise.core.prioritize import (
    RANK_BASES,
    describe_priorities,
    format_hlp,
    likely_protected,
    rank_rule,
)
from slicewise.core.report import (
    FORMATS,
    ClassResults,
    compute_class_results,
    dumps_json,
    to_csv,
    to_data_csv,
    to_html,
    to_json,
    to_markdown,
    to_safe_csv,
)
from slicewise.core.rules import MISSING_OPERATORS, Condition, describe_rule, rule_mask
from slicewise.core.task import TASK_KINDS, TaskSpec, TextNormalization, infer_task_kind
from slicewise.core.values import parse_na_values

if TYPE_CHECKING:
    from slicewise.core.store import RecoveryReport, Store

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo_data"


class SlicewiseGroup(click.Group):
    """Click group that turns input errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:  # noqa: D102
        try:
            return super().invoke(ctx)
        except DataError as exc:
            click.echo(f"slicewise: error: {exc}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            ctx.exit(130)
        except Exception as exc:  # last line of defence: never a traceback
            click.echo(f"slicewise: internal error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=SlicewiseGroup)
@click.version_option(package_name="slicewise")
def main() -> None:
    """Slicewise: error analysis and data-centric iteration for ML models."""
    _reuse_freed_memory()


def _reuse_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for reuse rather than hand it back at once.

    pandas and numpy allocate and free arrays of tens of MB; by default each one is a
    fresh ``mmap`` whose pages the kernel faults in again, which took 0.2-0.3 s of a 1M-row
    ``analyze`` on a 2-core VM. The thresholds are mallopt(3)'s (the ``MALLOC_*_`` variables);
    the command is short-lived, so holding on to freed memory costs nothing. No-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, (1 << 31) - 1)
    mallopt(m_top_pad, 64 << 20)


def _pairs(values: Sequence[str], option: str, *, percent: bool) -> dict[str, float]:
    out = {}
    for item in values:
        name, sep, raw = item.rpartition("=")
        if not sep or not name.strip():
            raise DataError(f"{option} {item!r}: write it as NAME=VALUE, e.g. car_noise=0.93")
        raw = raw.strip()
        try:
            value = float(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
        except ValueError:
            raise DataError(f"{option} {item!r}: {raw!r} is not a number") from None
        if percent and not 0 <= value <= 1:
            raise DataError(
                f"{option} {item!r}: give a fraction between 0 and 1 or a percent such as 93%"
            )
        if option in ("--importance", "--ease") and not 1 <= value <= 5:
            raise DataError(f"{option} {item!r}: give a weight from 1 to 5 (3 is neutral)")
        out[name.strip()] = value
    return out


def _keep_sheet(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Keep ``--sheet`` in the context (read by :func:`_load_predictions`)."""
    ctx.meta["slicewise_sheet"] = value


def _prediction_options(command: Callable) -> Callable:
    """Add the options that say how to read a predictions file (shared by the commands)."""
    options = [
        click.option("--label", help="Label (ground truth) column; detected by name if omitted."),
        click.option("--prediction", help="Prediction column; detected by name if omitted."),
        click.option(
            "--id", "id_col", help="Example id column; detected by name, else the row number."
        ),
        click.option("--score", help="Score or confidence column."),
        click.option(
            "--threshold",
            type=float,
            help="Predict --positive where score >= THRESHOLD (no prediction column needed).",
        ),
        click.option(
            "--task", type=click.Choice(TASK_KINDS), help="Task kind (default: inferred)."
        ),
        click.option("--positive", help="Positive class for a binary task."),
        click.option("--tolerance", type=float, help="Regression: |error| counted as correct."),
        click.option("--keep-case", is_flag=True, help="Text: compare case-sensitively."),
        click.option("--keep-punctuation", is_flag=True, help="Text: keep punctuation."),
        click.option("--encoding", help="Text encoding of the file (default: detected)."),
        click.option("--sep", help="Field delimiter (default: detected)."),
        click.option(
            "--sheet",
            metavar="NAME",
            expose_value=False,
            callback=_keep_sheet,
            help="Sheet of an .xlsx workbook to read (default: the first visible).",
        ),
        click.option(
            "--drop-missing",
            is_flag=True,
            help="Drop rows with a missing label or prediction instead of failing.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return _value_options(command)


def _value_options(command: Callable) -> Callable:
    """Add the options that say which cells are missing and how numbers are written."""
    options = [
        click.option(
            "--na-values",
            metavar="TOKENS",
            help="Comma-separated cell texts read as missing besides blank cells, "
            "e.g. 'NA,N/A' ('common' for NA, N/A, NaN, null, None...). By default "
            "NA is a value (North America, a class).",
        ),
        click.option(
            "--decimal",
            type=click.Choice((".", ",")),
            help="Decimal mark of the score and numeric columns (default: inferred "
            "per column where unambiguous).",
        ),
        click.option(
            "--thousands",
            type=click.Choice((",", ".", " ", "'")),
            help="Thousands separator of the score and numeric columns.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _max_slices_option(command: Callable) -> Callable:
    """Add ``--max-slices``: the cap on the slices of the --slice-by columns (core.limits)."""
    return click.option(
        "--max-slices",
        type=click.IntRange(min=1),
        metavar="N",
        help="Most slices the --slice-by columns may make together; a column with more "
        "values is refused before anything is built (default: $SLICEWISE_MAX_SLICES or "
        "1000).",
    )(command)


def _examples(n: int) -> str:
    return f"{n:,} example" + ("" if n == 1 else "s")


def _check_row_names(table: pd.DataFrame, given: dict[str, dict[str, float]]) -> None:
    """Refuse --hlp/--importance/--ease names that are no row of the table (a typo)."""
    for option, values in given.items():
        unknown = [name for name in values if name not in table.index]
        if unknown:
            rows = ", ".join(repr(str(r)) for r in table.index[:15])
            more = f" and {len(table) - 15} more" if len(table) > 15 else ""
            raise DataError(
                f"--{option} {unknown[0]!r}: no such row in the table; its rows are "
                f"{rows}{more} (write the name as the table shows it)"
            )


def _role(value: str | None) -> str | None:
    """Turn a role option of ``none`` (any case) into :data:`NO_COLUMN` (role off)."""
    return NO_COLUMN if value is not None and value.strip().lower() == "none" else value


def _load_predictions(
    file: Path,
    mapping: ColumnMapping,
    task: str | None,
    positive: str | None,
    threshold: float | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
    encoding: str | None,
    sep: str | None,
    drop_missing: bool,
    na_values: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
) -> tuple[Dataset, TaskSpec]:
    """Load FILE with the shared options, print its warnings, and build the task."""
    ctx = click.get_current_context(silent=True)
    sheet = ctx.meta.get("slicewise_sheet") if ctx is not None else None
    dataset = load_dataset(
        file,
        mapping,
        encoding=encoding,
        sep=sep,
        sheet=sheet,
        missing="drop" if drop_missing else "fail",
        positive=positive,
        threshold=threshold,
        na_values=parse_na_values(na_values),
        decimal=decimal,
        thousands=thousands,
        task=task,
    )
    for warning in dataset.warnings:
        click.echo(f"slicewise: note: {warning}", err=True)
    spec = _task_spec(dataset, task, positive, threshold, tolerance, keep_case, keep_punctuation)
    return dataset, spec


def _emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output``, or to standard output when none is given."""
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@main.command("analyze")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_prediction_options
@click.option("--human", help="Human-label column (for HLP); detected by name if omitted.")
@click.option("--tag-columns", help="Comma-separated boolean tag columns (default: detected).")
@click.option("--tags-column", help="One column holding tags separated by ';' or '|'.")
@click.option(
    "--slice-by",
    multiple=True,
    help="Metadata column, or the label, prediction "
    "or human-label column by its name in the file (per-class rows): one slice per "
    "value (numeric columns in quantile bins). Repeatable.",
)
@click.option(
    "--bins",
    type=click.IntRange(2, 20),
    default=4,
    show_default=True,
    help="Quantile bins for numeric --slice-by columns.",
)
@click.option(
    "--tag-scope",
    multiple=True,
    metavar="[TAG=]SCOPE",
    help="Where tag columns were filled: all (every example reviewed), errors (only "
    "the model's errors), or auto (default: a tag only errors carry was filled on "
    "errors, so it gets an error share and a ceiling, never an accuracy). SCOPE "
    "for every tag, or TAG=SCOPE. Repeatable.",
)
@click.option(
    "--hlp",
    multiple=True,
    help="TAG=VALUE human-level accuracy for a slice (0.93 or 93%). Repeatable.",
)
@click.option(
    "--human-accuracy",
    metavar="COL",
    help="Per-example probability (0-1) that one person labels it right, e.g. the "
    "share of annotators choosing the true class: HLP is its mean (taking "
    "precedence over --human); detected by name (human_accuracy), 'none' to leave "
    "it out.",
)
@click.option(
    "--human-majority/--human-single",
    default=None,
    help="The --human column is a majority (crowd, consensus) of several people, an "
    "upper bound on one person's HLP / one person's label (default: read from its "
    "name).",
)
@click.option(
    "--annotations",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Annotators' labels of the examples (long: item, annotator, label; items "
    "are FILE's ids): HLP from each example's share of annotators choosing its "
    "label.",
)
@click.option(
    "--annotation-columns",
    metavar="ITEM,ANNOTATOR,LABEL",
    help="The --annotations file's item, annotator and label columns (default: "
    "detected by name, as by `slicewise agreement`).",
)
@click.option(
    "--baseline-predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An older system's predictions file, matched to FILE by id: the baseline instead of HLP.",
)
@click.option(
    "--baseline-prediction",
    metavar="COL",
    help="A column of FILE holding an older system's predictions: the baseline instead of HLP.",
)
@click.option(
    "--target",
    metavar="ACCURACY",
    help="A target accuracy (0.95 or 95%) for every slice: the baseline instead of HLP.",
)
@click.option("--importance", multiple=True, help="TAG=1..5 importance weight. Repeatable.")
@click.option("--ease", multiple=True, help="TAG=1..5 ease weight. Repeatable.")
@click.option(
    "--protected",
    multiple=True,
    metavar="COLUMN",
    help="A --slice-by column that is a protected attribute (e.g. race, sex): its "
    "slices get fairness advice (audit error rates), never 'collect more of this "
    "group'. Repeatable. Default: --slice-by columns named like one (race, sex, "
    "gender, age...); 'none' for no protected column.",
)
@click.option(
    "--rank-by",
    type=click.Choice(RANK_BASES),
    default="priority",
    show_default=True,
    help="priority: gap × share; lower_bound: the gap's 95% "
    "lower bound × share (few examples count less); excess: how much more a slice "
    "errs than the rest (used when there is no baseline). Slices worse than the "
    "rest always come first.",
)
@click.option(
    "--engine",
    type=click.Choice(("pandas", "duckdb")),
    default="pandas",
    show_default=True,
    help="Count in memory with pandas, or with DuckDB streaming "
    "a CSV/Parquet file larger than memory (same table; not for text tasks).",
)
@click.option(
    "--format", "fmt", type=click.Choice(("table", *FORMATS)), default="table", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@_max_slices_option
def analyze_command(
    file: Path,
    label: str | None,
    prediction: str | None,
    human: str | None,
    id_col: str | None,
    score: str | None,
    threshold: float | None,
    tag_columns: str | None,
    tags_column: str | None,
    tag_scope: tuple[str, ...],
    slice_by: tuple[str, ...],
    bins: int,
    task: str | None,
    positive: str | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
    hlp: tuple[str, ...],
    importance: tuple[str, ...],
    ease: tuple[str, ...],
    encoding: str | None,
    sep: str | None,
    drop_missing: bool,
    na_values: str | None,
    decimal: str | None,
    thousands: str | None,
    engine: str,
    fmt: str,
    output: Path | None,
    protected: tuple[str, ...] = (),
    rank_by: str = "priority",
    human_accuracy: str | None = None,
    human_majority: bool | None = None,
    annotations: Path | None = None,
    annotation_columns: str | None = None,
    baseline_predictions: Path | None = None,
    baseline_prediction: str | None = None,
    target: str | None = None,
    max_slices: int | None = None,
) -> None:
    """Print the per-slice error-analysis table of FILE, ranked by priority.

    FILE is a CSV, TSV, Parquet or Excel .xlsx file, also gzip- or bzip2-compressed
    (.csv.gz, .tsv.bz2) or alone in a .zip.

    Optional roles (--id, --human, --score, --tag-columns, --tags-column) take ``none`` to
    switch them off.
    """
    if tag_columns and tags_column:
        raise DataError("give either --tag-columns or --tags-column, not both")
    if any(c.strip().lower() == "none" for c in protected):
        protected = tuple(c for c in protected if c.strip().lower() != "none")
    elif not protected and likely_protected(slice_by):
        protected = tuple(likely_protected(slice_by))
        click.echo(
            f"slicewise: note: {', '.join(protected)} read as protected (by name): a "
            "fairness audit of error rates, never 'collect more of this group'; "
            "--protected COLUMN chooses, --protected none turns it off",
            err=True,
        )
    # A protected attribute is looked at slice by slice, so it is sliced by too.
    slice_by = tuple(dict.fromkeys([*slice_by, *protected]))
    no_tags = NO_COLUMN in (_role(tag_columns), _role(tags_column))
    mapping = ColumnMapping(
        label=label,
        prediction=prediction,
        human=_role(human),
        id=_role(id_col),
        score=_role(score),
        tag_columns=()
        if no_tags
        else tuple(c.strip() for c in tag_columns.split(",") if c.strip())
        if tag_columns
        else None,
        tags_column=NO_COLUMN if no_tags else tags_column,
    )
    mapping, baseline = _baseline_choice(
        mapping,
        human_accuracy=human_accuracy,
        human_majority=human_majority,
        annotations=annotations,
        baseline_predictions=baseline_predictions,
        baseline_prediction=baseline_prediction,
        target=target,
    )

    def weights() -> dict[str, dict[str, float]]:
        return dict(
            hlp=_pairs(hlp, "--hlp", percent=True),
            importance=_pairs(importance, "--importance", percent=False),
            ease=_pairs(ease, "--ease", percent=False),
        )

    if engine == "duckdb":
        from slicewise.core.engine_duckdb import TEXT_TASK_MESSAGE, DuckDBFile

        if threshold is not None:
            raise DataError(
                "--engine duckdb needs a prediction column; use the pandas engine for --threshold"
            )
        if encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
            raise DataError(
                "--engine duckdb reads UTF-8 files; save the file as UTF-8 or use "
                "the pandas engine for --encoding"
            )
        if task == "text":
            raise DataError(TEXT_TASK_MESSAGE)
        for option, value in (
            ("--annotations", annotations),
            ("--baseline-predictions", baseline_predictions),
        ):
            if value is not None:
                raise DataError(
                    f"--engine duckdb reads one file; use the pandas engine for {option}"
                )
        with DuckDBFile(
            file,
            mapping,
            sep=sep,
            missing="drop" if drop_missing else "fail",
            na_values=parse_na_values(na_values),
            decimal=decimal,
            thousands=thousands,
        ) as source:
            for warning in source.warnings:
                click.echo(f"slicewise: note: {warning}", err=True)
            shown = len(source.warnings)
            kind = task or ("binary" if positive is not None else source.infer_task_kind())
            spec = _task_spec(None, kind, positive, None, tolerance, keep_case, keep_punctuation)
            table = source.analyze(
                task=spec,
                slice_by=slice_by,
                bins=bins,
                tag_scopes=_tag_scopes(tag_scope),
                protected=protected,
                rank_by=rank_by,
                baseline=baseline,
                max_slices=max_slices,
                **weights(),
            )
            for warning in source.warnings[shown:]:  # slice-by columns typed while analysing
                click.echo(f"slicewise: note: {warning}", err=True)
            _scope_notes(table)
            name = source.source_name
            classes = compute_class_results(
                task=spec.kind,
                pairs=source.confusion_pairs()
                if spec.kind in ("classification", "binary")
                else None,
            )
    else:
        dataset, spec = _load_predictions(
            file,
            mapping,
            task,
            positive,
            threshold,
            tolerance,
            keep_case,
            keep_punctuation,
            encoding,
            sep,
            drop_missing,
            na_values,
            decimal,
            thousands,
        )
        dataset = _baseline_sources(
            dataset,
            mapping,
            task=task,
            annotations=annotations,
            annotation_columns=annotation_columns,
            baseline_predictions=baseline_predictions,
            encoding=encoding,
            sep=sep,
            drop_missing=drop_missing,
            na_values=na_values,
            decimal=decimal,
            thousands=thousands,
        )
        table = analyze(
            dataset,
            task=spec,
            slice_by=slice_by,
            bins=bins,
            tag_scopes=_tag_scopes(tag_scope),
            protected=protected,
            rank_by=rank_by,
            baseline=baseline,
            max_slices=max_slices,
            **weights(),
        )
        _scope_notes(table)
        name = dataset.source_name
        classes = compute_class_results(dataset.frame, task=spec.kind)
    _check_row_names(table, weights())
    text = render(table, fmt, dataset=name, task=spec.kind, classes=classes)
    _emit(text, output)


def _baseline_choice(
    mapping: ColumnMapping,
    *,
    human_accuracy: str | None,
    human_majority: bool | None,
    annotations: Path | None,
    baseline_predictions: Path | None,
    baseline_prediction: str | None,
    target: str | None,
) -> tuple[ColumnMapping, Baseline | None]:
    """Read ``analyze``'s baseline options: the roles to load and the baseline (None: HLP).

    One baseline at most: a target, an older system's file or column, or HLP (from
    --human-accuracy or --annotations, taking precedence over --human). See
    :mod:`core.baselines`.
    """
    given = [
        option
        for option, value in (
            ("--target", target),
            ("--baseline-predictions", baseline_predictions),
            ("--baseline-prediction", baseline_prediction),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise DataError(f"give one baseline: {given[0]} or {given[1]}, not both")
    wants_hlp = [
        option
        for option, value in (("--human-accuracy", human_accuracy), ("--annotations", annotations))
        if value is not None and _role(str(value)) != NO_COLUMN
    ]
    if given and wants_hlp:
        raise DataError(f"{given[0]} is the baseline instead of HLP; leave out {wants_hlp[0]}")
    kind = None if human_majority is None else "majority" if human_majority else "single"
    mapping = replace(mapping, human_accuracy=_role(human_accuracy), human_kind=kind)
    if target is not None:
        return mapping, Baseline.of_target(parse_fraction(target, "--target"))
    if baseline_prediction is not None:
        if mapping.human:
            raise DataError(
                "--baseline-prediction takes the human label's place in the table; "
                "leave out --human"
            )
        return (
            replace(
                mapping, human=baseline_prediction, human_accuracy=NO_COLUMN, human_kind="single"
            ),
            Baseline.older_system(baseline_prediction),
        )
    if baseline_predictions is not None:
        return (
            replace(mapping, human_accuracy=NO_COLUMN),
            Baseline.older_system(baseline_predictions.name),
        )
    if annotations is not None:  # the annotators replace a human-accuracy column
        mapping = replace(mapping, human_accuracy=NO_COLUMN)
    return mapping, None


def _baseline_sources(
    dataset: Dataset,
    mapping: ColumnMapping,
    *,
    task: str | None,
    annotations: Path | None,
    annotation_columns: str | None,
    baseline_predictions: Path | None,
    encoding: str | None,
    sep: str | None,
    drop_missing: bool,
    na_values: str | None,
    decimal: str | None,
    thousands: str | None,
) -> Dataset:
    """Add the baseline read from another file: annotators' labels or an older system's.

    The older system's file is read with FILE's options and column names (its id, label and
    prediction); notes go to stderr.
    """
    from slicewise.core.baselines import (
        human_accuracy_from_annotations,
        with_human_accuracy,
        with_older_system,
    )

    notes: list[str] = []
    if annotations is not None:
        from slicewise.core.agreement import load_annotations

        names = [c.strip() or None for c in (annotation_columns or "").split(",")]
        if annotation_columns is not None and len(names) != 3:
            raise DataError(
                f"--annotation-columns {annotation_columns!r}: write "
                "ITEM,ANNOTATOR,LABEL (leave one blank to detect it)"
            )
        item, annotator, label = names if annotation_columns is not None else (None,) * 3
        votes = load_annotations(
            annotations, encoding=encoding, sep=sep, item=item, annotator=annotator, label=label
        )
        values, found = human_accuracy_from_annotations(votes, dataset)
        notes += [*votes.warnings, *found]
        dataset = with_human_accuracy(dataset, values)
    if baseline_predictions is not None:
        older_mapping = ColumnMapping(
            label=mapping.label,
            prediction=mapping.prediction,
            id=mapping.id,
            human=NO_COLUMN,
            score=NO_COLUMN,
            tag_columns=(),
            tags_column=NO_COLUMN,
            human_accuracy=NO_COLUMN,
        )
        older = load_dataset(
            baseline_predictions,
            older_mapping,
            encoding=encoding,
            sep=sep,
            missing="drop" if drop_missing else "fail",
            na_values=parse_na_values(na_values),
            decimal=decimal,
            thousands=thousands,
            task=task,
        )
        notes += older.warnings
        dataset, found = with_older_system(dataset, older)
        notes += found
    for note in notes:
        click.echo(f"slicewise: note: {note}", err=True)
    return dataset


def _tag_scopes(given: tuple[str, ...]) -> str | dict[str, str]:
    """Read --tag-scope values: one SCOPE for every tag, or TAG=SCOPE pairs."""
    scopes: dict[str, str] = {}
    every = "auto"
    for item in given:
        tag, sep, scope = item.rpartition("=")
        scope = scope.strip().lower()
        if scope not in ("auto", "all", "errors"):
            raise DataError(f"--tag-scope {item!r}: scope must be all, errors or auto")
        if sep:
            scopes[tag.strip()] = scope
        else:
            every = scope
    if not scopes:
        return every
    return {**{"*": every}, **scopes} if every != "auto" else scopes


def _scope_notes(table: pd.DataFrame) -> None:
    """Say on stderr which tags were read as filled on errors only."""
    if "scope" not in table.columns:
        return
    rows = table[(table["kind"] == "tag") & (table["scope"] == "errors")]
    if len(rows):
        names = ", ".join(map(repr, rows.index[:6])) + (" ..." if len(rows) > 6 else "")
        click.echo(
            f"slicewise: note: {names} only tag errors, so they are read as filled on "
            "errors only: their share of errors and ceiling (max_gain) are shown, not an "
            "accuracy; pass --tag-scope all if correct examples were reviewed too",
            err=True,
        )
    # Only errors carry it, but too few to tell, or its file says "no" (0, false): read as
    # known everywhere, with 0% accuracy. Say how to read it otherwise.
    only = table[
        (table["kind"] == "tag")
        & (table["scope"] == "all")
        & (table["n"] > 0)
        & (table["errors"] == table["n"])
    ]
    if len(only):
        names = ", ".join(map(repr, only.index[:6])) + (" ..." if len(only) > 6 else "")
        first = str(only.index[0])
        click.echo(
            f"slicewise: note: every example carrying {names} is an error, so its "
            "accuracy reads 0%; if only errors were reviewed for it, pass --tag-scope "
            f"'{first}=errors'",
            err=True,
        )


def _task_spec(
    dataset: Dataset | None,
    kind: str | None,
    positive: str | None,
    threshold: float | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
) -> TaskSpec:
    if kind is None:
        kind = "binary" if positive is not None else infer_task_kind(dataset.frame["label"])
    norm = TextNormalization(lowercase=not keep_case, strip_punctuation=not keep_punctuation)
    return TaskSpec(
        kind=kind,
        positive=positive,
        threshold=threshold,  # type: ignore[arg-type]
        tolerance=tolerance,
        normalization=norm,
    )


def render(
    table: pd.DataFrame, fmt: str, *, dataset: str, task: str, classes: ClassResults | None = None
) -> str:
    """Render a ranked table in one of the CLI's formats.

    ``classes`` (:func:`core.report.compute_class_results`) adds the per-class table and
    confusion matrix to the JSON, Markdown and HTML reports and a per-class section to the
    plain table; CSV stays the slice table.
    """
    title = f"Slicewise report: {dataset}"
    if fmt == "json":
        return to_json(table, dataset=dataset, task=task, classes=classes) + "\n"
    if fmt == "csv":
        return to_csv(table)
    if fmt == "markdown":
        return to_markdown(table, title=title, dataset=dataset, task=task, classes=classes)
    if fmt == "html":
        return to_html(table, title=title, dataset=dataset, task=task, classes=classes)
    return _plain_table(table, task=task, summary=describe_priorities(table), classes=classes)


#: Most classes the plain table's per-class section lists (the rarest first).
_PLAIN_CLASSES = 20


def _plain_table(
    table: pd.DataFrame, *, task: str, summary: list[str], classes: ClassResults | None = None
) -> str:
    cols = [
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
    ]
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
    pct = [
        "share",
        "accuracy",
        "hlp",
        "error_rate",
        "error_share",
        *[c for c in extra if c not in ("mae", "rmse")],
    ]
    for c in pct:
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
    # human labels behind a measured HLP; "user" for an entered one (see compute_slice_metrics)
    source = table["hlp_source"]
    shown["hlp_n"] = [
        (
            "user"
            if s == "user"
            else "–"
            if s == "none"
            else f"{int(k)}" + (" (too few)" if s == "too_few" else "")
        )
        for s, k in zip(source, table["hlp_n"], strict=True)
    ]
    shown["significant"] = shown["significant"].map({True: "yes", False: "no"})
    overall = table.loc[OVERALL]
    base = overall.get("baseline")
    base = base if isinstance(base, str) and base and base != "HLP" else "HLP"
    head = (
        f"task: {task}   examples: {int(overall['n'])}   accuracy: "
        f"{100 * overall['accuracy']:.1f}%   {base}: {format_hlp(overall)}"
    )
    body = shown.to_string()
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
    if classes is None:
        return text
    per = classes.per_class
    rows = per.head(_PLAIN_CLASSES)[
        [c for c in ("support", "predicted", "precision", "recall", "f1") if c in per.columns]
    ]
    rows = rows.astype(object)
    for c in ("precision", "recall", "f1"):
        if c in rows.columns:
            rows[c] = [
                ("–" if pd.isna(v) else f"{100 * v:.1f}%") for v in per[c].head(_PLAIN_CLASSES)
            ]
    more = (
        f" ({_PLAIN_CLASSES} rarest of {len(per)} shown; --format json lists all)"
        if len(per) > _PLAIN_CLASSES
        else ""
    )
    return f"{text}\nper class, rarest first{more}:\n{rows.to_string()}\n"


@main.command("demo")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLICEWISE_DB",
    help="Database file (default: $SLICEWISE_DB or ~/.slicewise/slicewise.db).",
)
def demo_command(db: Path | None) -> None:
    """(Re)create the demo project from the files in demo_data/."""
    from slicewise.core.demo import create_demo_project
    from slicewise.core.store import Store

    store = Store(db)
    ids = create_demo_project(store, DEMO_DIR)
    click.echo(f"demo project ready in {store.path}: datasets {', '.join(map(str, ids))}")


@main.command("app", context_settings={"ignore_unknown_options": True})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLICEWISE_DB",
    help="Database file (default: $SLICEWISE_DB or ~/.slicewise/slicewise.db).",
)
@click.option("--port", type=int, default=8501, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default serves this machine only; another "
    "address (e.g. 0.0.0.0, the network) needs sign-in set up (OpenID Connect "
    "in .streamlit/secrets.toml, or --proxy-header) or --no-auth.",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve a network address without sign-in: anyone who reaches the port can "
    "read and change every project.",
)
@click.option(
    "--proxy-header",
    envvar="SLICEWISE_PROXY_HEADER",
    metavar="NAME",
    help="Sign-in by a proxy (e.g. oauth2-proxy): the request header that names the "
    "user, e.g. X-Forwarded-Email. Believed only from --trusted-proxy addresses.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="SLICEWISE_TRUSTED_PROXIES",
    metavar="ADDRESS",
    help="Address or network (CIDR) the sign-in proxy connects from; repeat or "
    "separate with commas, e.g. 127.0.0.1.",
)
@click.option("--no-demo", is_flag=True, help="Do not create the demo project on first start.")
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app_command(
    db: Path | None,
    port: int,
    host: str,
    no_auth: bool,
    proxy_header: str | None,
    trusted_proxies: tuple[str, ...],
    no_demo: bool,
    streamlit_args: tuple[str, ...],
) -> None:
    """Start the Slicewise web app (Streamlit) on the demo data, on this machine only.

    Sign-in is OpenID Connect when a Streamlit secrets file has an ``[auth]`` table, or a
    trusted proxy's header with ``--proxy-header``/``--trusted-proxy``; without either, the
    app serves one user on this machine and refuses a network ``--host`` unless ``--no-auth``.
    """
    from slicewise.core import auth_config
    from slicewise.core.demo import create_demo_project
    from slicewise.core.limits import max_slices as slice_cap
    from slicewise.core.store import Store

    if any(a.split("=")[0] == "--server.address" for a in streamlit_args):
        raise click.UsageError("give the address with --host, not --server.address")
    streamlit_args, secrets = _secrets_locations(streamlit_args)
    proxy = auth_config.read_proxy_settings(
        {
            auth_config.PROXY_HEADER_ENV: proxy_header or "",
            auth_config.TRUSTED_PROXIES_ENV: ",".join(trusted_proxies),
        }
    )
    mode = auth_config.choose_mode(oidc=auth_config.secrets_have_auth(secrets), proxy=proxy)
    if not _is_loopback(host) and mode == "local" and not no_auth:
        raise click.UsageError(
            f"--host {host} serves the network, and sign-in is not set up: anyone who reaches "
            "the port could read and change every project. Set up sign-in (an [auth] section "
            "in .streamlit/secrets.toml, or --proxy-header with --trusted-proxy), serve this "
            "machine only (the default, 127.0.0.1), or pass --no-auth to serve the network "
            "without sign-in."
        )
    slice_cap()  # a bad SLICEWISE_MAX_SLICES is refused here, not on every page later
    store = Store(db)
    if store.read_only:  # the app shows it too, on every page
        click.echo(f"slicewise: warning: {store.read_only_reason}", err=True)
    elif not no_demo and store.list_datasets().empty:
        create_demo_project(store, DEMO_DIR)
    env = {**os.environ, "SLICEWISE_DB": str(store.path)}
    for name in (auth_config.PROXY_HEADER_ENV, auth_config.TRUSTED_PROXIES_ENV):
        env.pop(name, None)
    if proxy is not None:
        env[auth_config.PROXY_HEADER_ENV] = proxy.header
        env[auth_config.TRUSTED_PROXIES_ENV] = ",".join(map(str, proxy.trusted))
        # The server must see the proxy's own address, not the client address the proxy
        # writes in X-Forwarded-For (uvicorn believes it from the loopback by default).
        env[auth_config.FORWARDED_ALLOW_IPS_ENV] = ""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        host,
        *streamlit_args,
    ]
    shown = "localhost" if host in LOCAL_HOSTS else host
    sign_in = {
        "oidc": "  — sign-in: OpenID Connect",
        "proxy": f"  — sign-in: proxy header {proxy.header if proxy else ''}",
        "local": ""
        if _is_loopback(host)
        else "  — no sign-in: anyone on the network can change every project",
    }[mode]
    click.echo(f"Slicewise on http://{shown}:{port}  (database: {store.path}){sign_in}", err=True)
    raise SystemExit(_run_forwarding_signals(cmd, env=env, cwd=ROOT))


def _secrets_locations(streamlit_args: tuple[str, ...]) -> tuple[tuple[str, ...], list[Path]]:
    """Return the Streamlit arguments (secrets paths made absolute) and the secrets read.

    The server runs from the app folder, so a relative path is resolved here, from where
    ``slicewise app`` was started. Without ``--secrets.files`` Streamlit reads
    ``~/.streamlit/secrets.toml`` and the app folder's ``.streamlit/secrets.toml``.
    """
    from slicewise.core.auth_config import default_secrets_files

    args = list(streamlit_args)
    given: list[Path] = []
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name == "--secrets.files":
            if not eq:
                if i + 1 >= len(args):
                    raise click.UsageError("--secrets.files needs a path")
                i += 1
                value = args[i]
            path = Path(value).expanduser().resolve()
            given.append(path)
            args[i] = f"--secrets.files={path}" if eq else str(path)
        i += 1
    return tuple(args), given or default_secrets_files(ROOT, Path.home())


#: Addresses that serve this machine only.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _is_loopback(host: str) -> bool:
    """Whether ``host`` serves this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """Return a pre-exec hook asking Linux to SIGTERM the child when ``parent`` dies."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    def hook() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request: stop now
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def _run_forwarding_signals(cmd: list[str], *, env: dict[str, str], cwd: Path) -> int:
    """Run ``cmd``, passing SIGTERM, SIGINT and SIGHUP on to it; return its exit code.

    Stopping ``slicewise app`` then stops the server too, instead of leaving it holding the
    port. On Linux the child also gets SIGTERM when this process dies in a way no handler
    sees (SIGKILL, a crash): the kernel's parent-death signal, ``prctl(PR_SET_PDEATHSIG)``.
    """
    child = subprocess.Popen(cmd, env=env, cwd=cwd, preexec_fn=_die_with_parent(os.getpid()))

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # the child got SIGINT as well; wait for it to finish
            continue


@main.command("agreement")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--item", help="Item id column; detected by name (item, id...) if omitted.")
@click.option("--annotator", help="Annotator column (long form); detected by name if omitted.")
@click.option("--label", help="Label column (long form); detected by name if omitted.")
@click.option(
    "--layout",
    type=click.Choice(("auto", "long", "wide")),
    default="auto",
    show_default=True,
    help="Long: one row per label; wide: one column per annotator.",
)
@click.option(
    "--keep-last",
    is_flag=True,
    help="Keep the last label when an annotator labelled an item twice.",
)
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Predictions file whose ids are the items: adds HLP and agreement per tag.",
)
@click.option("--encoding", help="Text encoding of the file (default: detected).")
@click.option("--sep", help="Field delimiter (default: detected).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "csv")),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def agreement_command(
    file: Path,
    item: str | None,
    annotator: str | None,
    label: str | None,
    layout: str,
    keep_last: bool,
    predictions: Path | None,
    encoding: str | None,
    sep: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Measure how consistently several annotators label the same items (FILE)."""
    import math

    from slicewise.core import agreement as ag

    ann = ag.load_annotations(
        file,
        item=item,
        annotator=annotator,
        label=label,
        layout=layout,  # type: ignore[arg-type]
        duplicates="last" if keep_last else "fail",
        encoding=encoding,
        sep=sep,
    )
    for warning in ann.warnings:
        click.echo(f"slicewise: note: {warning}", err=True)
    codes = ag.encode_labels(ann.labels)
    summary = ag.compute_agreement_summary(codes)
    figures = ag.summarize_annotations(codes)
    by_tag = None
    if predictions is not None:
        dataset = load_dataset(predictions)
        linked = ag.link_predictions(codes, dataset)
        for warning in linked.warnings:
            click.echo(f"slicewise: note: {warning}", err=True)
        info = linked.info
        by_tag = ag.compute_agreement_by_slice(
            codes,
            membership=linked.tags,
            truth=info.get("truth"),
            prediction=info.get("prediction"),
        )
    if fmt == "json":

        def clean(v: object) -> object:
            return None if isinstance(v, float) and math.isnan(v) else v

        data = {k: clean(v) for k, v in figures.items()}
        data["source"] = ann.source_name
        if by_tag is not None:
            data["by_tag"] = [
                {
                    "name": str(name),
                    **{k: clean(v.item() if hasattr(v, "item") else v) for k, v in row.items()},
                }
                for name, row in by_tag.iterrows()
            ]
        text = dumps_json(data, ensure_ascii=True) + "\n"  # null for NaN and inf
    elif fmt == "csv":
        text = to_safe_csv(summary.drop(columns=["definition"]).reset_index())
    else:
        text = _agreement_table(ann.source_name, figures, summary, codes, by_tag)
    _emit(text, output)


def _agreement_table(
    source: str, figures: dict, summary: pd.DataFrame, codes: object, by_tag: pd.DataFrame | None
) -> str:
    from slicewise.core import agreement as ag

    def num(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{float(v):.3f}"

    head = (
        f"{source}: {figures['items']:,} items, {figures['annotators']} annotators, "
        f"{figures['labels_total']:,} labels, {figures['classes']} classes; "
        f"{figures['n_disagreements']:,} items with disagreement "
        f"({figures['n_ties']:,} tied)"
    )
    shown = pd.DataFrame(
        {
            "metric": summary["name"],
            "value": summary["value"].map(num),
            "observed": summary["observed_agreement"].map(num),
            "chance": summary["chance_agreement"].map(num),
        }
    ).to_string(index=False)
    parts = [head, "", shown]
    caution = ag.agreement_caution(summary)
    if caution:
        parts += ["", f"! {caution}"]
    pairs = ag.find_confused_pairs(codes).head(5)  # type: ignore[arg-type]
    if len(pairs):
        lines = [
            f"  {r.class_a} / {r.class_b}: {r.n_items} items, alpha if merged "
            f"{num(r.alpha_if_merged)} ({r.alpha_gain:+.3f})"
            for r in pairs.itertuples()
        ]
        parts += ["", "Most confused classes (candidates to merge or define better):", *lines]
    stats = ag.compute_annotator_stats(codes)  # type: ignore[arg-type]
    ann = pd.DataFrame(
        {
            "annotator": stats.index,
            "labels": stats["n_labels"].to_numpy(),
            "agree w/ others": stats["agreement_with_others"].map(num).to_numpy(),
            "agree w/ consensus": stats["agreement_with_consensus"].map(num).to_numpy(),
            "mean kappa": stats["mean_cohen_kappa"].map(num).to_numpy(),
        }
    )
    parts += ["", "Annotators (lowest agreement first):", ann.to_string(index=False)]
    if by_tag is not None:
        tags = pd.DataFrame(
            {
                "slice": by_tag.index,
                "items": by_tag["n"].to_numpy(),
                "agreement": by_tag["percent_agreement"].map(num).to_numpy(),
                "alpha": by_tag["krippendorff_alpha"].map(num).to_numpy(),
                "HLP": by_tag["hlp"].map(num).to_numpy(),
                "HLP from": by_tag["hlp_source"].map(ag.HLP_SOURCES).to_numpy(),
                "model acc.": by_tag["model_accuracy"].map(num).to_numpy(),
            }
        )
        parts += ["", "Per tag:", tags.to_string(index=False)]
    return "\n".join(parts) + "\n"


@main.command("suggest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_prediction_options
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
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def suggest_command(
    file: Path,
    label: str | None,
    prediction: str | None,
    id_col: str | None,
    score: str | None,
    threshold: float | None,
    task: str | None,
    positive: str | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
    columns: str | None,
    max_conditions: int,
    min_support: int | None,
    top: int,
    alpha: float,
    fdr: float,
    encoding: str | None,
    sep: str | None,
    drop_missing: bool,
    na_values: str | None,
    decimal: str | None,
    thousands: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Suggest slices of FILE (metadata conditions) where the model errs most often.

    FILE is a CSV, TSV, Parquet or Excel .xlsx file, also gzip- or bzip2-compressed
    (.csv.gz, .tsv.bz2) or alone in a .zip.
    """
    from slicewise.core.discovery import format_suggestions, suggest_slices

    mapping = ColumnMapping(
        label=label, prediction=prediction, id=_role(id_col), score=_role(score)
    )
    dataset, spec = _load_predictions(
        file,
        mapping,
        task,
        positive,
        threshold,
        tolerance,
        keep_case,
        keep_punctuation,
        encoding,
        sep,
        drop_missing,
        na_values,
        decimal,
        thousands,
    )
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
        click.echo(f"slicewise: note: {warning}", err=True)
    fields = [
        "conditions",
        "n",
        "errors",
        "error_rate",
        "lift",
        "score",
        "p_value",
        "q_value",
        "significant",
    ]
    if fmt == "json":
        data = {
            "dataset": dataset.source_name,
            "n": found.n,
            "errors": found.errors,
            "overall_error_rate": found.overall_error_rate,
            "n_tested": found.n_tested,
            "fdr": found.fdr,
            "alpha": found.alpha,
            "min_support": found.min_support,
            "max_conditions": found.max_conditions,
            "columns": found.columns,
            "skipped": found.skipped,
            "note": found.fdr_note(),
            "slices": [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for row in found.slices[fields].to_dict("records")
            ],
        }
        text = dumps_json(data) + "\n"  # null for NaN and inf
    else:
        text = format_suggestions(found, source=dataset.source_name)
    _emit(text, output)


_RULE = re.compile(
    r"^\s*(?P<column>.+?)\s+(?P<op>is not missing|is missing|==|!=|<=|>=|<|>|"
    r"contains|regex)(?:\s+(?P<value>.*?))?\s*$",
    re.IGNORECASE,
)


def parse_condition(text: str) -> Condition:
    """Read one ``--rule`` condition written ``COLUMN OP VALUE``.

    ``device == car_kit``, ``snr < 5``, ``note contains noise``, ``note is missing``: spaces
    separate the operator.
    """
    match = _RULE.match(text)
    if not match:
        raise DataError(
            f"--rule {text!r}: write COLUMN OPERATOR VALUE, e.g. 'device == car_kit'"
            " (operators: ==, !=, <, <=, >, >=, contains, regex, is missing, "
            "is not missing)"
        )
    op = match["op"].lower()
    value = match["value"] or ""
    if op not in MISSING_OPERATORS and not value:
        raise DataError(f"--rule {text!r}: the operator {op} needs a value")
    return Condition(match["column"].strip(), op, value)


def rule_frame(dataset: Dataset) -> pd.DataFrame:
    """Return the examples as a rule reads them: typed values, roles under both names.

    ``label`` and the file's own name for it (``true_category``) both work, and so on for
    every role, unless a metadata column already has that name.
    """
    frame = dataset.frame
    aliases = {
        getattr(dataset.mapping, role): role
        for role in ("label", "prediction", "human", "score", "id")
        if getattr(dataset.mapping, role, None)
    }
    extra = {
        file: frame[role]
        for file, role in aliases.items()
        if role in frame.columns and file not in frame.columns
    }
    return frame.assign(**extra) if extra else frame


@main.command("tag")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@_prediction_options
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="'COLUMN OP VALUE'",
    help="A condition; several --rule are combined with AND.",
)
@click.option("--tag", "tag_name", help="The tag to give the matching examples.")
@click.option(
    "--errors-only",
    is_flag=True,
    help="Tag only the model's errors (the tag is then known on errors only).",
)
@click.option(
    "--tag-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --db: a CSV of id,tag rows (hand tags) to store instead of a rule.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply to a stored dataset in this database (with --dataset) instead of FILE.",
)
@click.option("--dataset", "dataset_ref", help="With --db: the stored dataset's id or name.")
@click.option(
    "--user",
    default=lambda: os.environ.get("USER", "cli"),
    help="Who is recorded as tagging (with --db).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="How to report what was tagged.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE mode: write the table with the tag column here (CSV; default: "
    "standard output). A data file for Slicewise: every value exactly as in FILE. "
    "For a report to open in a spreadsheet use `analyze --format csv`.",
)
def tag_command(
    file: Path | None,
    label: str | None,
    prediction: str | None,
    id_col: str | None,
    score: str | None,
    threshold: float | None,
    task: str | None,
    positive: str | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
    encoding: str | None,
    sep: str | None,
    drop_missing: bool,
    na_values: str | None,
    decimal: str | None,
    thousands: str | None,
    rules: tuple[str, ...],
    tag_name: str | None,
    errors_only: bool,
    tag_file: Path | None,
    db: Path | None,
    dataset_ref: str | None,
    user: str,
    fmt: str,
    output: Path | None,
) -> None:
    """Tag examples by a rule, in a file or in a stored dataset.

    FILE mode writes FILE's table (CSV) with a column named after --tag: ``true``/``false``
    on every row, or, with --errors-only, ``x`` on matching errors and blank elsewhere (so
    ``analyze`` reads the tag as known on errors only). That CSV is a data file to analyse
    again, not a report: every value is written exactly as FILE has it (``-1`` stays
    ``-1``, ``=x`` stays ``=x``; no spreadsheet apostrophes), quoted only where CSV needs
    it; ``analyze OUT`` gives the table ``analyze FILE`` would with the tag column. For a
    spreadsheet, use ``analyze --format csv`` (neutralised). Store mode (--db, --dataset) tags
    the stored examples, records who did it, and marks where the tag is known.
    """
    conditions = [parse_condition(r) for r in rules]
    if tag_file is not None and (rules or tag_name or errors_only):
        raise DataError(
            "--tag-file stores the tags the file lists; give it without --rule, "
            "--tag and --errors-only"
        )
    if db is not None and not db.is_file():
        raise DataError(
            f"{db}: no such database (check the path; `slicewise app --db` creates one)"
        )
    if db is not None:
        summary = _tag_stored(db, dataset_ref, conditions, tag_name, errors_only, tag_file, user)
    else:
        if file is None:
            raise DataError("give a FILE, or --db and --dataset for a stored dataset")
        if tag_file is not None:
            raise DataError("--tag-file applies to a stored dataset: give --db and --dataset")
        if not tag_name or not conditions:
            raise DataError("give --tag NAME and at least one --rule")
        ctx = click.get_current_context(silent=True)
        sheet = ctx.meta.get("slicewise_sheet") if ctx is not None else None
        raw, _, _ = read_table(file, encoding=encoding, sep=sep, sheet=sheet)
        name = file.name
        # Rules compare typed values (numbers, missing cells), read as `analyze` reads them:
        # the same reading options, the same value contract.
        mapping = ColumnMapping(
            label=label, prediction=prediction, id=_role(id_col), score=_role(score), tag_columns=()
        )
        dataset, spec = _load_predictions(
            file,
            mapping,
            task,
            positive,
            threshold,
            tolerance,
            keep_case,
            keep_punctuation,
            encoding,
            sep,
            drop_missing,
            na_values,
            decimal,
            thousands,
        )
        if len(dataset.frame) != len(raw):
            raise DataError(
                f"{name}: {len(raw) - len(dataset.frame):,} rows were left out "
                "while reading labels and predictions; tagging writes every row "
                "back, so fix those rows first"
            )
        hit = rule_mask(rule_frame(dataset), conditions, source=name)
        if errors_only:
            correct = compute_outcomes(dataset.frame, spec, source=name)["correct"].to_numpy(
                dtype=bool
            )
            hit &= ~correct
            column = pd.Series(np.where(hit, "x", ""), index=raw.index)
        else:
            column = pd.Series(np.where(hit, "true", "false"), index=raw.index)
        if tag_name in raw.columns:
            raise DataError(f"{name} already has a column {tag_name!r}; choose another --tag")
        raw[tag_name] = column
        _emit(to_data_csv(raw), output)  # a data file: exact values, not neutralised
        summary = {
            "file": name,
            "tag": tag_name,
            "rule": describe_rule(conditions),
            "errors_only": errors_only,
            "examples": len(raw),
            "tagged": int(hit.sum()),
        }
    if fmt == "json":
        click.echo(dumps_json(summary), err=db is None and output is None)
    else:
        where = summary.get("dataset") or summary.get("file")
        click.echo(
            f"slicewise: tagged {summary['tagged']:,} of {summary['examples']:,} "
            f"examples as {summary['tag']!r} in {where} ({summary['rule']}"
            + (", errors only" if errors_only else "")
            + ")",
            err=True,
        )


def _tag_stored(
    db: Path,
    ref: str | None,
    conditions: list[Condition],
    tag_name: str | None,
    errors_only: bool,
    tag_file: Path | None,
    user: str,
) -> dict:
    """Apply a rule or a tag file to a stored dataset; return what was done."""
    from slicewise.core.store import Store

    if not ref:
        raise DataError("--db needs --dataset ID or NAME")
    with Store(db) as store:
        datasets = store.list_datasets()
        match = datasets[(datasets["id"].astype(str) == ref) | (datasets["name"] == ref)]
        if len(match) != 1:
            known = ", ".join(
                f"{i} {n!r}"
                for i, n in list(zip(datasets["id"], datasets["name"], strict=True))[:8]
            )
            raise DataError(
                f"{db}: {'several datasets' if len(match) else 'no dataset'} "
                f"match {ref!r}; datasets: {known or 'none'} (use the id)"
            )
        did = int(match["id"].iloc[0])
        name = str(match["name"].iloc[0])
        dataset = store.load_dataset(did)
        if tag_file is not None:
            table, _, _ = read_table(tag_file)
            file_name = tag_file.name
            missing = [c for c in ("id", "tag") if c not in table.columns]
            if missing:
                raise DataError(
                    f"{file_name}: no column {missing[0]!r}; a tag file has the "
                    "columns id and tag, one row per tagged example"
                )
            table = table.dropna(subset=["id", "tag"]).astype({"id": str, "tag": str})
            table["tag"] = table["tag"].str.strip()
            table = table[table["tag"] != ""]
            # Everything is checked before anything is stored: no half-applied file.
            known = set(dataset.frame["id"].astype(str))
            unknown = table.index[~table["id"].isin(known)]
            if len(unknown):
                first = ", ".join(repr(i) for i in table.loc[unknown[:3], "id"])
                raise DataError(
                    f"{file_name}: {len(unknown):,} rows name ids the dataset "
                    f"{name!r} does not have ({first}...); nothing was stored"
                )
            tagged = 0
            for tag, rows in table.groupby("tag", sort=False):
                if tag not in store.tag_scopes(did):
                    store.create_tag(did, tag, user=user)
                tagged += store.set_tag(did, rows["id"].tolist(), tag, True, user=user)
            return {
                "dataset": name,
                "dataset_id": did,
                "tag": ", ".join(map(str, table["tag"].unique())),
                "rule": f"tag file {file_name}",
                "examples": len(dataset.frame),
                "tagged": tagged,
            }
        if not tag_name or not conditions:
            raise DataError("give --tag NAME and at least one --rule (or --tag-file)")
        hit = rule_mask(rule_frame(dataset), conditions, source=name)
        if errors_only:
            spec = store.dataset_info(did).get("task") or TaskSpec()
            correct = compute_outcomes(dataset.frame, spec, source=name)["correct"].to_numpy(
                dtype=bool
            )
            hit &= ~correct
        if tag_name not in store.tag_scopes(did):
            store.create_tag(did, tag_name, user=user)
        ids = dataset.frame["id"].to_numpy(dtype=object)[hit].tolist()
        # The values and where the tag is now known, in one transaction (one undo step).
        changed = store.apply_tag_rule(
            did,
            ids,
            tag_name,
            True,
            scope="errors" if errors_only else "all",
            user=user,
            rule=describe_rule(conditions),
        )
        return {
            "dataset": name,
            "dataset_id": did,
            "tag": tag_name,
            "rule": describe_rule(conditions),
            "errors_only": errors_only,
            "examples": len(dataset.frame),
            "tagged": int(hit.sum()),
            "changed": changed,
        }


# --------------------------------------------------------------------------- members


def _members_options(command: Callable) -> Callable:
    """Add the options every ``members`` command takes: the database and the project."""
    command = click.option(
        "--project", "project_ref", required=True, help="The project's name or id."
    )(command)
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SLICEWISE_DB",
        help="Database file (default: $SLICEWISE_DB or ~/.slicewise/slicewise.db).",
    )(command)


def _user_option(command: Callable) -> Callable:
    return click.option(
        "--user",
        default=lambda: os.environ.get("USER", "cli"),
        help="Who makes the change: an owner of the project (default: $USER).",
    )(command)


def _open_project(db: Path | None, ref: str) -> tuple[Store, int, str]:
    """Open an existing store and find a project by id or name: (store, id, name)."""
    from slicewise.core.store import Store, default_db_path

    path = db if db is not None else default_db_path()
    if not Path(path).exists():
        raise DataError(f"{path}: no such database (check the path or --db)")
    store = Store(path)
    projects = store.list_projects()
    match = projects[
        (projects["id"].astype(str) == ref.strip()) | (projects["name"] == ref.strip())
    ]
    if match.empty:
        store.close()
        known = ", ".join(
            f"{i} {n!r}" for i, n in list(zip(projects["id"], projects["name"], strict=True))[:8]
        )
        raise DataError(
            f"{path}: no project matches --project {ref!r}; projects: {known or 'none'}"
        )
    return store, int(match["id"].iloc[0]), str(match["name"].iloc[0])


@main.group("members", cls=SlicewiseGroup)
def members_group() -> None:
    """List and change who may do what in a project (viewer, annotator, owner).

    A viewer reads and downloads; an annotator also tags, corrects labels and reviews;
    an owner also uploads and deletes datasets and manages members. A store without
    members is open: everyone may write (local single-user mode). The first member set
    on such a store makes --user the owner of every project.
    """


@members_group.command("list")
@_members_options
def members_list_command(db: Path | None, project_ref: str) -> None:
    """Print the project's members and roles, owners first."""
    store, pid, name = _open_project(db, project_ref)
    with store:
        members = store.members(pid)
        enforced = store.roles_enforced()
    if members.empty:
        click.echo(
            f"project {name!r} has no members"
            + ("" if enforced else ": the store is open, everyone may write")
        )
        return
    click.echo(members.to_string(index=False))


@members_group.command("set")
@_members_options
@click.argument("member")
@click.argument("role", type=click.Choice(["viewer", "annotator", "owner"], case_sensitive=False))
@_user_option
def members_set_command(
    db: Path | None, project_ref: str, member: str, role: str, user: str
) -> None:
    """Give MEMBER the ROLE (viewer, annotator or owner) in the project."""
    store, pid, name = _open_project(db, project_ref)
    with store:
        store.set_member(pid, member, role, user=user)
        now = store.role(pid, member)
    click.echo(
        f"{member.strip()} is {'an' if now[0] in 'aeiou' else 'a'} {now} of project {name!r}"
    )


@members_group.command("remove")
@_members_options
@click.argument("member")
@_user_option
def members_remove_command(db: Path | None, project_ref: str, member: str, user: str) -> None:
    """Take MEMBER's role in the project away."""
    store, pid, name = _open_project(db, project_ref)
    with store:
        store.remove_member(pid, member, user=user)
    click.echo(f"{member.strip()} is no longer a member of project {name!r}")


# --------------------------------------------------------------------------- recover


@main.command("recover")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLICEWISE_DB",
    help="The damaged database (default: $SLICEWISE_DB or "
    "~/.slicewise/slicewise.db); it is only read.",
)
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new database to create (it must not exist); its datasets' files go "
    "to <name>_files/ beside it.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="The report as a table or as JSON.",
)
def recover_command(db: Path | None, target: Path, fmt: str) -> None:
    """Copy what can still be read of a damaged store into a new one.

    Every readable row of every table (ids kept) and the files of the datasets whose rows
    survived; the damaged file is left as it is. Prints per table the rows copied and
    lost. Exit code 0 when everything was copied, 1 when rows or files were lost, 2 on
    errors.
    """
    import json

    from slicewise.core.store import default_db_path, files_dir_of, recover_store

    report = recover_store(db if db is not None else default_db_path(), target)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_recovery_text(report, files_dir_of(report.source), files_dir_of(report.target)))
    if not report.complete:
        sys.exit(1)


def _recovery_text(report: RecoveryReport, old_files: Path, new_files: Path) -> str:
    """Render a :class:`core.store.RecoveryReport` as lines for the terminal."""
    lines = [
        f"recovered {report.source} into {report.target} (schema {report.schema_version}"
        f"; {report.source.name} was not changed)"
    ]
    rows = []
    for t in report.tables.values():
        notes = []
        if t.damaged:
            shown = "; ".join(t.unreadable) or "some rows"
            count = f" ({count_of(t.unreadable_ids, 'id')})" if t.unreadable_ids else ""
            stopped = ", search stopped early" if t.search_stopped else ""
            notes.append(f"unreadable: {shown}{count}{stopped}")
        if t.rejected:
            notes.append(f"{count_of(t.rejected, 'garbled row')} refused")
        if t.dropped:
            notes.append(f"{t.dropped:,} left out: {t.dropped_because}")
        if t.unlinked:
            notes.append(f"{count_of(t.unlinked, 'link')} to lost rows cleared")
        if t.stand_ins:
            notes.append(
                f"stand-in rows made for ids {', '.join(map(str, t.stand_ins))} "
                "(rows of the other tables belong to them)"
            )
        rows.append((t.name, f"{t.copied:,}", "; ".join(notes) or "-"))
    width = max([len("table"), *(len(r[0]) for r in rows)])
    count_width = max([len("rows"), *(len(r[1]) for r in rows)])
    lines.append(f"{'table':<{width}}  {'rows':>{count_width}}  lost")
    lines += [f"{a:<{width}}  {b:>{count_width}}  {c}" for a, b, c in rows]
    if report.datasets_copied:
        lines.append(
            f"dataset files copied to {new_files}: datasets "
            f"{', '.join(map(str, report.datasets_copied))}"
        )
    if report.datasets_lost:
        lines.append(
            f"datasets {', '.join(map(str, report.datasets_lost))}: their rows were "
            f"lost; their files stay in {old_files}"
        )
    if report.dataset_files_missing:
        lines.append(
            f"datasets {', '.join(map(str, report.dataset_files_missing))}: their "
            f"files are missing or unreadable in {old_files}; loading them will fail"
        )
    if report.annotation_files_missing:
        lines.append(
            f"annotation sets {', '.join(map(str, report.annotation_files_missing))}"
            f": their label files are missing in {old_files}"
        )
    lines += [f"warning: {w}" for w in report.warnings]
    if report.lost_tables:
        lines.append(
            f"rows were lost in {', '.join(report.lost_tables)}; a backup of "
            f"{report.source.name} may still hold them"
        )
    elif report.complete:
        lines.append("every row and file was copied")
    lines.append(f"next: point --db or $SLICEWISE_DB at {report.target}")
    return "\n".join(lines)


#: ``compare --metric`` choices: the names of :data:`core.compare.METRICS` (not imported
#: here, so the other commands start without core.compare).
GATE_METRICS = ("accuracy", "recall", "precision", "f1", "fpr", "fnr", "wer", "mae")


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
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@_value_options
@_max_slices_option
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
    fail_points: float | None,
    output: Path | None,
    na_values: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    human: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    drop_missing: bool = False,
    gate_metric: str = "accuracy",
    gate_slices: tuple[str, ...] = (),
    gate_classes: tuple[str, ...] = (),
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
    from slicewise.core.compare import (
        check_metric,
        compare_classes,
        compare_datasets,
        compare_overall,
        compare_slice_metrics,
        describe_pairing,
        describe_regression,
        find_regressions,
    )

    if fail_points is None and (gate_metric != "accuracy" or gate_slices or gate_classes):
        raise click.UsageError(
            "--metric, --slice and --class choose what "
            "--fail-on-regression watches; give --fail-on-regression POINTS"
        )

    mapping = ColumnMapping(
        id=_role(id_col), label=label, prediction=prediction, human=_role(human)
    )
    options = dict(
        positive=positive,
        na_values=parse_na_values(na_values),
        decimal=decimal,
        thousands=thousands,
        task=task,
        encoding=encoding,
        sep=sep,
        missing="drop" if drop_missing else "fail",
    )
    data_b = load_dataset(before, mapping, **options)
    data_a = load_dataset(after, mapping, **options)
    for dataset in (data_b, data_a):
        for warning in dataset.warnings:
            click.echo(f"slicewise: note: {warning}", err=True)  # warnings name the file
    if task is None and positive is None:
        kinds = [infer_task_kind(d.frame["label"]) for d in (data_b, data_a)]
        if kinds[0] != kinds[1]:
            raise DataError(
                f"{data_b.source_name} looks like a {kinds[0]} task and "
                f"{data_a.source_name} like a {kinds[1]} task; compare files of "
                "one task, or say which with --task"
            )
    spec = _task_spec(data_a, task, positive, None, tolerance, False, False)
    pairing = describe_pairing(data_b, data_a)
    if pairing.ids_are_row_numbers:
        click.echo(
            "slicewise: note: no id column in a file: rows are matched by position; "
            "give --id COL if the files list different examples",
            err=True,
        )
    gate_on_slices = fail_points is not None and (bool(gate_slices) or not gate_classes)
    if gate_on_slices and gate_metric != "accuracy":
        check_metric(gate_metric, spec.kind)
    if gate_classes:
        check_metric(gate_metric, spec.kind, per_class=True)
    table = compare_datasets(
        data_b, data_a, task=spec, slice_by=slice_by, alpha=alpha, max_slices=max_slices
    )
    on_errors = [
        str(r) for r in table.index[(table["scope"] == "errors") & (table["kind"] == "tag")]
    ]
    if on_errors:
        click.echo(
            f"slicewise: note: {', '.join(map(repr, on_errors[:6]))} only tag errors, "
            "so they are read as filled on errors only and not compared (their "
            "accuracy is unknown)",
            err=True,
        )
    shown = list(_SLICE_METRICS.get(spec.kind, ()))
    watched = [gate_metric] if gate_on_slices and gate_metric != "accuracy" else []
    rates = (
        compare_slice_metrics(
            data_b,
            data_a,
            metrics=[*shown, *watched],
            task=spec,
            slice_by=slice_by,
            alpha=alpha,
            max_slices=max_slices,
        )
        if shown or watched
        else {}
    )
    classes = None
    if spec.kind in ("binary", "classification"):
        per_class = [gate_metric] if gate_classes else []
        classes = compare_classes(
            data_b,
            data_a,
            task=spec,
            alpha=alpha,
            metrics=["precision", "recall", "f1", *per_class],
        )
    failed: list[tuple[str, pd.Series]] = []
    if gate_on_slices:
        gated = table if gate_metric == "accuracy" else rates[gate_metric]
        failed += list(
            find_regressions(gated, points=fail_points, names=list(gate_slices) or None).iterrows()
        )
    if gate_classes and classes is not None:
        failed += list(
            find_regressions(
                classes.changes[gate_metric], points=fail_points, names=list(gate_classes)
            ).iterrows()
        )
    overall = compare_overall(table)
    if fmt == "json":
        keys = [
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
        ]
        slices = [
            {"name": str(name), **{k: _json_value(row[k]) for k in keys}}
            for name, row in table.iloc[1:].iterrows()
        ]
        data = {
            "before": data_b.source_name,
            "after": data_a.source_name,
            "task": spec.kind,
            "alpha": alpha,
            "pairing": pairing.describe(),
            "overall": overall,
            "slices": slices,
            **_compare_extras_json(rates, shown, classes),
        }
        if fail_points is not None:
            data["gate"] = {
                "metric": gate_metric,
                "points": fail_points,
                "slices": list(gate_slices) if gate_on_slices else [],
                "classes": list(gate_classes),
                "passed": not failed,
                "failed": [
                    {
                        "name": str(name),
                        "message": describe_regression(str(name), row),
                        **{
                            k: _json_value(row.get(k))
                            for k in (
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
                            if k in row.index
                        },
                    }
                    for name, row in failed
                ],
            }
        text = dumps_json(data) + "\n"  # null for NaN and inf
    else:
        text = _compare_text(
            table, overall, data_b, data_a, pairing.describe(), markdown=fmt == "markdown"
        )
        text += _compare_extras_text(rates, shown, classes, markdown=fmt == "markdown")
    _emit(text, output)
    for name, row in failed:
        click.echo(f"slicewise: regression: {describe_regression(str(name), row)}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


#: Metrics ``compare`` shows per slice besides accuracy, by task kind.
_SLICE_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("fpr", "fnr"),
    "text": ("wer",),
    "regression": ("mae",),
}


def _compare_extras_json(rates: dict[str, pd.DataFrame], shown: list[str], classes: object) -> dict:
    """Return the per-slice metrics, per-class table and confusion matrices for JSON."""
    out: dict = {}
    if shown:
        out["slice_metrics"] = {
            metric: [
                {"name": str(name), **{k: _json_value(v) for k, v in row.items()}}
                for name, row in rates[metric].iterrows()
            ]
            for metric in shown
        }
    if classes is not None:
        rows = []
        # Whole columns at once: a .loc per class and metric took seconds at 10,000 classes.
        picked = {
            metric: classes.changes[metric]
            .reindex(classes.table.index)[
                [
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
            ]
            .to_dict("records")
            for metric in ("precision", "recall", "f1")
        }
        support = classes.table[["support_before", "support_after"]].to_numpy(dtype=np.int64)
        for i, name in enumerate(classes.table.index):
            item: dict = {
                "class": str(name),
                "support_before": int(support[i, 0]),
                "support_after": int(support[i, 1]),
            }
            for metric, changes in picked.items():
                item[metric] = {k: _json_value(v) for k, v in changes[i].items()}
            rows.append(item)
        out["classes"] = rows
        out["confusion_matrix"] = {
            side: {
                "labels": [str(c) for c in cm.index],
                "counts": cm.to_numpy().astype(int).tolist(),
            }
            for side, cm in (
                ("before", classes.confusion_before),
                ("after", classes.confusion_after),
            )
        }
    return out


def _compare_extras_text(
    rates: dict[str, pd.DataFrame], shown: list[str], classes: object, *, markdown: bool
) -> str:
    """Render the per-slice metrics, per-class table and confusion matrices as text."""
    from slicewise.core.compare import METRICS

    def value(v: object, metric: str) -> str:
        if v is None or pd.isna(v):  # type: ignore[arg-type]
            return "–"
        return f"{100 * float(v):.1f}%" if METRICS[metric].percent else f"{float(v):.4g}"  # type: ignore[arg-type]

    def with_ci(row: pd.Series, side: str, metric: str) -> str:
        low, high = row[f"{side}_ci_low"], row[f"{side}_ci_high"]
        text = value(row[side], metric)
        if pd.isna(low) or pd.isna(high):
            return text
        scale = 100 if METRICS[metric].percent else 1
        return f"{text} [{scale * low:.1f}–{scale * high:.1f}]"

    def change(v: object, metric: str) -> str:
        if v is None or pd.isna(v):  # type: ignore[arg-type]
            return "–"
        return (
            f"{100 * float(v):+.1f}"
            if METRICS[metric].percent  # type: ignore[arg-type]
            else f"{float(v):+.4g}"
        )  # type: ignore[arg-type]

    def p(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{float(v):.3g}"  # type: ignore[arg-type]

    def block(title: str, frame: pd.DataFrame, note: str) -> list[str]:
        if markdown:
            cols = list(frame.columns)
            lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
            lines += [
                "| " + " | ".join(str(v) for v in row) + " |"
                for row in frame.itertuples(index=False)
            ]
            return ["", f"## {title}", "", *lines, "", f"_{note}_"]
        return ["", f"{title}:", frame.to_string(index=False), f"({note})"]

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
                f"{label} before": [with_ci(r, "before", metric) for _, r in t.iterrows()],
                "after": [with_ci(r, "after", metric) for _, r in t.iterrows()],
                f"change ({unit})": [change(v, metric) for v in t["delta"]],
                "test": t["test"].to_numpy(),
                "p-value": [p(v) for v in t["p_value"]],
                "verdict": np.select(
                    [t["regression"].to_numpy(bool), t["improvement"].to_numpy(bool)],
                    ["worse", "better"],
                    "–",
                ),
            }
        )
        parts += block(
            f"{label} by slice: {METRICS[metric].definition}",
            frame,
            "n: the examples the rate counts; verdict: a significant change; "
            "[low–high]: interval where computed",
        )
    if classes is not None:
        t = classes.table
        more = ""
        if len(t) > _PLAIN_CLASSES:  # the classes whose change is clearest; all in JSON
            best = t[[f"{m}_p_value" for m in ("precision", "recall", "f1")]].min(axis=1)
            t = t.loc[best.sort_values(kind="stable", na_position="last").index[:_PLAIN_CLASSES]]
            more = (
                f"; {len(classes.table) - len(t):,} more classes with less clear changes "
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
            frame[f"{label} before"] = [value(v, metric) for v in t[f"{metric}_before"]]
            frame[f"{label} after"] = [value(v, metric) for v in t[f"{metric}_after"]]
            frame[f"{label} change"] = [change(v, metric) for v in t[f"{metric}_delta"]]
            frame[f"{label} p"] = [p(v) for v in t[f"{metric}_p_value"]]
        parts += block(
            "Per class",
            frame,
            "n: examples labelled with the class; changes in points; recall p: "
            "McNemar on the class's examples where they are in both files, else "
            "two-proportion; precision p: the same on the examples predicted as "
            "the class; F1 p: approximate randomization" + more,
        )
        for side, cm in (("before", classes.confusion_before), ("after", classes.confusion_after)):
            shown_cm = cm.copy()
            shown_cm.index = [f"label {c}" for c in cm.index]
            shown_cm.columns = [f"predicted {c}" for c in cm.columns]
            shown_cm = shown_cm.reset_index(names="")
            parts += block(f"Confusion matrix {side}", shown_cm, "rows: label, columns: prediction")
    return "\n".join(parts) + ("\n" if parts else "")


def _json_value(value: object) -> object:
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and value != value:
        return None
    return value


def _compare_text(
    table: pd.DataFrame,
    overall: dict,
    before: Dataset,
    after: Dataset,
    pairing: str,
    *,
    markdown: bool,
) -> str:
    from slicewise.core.compare import review_order

    def pct(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"  # type: ignore[arg-type]

    def pts(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{100 * float(v):+.1f}"  # type: ignore[arg-type]

    def verdict(row: pd.Series) -> str:
        if row["regression"]:
            return "worse"
        if row["improvement"]:
            return "better"
        return "–"

    ordered = review_order(table)
    shown = pd.DataFrame(
        {
            "slice": [str(i) for i in ordered.index],
            "n before": ordered["n_before"].map(lambda v: f"{int(v):,}").to_numpy(),
            "n after": ordered["n_after"].map(lambda v: f"{int(v):,}").to_numpy(),
            "accuracy before": ordered["accuracy_before"].map(pct).to_numpy(),
            "after": ordered["accuracy_after"].map(pct).to_numpy(),
            "change (pts)": ordered["delta"].map(pts).to_numpy(),
            "gap before": ordered["gap_before"].map(pts).to_numpy(),
            "gap after": ordered["gap_after"].map(pts).to_numpy(),
            "test": ordered["test"].to_numpy(),
            "p-value": ordered["p_value"]
            .map(lambda v: "–" if pd.isna(v) else f"{v:.3g}")
            .to_numpy(),
            "verdict": [verdict(r) for _, r in ordered.iterrows()],
        }
    )
    head = (
        f"before: {before.source_name} ({_examples(before.n)})   after: "
        f"{after.source_name} ({_examples(after.n)})\nmatched: {pairing}\n"
        f"All data: {pct(overall['accuracy_before'])} -> {pct(overall['accuracy_after'])} "
        f"({pts(overall['delta'])} pts, {overall['test']} p="
        f"{overall['p_value']:.3g})"
    )
    notes = []
    for name in overall["worse_while_overall_better"]:
        row = table.loc[name]
        mark = "significant" if row["significant"] else "could be chance"
        notes.append(
            f"{name} got worse while all data improved: {pct(row['accuracy_before'])}"
            f" -> {pct(row['accuracy_after'])} ({pts(row['delta'])} pts, "
            f"{row['test']} p={row['p_value']:.3g}, {mark})"
        )
    for name in overall["improved"]:
        row = table.loc[name]
        notes.append(
            f"{name} improved: {pct(row['accuracy_before'])} -> "
            f"{pct(row['accuracy_after'])} ({pts(row['delta'])} pts, "
            f"p={row['p_value']:.3g})"
        )
    legend = (
        "change and gaps in accuracy points, gap = HLP − accuracy; verdict: a "
        "significant change;\nmcnemar: exact test on the examples whose outcome "
        "changed; two-proportion: pooled z-test; fisher: Fisher's exact test"
    )
    if markdown:
        cols = list(shown.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += [
            "| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)
        ]
        body = "\n".join(lines)
        parts = [
            "# Slicewise comparison",
            "",
            *[f"{line}  " for line in head.splitlines()],
            "",
            body,
            "",
            *[f"- {n}" for n in notes],
            "",
            f"_{legend.replace(chr(10), ' ')}_",
        ]
        return "\n".join(parts) + "\n"
    parts = [head, "", shown.to_string(index=False), ""]
    parts += [f"! {n}" if "worse" in n else f"* {n}" for n in notes]
    parts += [f"({legend})"]
    return "\n".join(parts) + "\n"


@main.command("label-issues")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_prediction_options
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
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def label_issues_command(
    file: Path,
    label: str | None,
    prediction: str | None,
    id_col: str | None,
    score: str | None,
    threshold: float | None,
    task: str | None,
    positive: str | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
    human: str | None,
    annotations: Path | None,
    filter_by: str,
    top: int | None,
    encoding: str | None,
    sep: str | None,
    drop_missing: bool,
    na_values: str | None,
    decimal: str | None,
    thousands: str | None,
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
    from slicewise.core.report import to_safe_csv

    if task in ("regression", "text"):
        raise DataError(
            f"--task {task}: label errors are found among classes; use classification or binary"
        )
    mapping = ColumnMapping(
        label=label, prediction=prediction, human=_role(human), id=_role(id_col), score=_role(score)
    )
    dataset, _ = _load_predictions(
        file,
        mapping,
        task,
        positive,
        threshold,
        tolerance,
        keep_case,
        keep_punctuation,
        encoding,
        sep,
        drop_missing,
        na_values,
        decimal,
        thousands,
    )
    votes = None
    if annotations is not None:
        from slicewise.core.agreement import load_annotations

        votes = load_annotations(annotations, encoding=encoding, sep=sep)
        for warning in votes.warnings:
            click.echo(f"slicewise: note: {warning}", err=True)
    try:
        found = find_label_issues(dataset.frame, filter_by=filter_by, annotations=votes)
    except DataError as exc:  # name the file the table came from
        raise type(exc)(f"{dataset.source_name}: {exc}") from None
    for warning in found.warnings:
        click.echo(f"slicewise: note: {dataset.source_name}: {warning}", err=True)
    issues = found.issues.head(top) if top else found.issues
    file_rows = RowNumbers.of_frame(dataset.frame).of(issues["row"].tolist())
    summary = f"{dataset.source_name}: {found.summary()}"
    if fmt == "json":
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
            "n_checked": found.n_checked,
            "n_issues": found.n_issues,
            "signals": found.signals,
            "n_model_flags": found.n_model_flags,
            "n_confirmed": found.n_confirmed,
            "n_added": found.n_added,
            "probability_columns": found.columns,
            "summary": found.summary(),
            "notes": found.warnings,
            "issues": records,
        }
        text = dumps_json(data) + "\n"  # null for NaN and a missing human label
    elif fmt == "csv":
        text = to_safe_csv(issues.assign(file_row=file_rows))
    else:
        text = _label_issues_text(issues, found.signals, summary)
    _emit(text, output)


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


#: Commands that only read files and write their output: they may skip interpreter teardown.
_READ_ONLY_COMMANDS = frozenset({"analyze", "suggest", "compare", "agreement"})


def entry_point() -> None:
    """Run the ``slicewise`` command (the console script).

    After a read-only command the process leaves with ``os._exit`` once its output is
    flushed: tearing down the interpreter (module state, pyarrow's and BLAS's thread pools)
    took 0.2 s after a 1M-row ``analyze``, longer than counting its slices. Those commands
    leave nothing open: files are written whole and closed, DuckDB closes in a ``with``.
    """
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if command not in _READ_ONLY_COMMANDS:
        main()
        return
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if isinstance(code, str):  # what sys.exit("message") would print
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe (| head): nothing more can be written anyway
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    entry_point()
