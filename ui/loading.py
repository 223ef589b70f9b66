"""Helpers of the *Load data* page: read an upload once, detect roles, build and save a dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from slicewise.core.analysis import file_tag_scopes
from slicewise.core.dataset import (
    NO_COLUMN,
    ColumnMapping,
    Dataset,
    detect_mapping,
    prepare,
    read_table,
)
from slicewise.core.errors import (
    DataError,
    DiskFull,
    InvalidValueError,
    PermissionDenied,
    StoreError,
    StoreReadOnly,
)
from slicewise.core.metrics import compute_outcomes
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec, TextNormalization, infer_task_kind

NONE = "(none)"
TAG_SOURCES = ("Boolean columns", "One delimited column", "None yet", "Both")
DELIMITERS = {"detect": None, "; (semicolon)": ";", "| (pipe)": "|"}
#: Extensions the upload widgets accept; the content decides how a file is read (a .gz,
#: .bz2 or .zip holds one CSV, TSV or Parquet file; see core.formats).
DECIMAL_MARKS = {"detect": None, ". (dot)": ".", ", (comma)": ","}
THOUSANDS_SEPARATORS = {
    "detect": None,
    ", (comma)": ",",
    ". (dot)": ".",
    "space": " ",
    "' (apostrophe)": "'",
}
UPLOAD_TYPES = ["csv", "tsv", "txt", "tab", "parquet", "pq", "xlsx", "gz", "bz2", "zip"]


def upload_limit_mb() -> int:
    """Return the server's upload limit in MB (``server.maxUploadSize``, .streamlit/config.toml)."""
    return int(st.get_option("server.maxUploadSize"))


def check_upload_size(name: str, size: int) -> None:
    """Refuse a file over the upload limit (the browser enforces it too, but not every client).

    Raises
    ------
    DataError
        Naming the file, its size, the limit and the ways around it.
    """
    limit = upload_limit_mb()
    if size > limit * 1024 * 1024:
        raise DataError(
            f"{name}: is {size / 2**20:,.1f} MB, over the upload limit of {limit} MB; "
            f"save it as Parquet (smaller), or analyse it with `slicewise analyze "
            f"{name}`"
        )


def read_upload(name: str, data: bytes) -> tuple[pd.DataFrame, str, list[str]]:
    """Read an uploaded file: its table (rows × columns, text cells), hash and warnings.

    Not cached here: the caller keeps the one file of its session (:mod:`ui.load_form`), as
    ``st.cache_data`` would pickle the table once and unpickle a copy on every run (for 5M
    rows, 9 s and 1.2 GB to store it, 3 s per rerun).

    Raises
    ------
    DataError
        The file is over the upload limit (:func:`check_upload_size`) or cannot be read
        (:func:`core.dataset.read_table`).
    """
    check_upload_size(name, len(data))
    return read_table(data, name=name)


@st.cache_data(max_entries=4, show_spinner=False)
def detected_mapping(file_id: str, *, _df: pd.DataFrame) -> ColumnMapping:
    """Roles detected from the column names and values (never raises)."""
    return detect_mapping(_df)


@st.cache_data(max_entries=8, show_spinner=False)
def guess_task(file_id: str, label: str, *, _df: pd.DataFrame) -> str:
    """Return the task kind guessed from the label column."""
    return infer_task_kind(_df[label])


@st.cache_data(max_entries=8, show_spinner=False)
def class_options(file_id: str, column: str, *, _df: pd.DataFrame, limit: int = 200) -> list[str]:
    """Distinct values of a column as text, most frequent first (for the positive class)."""
    counts = _df[column].dropna().astype(str).str.strip().value_counts()
    return counts.index[:limit].tolist()


def role_index(options: list[str], detected: str | None) -> int | None:
    """Index of the detected column among ``options`` (``None``: nothing pre-selected)."""
    return options.index(detected) if detected in options else None


def optional(value: str | None) -> str | None:
    """``(none)`` -> ``None``."""
    return None if value in (None, NONE) else value


@dataclass(frozen=True)
class LoadOptions:
    """Everything the user chose on the *Load data* form."""

    label: str | None
    prediction: str | None
    id: str | None = None
    human: str | None = None
    score: str | None = None
    tag_source: str = TAG_SOURCES[2]
    tag_columns: tuple[str, ...] = ()
    tags_column: str | None = None
    tag_delimiter: str | None = None
    kind: str = "classification"
    positive: str | None = None
    threshold: float | None = None
    tolerance: float | None = None
    lowercase: bool = True
    strip_punctuation: bool = True
    collapse_whitespace: bool = True
    drop_missing: bool = False
    na_values: tuple[str, ...] = ()
    decimal: str | None = None
    thousands: str | None = None
    human_accuracy: str | None = None
    human_majority: bool = False

    def mapping(self) -> ColumnMapping:
        """Return the column mapping; unset label/prediction are left for core to detect.

        Optional roles left at ``(none)`` are switched off (never detected behind the
        user's back). ``human_majority`` marks the human label as a majority of several
        people (an upper bound on one person's HLP, see :mod:`core.baselines`).
        """
        tag_columns: tuple[str, ...] = ()
        tags_column = None
        if self.tag_source in (TAG_SOURCES[0], TAG_SOURCES[3]):
            tag_columns = tuple(self.tag_columns)
        if self.tag_source in (TAG_SOURCES[1], TAG_SOURCES[3]):
            tags_column = self.tags_column

        def off(value: str | None) -> str:
            return NO_COLUMN if value is None else value

        kind = None if self.human is None else "majority" if self.human_majority else "single"
        return ColumnMapping(
            label=self.label,
            prediction=self.prediction,
            id=off(self.id),
            human=off(self.human),
            score=off(self.score),
            tag_columns=tag_columns,
            tags_column=tags_column,
            tag_delimiter=self.tag_delimiter,
            human_accuracy=off(self.human_accuracy),
            human_kind=kind,
        )

    def task(self) -> TaskSpec:
        """Return the task spec."""
        norm = TextNormalization(
            lowercase=self.lowercase,
            strip_punctuation=self.strip_punctuation,
            collapse_whitespace=self.collapse_whitespace,
        )
        return TaskSpec(
            kind=self.kind,  # type: ignore[arg-type]
            positive=self.positive if self.kind == "binary" else None,
            threshold=self.threshold,
            tolerance=self.tolerance,
            normalization=norm,
        )


def build_dataset(
    df: pd.DataFrame,
    options: LoadOptions,
    *,
    source_name: str,
    content_hash: str,
    warnings: list[str],
) -> Dataset:
    """Validate the table with the chosen mapping and check the task fits the labels.

    Raises
    ------
    DataError
        Any problem with the table or options, naming the file, column and rows.
    """
    if options.tag_source in (TAG_SOURCES[1], TAG_SOURCES[3]) and not options.tags_column:
        raise InvalidValueError(
            f"{source_name}: choose the column that holds the tags, or pick another tag source"
        )
    if options.kind == "binary" and not options.positive:
        raise InvalidValueError(f"{source_name}: a binary task needs a positive class")
    dataset = prepare(
        df,
        options.mapping(),
        source_name=source_name,
        content_hash=content_hash,
        missing="drop" if options.drop_missing else "fail",
        positive=options.positive,
        threshold=options.threshold,
        warnings=warnings,
        na_values=options.na_values,
        decimal=options.decimal,
        thousands=options.thousands,
        task=options.kind,
    )
    if options.kind != "text":  # task errors, early (on every row: a rare positive class
        # may first occur after any row); text has none to raise and costs a word alignment
        compute_outcomes(dataset.frame, options.task(), source=source_name)
    return dataset


def save(
    store: Store,
    dataset: Dataset,
    options: LoadOptions,
    *,
    project: str,
    name: str,
    user: str,
    on_step: Callable[[str], None] | None = None,
) -> int:
    """Store the dataset in the project named ``project`` (created if needed); return its id.

    ``on_step`` is told what is done next (a label), for the progress shown.

    Raises
    ------
    InvalidValueError
        The project or dataset name is blank.
    StoreError
        The project already has a dataset of that name (the message names both).

    Everything is checked before the project is created, so a refused save leaves nothing
    behind.
    """
    source = dataset.source_name
    project, name = str(project).strip(), str(name).strip()
    if not project:
        raise InvalidValueError(f"{source}: give the project a name")
    if not name:
        raise InvalidValueError(f"{source}: give the dataset a name")
    if dataset_named(store, project, name) is not None:
        raise StoreError(
            f"{source}: the project {project!r} already has a dataset named "
            f"{name!r}; choose another dataset name (or another project)"
        )
    task = options.task()
    step = on_step or (lambda label: None)
    # Where each file tag is known (a blank-for-no column only errors carry: on errors only),
    # stored so that the app reads the tags as `slicewise analyze` does.
    step("Finding where the file's tags are known (on every example, or on errors only)")
    scopes = file_tag_scopes(dataset, task)
    step(f"Writing {dataset.n:,} examples and {dataset.tags.shape[1]} tags to the store")
    project_id = store.get_or_create_project(project, user=user)
    return store.save_dataset(project_id, name, dataset, task=task, user=user, tag_scopes=scopes)


def save_failure_label(exc: DataError) -> str:
    """Return the status label of a failed check-and-save, by whose fault it failed.

    A full disk (:class:`core.errors.DiskFull`) or a read-only or damaged store
    (:class:`core.errors.StoreReadOnly`) is no fault of the file: nothing was saved, and the
    message (shown under the status) says what to do. Nor is a name taken meanwhile
    (:class:`core.errors.StoreError`) or a role that does not allow it
    (:class:`core.errors.PermissionDenied`).
    """
    if isinstance(exc, (DiskFull, StoreReadOnly)):
        return "Nothing was saved: the store cannot take it now"
    if isinstance(exc, (StoreError, PermissionDenied)):
        return "Nothing was saved"
    return "The file needs a fix before it can be saved"


def dataset_named(store: Store, project: str, name: str) -> int | None:
    """Return the id of the dataset called ``name`` in the project called ``project``, if any."""
    projects = store.list_projects()
    match = projects.loc[projects["name"] == project.strip(), "id"]
    if match.empty:
        return None
    datasets = store.list_datasets(int(match.iloc[0]))
    found = datasets.loc[datasets["name"] == name.strip(), "id"]
    return int(found.iloc[0]) if len(found) else None


def without_roles(columns: list[str], roles: Iterable[str | None]) -> list[str]:
    """Return ``columns`` less those given a role (label, prediction, id…): never tags too."""
    taken = {r for r in roles if r}
    return [c for c in columns if c not in taken]


def default_name(file_name: str) -> str:
    """Return a dataset name for a file name: its stem (``preds`` for ``preds.csv.gz`` too)."""
    path = Path(file_name)
    if path.suffix.lower() in (".gz", ".gzip", ".bz2", ".zip"):
        path = Path(path.stem)
    return path.stem or "dataset"


def project_named(store: Store, name: str) -> int | None:
    """Return the id of the project called ``name`` (surrounding spaces ignored), if any."""
    projects = store.list_projects()
    match = projects.loc[projects["name"] == name.strip(), "id"]
    return int(match.iloc[0]) if len(match) else None


def demo_datasets(store: Store, project_name: str) -> pd.DataFrame:
    """Return the demo project's datasets (empty when it does not exist yet)."""
    projects = store.list_projects()
    match = projects[projects["name"] == project_name]
    if match.empty:
        return store.list_datasets().iloc[0:0]
    return store.list_datasets(int(match["id"].iloc[0]))


def with_project_names(datasets: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """Return the saved-datasets table with the project's name instead of its id."""
    names = dict(zip(projects["id"], projects["name"], strict=False))
    out = datasets.copy()
    out.insert(1, "project", out["project_id"].map(names))
    return out.drop(columns=["project_id", "content_hash"])


def run_steps(steps: list[tuple[str, Callable[[], object]]], status: object) -> list[object]:
    """Run labelled steps inside an ``st.status``, writing each label before it runs."""
    results = []
    for label, step in steps:
        status.write(label)  # type: ignore[attr-defined]
        results.append(step())
    return results
