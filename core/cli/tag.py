"""``slicewise tag``: tag the examples a rule matches, in a file or in a stored dataset."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np
import pandas as pd

from slicewise.core.analysis import correct_mask
from slicewise.core.cli.group import main
from slicewise.core.cli.options import (
    ReadOptions,
    emit,
    load_predictions,
    prediction_options,
    read_mapping,
)
from slicewise.core.dataset import Dataset, read_table
from slicewise.core.errors import DataError
from slicewise.core.jsonable import dumps_json
from slicewise.core.report import to_data_csv
from slicewise.core.rules import MISSING_OPERATORS, Condition, describe_rule, rule_mask
from slicewise.core.task import TaskSpec

if TYPE_CHECKING:
    from slicewise.core.store import Store

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
@prediction_options
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
    read: ReadOptions,
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
        summary = _tag_file(file, read, conditions, tag_name, errors_only, output)
    _say_tagged(summary, fmt, errors_only, to_stderr=db is None and output is None)


def _tag_file(
    file: Path,
    read: ReadOptions,
    conditions: list[Condition],
    tag_name: str,
    errors_only: bool,
    output: Path | None,
) -> dict:
    """Write FILE's table with the tag column (exact values); return what was done."""
    raw, _, _ = read_table(file, encoding=read.encoding, sep=read.sep, sheet=read.sheet)
    name = file.name
    # Rules compare typed values (numbers, missing cells), read as `analyze` reads them:
    # the same reading options, the same value contract.
    dataset, spec = load_predictions(file, read_mapping(read, tag_columns=()), read)
    if len(dataset.frame) != len(raw):
        raise DataError(
            f"{name}: {len(raw) - len(dataset.frame):,} rows were left out "
            "while reading labels and predictions; tagging writes every row "
            "back, so fix those rows first"
        )
    hit = rule_mask(rule_frame(dataset), conditions, source=name)
    if errors_only:
        hit &= ~correct_mask(dataset.frame, spec, source=name)
        column = pd.Series(np.where(hit, "x", ""), index=raw.index)
    else:
        column = pd.Series(np.where(hit, "true", "false"), index=raw.index)
    if tag_name in raw.columns:
        raise DataError(f"{name} already has a column {tag_name!r}; choose another --tag")
    raw[tag_name] = column
    emit(to_data_csv(raw), output)  # a data file: exact values, not neutralised
    return {
        "file": name,
        "tag": tag_name,
        "rule": describe_rule(conditions),
        "errors_only": errors_only,
        "examples": len(raw),
        "tagged": int(hit.sum()),
    }


def _say_tagged(summary: dict, fmt: str, errors_only: bool, *, to_stderr: bool) -> None:
    """Report what was tagged: JSON (on stderr when the table went to stdout) or a line."""
    if fmt == "json":
        click.echo(dumps_json(summary), err=to_stderr)
        return
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
        did, name = _find_dataset(store, db, ref)
        dataset = store.load_dataset(did)
        if tag_file is not None:
            return _store_tag_file(store, did, name, dataset, tag_file, user)
        if not tag_name or not conditions:
            raise DataError("give --tag NAME and at least one --rule (or --tag-file)")
        hit = rule_mask(rule_frame(dataset), conditions, source=name)
        if errors_only:
            spec = store.dataset_info(did).get("task") or TaskSpec()
            hit &= ~correct_mask(dataset.frame, spec, source=name)
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


def _find_dataset(store: Store, db: Path, ref: str) -> tuple[int, str]:
    """Return the id and name of the one stored dataset ``ref`` names (id or name)."""
    datasets = store.list_datasets()
    match = datasets[(datasets["id"].astype(str) == ref) | (datasets["name"] == ref)]
    if len(match) != 1:
        known = ", ".join(
            f"{i} {n!r}" for i, n in list(zip(datasets["id"], datasets["name"], strict=True))[:8]
        )
        raise DataError(
            f"{db}: {'several datasets' if len(match) else 'no dataset'} "
            f"match {ref!r}; datasets: {known or 'none'} (use the id)"
        )
    return int(match["id"].iloc[0]), str(match["name"].iloc[0])


def _store_tag_file(
    store: Store, did: int, name: str, dataset: Dataset, tag_file: Path, user: str
) -> dict:
    """Store the hand tags a tag file lists (id, tag), all checked first; return what was done."""
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
