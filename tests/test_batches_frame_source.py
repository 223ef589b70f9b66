"""FrameSource, the reference BatchSource, answers as pandas does (core.batches.frame_source).

Expected values come from an independent path: the CSV file read with the ``csv`` module
(a blank cell missing) and worked by hand in plain Python, not from the source's code.
"""

from __future__ import annotations

import csv
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from slicewise.core.batches.frame_source import FrameSource
from slicewise.core.batches.source import BatchSource
from slicewise.core.reading import read_table

CHUNKS = [(1, False), (7, False), (7, True), (1000, True)]

# 11 data rows: repeated ids and rows, blank cells, a cell of spaces, NA as a value.
CSV = """id,label,prediction,note,city
r1,a,a,x,Oslo
r2,b,,x,Rome
r1,a,a,x,Oslo
r3,,a,"  ",Oslo
r2,b,,x,Rome
r4,a,a,,NA
r1,a,a,x,Oslo
r5,c,b,y,Rome
r6,a,a,x,Oslo
r7,b,b,,Lima
r2,b,,x,Rome
"""


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    with path.open(newline="") as f:
        lines = list(csv.reader(f))
    header, cells = lines[0], [[c if c != "" else None for c in row] for row in lines[1:]]
    return path, header, cells


def _source(path, chunk=1000, group=False):
    frame, _, warnings = read_table(path)
    return FrameSource(frame, path.name, chunk_rows=chunk, group=group, warnings=warnings)


def _cells(frame: pd.DataFrame) -> list[list]:
    """The frame's cells as Python values, missing as ``None``."""
    out = frame.astype(object).to_numpy().tolist()
    return [[None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in r]
            for r in out]  # fmt: skip


def test_it_is_a_batch_source_numbered_as_the_csv(table):
    path, header, cells = table
    source = _source(path)
    assert isinstance(source, BatchSource)
    assert source.columns == header and source.source_name == "t.csv"
    assert source.first_row_number == 2  # the header is line 1
    assert source.count_rows() == len(cells) == 11


@pytest.mark.parametrize("n", [0, 1, 4, 11, 50])
def test_head_is_the_first_rows_in_file_order(table, n):
    path, header, cells = table
    head = _source(path).head(n)
    assert list(head.columns) == header
    assert list(head.index) == list(range(min(n, 11)))
    assert _cells(head) == cells[:n]


@pytest.mark.parametrize("column", ["id", "label", "prediction", "note", "city"])
def test_value_counts_leave_out_missing_and_cap_distinct_values(table, column):
    path, header, cells = table
    j = header.index(column)
    expected = Counter(row[j] for row in cells if row[j] is not None)
    source = _source(path)
    at_limit = source.value_counts([column], limit=len(expected))[column]
    assert at_limit is not None and at_limit.dtype == np.int64
    assert dict(zip(at_limit.index.tolist(), at_limit.tolist(), strict=True)) == dict(expected)
    assert source.value_counts([column], limit=len(expected) - 1)[column] is None


def test_value_counts_answer_each_column_on_its_own(table):
    path, _, _ = table
    got = _source(path).value_counts(["label", "id"], limit=3)
    # By hand: label has a, b, c (3 values: kept); id has r1..r7 (7 values: over the limit).
    assert got["id"] is None
    assert got["label"].sort_index().to_dict() == {"a": 5, "b": 4, "c": 1}
    assert _source(path).value_counts([], limit=3) == {}


@pytest.mark.parametrize("column", ["id", "label", "prediction", "city"])
def test_repeated_values_with_their_first_positions(table, column):
    path, header, cells = table
    j = header.index(column)
    where: dict[str, list[int]] = {}
    for p, row in enumerate(cells):
        if row[j] is not None:
            where.setdefault(row[j], []).append(p)
    expected = {v: (len(ps), ps[:5]) for v, ps in where.items() if len(ps) > 1}
    got = _source(path).repeated(column, limit=100)
    assert list(got.columns) == ["value", "count", "first_rows"]
    found = {r.value: (int(r.count), list(r.first_rows)) for r in got.itertuples()}
    assert found == expected
    few = _source(path).repeated(column, limit=1)
    assert len(few) == min(1, len(expected))
    for r in few.itertuples():
        assert expected[r.value] == (int(r.count), list(r.first_rows))


def test_repeated_lists_five_positions_of_a_value_on_more_rows(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("k,v\n" + "".join(f"{'z' if i % 2 else i},{i}\n" for i in range(16)))
    got = _source(path).repeated("k")
    # By hand: "z" is on the odd rows 1, 3, ..., 15 (8 rows); every other value once.
    assert len(got) == 1 and got.loc[0, "value"] == "z" and int(got.loc[0, "count"]) == 8
    assert list(got.loc[0, "first_rows"]) == [1, 3, 5, 7, 9]
    assert len(_source(path).repeated("v")) == 0


@pytest.mark.parametrize(
    ("column", "count", "positions"),
    [
        ("id", 0, []),
        ("label", 1, [3]),  # a blank cell
        ("prediction", 3, [1, 4, 10]),
        ("note", 3, [3, 5, 9]),  # blank text ("  ", row 3) is missing too (the loader's rule)
        ("city", 0, []),  # "NA" is a value unless declared missing
    ],
)
@pytest.mark.parametrize("limit", [5, 2, 0])
def test_missing_counts_blank_cells_and_lists_the_first(table, column, count, positions, limit):
    path, _, _ = table
    assert _source(path).missing(column, limit) == (count, positions[:limit])


def test_missing_counts_empty_and_blank_text_of_a_frame(tmp_path):
    frame = pd.DataFrame({"c": pd.Series(["a", "", "  ", None, "b", "\t"], dtype=object)})
    # By hand: "", "  ", None and "\t" are missing (core.column_parsing.missing_mask's rule).
    assert FrameSource(frame).missing("c", 3) == (4, [1, 2, 3])


def _typed_frame() -> pd.DataFrame:
    """A frame as a Parquet file is read: numbers, missing numbers, text with None."""
    return pd.DataFrame(
        {
            "x": [1.0, np.nan, 1.0, np.nan, 2.0, 1.0, np.nan, 2.0, 1.0],
            "y": ["u", None, "u", None, "v", "u", None, "v", "w"],
            "n": [1, 2, 1, 2, 3, 1, 2, 3, 1],
        }
    )


def _expected_groups(rows: list[tuple], offset: int) -> tuple[list[tuple], list[int], list[int]]:
    """Distinct rows of a chunk in order of first sight, their counts and first positions."""
    first: dict[tuple, int] = {}
    count: Counter = Counter()
    for p, row in enumerate(rows):
        first.setdefault(row, offset + p)
        count[row] += 1
    order = list(first)
    return order, [count[r] for r in order], [first[r] for r in order]


def _all_frames(path):
    return {"csv": read_table(path)[0], "typed": _typed_frame()}


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
@pytest.mark.parametrize("kind", ["csv", "typed"])
def test_grouped_batches_merge_identical_rows_of_each_chunk(table, kind, chunk, group):
    path, _, _ = table
    frame = _all_frames(path)[kind]
    columns = list(frame.columns[:3])
    source = FrameSource(frame, "t", chunk_rows=chunk, group=group)
    every = [tuple(r) for r in _cells(frame[columns])]
    seen = 0
    for batch in source.batches(columns, group=True):
        assert list(batch.rows.columns) == columns
        assert list(batch.rows.index) == list(range(len(batch.rows)))
        chunk_rows = every[seen : seen + min(chunk, len(every) - seen)]
        got = [tuple(r) for r in _cells(batch.rows)]
        if group:  # identical rows (missing cells equal) once, weighted, first position kept
            rows, weights, first = _expected_groups(chunk_rows, seen)
            assert got == rows
            assert batch.weights.tolist() == weights and batch.weights.dtype == np.int64
            assert batch.first_rows.tolist() == first
            assert int(batch.weights.sum()) == len(chunk_rows)
        else:  # the source does not group: every row, in order
            assert got == chunk_rows and batch.weights is None
            assert batch.first_rows.tolist() == list(range(seen, seen + len(chunk_rows)))
        seen += len(chunk_rows)
    assert seen == len(every)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
@pytest.mark.parametrize("kind", ["csv", "typed"])
def test_ungrouped_batches_are_every_row_in_order(table, kind, chunk, group):
    path, _, _ = table
    frame = _all_frames(path)[kind]
    columns = list(frame.columns[::-1])  # any order and subset of columns
    source = FrameSource(frame, "t", chunk_rows=chunk, group=group)
    batches = list(source.batches(columns, group=False))
    assert all(0 < len(b.rows) <= chunk for b in batches)
    assert all(b.weights is None for b in batches)
    rows = [r for b in batches for r in _cells(b.rows)]
    assert rows == _cells(frame[columns])
    first = np.concatenate([b.first_rows for b in batches])
    assert first.tolist() == list(range(len(frame)))


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_progress_reports_rows_done_of_the_total(table, chunk, group):
    path, _, cells = table
    calls: list[tuple[int, int | None]] = []
    source = _source(path, chunk, group)
    n_batches = len(
        list(source.batches(["label"], group=True, progress=lambda d, t: calls.append((d, t))))
    )
    # By hand: one call per batch, rows done growing by the chunk up to all 11 rows.
    assert len(calls) == n_batches == math.ceil(11 / chunk)
    assert [d for d, _ in calls] == [min((i + 1) * chunk, 11) for i in range(n_batches)]
    assert {t for _, t in calls} == {len(cells)}


def test_an_empty_table_has_no_batches_and_answers_empty():
    frame = pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=float)})
    source = FrameSource(frame, "empty.csv", chunk_rows=3, group=True)
    assert source.count_rows() == 0 and len(source.head(5)) == 0
    assert list(source.batches(["a", "b"], group=True)) == []
    assert source.missing("a") == (0, [])
    assert len(source.repeated("a")) == 0
    assert len(source.value_counts(["a"], limit=1)["a"]) == 0
