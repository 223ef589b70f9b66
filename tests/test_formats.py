"""More input formats, and nested Parquet columns made hashable.

- gzip, bzip2 and zip around a CSV, TSV or Parquet file read as that file itself (the same
  Dataset: frame and tags), recognised by content, not by name;
- an .xlsx sheet reads as the CSV that holds the same cells;
- broken, ambiguous or explosive containers give a typed error naming the file;
- list, struct and map columns (Parquet, or cells of an in-memory frame) become compact JSON
  text: slicing by one gives one slice per distinct value, the report exports, the pages
  run; such a column cannot take a role.

Every file is written here by the test itself (gzip/bz2/zipfile, xlsxwriter, pyarrow).
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from slicewise.core import formats
from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset, read_table
from slicewise.core.errors import (
    DataError,
    DuplicateColumnError,
    EmptyFileError,
    FileFormatError,
    InvalidValueError,
)
from slicewise.core.report import to_csv, to_html, to_json, to_markdown

ROOT = Path(__file__).resolve().parent.parent

# One table, written below as CSV, TSV, Parquet and .xlsx. Dates are typed cells in the
# workbook and ISO text in the CSV; "007" and "hi" are text cells, 7 a number cell.
ROWS = [
    ("id", "label", "prediction", "score", "night", "device", "snr", "when", "note"),
    (1, "cat", "cat", 0.9, "x", "ios", 3.5, dt.date(2024, 1, 2), "007"),
    (2, "dog", "cat", 0.25, "", "android", 12, dt.date(2024, 1, 3), "hi"),
    (3, "dog", "dog", 0.75, "x", "web", None, dt.date(2024, 1, 4), 7),
    (4, 1, 1, 0.5, "", "ios", -2.25, dt.date(2024, 1, 5), "x"),
    (5, "cat", "dog", 0.125, "x", "web", 0, dt.date(2024, 1, 6), "x"),
]


def text_cell(v) -> str:
    if v is None:
        return ""
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def delimited(rows=ROWS, sep=",") -> bytes:
    return "".join(sep.join(text_cell(v) for v in r) + "\n" for r in rows).encode()


CSV = delimited()
TSV = delimited(sep="\t")


def parquet_bytes(table: pa.Table | None = None) -> bytes:
    if table is None:  # the CSV's cells, typed as a dataframe library would write them
        table = pa.table(
            {
                "id": list(range(1, 6)),
                "label": ["cat", "dog", "dog", "1", "cat"],
                "prediction": ["cat", "cat", "dog", "1", "dog"],
                "score": [0.9, 0.25, 0.75, 0.5, 0.125],
                "night": [True, False, True, False, True],
                "snr": [3.5, 12.0, None, -2.25, 0.0],
            }
        )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def xlsx_bytes(
    rows=ROWS,
    *,
    sheets: dict[str, list] | None = None,
    hidden_first: bool = False,
) -> bytes:
    """A workbook: ``rows`` on the sheet 'preds' (numbers and dates as typed cells)."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    if hidden_first:
        hidden = book.add_worksheet("notes")
        hidden.write(0, 0, "not the table")
        hidden.hide()
    for name, cells in {"preds": rows, **(sheets or {})}.items():
        ws = book.add_worksheet(name)
        for i, row in enumerate(cells):
            for j, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(i, j, v, date)
                else:
                    ws.write(i, j, v)
        if name == "preds":
            ws.activate()
    book.close()
    return buf.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def assert_same_dataset(got, expected) -> None:
    # Ids typed by a reader (numbers in Parquet or a workbook) come back as object text,
    # ids read from text as pandas' string dtype: same values, compared as text.
    pd.testing.assert_frame_equal(
        got.frame.astype({"id": object}), expected.frame.astype({"id": object})
    )
    pd.testing.assert_frame_equal(got.tags, expected.tags)
    assert got.mapping == expected.mapping


# --------------------------------------------------------------------------- containers

WRAP = {
    "gzip": (".gz", gzip.compress),
    "bzip2": (".bz2", bz2.compress),
    "zip": (".zip", lambda data: zipped({"inner/preds": data})),  # member named below
}
INNER = {"preds.csv": CSV, "preds.tsv": TSV, "preds.parquet": parquet_bytes()}


@pytest.mark.parametrize("inner", sorted(INNER))
@pytest.mark.parametrize("container", sorted(WRAP))
def test_a_compressed_or_zipped_table_reads_as_the_table(container, inner):
    data = INNER[inner]
    suffix, wrap = WRAP[container]
    packed = zipped({f"inner/{inner}": data}) if container == "zip" else wrap(data)
    name = Path(inner).stem + suffix if container == "zip" else inner + suffix
    expected = load_dataset(data, name=inner)
    got = load_dataset(packed, name=name)
    assert_same_dataset(got, expected)
    assert got.source_name == name
    assert not got.warnings


@pytest.mark.parametrize(
    ("name", "make"),
    [
        pytest.param("preds.csv", lambda: gzip.compress(CSV), id="gzip-named-csv"),
        pytest.param("upload", lambda: bz2.compress(CSV), id="bzip2-without-a-name"),
        pytest.param(
            "preds.csv.gz",
            lambda: gzip.compress(CSV[:40]) + gzip.compress(CSV[40:]),
            id="two-gzip-members",
        ),
        pytest.param(
            "preds.zip",
            lambda: zipped({"__MACOSX/._preds.csv": b"junk", "preds.csv": CSV, ".DS_Store": b"x"}),
            id="zip-with-macos-junk",
        ),
        pytest.param(
            "preds.zip", lambda: zipped({"preds.csv.gz": gzip.compress(CSV)}), id="gzip-inside-zip"
        ),
    ],
)
def test_content_decides_not_the_name(name, make):
    assert_same_dataset(load_dataset(make(), name=name), load_dataset(CSV, name="preds.csv"))


def test_a_path_and_an_upload_read_alike(tmp_path):
    path = tmp_path / "preds.csv.gz"
    path.write_bytes(gzip.compress(CSV))
    upload = io.BytesIO(path.read_bytes())
    upload.name = "preds.csv.gz"
    expected = load_dataset(CSV, name="preds.csv")
    assert_same_dataset(load_dataset(path), expected)
    assert_same_dataset(load_dataset(upload), expected)
    df, _, _ = read_table(path)
    assert list(df.columns) == list(ROWS[0])


def encrypted_flag(data: bytes) -> bytes:
    """The zip ``data`` with the 'encrypted' flag set on its member (both headers)."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = out.find(sig)
        out[i + offset] |= 1
    return bytes(out)


@pytest.mark.parametrize(
    ("name", "make", "error", "words"),
    [
        pytest.param(
            "two.zip",
            lambda: zipped({"a.csv": CSV, "b.csv": CSV}),
            FileFormatError,
            ["two.zip", "2 files", "'a.csv'", "'b.csv'", "one table"],
            id="zip-of-two",
        ),
        pytest.param(
            "none.zip", lambda: zipped({}), FileFormatError, ["none.zip", "no file"], id="empty-zip"
        ),
        pytest.param(
            "folders.zip",
            lambda: zipped({"d/": b"", "__MACOSX/._x": b""}),
            FileFormatError,
            ["folders.zip", "no file"],
            id="zip-of-folders-and-junk",
        ),
        pytest.param(
            "cut.csv.gz",
            lambda: gzip.compress(CSV)[:-12],
            FileFormatError,
            ["cut.csv.gz", "gzip", "cannot be decompressed", "truncated"],
            id="truncated-gzip",
        ),
        pytest.param(
            "cut.csv.bz2",
            lambda: bz2.compress(CSV)[:-12],
            FileFormatError,
            ["cut.csv.bz2", "bzip2", "cannot be decompressed"],
            id="truncated-bzip2",
        ),
        pytest.param(
            "bad.zip",
            lambda: b"PK\x03\x04" + bytes(200),
            FileFormatError,
            ["bad.zip", "zip archive", "Excel", "export the sheet as CSV"],
            id="damaged-zip",
        ),
        pytest.param(
            "locked.zip",
            lambda: encrypted_flag(zipped({"p.csv": CSV})),
            FileFormatError,
            ["locked.zip", "password"],
            id="password-zip",
        ),
        pytest.param(
            "empty.csv.gz",
            lambda: gzip.compress(b"  \n"),
            EmptyFileError,
            ["empty.csv.gz", "empty"],
            id="gzip-of-nothing",
        ),
        pytest.param(
            "deep.zip",
            lambda: zipped({"a.zip": zipped({"b.zip": zipped({"p.csv": CSV})})}),
            FileFormatError,
            ["deep.zip", "nested more than 2"],
            id="zip-in-zip-in-zip",
        ),
        pytest.param(
            "old.xls",
            lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(300),
            FileFormatError,
            ["old.xls", ".xls", "save it as .xlsx"],
            id="old-xls",
        ),
        pytest.param(
            "fake.xlsx",
            lambda: zipped({"xl/workbook.xml": b"<not xml"}),
            FileFormatError,
            ["fake.xlsx", "Excel workbook that cannot be read"],
            id="broken-workbook",
        ),
    ],
)
def test_bad_containers_give_typed_errors_naming_the_file(name, make, error, words):
    with pytest.raises(error) as caught:
        load_dataset(make(), name=name)
    for word in words:
        assert word in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("bomb.csv.gz", gzip.compress),
        ("bomb.csv.bz2", bz2.compress),
        ("bomb.zip", lambda d: zipped({"bomb.csv": d})),
        ("bomb.xlsx", lambda d: xlsx_bytes([("label", "prediction"), *[("a" * 500, "a")] * 20])),
    ],
)
def test_a_file_expanding_past_the_cap_is_refused(monkeypatch, name, make):
    # 100 KB of CSV compresses to a few hundred bytes; the cap is lowered to 10 KB.
    monkeypatch.setattr(formats.containers, "MAX_DECOMPRESSED_BYTES", 10_000)
    data = b"label,prediction\n" + b"a,a\n" * 25_000
    packed = make(data)
    assert len(packed) < 10_000
    with pytest.raises(FileFormatError) as caught:
        load_dataset(packed, name=name)
    message = str(caught.value)
    assert message.startswith(f"{name}: expands to more than 10,000 bytes"), message
    assert "decompression bomb" in message


def test_the_cap_is_two_gib():
    assert formats.MAX_DECOMPRESSED_BYTES == 2 * 1024**3


# --------------------------------------------------------------------------- xlsx


def test_an_xlsx_sheet_reads_as_the_csv_of_its_cells():
    expected = load_dataset(CSV, name="preds.csv")
    got = load_dataset(xlsx_bytes(), name="preds.xlsx")
    assert_same_dataset(got, expected)
    assert list(got.tags.columns) == ["night"]


def test_xlsx_cells_keep_their_kind_and_spelling():
    df, _, warnings = read_table(xlsx_bytes(), name="preds.xlsx")
    assert not warnings  # one sheet
    assert df["id"].dtype == np.int64 and df["id"].tolist() == [1, 2, 3, 4, 5]
    assert df["score"].dtype == np.float64
    assert df["snr"].dtype == np.float64  # whole and fractional numbers, one blank
    assert df["snr"].isna().tolist() == [False, False, True, False, False]
    assert df["when"].tolist() == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-06",
    ]
    # A text column: "007" keeps its zeros, the number cell 7 reads "7" (never "7.0").
    assert df["note"].tolist() == ["007", "hi", "7", "x", "x"]
    assert df["label"].tolist() == ["cat", "dog", "dog", "1", "cat"]
    assert df["night"].isna().tolist() == [False, True, False, True, False]  # blank cells


def test_xlsx_datetimes_booleans_and_numeric_text():
    rows = [
        ("id", "label", "prediction", "at", "ok", "mixed", "n"),
        ("007", "a", "a", dt.datetime(2024, 3, 1, 14, 5), True, True, 1),
        ("012", "b", "a", dt.datetime(2024, 3, 2, 0, 0, 30), False, "maybe", "2"),
        ("x1", "b", "b", dt.datetime(2024, 3, 3, 9, 0), True, 2.5, 3),
    ]
    df, _, _ = read_table(xlsx_bytes(rows), name="types.xlsx")
    assert df["id"].tolist() == ["007", "012", "x1"]  # text cells: spelling kept
    assert df["at"].tolist() == [
        "2024-03-01 14:05:00",
        "2024-03-02 00:00:30",
        "2024-03-03 09:00:00",
    ]
    assert df["ok"].dtype == bool and df["ok"].tolist() == [True, False, True]
    assert df["mixed"].tolist() == ["TRUE", "maybe", "2.5"]
    # "2" is a text cell: the column is text, the numbers written as typed; the loader then
    # reads that text as numbers, as it reads a CSV column 1, 2, 3.
    assert df["n"].tolist() == ["1", "2", "3"]
    ds = load_dataset(xlsx_bytes(rows), name="types.xlsx", mapping=ColumnMapping(id="id"))
    assert ds.frame["id"].tolist() == ["007", "012", "x1"]
    assert ds.frame["n"].dtype == np.int64 and ds.frame["n"].tolist() == [1, 2, 3]


def test_xlsx_first_visible_sheet_by_default_and_sheet_by_name():
    other = [("label", "prediction"), ("a", "b")]
    data = xlsx_bytes(sheets={"second": other}, hidden_first=True)
    df, _, warnings = read_table(data, name="book.xlsx")
    assert len(df) == 5  # 'notes' is hidden: 'preds' is the first visible sheet
    assert warnings == [
        "book.xlsx: read the sheet 'preds'; the workbook also has 'notes', "
        "'second' (CLI: --sheet NAME to read another)"
    ]
    df, _, _ = read_table(data, name="book.xlsx", sheet="second")
    assert df.to_dict("list") == {"label": ["a"], "prediction": ["b"]}
    with pytest.raises(
        InvalidValueError,
        match=r"book\.xlsx: has no sheet 'third'; its sheets "
        r"are 'notes', 'preds', 'second'",
    ):
        read_table(data, name="book.xlsx", sheet="third")
    with pytest.raises(
        InvalidValueError,
        match=r"preds\.csv: a sheet \('second'\) can be "
        r"chosen in an Excel \.xlsx workbook only",
    ):
        read_table(CSV, name="preds.csv", sheet="second")


@pytest.mark.parametrize(
    ("rows", "error", "words"),
    [
        pytest.param(
            [], EmptyFileError, ["book.xlsx, sheet 'preds': the sheet is empty"], id="empty-sheet"
        ),
        pytest.param(
            [("label", "prediction")],
            EmptyFileError,
            ["book.xlsx, sheet 'preds': has a header but no data rows"],
            id="header-only",
        ),
        pytest.param(
            [(None, None), ("label", "prediction"), ("a", "a")],
            EmptyFileError,
            ["book.xlsx, sheet 'preds': row 1 is blank"],
            id="blank-first-row",
        ),
        pytest.param(
            [(1, 0), (1, 1)],
            EmptyFileError,
            ["book.xlsx, sheet 'preds'", "looks like data"],
            id="no-header",
        ),
        pytest.param(
            [("label", "prediction", "label"), ("a", "a", "b")],
            DuplicateColumnError,
            ["book.xlsx, sheet 'preds'", "'label' appears twice"],
            id="duplicate-names",
        ),
        pytest.param(
            [("label", None, "prediction"), ("a", "x", "a")],
            DuplicateColumnError,
            ["book.xlsx, sheet 'preds'", "column 2", "no name"],
            id="unnamed-column",
        ),
    ],
)
def test_bad_sheets_name_the_file_and_the_sheet(rows, error, words):
    with pytest.raises(error) as caught:
        read_table(xlsx_bytes(rows), name="book.xlsx")
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_an_empty_default_sheet_points_to_the_others():
    data = xlsx_bytes([], sheets={"data": [("label", "prediction"), ("a", "a")]})
    with pytest.raises(
        EmptyFileError,
        match=r"book\.xlsx, sheet 'preds': the sheet is empty.*"
        r"'data' \(CLI: --sheet NAME\)",
    ):
        read_table(data, name="book.xlsx")


def test_blank_rows_and_unnamed_empty_columns_are_skipped():
    rows = [("label", "prediction", None), ("a", "a", None), (None, None, None), ("b", "a", None)]
    df, _, _ = read_table(xlsx_bytes(rows), name="book.xlsx")
    assert df.to_dict("list") == {"label": ["a", "b"], "prediction": ["a", "a"]}


# --------------------------------------------------------------------------- nested columns


def nested_table() -> pa.Table:
    """Five rows; by hand, the distinct values of each nested column and their rows."""
    return pa.table(
        {
            "id": ["r1", "r2", "r3", "r4", "r5"],
            "label": ["a", "b", "a", "b", "a"],
            "prediction": ["a", "a", "a", "b", "b"],
            # [1,2] on r1, r2 (one right, one wrong); [] on r3; null on r4; [3] on r5
            "boxes": pa.array([[1, 2], [1, 2], [], None, [3]], pa.list_(pa.int64())),
            "words": pa.array([["x"], ["x"], ["y"], ["x"], ["y"]], pa.large_list(pa.string())),
            "xy": pa.array([[0.5, 1.0]] * 5, pa.list_(pa.float64(), 2)),
            "camera": pa.array(
                [
                    {"name": "front", "hz": 30},
                    {"name": "back", "hz": 30},
                    {"name": "front", "hz": 30},
                    {"name": "front", "hz": 30},
                    None,
                ]
            ),
            "attrs": pa.array(
                [[("k", "v")], [("k", "w")], [], [("k", "v")], [("k", "v")]],
                pa.map_(pa.string(), pa.string()),
            ),
        }
    )


NESTED = ["boxes", "words", "xy", "camera", "attrs"]


@pytest.fixture
def nested_parquet(tmp_path) -> Path:
    path = tmp_path / "nested.parquet"
    pq.write_table(nested_table(), path)
    return path


def test_nested_parquet_columns_become_json_text(nested_parquet):
    ds = load_dataset(nested_parquet)
    assert ds.warnings == [formats.nested_warning("nested.parquet", NESTED)]
    frame = ds.frame
    assert frame["boxes"].isna().tolist() == [False, False, False, True, False]  # null kept
    assert frame["boxes"].dropna().tolist() == ["[1,2]", "[1,2]", "[]", "[3]"]
    assert frame["words"].tolist() == ['["x"]', '["x"]', '["y"]', '["x"]', '["y"]']
    assert frame["xy"].iloc[0] == "[0.5,1.0]"
    assert frame["camera"].iloc[0] == '{"hz":30,"name":"front"}'  # keys sorted
    assert frame["attrs"].tolist()[:3] == ['{"k":"v"}', '{"k":"w"}', "{}"]
    for c in NESTED:  # every cell hashable: what grouping and slicing need
        assert frame[c].map(hash).notna().all()
        json.loads(frame[c].dropna().iloc[0])


def test_slicing_by_a_nested_column_gives_one_slice_per_distinct_value(nested_parquet):
    ds = load_dataset(nested_parquet)
    table = analyze(ds, slice_by=["boxes", "camera"])
    n = {name: int(v) for name, v in table["n"].items()}
    acc = {name: float(v) for name, v in table["accuracy"].items()}
    # By hand from nested_table(): correct rows are r1, r3, r4.
    assert n["boxes = [1,2]"] == 2 and acc["boxes = [1,2]"] == 0.5
    assert n["boxes = []"] == 1 and acc["boxes = []"] == 1.0
    assert n["boxes = [3]"] == 1 and acc["boxes = [3]"] == 0.0
    assert n['camera = {"hz":30,"name":"front"}'] == 3
    assert n['camera = {"hz":30,"name":"back"}'] == 1
    for text in (
        to_csv(table),
        to_json(table, dataset="nested.parquet"),
        to_markdown(table),
        to_html(table),
    ):
        assert "boxes = [1,2]" in text.replace("\\", "")  # Markdown escapes the brackets


def test_the_cli_slices_by_a_nested_column(nested_parquet):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "slicewise.core.cli",
            "analyze",
            str(nested_parquet),
            "--slice-by",
            "boxes",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "slicewise: note: nested.parquet: columns 'boxes'" in result.stderr
    slices = {s["name"]: s["n"] for s in json.loads(result.stdout)["slices"]}
    assert {k: v for k, v in slices.items() if k.startswith("boxes")} == {
        "boxes = [1,2]": 2,
        "boxes = []": 1,
        "boxes = [3]": 1,
        "boxes = (missing)": 1,
    }


@pytest.mark.parametrize(
    ("mapping", "role", "flag"),
    [
        (ColumnMapping(label="words"), "label", "--label"),
        (ColumnMapping(prediction="camera"), "prediction", "--prediction"),
        (ColumnMapping(id="attrs"), "id", "--id"),
        (ColumnMapping(human="words"), "human", "--human"),
        (ColumnMapping(score="xy"), "score", "--score"),
        (ColumnMapping(tags_column="words"), "tags column", "--tags-column"),
        (ColumnMapping(tag_columns=("boxes",)), "tag", "--tag-columns"),
    ],
)
def test_a_nested_column_cannot_take_a_role(nested_parquet, mapping, role, flag):
    col = next(c for c in NESTED if c in repr(mapping))
    with pytest.raises(InvalidValueError) as caught:
        load_dataset(nested_parquet, mapping)
    message = str(caught.value)
    assert message.startswith(f"nested.parquet: the {role} column {col!r} holds lists"), message
    assert f"(CLI: {flag} COLUMN)" in message


def test_a_nested_column_named_like_a_role_is_refused_when_detected(tmp_path):
    path = tmp_path / "multi.parquet"
    pq.write_table(pa.table({"label": pa.array([["a"], ["b"]]), "prediction": ["a", "b"]}), path)
    with pytest.raises(InvalidValueError, match="the label column 'label' holds lists"):
        load_dataset(path)


def test_in_memory_frames_with_dicts_lists_and_arrays():
    df = pd.DataFrame(
        {
            "label": ["a", "b", "a", "b"],
            "prediction": ["a", "a", "a", "b"],
            "meta": [{"b": 1, "a": 2}, {"a": 2, "b": 1}, {"a": 3}, None],  # rows 1, 2 equal dicts
            "arr": [np.array([1, 2]), np.array([1, 2]), np.array([]), np.array([np.nan])],
            "mixed": ["plain", ["x", "y"], ("t",), 7],
            "arrow": pd.Series([[1], [1], [2], None], dtype=pd.ArrowDtype(pa.list_(pa.int64()))),
        }
    )
    ds = dataset_from_frame(df, name="frame")
    assert ds.warnings == [formats.nested_warning("frame", ["meta", "arr", "mixed", "arrow"])]
    f = ds.frame
    assert f["meta"].tolist()[:3] == ['{"a":2,"b":1}', '{"a":2,"b":1}', '{"a":3}']
    assert f["arr"].tolist() == ["[1,2]", "[1,2]", "[]", "[null]"]
    converted, _ = formats.nested_cells_to_text(df)
    assert converted["mixed"].tolist() == ["plain", '["x","y"]', '["t"]', 7]  # scalars kept
    assert f["mixed"].tolist()[:3] == ["plain", '["x","y"]', '["t"]']
    assert f["arrow"].tolist()[:3] == ["[1]", "[1]", "[2]"]
    table = analyze(ds, slice_by=["meta", "arrow"])
    assert int(table.loc['meta = {"a":2,"b":1}', "n"]) == 2
    # arrow [1], [2], missing are rows 0-1, 2, 3: the same rows as meta's three values, so
    # each is shown once, under the meta slice (first sliced), which names it.
    assert not table.index.str.startswith("arrow").any()
    assert table.loc['meta = {"a":2,"b":1}', "same_as"] == "arrow = [1]"
    assert table.loc['meta = {"a":3}', "same_as"] == "arrow = [2]"
    alone = analyze(ds, slice_by=["arrow"])
    assert int(alone.loc["arrow = [1]", "n"]) == 2
    assert isinstance(df["meta"].iloc[0], dict)  # the caller's frame is left as it was
    with pytest.raises(InvalidValueError, match="the id column 'arr' holds lists"):
        dataset_from_frame(df, ColumnMapping(id="arr"), name="frame")


def test_a_frame_without_nested_cells_is_not_copied_or_warned():
    df = pd.DataFrame({"label": ["a", "b"], "prediction": ["a", "a"], "x": ["t", 1]})
    out, names = formats.nested_cells_to_text(df)
    assert out is df and names == []
    assert dataset_from_frame(df).warnings == []


def test_json_text_is_canonical():
    assert formats.json_text({"b": [1, 2.5], "a": None}) == '{"a":null,"b":[1,2.5]}'
    assert formats.json_text({2: "x", "1": float("nan")}) == '{"1":null,"2":"x"}'
    assert (
        formats.json_text([dt.date(2024, 1, 2), b"\xff", np.int64(3), {"é"}])
        == '["2024-01-02","ff",3,["é"]]'
    )
    assert formats.json_text(None) is None and formats.json_text(float("nan")) is None


def test_pages_run_on_a_dataset_with_a_nested_column(fresh, nested_parquet):
    from pagetest import assert_ok, run_page

    from slicewise.core.store import Store
    from slicewise.core.task import TaskSpec
    from slicewise.ui import state

    with Store(fresh) as store:
        project = store.get_or_create_project("Nested", user="seed")
        did = store.save_dataset(
            project, "nested", load_dataset(nested_parquet), task=TaskSpec(), user="seed"
        )
    for page in ("pages/3_Slices_vs_HLP.py", "pages/4_Prioritise.py", "pages/5_Export.py"):
        at = run_page(page, did, **{state.SLICE_BY: ["boxes", "camera"]})
        assert_ok(at, no_errors=True)
        if page.startswith("pages/3"):  # sliced by the nested columns
            chooser = next(w for w in at.multiselect if w.key == state.SLICE_BY)
            assert {"boxes", "camera"} <= set(chooser.options)
            assert chooser.value == ["boxes", "camera"]


@pytest.mark.parametrize(
    ("name", "make", "note"),
    [
        ("preds.xlsx", lambda: xlsx_bytes(sheets={"more": [("a",), ("b",)]}), "read the sheet"),
        ("preds.csv.gz", lambda: gzip.compress(CSV), None),
        ("nested.parquet", lambda: parquet_bytes(nested_table()), "hold lists, structs or maps"),
    ],
)
def test_the_load_page_reads_and_saves_the_new_formats(fresh, name, make, note):
    from pagetest import texts
    from streamlit.testing.v1 import AppTest

    from slicewise.core.store import Store

    at = AppTest.from_file(str(ROOT / "pages" / "1_Load_data.py"), default_timeout=60)
    at.session_state["user_name"] = "Ana"
    at.run()
    at.file_uploader(key="load_upload").set_value((name, make(), "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    if note:
        assert note in texts(at.warning), texts(at.warning)
    at.button[[b.label for b in at.button].index("Check and save")].click().run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    with Store(fresh) as store:
        saved = store.list_datasets()
        assert saved["name"].tolist() == ["preds" if name.startswith("preds") else "nested"]
        assert store.load_dataset(int(saved["id"].iloc[0])).n == 5


# --------------------------------------------------------------------------- CLI


def test_cli_analyzes_a_gzipped_csv(tmp_path):
    path = tmp_path / "preds.csv.gz"
    path.write_bytes(gzip.compress(CSV))
    plain = tmp_path / "preds.csv"
    plain.write_bytes(CSV)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "slicewise.core.cli", "analyze", str(p), "--format", "json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        for p in (path, plain)
    ]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    got, expected = (json.loads(r.stdout) for r in runs)
    assert got["overall"] == expected["overall"] and got["slices"] == expected["slices"]
    assert got["overall"]["n"] == 5


def test_cli_reads_a_chosen_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes(sheets={"other": [("label", "prediction"), ("a", "b")]}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "slicewise.core.cli",
            "analyze",
            str(path),
            "--sheet",
            "other",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["overall"]["n"] == 1


def test_duckdb_engine_streams_gzip_and_refuses_other_containers(tmp_path):
    from slicewise.core.engine_duckdb import analyze_file_duckdb

    path = tmp_path / "preds.tsv.gz"
    path.write_bytes(gzip.compress(TSV))
    got = analyze_file_duckdb(path, slice_by=["device"])
    expected = analyze(load_dataset(path), slice_by=["device"])
    pd.testing.assert_frame_equal(got, expected)
    for name, data in (
        ("preds.csv.bz2", bz2.compress(CSV)),
        ("preds.xlsx", xlsx_bytes()),
        ("preds.zip", zipped({"p.csv": CSV})),
    ):
        other = tmp_path / name
        other.write_bytes(data)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "slicewise.core.cli",
                "analyze",
                str(other),
                "--engine",
                "duckdb",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"slicewise: error: {name}: is ")
        assert "--engine pandas" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("mapping", "role", "col"),
    [
        (ColumnMapping(id="camera"), "id", "camera"),
        (ColumnMapping(label="boxes"), "label", "boxes"),
        (ColumnMapping(prediction="attrs"), "prediction", "attrs"),
    ],
)
def test_duckdb_engine_refuses_a_nested_role_as_the_loader_does(nested_parquet, mapping, role, col):
    from slicewise.core.engine_duckdb import analyze_file_duckdb

    message = f"nested.parquet: the {role} column {col!r} holds lists, structs or maps"
    with pytest.raises(InvalidValueError, match=message):
        load_dataset(nested_parquet, mapping)
    with pytest.raises(InvalidValueError, match=message):
        analyze_file_duckdb(nested_parquet, mapping)


def test_data_errors_are_data_errors():
    # The containers' errors are DataError subclasses: the CLI and the pages catch them.
    assert issubclass(FileFormatError, DataError) and issubclass(EmptyFileError, DataError)
