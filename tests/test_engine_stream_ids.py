"""The streaming engine's id check decides as the loader does, on its own scan.

Ids compare as trimmed text (Python's ``str.strip``, Unicode white space too); a cell equal
to a missing-value text is a missing id. The planner re-reads a small file whole to word
an error as the loader does; the cap is set to 0 here so the stream's own check decides.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from engines import LOAD_OPTIONS  # noqa: E402

from slicewise.core.analysis import analyze  # noqa: E402
from slicewise.core.dataset import load_dataset  # noqa: E402
from slicewise.core.engine_duckdb import analyze_file_duckdb  # noqa: E402
from slicewise.core.errors import DataError  # noqa: E402

IDS = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"]


def _cases():
    same = {
        "leading zero is another id": {5: "0a1"},
        "inner space is kept": {5: "a 1"},
        "accent is no space": {5: "é1"},
        "padded but unique": {5: " a9 "},
    }
    repeat = {
        "space before": {5: " a1"},
        "tab after": {5: "a1\t"},
        "no-break space": {5: "\u00a0a1"},
        "em space after": {5: "a1\u2003"},
        "two padded alike": {5: " a9", 6: "a9 "},
        "na text as id": {5: "NA"},
        "padded na text": {5: " NA "},
    }
    for name, cells in {**same, **repeat}.items():
        yield pytest.param(cells, name in repeat, id=name)


def _table(cells: dict[int, str]) -> pd.DataFrame:
    ids = list(IDS)
    for at, cell in cells.items():
        ids[at] = cell
    return pd.DataFrame(
        {
            "id": ids,
            "label": ["cat", "dog"] * 4,
            "prediction": ["cat", "cat", "dog", "dog"] * 2,
            "blurry": ["x", "", "", "x", "", "", "x", ""],
        }
    )


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(("cells", "repeats"), _cases())
def test_ids_repeat_on_the_stream_exactly_when_the_loader_says(
    cells, repeats, kind, tmp_path, monkeypatch
):
    import slicewise.core.batches.refusals as refusals

    monkeypatch.setattr(refusals, "RELOAD_ROWS", 0)
    path = tmp_path / f"ids.{kind}"
    df = _table(cells)
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    load = {"na_values": ("NA",)}
    assert set(load) <= set(LOAD_OPTIONS)
    try:
        expected = analyze(load_dataset(path, **load))
    except DataError as exc:
        expected = exc
    assert isinstance(expected, DataError) == repeats  # the loader's verdict, as the case says
    if repeats:
        with pytest.raises(DataError, match="repeats ids|missing"):
            analyze_file_duckdb(path, **load)
    else:
        pd.testing.assert_frame_equal(analyze_file_duckdb(path, **load), expected, rtol=1e-9)


def _columns(n: int = 600) -> pd.DataFrame:
    late = [None] * n
    late[-1] = "x"  # its one value only on the last row
    return pd.DataFrame(
        {
            "tag_x": ["x" if i % 3 == 0 else None for i in range(n)],
            "tag_late": late,
            "tag_blank": [" " if i % 5 == 0 else "yes" for i in range(n)],  # two cells
            "empty": [None] * n,
            "ints": [7] * n,
            "floats": [0.5 if i % 2 else np.nan for i in range(n)],
            "many": [f"v{i}" for i in range(n)],
        }
    )


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("limit", [1, 3, 8])
def test_small_value_counts_equal_pandas_for_one_valued_and_other_columns(kind, limit, tmp_path):
    from slicewise.core.engine_stream import open_source
    from slicewise.core.reading import read_table

    path = tmp_path / f"cols.{kind}"
    df = _columns()
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    frame, _, _ = read_table(path)
    with open_source(path) as s:
        got = s.value_counts(list(frame.columns), limit=limit)
    for column in frame.columns:
        expected = frame[column].value_counts(dropna=True)  # pandas: NaN and None left out
        if len(expected) > limit:
            assert got[column] is None, column
            continue
        assert got[column] is not None, column
        assert got[column].dtype == np.int64
        pd.testing.assert_series_equal(
            got[column].sort_index(), expected.sort_index(), check_names=False
        )


def _loader_verdict(path: Path, mapping=None, **load):
    try:
        return analyze(load_dataset(path, mapping, **load))
    except DataError as exc:
        return exc


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("tag_cell", "first"),
    [
        pytest.param("maybe", "InvalidValueError", id="bad tag cell and a repeated id"),
        pytest.param("x", "DuplicateIdError", id="repeated id alone"),
    ],
)
def test_ids_checked_in_the_background_keep_the_loaders_order_of_errors(
    tag_cell, first, kind, tmp_path, monkeypatch
):
    import slicewise.core.batches.refusals as refusals
    from slicewise.core.column_roles import ColumnMapping

    monkeypatch.setattr(refusals, "RELOAD_ROWS", 0)  # the stream's own order decides
    df = _table({5: "a1"})
    df.loc[7, "blurry"] = tag_cell  # the counting pass meets it, after the id scan started
    path = tmp_path / f"ids.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    mapping = ColumnMapping(id="id", label="label", prediction="prediction", tag_columns=["blurry"])
    expected = _loader_verdict(path, mapping)
    assert type(expected).__name__ == first  # the loader reads tags before it checks ids
    with pytest.raises(type(expected)) as got:
        analyze_file_duckdb(path, mapping)
    # The tag's message is the loader's; past the re-read cap an id message is shorter.
    assert str(got.value) == str(expected) or "repeats ids" in str(got.value)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("repeat_at", "repeats"),
    [
        pytest.param(3, False, id="repeat on a row left out"),
        pytest.param(4, True, id="repeat on a kept row"),
    ],
)
def test_ids_checked_in_the_background_over_kept_rows_when_rows_drop(
    repeat_at, repeats, kind, tmp_path, monkeypatch
):
    import slicewise.core.batches.refusals as refusals

    monkeypatch.setattr(refusals, "RELOAD_ROWS", 0)
    df = _table({repeat_at: "a1"})
    df.loc[3, "label"] = None  # row 3 misses its label: missing="drop" leaves it out
    path = tmp_path / f"ids.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    expected = _loader_verdict(path, missing="drop")
    assert isinstance(expected, DataError) == repeats
    if repeats:
        with pytest.raises(DataError, match="repeats ids"):
            analyze_file_duckdb(path, missing="drop")
    else:
        got = analyze_file_duckdb(path, missing="drop")
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)


def test_closing_the_source_stops_a_background_id_scan(tmp_path):
    import threading

    from slicewise.core.engine_stream import StreamSource

    path = tmp_path / "ids.parquet"
    n = 200_000
    pd.DataFrame({"id": [f"i{k}" for k in range(n)], "label": ["a"] * n}).to_parquet(path)
    source = StreamSource(path)
    source.prefetch_ids("id")
    source.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("slicewise-ids")]


def test_a_background_id_scan_answers_as_a_scan_made_then(tmp_path):
    from slicewise.core.engine_stream import StreamSource

    path = tmp_path / "ids.parquet"
    ids = ["a", "b", " c", "a", None]
    pd.DataFrame({"id": ids, "label": ["x"] * 5}).to_parquet(path)
    with StreamSource(path) as early, StreamSource(path) as late:
        early.prefetch_ids("id", ("NA",))
        for source in (early, late):
            assert len(source.repeated("id", 5)) == 1  # "a" twice
            assert source.missing("id", 5)[0] == 1  # the null
            assert sorted(source.suspect_ids("id", ("NA",)).tolist()) == [" c"]


TRICKY = ["", " a", "a ", "\ta", "a\n", "é", "aé", "éa", "a~", "~a", "!a", "\x7fa", "a\x7f"]
TRICKY += ["中", "a中b", "\u00a0a", "a\u2003", "plain", "a b", "0"]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_suspect_ids_are_the_cells_starting_or_ending_outside_printable_ascii(kind, tmp_path):
    cells = [f"q{i}" for i in range(30)] + TRICKY
    path = tmp_path / f"ids.{kind}"
    df = pd.DataFrame({"id": cells, "label": ["a"] * len(cells)})
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    from slicewise.core.engine_stream import StreamSource

    with StreamSource(path) as source:
        found = set(source.suspect_ids("id").dropna())
        read = source.head(len(cells))["id"].dropna().tolist()  # as the reader holds them

    def printable(ch: str) -> bool:
        return "!" <= ch <= "~"

    expected = {c for c in read if c == "" or not printable(c[0]) or not printable(c[-1])}
    assert found == expected
    assert {"é", "\u00a0a", "a\u2003", "\x7fa"} <= expected  # the cases are really there
