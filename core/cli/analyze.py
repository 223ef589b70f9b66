"""``slicewise analyze``: the ranked per-slice error-analysis table of a predictions file.

The command reads its options, chooses the baseline, runs the pipeline
(:func:`core.analysis.analyze` in memory, or :func:`core.batches.count.analyze_source` on
the streaming engine or Spark, for files larger than memory) and writes the table
(:func:`core.cli.plain_table.render`), each a named step below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pandas as pd

from slicewise.core.analysis import analyze
from slicewise.core.baselines import Baseline, parse_fraction
from slicewise.core.cli.group import main
from slicewise.core.cli.options import (
    ReadOptions,
    check_row_names,
    choose_engine,
    emit,
    engine_option,
    load_predictions,
    max_slices_option,
    note,
    output_option,
    packed,
    pairs,
    prediction_options,
    read_mapping,
    role,
    task_spec,
)
from slicewise.core.cli.plain_table import render
from slicewise.core.dataset import NO_COLUMN, ColumnMapping, Dataset, load_dataset
from slicewise.core.errors import DataError
from slicewise.core.prioritize import RANK_BASES, likely_protected
from slicewise.core.progress import ProgressLine
from slicewise.core.report import FORMATS, ClassResults, compute_class_results
from slicewise.core.task import TaskSpec
from slicewise.core.values import parse_na_values


@dataclasses.dataclass(frozen=True)
class BaselineOptions:
    """``analyze``'s baseline options: what the slices are compared with (default: HLP)."""

    human_accuracy: str | None = None
    human_majority: bool | None = None
    annotations: Path | None = None
    annotation_columns: str | None = None
    baseline_predictions: Path | None = None
    baseline_prediction: str | None = None
    target: str | None = None


@dataclasses.dataclass(frozen=True)
class WeightOptions:
    """``--hlp``, ``--importance`` and ``--ease``: ``NAME=VALUE`` texts by row name."""

    hlp: tuple[str, ...] = ()
    importance: tuple[str, ...] = ()
    ease: tuple[str, ...] = ()

    def parsed(self) -> dict[str, dict[str, float]]:
        """Return the three as dicts of numbers (raises :class:`DataError` naming the option)."""
        return dict(
            hlp=pairs(self.hlp, "--hlp", percent=True),
            importance=pairs(self.importance, "--importance", percent=False),
            ease=pairs(self.ease, "--ease", percent=False),
        )


#: What an engine step returns: the table, the dataset's name, the task, per-class results.
Analysed = tuple[pd.DataFrame, str, TaskSpec, ClassResults | None]


@main.command("analyze")
@click.argument("file", type=click.Path(path_type=Path))
@prediction_options
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
    "--production",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A production sample (predictions, labels optional): rank by gap × production share.",
)
@engine_option
@click.option(
    "--format", "fmt", type=click.Choice(("table", *FORMATS)), default="table", show_default=True
)
@output_option
@packed(BaselineOptions, "baselines")
@packed(WeightOptions, "weights")
@max_slices_option
def analyze_command(
    file: Path,
    read: ReadOptions,
    human: str | None,
    tag_columns: str | None,
    tags_column: str | None,
    tag_scope: tuple[str, ...],
    slice_by: tuple[str, ...],
    bins: int,
    weights: WeightOptions,
    baselines: BaselineOptions,
    engine: str,
    fmt: str,
    output: Path | None,
    protected: tuple[str, ...] = (),
    rank_by: str = "priority",
    max_slices: int | None = None,
    production: Path | None = None,
) -> None:
    """Print the per-slice error-analysis table of FILE, ranked by priority.

    FILE is a CSV, TSV, Parquet or Excel .xlsx file, also gzip- or bzip2-compressed
    (.csv.gz, .tsv.bz2) or alone in a .zip.

    Optional roles (--id, --human, --score, --tag-columns, --tags-column) take ``none`` to
    switch them off.
    """
    if tag_columns and tags_column:
        raise DataError("give either --tag-columns or --tags-column, not both")
    protected = _protected_columns(protected, slice_by)
    # A protected attribute is looked at slice by slice, so it is sliced by too.
    slice_by = tuple(dict.fromkeys([*slice_by, *protected]))
    mapping, baseline = _baseline_choice(_mapping(read, human, tag_columns, tags_column), baselines)

    def settings() -> dict[str, Any]:  # read after the file: its errors come first
        return dict(
            slice_by=slice_by,
            bins=bins,
            tag_scopes=_tag_scopes(tag_scope),
            protected=protected,
            rank_by=rank_by,
            baseline=baseline,
            max_slices=max_slices,
            **weights.parsed(),
        )

    chosen = choose_engine(engine, file)
    if engine == "auto" and chosen != "pandas" and not _engine_can_run(chosen, read, baselines):
        chosen = "pandas"  # auto never refuses an option the pandas engine honours
    engine = chosen
    run = _analyze_with_pandas if engine == "pandas" else _analyze_with_source
    with ProgressLine(f"slicewise: {file.name or file}") as progress:
        table, name, spec, classes = run(file, mapping, read, baselines, settings, progress, engine)
    if production is not None:
        from slicewise.core.cli.production_rank import rank_by_production  # loads drift code

        table = rank_by_production(table, file, mapping, read, production, settings())
    check_row_names(table, weights.parsed())
    emit(render(table, fmt, dataset=name, task=spec.kind, classes=classes), output)


def _protected_columns(protected: tuple[str, ...], slice_by: tuple[str, ...]) -> tuple[str, ...]:
    """Return the protected columns: as given, none for ``none``, else those named like one."""
    if any(c.strip().lower() == "none" for c in protected):
        return tuple(c for c in protected if c.strip().lower() != "none")
    if not protected and likely_protected(slice_by):
        protected = tuple(likely_protected(slice_by))
        note(
            f"{', '.join(protected)} read as protected (by name): a "
            "fairness audit of error rates, never 'collect more of this group'; "
            "--protected COLUMN chooses, --protected none turns it off"
        )
    return protected


def _mapping(
    read: ReadOptions, human: str | None, tag_columns: str | None, tags_column: str | None
) -> ColumnMapping:
    """Return the roles ``analyze`` reads: the shared ones, the human label and the tags."""
    no_tags = NO_COLUMN in (role(tag_columns), role(tags_column))
    if no_tags:
        columns: tuple[str, ...] | None = ()
    elif tag_columns:
        columns = tuple(c.strip() for c in tag_columns.split(",") if c.strip())
    else:
        columns = None
    return read_mapping(
        read,
        human=role(human),
        tag_columns=columns,
        tags_column=NO_COLUMN if no_tags else tags_column,
    )


def _analyze_with_pandas(
    file: Path,
    mapping: ColumnMapping,
    read: ReadOptions,
    baselines: BaselineOptions,
    settings: Callable[[], dict[str, Any]],
    progress: ProgressLine,
    engine: str = "pandas",
) -> Analysed:
    """Load FILE (and the baseline's files) into memory and run the pipeline."""
    progress.phase(f"reading {file.name}")
    dataset, spec = load_predictions(file, mapping, read)
    dataset = _baseline_sources(dataset, mapping, read, baselines)
    progress.phase(f"analysing {len(dataset.frame):,} rows")
    table = analyze(dataset, task=spec, **settings())
    _scope_notes(table)
    classes = compute_class_results(dataset.frame, task=spec.kind)
    return table, dataset.source_name, spec, classes


def _analyze_with_source(
    file: Path,
    mapping: ColumnMapping,
    read: ReadOptions,
    baselines: BaselineOptions,
    settings: Callable[[], dict[str, Any]],
    progress: ProgressLine,
    engine: str,
) -> Analysed:
    """Count FILE batch by batch on ``engine`` (stream or spark) with the shared code.

    The engine answers the global questions and streams the rows; :func:`analyze_source`
    (the code every engine runs) gives the pandas engine's table.
    """
    from slicewise.core.batches.count import analyze_source

    _check_engine_options(engine, read, baselines)
    explicit = read.task is not None or read.positive is not None
    kind = read.task or ("binary" if read.positive is not None else None)
    spec = _spec(kind, read) if explicit else None
    load = dict(
        mapping=mapping,
        missing=read.missing,
        positive=read.positive,
        threshold=read.threshold,
        na_values=parse_na_values(read.na_values),
        decimal=read.decimal,
        thousands=read.thousands,
        load_task=read.task,
    )
    with _open_engine(engine, file, read) as source:
        for warning in getattr(source, "warnings", []):
            note(warning)
        try:
            found = analyze_source(source, task=spec, progress=progress, **settings(), **load)
        except DataError as exc:  # as the pandas engine: the load's notes, then the error
            progress.close()
            for warning in getattr(exc, "load_warnings", ()):
                note(warning)
            raise
        wanted = replace(
            found.task,
            threshold=read.threshold,
            tolerance=read.tolerance,
            normalization=_spec(found.task.kind, read).normalization,
        )
        if spec is None and wanted != found.task:  # --keep-case, --tolerance: count again
            found = analyze_source(source, task=wanted, progress=progress, **settings(), **load)
    progress.close()
    for warning in found.warnings:
        note(warning)
    _scope_notes(found.table)
    classes = compute_class_results(task=found.task.kind, pairs=found.pairs)
    return found.table, found.source_name, found.task, classes


def _spec(kind: str | None, read: ReadOptions) -> TaskSpec:
    """Return the task of ``kind`` with the task options of ``read`` (:func:`task_spec`)."""
    return task_spec(
        None, kind, read.positive, read.threshold, read.tolerance, read.keep_case,
        read.keep_punctuation,
    )  # fmt: skip


def _open_engine(engine: str, file: Path, read: ReadOptions) -> Any:
    """Open FILE on ``engine`` as a :class:`core.batches.source.BatchSource` (a context)."""
    if engine == "spark":
        try:
            from slicewise.core.engine_spark import open_source as open_spark
        except ImportError as exc:
            raise DataError(
                f"--engine spark cannot start ({exc}); install pyspark and Java 17, or use "
                "--engine stream or pandas"
            ) from None
        return open_spark(str(file), sep=read.sep, master=None)
    from slicewise.core.engine_stream import open_source

    return open_source(file, sep=read.sep, encoding=read.encoding)


def _engine_can_run(engine: str, read: ReadOptions, baselines: BaselineOptions) -> bool:
    """Whether ``engine`` honours every option given (:func:`_check_engine_options`)."""
    try:
        _check_engine_options(engine, read, baselines)
    except DataError:
        return False
    return True


def _check_engine_options(engine: str, read: ReadOptions, baselines: BaselineOptions) -> None:
    """Refuse the options ``engine`` cannot honour, in one line saying what to use instead."""
    if read.sheet is not None:
        raise DataError(
            f"--engine {engine} reads CSV/TSV and Parquet; use --engine pandas for --sheet"
        )
    if engine == "spark" and read.encoding:
        encoding = read.encoding.lower().replace("_", "-")
        if encoding not in ("utf-8", "utf8", "utf-8-sig"):
            raise DataError(
                f"--engine spark reads UTF-8; use --engine pandas for --encoding {read.encoding}"
            )
    for option, value in (
        ("--annotations", baselines.annotations),
        ("--baseline-predictions", baselines.baseline_predictions),
    ):
        if value is not None:
            raise DataError(f"--engine {engine} reads one file; use --engine pandas for {option}")


def _baseline_choice(
    mapping: ColumnMapping, options: BaselineOptions
) -> tuple[ColumnMapping, Baseline | None]:
    """Read ``analyze``'s baseline options: the roles to load and the baseline (None: HLP).

    One baseline at most: a target, an older system's file or column, or HLP (from
    --human-accuracy or --annotations, taking precedence over --human). See
    :mod:`core.baselines`.
    """
    human_accuracy, human_majority = options.human_accuracy, options.human_majority
    annotations, target = options.annotations, options.target
    baseline_predictions = options.baseline_predictions
    baseline_prediction = options.baseline_prediction
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
        if value is not None and role(str(value)) != NO_COLUMN
    ]
    if given and wants_hlp:
        raise DataError(f"{given[0]} is the baseline instead of HLP; leave out {wants_hlp[0]}")
    kind = None if human_majority is None else "majority" if human_majority else "single"
    mapping = replace(mapping, human_accuracy=role(human_accuracy), human_kind=kind)
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
    dataset: Dataset, mapping: ColumnMapping, read: ReadOptions, options: BaselineOptions
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
    if options.annotations is not None:
        votes = _load_votes(options.annotations, options.annotation_columns, read)
        values, found = human_accuracy_from_annotations(votes, dataset)
        notes += [*votes.warnings, *found]
        dataset = with_human_accuracy(dataset, values)
    if options.baseline_predictions is not None:
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
            options.baseline_predictions,
            older_mapping,
            encoding=read.encoding,
            sep=read.sep,
            missing=read.missing,
            na_values=parse_na_values(read.na_values),
            decimal=read.decimal,
            thousands=read.thousands,
            task=read.task,
        )
        notes += older.warnings
        dataset, found = with_older_system(dataset, older)
        notes += found
    for text in notes:
        note(text)
    return dataset


def _load_votes(annotations: Path, annotation_columns: str | None, read: ReadOptions) -> Any:
    """Load the --annotations file, its columns as --annotation-columns names them."""
    from slicewise.core.agreement import load_annotations

    names = [c.strip() or None for c in (annotation_columns or "").split(",")]
    if annotation_columns is not None and len(names) != 3:
        raise DataError(
            f"--annotation-columns {annotation_columns!r}: write "
            "ITEM,ANNOTATOR,LABEL (leave one blank to detect it)"
        )
    item, annotator, label = names if annotation_columns is not None else (None,) * 3
    return load_annotations(
        annotations,
        encoding=read.encoding,
        sep=read.sep,
        item=item,
        annotator=annotator,
        label=label,
    )


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
        note(
            f"{names} only tag errors, so they are read as filled on "
            "errors only: their share of errors and ceiling (max_gain) are shown, not an "
            "accuracy; pass --tag-scope all if correct examples were reviewed too"
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
        note(
            f"every example carrying {names} is an error, so its "
            "accuracy reads 0%; if only errors were reviewed for it, pass --tag-scope "
            f"'{first}=errors'"
        )
