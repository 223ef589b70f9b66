"""Options shared by the commands, and the steps every command takes to read and write.

Commands that read a predictions file take its reading options as one
:class:`ReadOptions` (``@prediction_options`` adds them and packs them); commands that read
files their own way take the cell options as one :class:`ValueOptions`
(``@packed_value_options``); the other groups of options that belong together are packed the
same way (:func:`packed`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import pandas as pd

from slicewise.core.dataset import NO_COLUMN, ColumnMapping, Dataset, load_dataset
from slicewise.core.errors import DataError
from slicewise.core.task import TASK_KINDS, TaskSpec, TextNormalization, infer_task_kind
from slicewise.core.values import parse_na_values


@dataclasses.dataclass(frozen=True)
class ValueOptions:
    """Which cells are missing and how numbers are written: the options ``@value_options`` adds.

    ``na_values`` is the ``--na-values`` text as given (comma-separated tokens, ``common``),
    ``decimal`` and ``thousands`` the marks, each None when not given.
    """

    na_values: str | None = None
    decimal: str | None = None
    thousands: str | None = None

    def reading(self) -> dict[str, Any]:
        """Return ``na_values`` (parsed), ``decimal`` and ``thousands`` as keyword arguments.

        The form :func:`core.dataset.load_dataset` takes them in; ``na_values`` becomes a
        tuple of tokens (:func:`core.values.parse_na_values`: ``()`` when not given).

        Examples
        --------
        >>> ValueOptions("NA, common", ",").reading()["decimal"]
        ','
        """
        return {
            "na_values": parse_na_values(self.na_values),
            "decimal": self.decimal,
            "thousands": self.thousands,
        }


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How to read a predictions file: the options ``@prediction_options`` adds.

    Role columns (``label``, ``prediction``, ``id_col``, ``score``) are names in the file,
    None to detect them; the rest as :func:`core.dataset.load_dataset` and
    :class:`core.task.TaskSpec` take them.
    """

    label: str | None = None
    prediction: str | None = None
    id_col: str | None = None
    score: str | None = None
    threshold: float | None = None
    task: str | None = None
    positive: str | None = None
    tolerance: float | None = None
    keep_case: bool = False
    keep_punctuation: bool = False
    encoding: str | None = None
    sep: str | None = None
    sheet: str | None = None
    drop_missing: bool = False
    na_values: str | None = None
    decimal: str | None = None
    thousands: str | None = None

    @property
    def missing(self) -> str:
        """``drop`` with ``--drop-missing``, else ``fail`` (:func:`core.dataset.load_dataset`)."""
        return "drop" if self.drop_missing else "fail"

    @property
    def values(self) -> ValueOptions:
        """The cell options (``--na-values``, ``--decimal``, ``--thousands``) alone."""
        return ValueOptions(self.na_values, self.decimal, self.thousands)


def packed(cls: type, name: str) -> Callable[[Callable], Callable]:
    """Pack the command's keyword arguments named as ``cls``'s fields into one ``cls``.

    The decorated command receives ``name=cls(...)`` instead of those arguments; the click
    options that give them are declared as usual (below or above this decorator).
    """
    fields = [f.name for f in dataclasses.fields(cls)]

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)  # keeps the docstring (help) and the click parameters
        def unpacked(**kwargs: Any) -> Any:
            given = {f: kwargs.pop(f) for f in fields if f in kwargs}
            return command(**{name: cls(**given)}, **kwargs)

        return unpacked

    return decorate


def _add(command: Callable, options: Sequence[Callable]) -> Callable:
    for option in reversed(options):
        command = option(command)
    return command


def prediction_options(command: Callable) -> Callable:
    """Add the options that say how to read a predictions file, packed as ``read``."""
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
            help="Sheet of an .xlsx workbook to read (default: the first visible).",
        ),
        click.option(
            "--drop-missing",
            is_flag=True,
            help="Drop rows with a missing label or prediction instead of failing.",
        ),
    ]
    return value_options(_add(packed(ReadOptions, "read")(command), options))


def value_options(command: Callable) -> Callable:
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
    return _add(command, options)


def packed_value_options(command: Callable) -> Callable:
    """Add :func:`value_options`, packed as ``values`` (a :class:`ValueOptions`)."""
    return value_options(packed(ValueOptions, "values")(command))


def max_slices_option(command: Callable) -> Callable:
    """Add ``--max-slices``: the cap on the slices of the --slice-by columns (core.limits)."""
    return click.option(
        "--max-slices",
        type=click.IntRange(min=1),
        metavar="N",
        help="Most slices the --slice-by columns may make together; a column with more "
        "values is refused before anything is built (default: $SLICEWISE_MAX_SLICES or "
        "1000).",
    )(command)


#: ``--engine`` choices: ``duckdb`` is the old name of ``stream`` (kept as an alias).
ENGINES = ("auto", "pandas", "stream", "spark", "duckdb")
#: ``--engine auto`` streams a file whose table would take more than this share of the
#: memory available now (the pandas engine holds about :data:`PANDAS_BYTES_PER_FILE_BYTE`
#: bytes of memory per byte of file).
AUTO_MEMORY_SHARE = 0.5
#: Memory the pandas engine holds per byte of file, by kind (measured: ~390 MB per million
#: rows, a 74 MB CSV or a 13 MB Parquet file of the benchmarks' data).
PANDAS_BYTES_PER_FILE_BYTE = {"csv": 6, "gzip": 25, "parquet": 30}


def engine_option(command: Callable) -> Callable:
    """Add ``--engine``: where the counting runs (pandas, stream, spark, or auto)."""
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="auto",
        show_default=True,
        help="pandas: read the file into memory (every format and encoding). stream: "
        "DuckDB streams a CSV/TSV (gzip too) or Parquet file in bounded memory, for "
        "files larger than memory (duckdb is its old name). spark: count on Spark "
        "(SLICEWISE_SPARK_MASTER, SPARK_REMOTE; FILE may be a folder, a URL or a table "
        "name). auto: stream when a CSV/TSV/Parquet file's table would take more than "
        f"{AUTO_MEMORY_SHARE:.0%} of the memory available now (about "
        f"{PANDAS_BYTES_PER_FILE_BYTE['csv']}x a CSV's size, "
        f"{PANDAS_BYTES_PER_FILE_BYTE['parquet']}x a Parquet file's), else pandas. "
        "Every engine gives the same table.",
    )(command)


def choose_engine(engine: str, file: Path) -> str:
    """Return the engine that runs: ``pandas``, ``stream`` or ``spark``.

    ``duckdb`` is ``stream``; ``auto`` is ``stream`` for a CSV/TSV (gzip too) or Parquet file
    whose pandas table would outgrow :data:`AUTO_MEMORY_SHARE` of the available memory
    (:func:`available_memory`), else ``pandas`` (which reads every format and encoding).
    """
    if engine == "duckdb":
        return "stream"
    if engine != "auto":
        return engine
    kind = _file_kind(file)
    available = available_memory()
    if kind is None or available is None:
        return "pandas"
    need = file.stat().st_size * PANDAS_BYTES_PER_FILE_BYTE[kind]
    return "stream" if need > AUTO_MEMORY_SHARE * available else "pandas"


def _file_kind(file: Path) -> str | None:
    """``csv``, ``gzip`` or ``parquet`` from the file's first bytes; ``None`` otherwise."""
    try:
        with file.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return None  # the pandas engine says why
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:2] in (b"PK", b"BZ") or not file.is_file():
        return None
    return "csv"


def available_memory() -> int | None:
    """Return the memory available now (bytes), from ``/proc/meminfo``; ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def output_option(command: Callable) -> Callable:
    """Add ``--output``/``-o``: write to a file instead of standard output."""
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write to this file instead of standard output.",
    )(command)


def db_option(command: Callable) -> Callable:
    """Add ``--db``: the store's database file (default: ``$SLICEWISE_DB``)."""
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SLICEWISE_DB",
        help="Database file (default: $SLICEWISE_DB or ~/.slicewise/slicewise.db).",
    )(command)


def pairs(values: Sequence[str], option: str, *, percent: bool) -> dict[str, float]:
    """Read ``NAME=VALUE`` options (``--hlp``, ``--importance``, ``--ease``) into a dict.

    ``percent``: the values are fractions in [0, 1] or percents (``93%``). Raises
    :class:`core.errors.DataError` naming the option for a malformed or out-of-range item.
    """
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


def examples(n: int) -> str:
    """``1 example``, ``1,200 examples``."""
    return f"{n:,} example" + ("" if n == 1 else "s")


def check_row_names(table: pd.DataFrame, given: dict[str, dict[str, float]]) -> None:
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


def role(value: str | None) -> str | None:
    """Turn a role option of ``none`` (any case) into :data:`NO_COLUMN` (role off)."""
    return NO_COLUMN if value is not None and value.strip().lower() == "none" else value


def note(text: str) -> None:
    """Print ``slicewise: note: TEXT`` on standard error."""
    click.echo(f"slicewise: note: {text}", err=True)


def read_mapping(read: ReadOptions, **roles: Any) -> ColumnMapping:
    """Return the column mapping of ``read``'s roles (``none`` turns one off), plus ``roles``."""
    return ColumnMapping(
        label=read.label,
        prediction=read.prediction,
        id=role(read.id_col),
        score=role(read.score),
        **roles,
    )


def load_predictions(
    file: Path, mapping: ColumnMapping, read: ReadOptions
) -> tuple[Dataset, TaskSpec]:
    """Load FILE with the shared options, print its warnings, and build the task.

    Raises
    ------
    core.errors.DataError
        The file cannot be read or its roles are missing or invalid
        (:func:`core.dataset.load_dataset`).
    """
    dataset = load_dataset(
        file,
        mapping,
        encoding=read.encoding,
        sep=read.sep,
        sheet=read.sheet,
        missing=read.missing,
        positive=read.positive,
        threshold=read.threshold,
        task=read.task,
        **read.values.reading(),
    )
    for warning in dataset.warnings:
        note(warning)
    spec = task_spec(
        dataset,
        read.task,
        read.positive,
        read.threshold,
        read.tolerance,
        read.keep_case,
        read.keep_punctuation,
    )
    return dataset, spec


def task_spec(
    dataset: Dataset | None,
    kind: str | None,
    positive: str | None,
    threshold: float | None,
    tolerance: float | None,
    keep_case: bool,
    keep_punctuation: bool,
) -> TaskSpec:
    """Build the task: ``kind``, else binary with a ``positive``, else inferred from labels."""
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


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output``, or to standard output when none is given."""
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
