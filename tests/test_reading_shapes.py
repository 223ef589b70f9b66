"""Shapes of real files read as the table they hold, and messages that number rows as the file does.

- **Excel cells are read one by one**: a column of number cells is numeric; one text cell
  makes the column text, where number cells read as a person types them (``7``, ``7.5``)
  and text cells keep their spelling, so no cell changes how another row is read (the
  value contract of :mod:`core.values`). The oracle: the CSV file holding those texts.
- **Export shapes**: trailing delimiters, rows of only delimiters and Excel's ``sep=;``
  line give the clean file's table, with a warning for what was left out; both CSV readers
  (pandas up to 64 KiB, pyarrow above) give the same table and messages.
- **Row numbers**: CSV rows are file lines (header: line 1), sheet rows are the sheet's,
  Parquet rows count from 1; rows after a skipped blank row count past it.
- **Messages**: an empty gzip file is empty, not truncated; "1 row", "columns 4, 5 ... have".

Expected values are worked out by hand in the comments, or read from the clean CSV file.
"""

from __future__ import annotations

import bz2
import gzip
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from slicewise.core import dataset as ds_module
from slicewise.core import reading
from slicewise.core.analysis import analyze
from slicewise.core.dataset import (
    ColumnMapping,
    dataset_from_frame,
    load_dataset,
    read_table,
)
from slicewise.core.errors import (
    DuplicateColumnError,
    DuplicateIdError,
    EmptyFileError,
    FileFormatError,
    InvalidValueError,
    MissingValuesError,
    RowNumbers,
    count_of,
    format_rows,
)
from slicewise.core.reading import _HEAD_BYTES

# --------------------------------------------------------------------------- helpers


def xlsx(rows: list[tuple], *, sheet: str = "preds") -> bytes:
    """A workbook whose ``str`` cells are text cells and ``int``/``float`` cells number cells."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(i, j, v)
            else:
                ws.write_number(i, j, v)
    book.close()
    return buf.getvalue()


def parquet(columns: dict[str, list]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def accuracy(ds) -> float:
    return float(analyze(ds).loc["All data", "accuracy"])


def slice_sizes(ds, column: str) -> dict[str, int]:
    table = analyze(ds, slice_by=[column])
    prefix = f"{column} = "
    return {
        str(k)[len(prefix) :]: int(v) for k, v in table["n"].items() if str(k).startswith(prefix)
    }


def assert_same_frames(got, expected) -> None:
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    pd.testing.assert_frame_equal(got.tags, expected.tags)


# --------------------------------------------------------------------------- xlsx cells


def test_ids_text_and_number_cells_are_four_distinct_ids():
    # Text 7, 07, 007 and the number 8: four ids, as written ("repeats '7'" before).
    data = xlsx(
        [
            ("id", "label", "prediction"),
            ("7", "a", "a"),
            ("07", "a", "b"),
            ("007", "b", "b"),
            (8, "b", "b"),
        ]
    )
    ds = load_dataset(data, name="ids.xlsx", mapping=ColumnMapping(id="id"))
    assert ds.frame["id"].tolist() == ["7", "07", "007", "8"]
    csv = load_dataset(
        b"id,label,prediction\n7,a,a\n07,a,b\n007,b,b\n8,b,b\n",
        name="ids.csv",
        mapping=ColumnMapping(id="id"),
    )
    assert_same_frames(ds, csv)


def test_a_text_label_01_is_not_the_number_prediction_1():
    # Row 1: label text "01", prediction number 1: different classes ("01" keeps its zero).
    # Row 2: number 2 in both: right. Accuracy 1/2.
    data = xlsx([("label", "prediction"), ("01", 1), (2, 2)])
    ds = load_dataset(data, name="classes.xlsx")
    assert accuracy(ds) == pytest.approx(0.5)
    assert ds.frame["label"].tolist() == ["01", "2"]
    assert_same_frames(ds, load_dataset(b"label,prediction\n01,1\n2,2\n", name="c.csv"))


@pytest.mark.parametrize(
    ("cells", "typed", "slices"),
    [
        # 7 and 7.0 are one number typed as 7: slices 007, 07 and 7 (two rows).
        pytest.param(
            ["007", "07", 7, 7.0],
            ["007", "07", "7", "7"],
            {"007": 1, "07": 1, "7": 2},
            id="whole-numbers",
        ),
        # 7.5 reads 7.5 and 8 reads 8, never 8.0.
        pytest.param(
            ["007", "07", 7.5, 8],
            ["007", "07", "7.5", "8"],
            {"007": 1, "07": 1, "7.5": 1, "8": 1},
            id="fractions",
        ),
        # Shortest round-trip spelling: 0.1 (not 0.1000000000000000055...), 1e+20 past int64.
        pytest.param(
            ["x", 0.1, 1e20, -3],
            ["x", "0.1", "1e+20", "-3"],
            {"x": 1, "0.1": 1, "1e+20": 1, "-3": 1},
            id="spellings",
        ),
    ],
)
def test_a_text_cell_makes_the_column_text_with_numbers_as_typed(cells, typed, slices):
    rows = [("label", "prediction", "grp")] + [("a", "a", c) for c in cells]
    data = xlsx(rows)
    df, _, _ = read_table(data, name="meta.xlsx")
    assert df["grp"].tolist() == typed
    ds = load_dataset(data, name="meta.xlsx")
    assert slice_sizes(ds, "grp") == slices
    csv = "label,prediction,grp\n" + "".join(f"a,a,{t}\n" for t in typed)
    assert_same_frames(ds, load_dataset(csv.encode(), name="meta.csv"))


@pytest.mark.parametrize(
    ("cells", "dtype", "values"),
    [
        ([1, 2, 3], np.int64, [1, 2, 3]),  # number cells only: numeric, as before
        ([1, 2.5, None], np.float64, [1.0, 2.5, np.nan]),  # a blank stays missing
        (["1", 2, "3"], object, ["1", "2", "3"]),  # one text cell: text (the loader types it)
    ],
)
def test_number_columns_stay_numeric_and_mixed_ones_become_text(cells, dtype, values):
    rows = [("label", "prediction", "n")] + [("a", "a", c) for c in cells]
    df, _, _ = read_table(xlsx(rows), name="n.xlsx")
    got = df["n"]
    if dtype is object:
        assert not pd.api.types.is_numeric_dtype(got) and got.tolist() == values
    else:
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.to_numpy(), np.array(values, dtype=float))


def test_blank_cells_of_a_text_column_stay_missing():
    rows = [("label", "prediction", "grp"), ("a", "a", "007"), ("a", "a", None), ("a", "a", 7)]
    df, _, _ = read_table(xlsx(rows), name="b.xlsx")
    assert df["grp"].isna().tolist() == [False, True, False]
    assert df["grp"].iloc[[0, 2]].tolist() == ["007", "7"]


def test_a_cell_reads_the_same_whatever_the_other_rows_hold():
    # Each row read on its own and within the full sheet gives the same metadata text.
    rows = [("007", "x"), (7, "y"), (7.5, "z")]
    alone = []
    for cell, label in rows:
        alone.append(
            load_dataset(
                xlsx([("label", "prediction", "grp"), (label, label, cell)]), name="one.xlsx"
            )
            .frame["grp"]
            .astype(str)
            .iloc[0]
        )
    together = (
        load_dataset(
            xlsx([("label", "prediction", "grp")] + [(label, label, cell) for cell, label in rows]),
            name="all.xlsx",
        )
        .frame["grp"]
        .astype(str)
        .tolist()
    )
    assert together == alone == ["007", "7", "7.5"]


# --------------------------------------------------------------------------- CSV shapes

CLEAN_HEAD = "id,label,prediction"
SMALL, BIG = 3, 6000  # data rows: a file under and a file over _HEAD_BYTES (64 KiB)


def body(rows: int, *, sep: str = ",", tail: str = "", eol: str = "\n") -> list[str]:
    return [sep.join((f"ex-{i}", "ab"[i % 2], "ab"[i % 3 % 2])) + tail + eol for i in range(rows)]


def clean(rows: int) -> bytes:
    return (CLEAN_HEAD + "\n" + "".join(body(rows))).encode()


def read_both_ways(data: bytes, monkeypatch, name: str = "t.csv"):
    """The frame and warnings of each reader: (pyarrow or pandas by size, pandas alone)."""
    first = read_table(data, name=name)
    with monkeypatch.context() as m:
        m.setattr(reading, "_read_csv_arrow", lambda *a: None)
        second = read_table(data, name=name)
    return first, second


SHAPES = {
    # id,label,prediction,,, on every line: columns 4-6 have no name and no value.
    "trailing-delimiters": (
        lambda n: (CLEAN_HEAD + ",,,\n" + "".join(body(n, tail=",,,"))).encode(),
        lambda n: [
            "t.csv: left out columns 4, 5, 6: they have no name in the header and no "
            "value in any row (trailing delimiters, or empty columns of a spreadsheet)"
        ],
    ),
    # Two rows of only delimiters after the n data rows: lines n + 2 and n + 3.
    "trailing-blank-rows": (
        lambda n: clean(n) + b",,\n,,\n",
        lambda n: [f"t.csv: skipped 2 rows where every cell is blank (rows {n + 2}, {n + 3})"],
    ),
    # Spaces only between the delimiters are blank cells too.
    "blank-row-of-spaces": (
        lambda n: clean(n) + b" , ,  \n",
        lambda n: [f"t.csv: skipped 1 row where every cell is blank (row {n + 2})"],
    ),
    # Excel's first line: the delimiter is ';' and the line is not data.
    "excel-sep-line": (
        lambda n: (
            "sep=;\n" + CLEAN_HEAD.replace(",", ";") + "\n" + "".join(body(n, sep=";"))
        ).encode(),
        lambda n: [],
    ),
    # All at once, with Windows line ends: header on line 2, blank rows n + 3 and n + 4.
    "excel-export": (
        lambda n: (
            "sep=;\r\n"
            + CLEAN_HEAD.replace(",", ";")
            + ";;\r\n"
            + "".join(body(n, sep=";", tail=";;", eol="\r\n"))
            + ";;;;\r\n;;;;\r\n"
        ).encode(),
        lambda n: [
            "t.csv: left out columns 4, 5: they have no name in the header and no "
            "value in any row (trailing delimiters, or empty columns of a spreadsheet)",
            f"t.csv: skipped 2 rows where every cell is blank (rows {n + 3}, {n + 4})",
        ],
    ),
}


@pytest.mark.parametrize("rows", [SMALL, BIG], ids=["pandas-path", "arrow-path"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_export_shapes_read_as_the_clean_table(shape, rows, monkeypatch):
    make, notes = SHAPES[shape]
    data = make(rows)
    assert (len(data) > _HEAD_BYTES) == (rows == BIG)
    expected, _, _ = read_table(clean(rows), name="t.csv")
    (df, _, warnings), (slow, _, slow_warnings) = read_both_ways(data, monkeypatch)
    pd.testing.assert_frame_equal(df, expected)
    pd.testing.assert_frame_equal(slow, expected)
    assert warnings == slow_warnings == notes(rows)
    ds = load_dataset(data, name="t.csv")
    assert ds.n == rows and ds.warnings == notes(rows)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_pyarrow_reads_the_large_export_shapes_itself(shape, monkeypatch):
    results = []
    real = reading._read_csv_arrow
    monkeypatch.setattr(
        reading, "_read_csv_arrow", lambda *a: results.append(real(*a)) or results[-1]
    )
    read_table(SHAPES[shape][0](BIG), name="t.csv")
    assert len(results) == 1 and results[0] is not None  # read, not declined to pandas
    results.clear()
    read_table(SHAPES[shape][0](SMALL), name="t.csv")
    assert results == []  # a small file goes to pandas


@pytest.mark.parametrize("rows", [SMALL, BIG], ids=["pandas-path", "arrow-path"])
@pytest.mark.parametrize(
    ("tail", "error", "words"),
    [
        # Column 4 has no name but holds a value on the last line: refused, as before.
        pytest.param(
            "x,a,a,\ny,b,b,note\n",
            DuplicateColumnError,
            ["t.csv: column 4 of the header has no name but holds values"],
            id="nameless-column-with-values",
        ),
        # Only blank rows after the header: no data.
        pytest.param(
            None, EmptyFileError, ["t.csv: has a header but no data rows"], id="only-blank-rows"
        ),
    ],
)
def test_nameless_columns_with_values_and_blank_files_are_refused(
    rows, tail, error, words, monkeypatch
):
    if tail is None:
        data = ("id,label,prediction\n" + ",,\n" * (rows * 20)).encode()
    else:
        data = (CLEAN_HEAD + ",\n" + "".join(body(rows, tail=",")) + tail).encode()
    for reader in (None, lambda *a: None):  # as read, then by pandas alone
        with monkeypatch.context() as m:
            if reader is not None:
                m.setattr(reading, "_read_csv_arrow", reader)
            with pytest.raises(error) as caught:
                read_table(data, name="t.csv")
        for word in words:
            assert word in str(caught.value), str(caught.value)


@pytest.mark.parametrize("rows", [SMALL, BIG], ids=["pandas-path", "arrow-path"])
def test_rows_after_a_blank_row_keep_their_line_numbers(rows, monkeypatch):
    # Lines: 1 header, 2..rows+1 data, rows+2 blank (",,"), rows+3 a row missing its
    # prediction: the message names line rows + 3, though it is data row rows + 1.
    data = clean(rows) + b",,\nlast,a,\n"
    for reader in (None, lambda *a: None):
        with monkeypatch.context() as m:
            if reader is not None:
                m.setattr(reading, "_read_csv_arrow", reader)
            with pytest.raises(MissingValuesError, match=rf"\(row {rows + 3}\)"):
                load_dataset(data, name="t.csv")


def test_after_the_excel_sep_line_the_header_is_line_2():
    # sep=; then the header (line 2); the blank id is on line 4.
    data = b"sep=;\nid;label;prediction\nx;a;a\n;b;b\n"
    with pytest.raises(
        MissingValuesError,
        match=r"t\.csv: the id column 'id' is blank in "
        r"row 4;",
    ):
        load_dataset(data, name="t.csv", mapping=ColumnMapping(id="id"))
    # A short row is named by its line in the file (line 4), not in the rest.
    with pytest.raises(FileFormatError, match=r"the header has 3 fields but line 4 has 2"):
        read_table(b"sep=;\nid;label;prediction\nx;a;a\ny;b\n", name="t.csv")


def test_a_sep_line_names_the_delimiter_even_when_the_header_would_sniff_another():
    # The header holds commas inside names; the file says ';'.
    df, _, _ = read_table(b"sep=;\nid;label, final;prediction\n1;a;a\n", name="t.csv")
    assert list(df.columns) == ["id", "label, final", "prediction"]


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        # A title line alone: every data line has 3 fields where "the header" has 1.
        (
            b"Predictions, March 2024\nid,label,prediction\n1,a,a\n2,b,b\n",
            FileFormatError,
            [
                "the header has 2 fields but line 2 has 3, line 3 has 3",
                "if line 1 is a title or a note, delete it: the first line must be the header",
            ],
        ),
        # A title line padded with delimiters (a spreadsheet's export): nameless columns 2, 3
        # hold the real header's names.
        (
            b"Predictions;;\nid;label;prediction\n1;a;a\n",
            DuplicateColumnError,
            [
                "columns 2, 3 of the header have no name but hold values",
                "the first line must be the header: delete any title or notes above it",
            ],
        ),
    ],
)
def test_a_title_line_above_a_csv_header_says_the_first_line_must_be_the_header(data, error, words):
    with pytest.raises(error) as caught:
        read_table(data, name="t.csv")
    for word in words:
        assert word in str(caught.value), str(caught.value)


# --------------------------------------------------------------------------- xlsx shapes


def test_a_title_row_above_the_header_says_the_first_row_must_be_the_header():
    data = xlsx([("Predictions, March",), ("id", "label", "prediction"), ("1", "a", "a")])
    with pytest.raises(DuplicateColumnError) as caught:
        read_table(data, name="book.xlsx")
    text = str(caught.value)
    assert text.startswith(
        "book.xlsx, sheet 'preds': columns 2 (B), 3 (C) hold values but "
        "have no name in row 1; the first row of the sheet must be the "
        "header"
    ), text


def test_sheet_blank_rows_and_nameless_columns_are_left_out_with_warnings():
    # Sheet rows: 1 header (column C has no name), 2 data, 3 blank, 4 data, 5 blank.
    rows = [
        ("label", "prediction", None),
        ("a", "a", None),
        (None, None, None),
        ("b", None, None),
        (None, None, ""),
    ]
    data = xlsx(rows)
    df, _, warnings = read_table(data, name="book.xlsx")
    assert df.to_dict("list") == {"label": ["a", "b"], "prediction": ["a", np.nan]}
    assert warnings == [
        "book.xlsx, sheet 'preds': left out column 3 (C): it has no name in the header and "
        "no value in any row (trailing delimiters, or empty columns of a spreadsheet)",
        "book.xlsx, sheet 'preds': skipped 2 rows where every cell is blank (rows 3, 5)",
    ]
    # The missing prediction is on sheet row 4 (past the blank row 3).
    with pytest.raises(MissingValuesError, match=r"\(row 4\)"):
        load_dataset(data, name="book.xlsx")


# --------------------------------------------------------------------------- row numbers


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        # Parquet has no header row: its rows are 1, 2, 3.
        (
            lambda: parquet(
                {"id": ["", "", ""], "label": ["a", "b", "a"], "prediction": ["a", "b", "b"]}
            ),
            "p.parquet",
            "rows 1, 2, 3",
        ),
        # CSV: the header is line 1, so the data rows are lines 2, 3, 4.
        (lambda: b"id,label,prediction\n,a,a\n,b,b\n,a,b\n", "p.csv", "rows 2, 3, 4"),
        # A sheet: the header is row 1, as Excel shows it.
        (
            lambda: xlsx(
                [
                    ("id", "label", "prediction"),
                    (None, "a", "a"),
                    (None, "b", "b"),
                    (None, "a", "b"),
                ]
            ),
            "p.xlsx",
            "rows 2, 3, 4",
        ),
    ],
)
def test_blank_ids_are_named_by_the_rows_the_file_shows(make, name, expected):
    with pytest.raises(MissingValuesError, match=rf"is blank in {expected};"):
        load_dataset(make(), name=name, mapping=ColumnMapping(id="id"))


@pytest.mark.parametrize(
    ("columns", "mapping", "error", "expected"),
    [
        # The second row lacks a prediction: Parquet row 2.
        (
            {"label": ["a", "b", "a"], "prediction": ["a", None, "a"]},
            None,
            MissingValuesError,
            "(row 2)",
        ),
        # Rows 1 and 3 share an id.
        (
            {"id": ["x", "y", "x"], "label": ["a", "b", "a"], "prediction": ["a", "b", "a"]},
            ColumnMapping(id="id"),
            DuplicateIdError,
            "rows 1, 3",
        ),
        # A score that is no number on row 3.
        (
            {
                "label": ["a", "b", "a"],
                "prediction": ["a", "b", "a"],
                "score": ["0.5", "0.1", "hi"],
            },
            None,
            InvalidValueError,
            "in row 3",
        ),
        # A tag column with a value that is no flag on row 1.
        (
            {"label": ["a", "b", "a"], "prediction": ["a", "b", "a"], "night": ["maybe", "x", ""]},
            ColumnMapping(tag_columns=("night",)),
            InvalidValueError,
            "in row 1",
        ),
    ],
)
def test_parquet_messages_count_rows_from_1(columns, mapping, error, expected):
    with pytest.raises(error) as caught:
        load_dataset(parquet(columns), name="p.parquet", mapping=mapping)
    assert expected in str(caught.value), str(caught.value)


def test_the_numbering_survives_read_table_then_prepare():
    # The app reads, then prepares with the chosen mapping: the frame carries the numbering.
    df, digest, warnings = read_table(
        parquet({"label": ["a", None], "prediction": ["a", "b"]}), name="p.parquet"
    )
    with pytest.raises(MissingValuesError, match=r"\(row 2\)"):
        ds_module.prepare(df, source_name="p.parquet", content_hash=digest, warnings=warnings)


@pytest.mark.parametrize(
    ("numbering", "positions", "expected"),
    [
        (None, [0], "row 2"),  # CSV default: position 0 is line 2
        (RowNumbers(first=1), [0, 1, 2], "rows 1, 2, 3"),
        (RowNumbers(first=3), [0, 4], "rows 3, 7"),
        # Skipped rows 4 and 5: positions 0, 1 are rows 2, 3; position 2 is row 6.
        (RowNumbers(first=2, skipped=(4, 5)), [0, 1, 2, 3], "rows 2, 3, 6, 7"),
        (RowNumbers(first=2, skipped=(3,)), list(range(7)), "rows 2, 4, 5, 6, 7 and 2 more"),
    ],
)
def test_format_rows_numbers_rows_as_the_file_does(numbering, positions, expected):
    assert format_rows(positions, numbering=numbering) == expected


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("pack", "name"), [(gzip.compress, "e.csv.gz"), (bz2.compress, "e.csv.bz2")]
)
def test_a_compressed_empty_file_is_empty_not_truncated(pack, name):
    with pytest.raises(
        EmptyFileError,
        match=rf"{name.replace('.', '[.]')}: holds an empty "
        r"file \(e\.csv\)",
    ):
        read_table(pack(b""), name=name)


def test_a_truncated_gzip_file_is_still_reported_as_truncated():
    data = gzip.compress(b"label,prediction\n" + b"a,a\n" * 1000)[:-12]
    with pytest.raises(FileFormatError, match="ends early"):
        read_table(data, name="t.csv.gz")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["label", "prediction", ""], "column 3 of the header has no name;"),
        (["label", "prediction", "", " "], "columns 3, 4 of the header have no name;"),
    ],
)
def test_nameless_columns_grammar(names, expected):
    cells = ["a", "a", "x", "y"][: len(names)]
    with pytest.raises(DuplicateColumnError, match=expected):
        dataset_from_frame(pd.DataFrame([cells], columns=names), name="f")
    table = pa.table([pa.array([c]) for c in cells], names=names)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    with pytest.raises(DuplicateColumnError, match=expected):
        read_table(buf.getvalue(), name="f.parquet")


@pytest.mark.parametrize(
    ("n", "noun", "expected"),
    [
        (1, "example", "1 example"),
        (0, "row", "0 rows"),
        (2, "row", "2 rows"),
        (1200, "row", "1,200 rows"),
        (1, "class", "1 class"),
    ],
)
def test_count_of(n, noun, expected):
    assert count_of(n, noun, "classes" if noun == "class" else None) == expected
