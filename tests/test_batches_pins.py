"""A batch prepared with the plan's pins reads as the whole table does (core.batches.pins).

The files are built so that a chunk alone would decide otherwise than the whole table: a
number format only the last rows show, a class spelling most frequent overall but absent
from the first chunk, a whole-number column with a gap in its last row, a tag only the
last row lists, a tag column whose "no" appears only at the end. Expected values come
from an independent path: :func:`core.dataset.prepare` on the whole table (the pandas
engine), plus a few cells worked by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.batches.frame_source import FrameSource
from slicewise.core.batches.pins import prepare_pinned
from slicewise.core.batches.plan import batch_numbering, build_plan
from slicewise.core.dataset import prepare
from slicewise.core.reading import read_table

CHUNKS = [(1, False), (7, False), (7, True), (1000, True)]


def _formats_and_spellings() -> pd.DataFrame:
    """21 rows; chunks of 7 spell "1" as "1.0" and "2" as "2" first, "1" and "2.0" overall."""
    n = 21
    return pd.DataFrame(
        {
            "label": ["1.0"] * 4 + ["1", "2", "2"] + ["1"] * 7 + ["2", "1", "1", "2"]
            + ["1", "2.0", "1"],
            "prediction": ["1.0"] * 3 + ["1", "2", "2", "1.0"] + ["2.0"] * 7 + ["2", "1"] * 3
            + ["1"],
            "human_label": ["1.0"] * 7 + ["1"] * 7 + ["2.0"] * 7,
            "score": [str(i % 2) for i in range(20)] + ["0,5"],  # a decimal comma at the end
            "weight": [str(i) for i in range(20)] + ["1,5"],
            "count": [str(i) for i in range(n)],  # whole numbers throughout: int64
            "visits": [str(i) for i in range(20)] + [""],  # a gap at the end: float64
            "region": [" north", "south ", "east"] * 7,
        }
    )  # fmt: skip


def _tag_columns() -> pd.DataFrame:
    """12 rows: ``occluded`` writes "no" only in row 10; ``human_accuracy`` "0,5" in row 11."""
    return pd.DataFrame(
        {
            "label": ["a", "b"] * 6,
            "prediction": ["a", "a", "b"] * 4,
            "human_accuracy": ["1"] * 11 + ["0,5"],
            "occluded": ["yes", ""] * 5 + ["no", "yes"],
            "blurry": ["x", ""] * 6,
        }
    )


def _tags_column() -> pd.DataFrame:
    """10 rows: the tags column lists ``c`` only in the last row, a missing label in row 4."""
    return pd.DataFrame(
        {
            "label": ["cat", "dog", "cat", "dog", "", "cat", "dog", "cat", "dog", "cat"],
            "prediction": ["cat", "cat", "dog", "dog", "cat", "cat", "dog", "cat", "cat", "dog"],
            "tags": ["a", "", "a|b", "b", "a", "", "b", "a", "", "c|a"],
            "size": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10,25"],
        }
    )


FILES = {
    "formats_and_spellings": (_formats_and_spellings, {}, ["weight", "count", "visits", "region"]),
    "tag_columns": (_tag_columns, {}, []),
    "tags_column": (_tags_column, {"missing": "drop"}, ["size"]),
}


def _same_column(got: pd.Series, expected: pd.Series) -> None:
    """Equal cells, and the same type: numbers and flags exactly, text as text."""
    name = got.name
    numeric = pd.api.types.is_numeric_dtype(expected) or pd.api.types.is_bool_dtype(expected)
    if numeric:
        assert got.dtype == expected.dtype, (name, got.dtype, expected.dtype)
    else:
        assert not pd.api.types.is_numeric_dtype(got), (name, got.dtype)
    a = got.astype(object).where(got.notna(), None).tolist()
    b = expected.astype(object).where(expected.notna(), None).tolist()
    assert a == b, name


def _batches_against_whole(tmp_path, file: str, chunk: int, group: bool):
    """Yield each batch's pinned dataset with the whole table's matching rows."""
    make, load, slice_by = FILES[file]
    path = tmp_path / f"{file}.csv"
    make().to_csv(path, index=False)
    raw = read_table(path)[0]
    whole = prepare(raw, source_name=path.name, **load)
    source = FrameSource(raw, path.name, chunk_rows=chunk, group=group)
    plan = build_plan(source, slice_by=slice_by, **load)
    at = pd.Index(whole.frame["id"])  # no id column: the id is the row's position
    for batch in source.batches(plan.columns, group=True):
        got, _ = prepare_pinned(batch.rows, **plan.load, numbering=batch_numbering(source, batch))
        positions = np.asarray(batch.first_rows)[got.frame["id"].to_numpy(dtype=np.int64)]
        where = at.get_indexer(positions)
        assert (where >= 0).all()  # a row the batch keeps, the whole table keeps
        yield batch, got, whole, where, plan


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
@pytest.mark.parametrize("file", list(FILES))
def test_a_pinned_batch_is_the_whole_tables_rows(tmp_path, file, chunk, group):
    kept: list[int] = []
    for batch, got, whole, where, _ in _batches_against_whole(tmp_path, file, chunk, group):
        expected = whole.frame.iloc[where].reset_index(drop=True)
        assert [c for c in got.frame.columns if c not in expected.columns] == []
        for c in got.frame.columns:
            if c != "id":
                _same_column(got.frame[c].reset_index(drop=True), expected[c])
        expected_tags = whole.tags.iloc[where].reset_index(drop=True)
        pd.testing.assert_frame_equal(got.tags.reset_index(drop=True), expected_tags)
        weights = np.ones(len(batch.rows)) if batch.weights is None else batch.weights
        for i, w in zip(got.frame["id"], weights[got.frame["id"]], strict=True):
            kept += [int(batch.first_rows[i])] * int(w)
    # Every kept row of the table is counted once (grouped rows with their weights).
    assert len(kept) == len(whole.frame)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_spellings_formats_and_gaps_by_hand(tmp_path, chunk, group):
    frames = [
        (batch, got.frame)
        for batch, got, *_ in _batches_against_whole(
            tmp_path, "formats_and_spellings", chunk, group
        )
    ]
    frame = pd.concat(
        [f.assign(id=np.asarray(b.first_rows)[f["id"]]) for b, f in frames], ignore_index=True
    ).drop_duplicates("id")
    frame = frame.set_index("id").sort_index()
    # By hand: "1" (24 cells) outnumbers "1.0" (15), "2.0" (15) outnumbers "2" (9), though
    # rows 0-6 alone hold "1.0" 15 times and "1" twice, and no "2.0".
    assert set(frame["label"]) | set(frame["prediction"]) | set(frame["human"]) == {"1", "2.0"}
    assert frame.loc[0, "label"] == "1" and frame.loc[5, "label"] == "2.0"
    assert frame.loc[20, "score"] == 0.5 and frame.loc[3, "score"] == 1.0
    assert frame.loc[20, "weight"] == 1.5 and frame.loc[19, "weight"] == 19.0
    assert frame["count"].dtype == np.int64 and frame.loc[20, "count"] == 20
    assert frame["visits"].dtype == np.float64 and np.isnan(frame.loc[20, "visits"])
    assert frame.loc[0, "region"] == "north" and frame.loc[1, "region"] == "south"


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_tags_of_the_whole_table_in_every_batch(tmp_path, chunk, group):
    for _, got, whole, _, plan in _batches_against_whole(tmp_path, "tags_column", chunk, group):
        # By hand: the tags column lists a, b and c (c only in the last row), sorted.
        assert list(got.tags.columns) == ["a", "b", "c"] == list(whole.tags.columns)
        assert plan.blank_tags == whole.blank_tags
    for _, got, whole, _, plan in _batches_against_whole(tmp_path, "tag_columns", chunk, group):
        assert list(got.tags.columns) == ["occluded", "blurry"] == list(whole.tags.columns)
        # By hand: blurry writes no "no" (its blank cells say no); occluded does in row 10.
        assert plan.blank_tags == ("blurry",) == whole.blank_tags


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_human_accuracy_read_in_the_whole_columns_format(tmp_path, chunk, group):
    values = {}
    for batch, got, *_ in _batches_against_whole(tmp_path, "tag_columns", chunk, group):
        for i, v in zip(got.frame["id"], got.frame["human_accuracy"], strict=True):
            values[int(batch.first_rows[i])] = v
    # By hand: "1" everywhere but "0,5" in the last row (a decimal comma).
    assert 11 in values and values == {p: 0.5 if p == 11 else 1.0 for p in values}
