"""The streaming engine's source (core/engine_stream): the pandas reader's cells, in batches.

Every frame a :class:`StreamSource` hands over is compared with what
:func:`core.reading.read_table` reads from the same file (the independent path): whole
frames with their dtypes, on the bad-input battery of :mod:`hostile_files` and on awkward
files made here. Where the reader reads a file the streaming engine cannot read the same
way, the engine must refuse it with a message naming the pandas engine. The global
questions (value counts, repeated values, missing cells) are checked against pandas
computing them on the reader's frame, and some by hand.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

import hostile_files  # noqa: E402

from slicewise.core.batches.source import BatchSource  # noqa: E402
from slicewise.core.column_parsing import missing_mask  # noqa: E402
from slicewise.core.engine_stream import open_source, source  # noqa: E402
from slicewise.core.errors import (  # noqa: E402
    DataError,
    EmptyFileError,
    FileFormatError,
    RowNumbers,
)
from slicewise.core.reading import read_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def streamed(path: Path, **kwargs) -> tuple[pd.DataFrame, list[str]]:
    """Every row of ``path`` through the streaming source (ungrouped), and its notes."""
    with open_source(path, **kwargs) as s:
        frames = [b.rows for b in s.batches(s.columns, group=False)]
        assert s.count_rows() == sum(len(f) for f in frames)
        return pd.concat(frames, ignore_index=True), s.warnings


def read_or_message(read) -> tuple[pd.DataFrame | None, str | None]:
    try:
        return read(), None
    except DataError as exc:
        return None, str(exc)


# ----------------------------------------------------------------------- the reader's cells


@pytest.mark.parametrize("name", [c.name for c in hostile_files.CASES if "cli" in c.channels])
def test_the_battery_reads_as_the_pandas_reader_or_is_refused(tmp_path, name):
    case = next(c for c in hostile_files.CASES if c.name == name)
    path = tmp_path / case.name
    path.write_bytes(case.make_bytes())
    expected, expected_error = read_or_message(lambda: read_table(path)[::2])
    got, got_error = read_or_message(lambda: streamed(path))
    if expected_error is not None:  # what the reader refuses, the engine refuses too
        assert got_error is not None, f"the stream engine read {name}, the reader refuses it"
        assert got_error.startswith(f"{path.name}: ")
        return
    if got_error is not None:  # a file it cannot read as the reader does: named the way on
        assert "--engine pandas" in got_error, got_error
        assert name in READ_ONLY_BY_PANDAS, f"{name} should stream: {got_error}"
        return
    frame, notes = got
    pd.testing.assert_frame_equal(frame, expected[0])
    assert notes == expected[1]


#: Battery files the streaming engine refuses (other encodings; cells past DuckDB's line limit
#: are read: see the test below). Everything else must stream.
READ_ONLY_BY_PANDAS = {"latin1.csv", "utf16_bom.csv", "utf16_no_bom.csv", "mixed_encodings.csv"}


AWKWARD = {
    "leading_zeros.csv": b"id,label,prediction,zip\n001,a,a,01234\n002,b,a,00777\n",
    "quotes.csv": (
        b'id,label,prediction,note\n1,a,a,"say ""hi"""\n2,b,a,"a, b"\n3,a,b,"two\nlines"\n'
    ),
    "decimal_commas.csv": b"label;prediction;score\na;a;0,91\nb;a;0,35\n",
    "blank_rows.csv": b"label,prediction,region\na,a,eu\n,,\nb,a,us\n\n  ,  ,  \na,b,eu\n,,\n",
    "bom.csv": b"\xef\xbb\xbflabel,prediction\na,a\nb,a\n",
    "excel_sep_line.csv": b"sep=;\nlabel;prediction;region\na;a;eu\nb;a;us\n",
    "trailing_delimiters.csv": b"label,prediction,,\na,a,,\nb,a,,\n",
    "spaces_kept.csv": b"label,prediction,region\n a ,a,eu \nb,a,  us\n",
    "crlf.csv": b"label,prediction\r\na,a\r\nb,a\r\n",
    "semicolons.tsv": b"label\tprediction\tnote\na\ta\tx;y\nb\ta\t\n",
    "na_tokens.csv": b"label,prediction,region\nNA,a,NA\nnull,None,N/A\n",
    "unicode.csv": "label,prediction\ncafé,café\nnaïve,日本\n".encode(),
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
@pytest.mark.parametrize("compressed", [False, True])
def test_awkward_files_read_as_the_pandas_reader_reads_them(tmp_path, name, compressed):
    data = AWKWARD[name]
    path = tmp_path / (name + (".gz" if compressed else ""))
    path.write_bytes(gzip.compress(data) if compressed else data)
    expected, _, notes = read_table(path)
    got, got_notes = streamed(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got_notes == notes


def test_blank_rows_are_left_out_and_counted_in_the_numbering(tmp_path):
    path = tmp_path / "blank_rows.csv"
    path.write_bytes(AWKWARD["blank_rows.csv"])
    expected, _, _ = read_table(path)
    with open_source(path) as s:
        # By hand: 3 rows hold a value; the rows of only delimiters or spaces are left out.
        assert s.count_rows() == 3 == len(expected)
        assert s.first_row_number == 2
        assert s.numbering == RowNumbers.of_frame(expected)
        assert s.skipped_rows == tuple(RowNumbers.of_frame(expected).skipped)


def test_a_cell_longer_than_duckdbs_default_line_limit(tmp_path):
    path = tmp_path / "long.csv"
    long = "x" * 3_000_000
    path.write_text(f"label,prediction,note\na,a,{long}\nb,a,short\n", encoding="utf-8")
    got, _ = streamed(path)
    assert got.loc[0, "note"] == long and got.loc[1, "note"] == "short"


def test_the_excel_sep_line_numbers_rows_from_3(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(AWKWARD["excel_sep_line.csv"])
    with open_source(path) as s:
        assert s.first_row_number == 3
        assert s.columns == ["label", "prediction", "region"]


PARQUET_FRAMES = {
    "types": pd.DataFrame(
        {
            "label": ["a", "b", None, "a"],
            "n": np.array([1, 2, 3, 4], dtype="int32"),
            "x": [0.5, np.nan, 2.0, 1.0],
            "flag": [True, False, True, True],
            "when": pd.date_range("2024-01-01", periods=4),
        }
    ),
    "extension_dtypes": pd.DataFrame(
        {
            "label": ["a", "b", "a", "b"],
            "k": pd.array([1, None, 3, 4], dtype="Int64"),
            "cat": pd.Categorical(["x", "y", "x", None]),
            "ok": pd.array([True, None, False, True], dtype="boolean"),
        }
    ),
    "nested": pd.DataFrame({"label": ["a", "b"], "boxes": [[1, 2], []]}),
}


@pytest.mark.parametrize("name", sorted(PARQUET_FRAMES))
@pytest.mark.parametrize("index", [None, "named"])
def test_parquet_columns_keep_the_files_types(tmp_path, name, index):
    df = PARQUET_FRAMES[name].copy()
    if index:
        df.index = pd.Index(range(10, 10 + len(df)), name="key")
    path = tmp_path / f"{name}.parquet"
    df.to_parquet(path)
    expected, _, notes = read_table(path)
    got, got_notes = streamed(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got_notes == notes
    with open_source(path) as s:
        assert s.first_row_number == 1
        pd.testing.assert_frame_equal(s.head(2), expected.head(2))
        grouped = list(s.batches(s.columns, group=True))
        rows = pd.concat([b.rows for b in grouped], ignore_index=True)
        # Grouped rows keep the reader's dtypes too.
        assert rows.dtypes.to_dict() == expected.dtypes.to_dict()


def test_a_named_parquet_index_comes_first_with_names_stripped(tmp_path):
    df = pd.DataFrame(
        {" label ": ["a", "b", "a"], "prediction": ["a", "a", "b"]},
        index=pd.Index([10, 11, 12], name="key"),
    )
    path = tmp_path / "preds.parquet"
    df.to_parquet(path)
    with open_source(path) as s:
        assert s.columns == ["key", "label", "prediction"]  # as pd.read_parquet + reset_index
        assert s.count_rows() == 3


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: p.write_bytes(b"PAR1" + b"\0" * 64), FileFormatError, "not a readable Parquet"),
        (lambda p: p.write_bytes(b"  \n"), EmptyFileError, "the file is empty"),
        (lambda p: p.write_bytes(b"a,b\n"), EmptyFileError, "no data rows"),
        (
            lambda p: p.write_bytes(b"a,b\n1,2,3\n"),
            FileFormatError,
            "header has 2 fields but line 2 has 3",
        ),
        (lambda p: p.write_bytes(b"BZh91AY&SY"), FileFormatError, "--engine pandas"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + b"\0" * 30), FileFormatError, "--engine pandas"),
        (lambda p: p.write_bytes("a,b\né,è\n".encode("latin-1")), DataError, "--engine pandas"),
    ],
    ids=["damaged parquet", "blank", "header only", "ragged", "bzip2", "zip/xlsx", "latin-1"],
)
def test_what_it_cannot_read_is_refused_with_a_clear_message(tmp_path, make, error, message):
    path = tmp_path / "bad.csv"
    make(path)
    with pytest.raises(error, match=message) as err:
        open_source(path).close()
    assert str(err.value).startswith("bad.csv: ")


def test_another_encoding_is_refused_and_a_missing_file_named(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("label,prediction\na,a\n")
    with pytest.raises(DataError, match="reads UTF-8 files, not latin-1.*--engine pandas"):
        open_source(path, encoding="latin-1")
    with pytest.raises(DataError, match="no such file"):
        open_source(tmp_path / "nope.csv")


def test_closing_removes_the_temporary_folder(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("label,prediction\na,a\n")
    with open_source(path) as s:
        folder = Path(s._tmp)
        assert folder.is_dir()
    assert not folder.exists()


# ------------------------------------------------------------------- the global questions


def write(df: pd.DataFrame, path: Path) -> None:
    """CSV, or Parquet without pandas' metadata (so integers with nulls are int64 columns)."""
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if "count" in df.columns:
        table = table.set_column(
            table.schema.get_field_index("count"), "count", table["count"].cast(pa.int64())
        )
    pq.write_table(table.replace_schema_metadata(None), path)


def sample_frame(n: int = 2_000, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n * 10, n).astype(str)
    ids[[5, 17, 900]] = ids[3]  # one id on 4 rows, whatever the draw
    df = pd.DataFrame(
        {
            "id": ids,
            "label": rng.choice(["cat", "dog", "bird"], n),
            "region": rng.choice(["eu", "us", None, "  "], n),
            "score": np.round(rng.random(n), 3),
            "few": rng.choice([1.5, 2.5, np.nan], n),
            "count": rng.choice([1, 2, 3], n),
            "flag": rng.choice([True, False], n),
        }
    )
    # Nulls past the first batches: the reader's dtype is the whole file's (float, object).
    df["count"] = df["count"].astype(float)
    df.loc[n - 3, "count"] = np.nan
    df["flag"] = df["flag"].astype(object)
    df.loc[n - 2, "flag"] = None
    return df


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_value_counts_repeated_and_missing_agree_with_pandas(tmp_path, fmt):
    df = sample_frame()
    path = tmp_path / f"sample.{fmt}"
    write(df, path)
    frame, _, _ = read_table(path)
    with open_source(path) as s:
        assert isinstance(s, BatchSource)
        counts = s.value_counts(["label", "region", "few", "score"], limit=10)
        for column in ("label", "region", "few"):
            expected = frame[column].value_counts(dropna=True)
            got = counts[column]
            assert got.dtype == np.int64
            pd.testing.assert_series_equal(
                got.sort_index(), expected.sort_index(), check_names=False
            )
        assert counts["score"] is None  # far more than 10 values
        repeated = s.repeated("id", limit=5)
        for column in ("region", "few", "label"):
            mask = missing_mask(frame[column])  # the loader's rule: blank text is missing
            n, first = s.missing(column, limit=3)
            assert n == int(mask.sum())
            assert first == np.flatnonzero(mask)[:3].tolist()
    twice = frame["id"][frame["id"].duplicated(keep=False)]
    order = pd.unique(twice)[:5]  # first occurrence order
    assert repeated["value"].tolist() == list(order)
    for value, count, rows in repeated.itertuples(index=False):
        positions = np.flatnonzero(frame["id"].to_numpy() == value)
        assert count == len(positions) and rows == positions[:5].tolist()
    # By hand: the id of row 3 is also on rows 5, 17 and 900.
    mine = repeated[repeated["value"] == df["id"][3]].iloc[0]
    assert mine["count"] >= 4 and {3, 5, 17} <= set(mine["first_rows"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("group", [False, True])
def test_batches_add_up_to_the_file(tmp_path, monkeypatch, fmt, group):
    monkeypatch.setattr(source, "BATCH_ROWS", 300)  # several batches of a small file
    df = sample_frame()
    path = tmp_path / f"sample.{fmt}"
    write(df, path)
    frame, _, _ = read_table(path)
    cols = ["label", "region", "count", "flag"]
    calls = []
    with open_source(path) as s:
        batches = list(s.batches(cols, group=group, progress=lambda d, t: calls.append((d, t))))
    assert all(len(b.rows) <= 300 for b in batches)
    rows = pd.concat([b.rows for b in batches], ignore_index=True)
    weights = np.concatenate(
        [b.weights if b.weights is not None else np.ones(len(b.rows), int) for b in batches]
    )
    first = np.concatenate([b.first_rows for b in batches])
    assert weights.sum() == len(frame) and calls[-1] == (len(frame), len(frame))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # Each (label, region) combination: its row count and its first row, as pandas finds.
    key = rows.astype(object).fillna("<NA>").astype(str).agg("|".join, axis=1)
    got = pd.DataFrame({"key": key, "w": weights, "first": first}).groupby("key")
    expected = frame[cols].astype(object).fillna("<NA>").astype(str).agg("|".join, axis=1)
    positions = pd.Series(np.arange(len(frame)))
    assert got["w"].sum().to_dict() == expected.value_counts().to_dict()
    assert got["first"].min().to_dict() == positions.groupby(expected).min().to_dict()
    if not group:
        assert first.tolist() == list(range(len(frame)))  # file order, every row
        pd.testing.assert_frame_equal(rows, frame[cols])


def test_grouping_is_skipped_when_it_would_not_shrink_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "BATCH_ROWS", 100)
    df = sample_frame(1_000)
    path = tmp_path / "sample.parquet"
    df.to_parquet(path, index=False)
    with open_source(path) as s:
        few = list(s.batches(["label"], group=True))
        many = list(s.batches(["score", "label"], group=True))  # ~1,000 distinct rows
    assert sum(len(b.rows) for b in few) == 3 and few[0].weights is not None
    assert sum(len(b.rows) for b in many) == 1_000 and many[0].weights is None


# ------------------------------------------------------------------------- bounded memory


def test_a_tight_duckdb_memory_limit_still_answers(tmp_path):
    # A generated file larger than the limit's share of working memory: DuckDB spills.
    script = f"""
import numpy as np, pandas as pd
from slicewise.core.engine_stream import open_source
n = 300_000
rng = np.random.default_rng(0)
df = pd.DataFrame({{
    "id": np.char.add("ex-", np.arange(n).astype(str)),
    "label": rng.choice(["a", "b", "c"], n),
    "prediction": rng.choice(["a", "b", "c"], n),
    "note": np.char.add("note-", rng.integers(0, 10**9, n).astype(str)),
}})
df.to_parquet({str(tmp_path / "big.parquet")!r}, index=False)
with open_source({str(tmp_path / "big.parquet")!r}, memory_limit="40MB") as s:
    assert s.repeated("id").empty
    rows = sum(int(b.weights.sum()) for b in s.batches(["label", "prediction"], group=True))
    assert rows == n, rows
    assert s.value_counts(["note"], limit=10)["note"] is None
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
