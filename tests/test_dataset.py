"""Tests for core.dataset: the data contract, one clear DataError per input problem."""

from __future__ import annotations

import io
import os
import string
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slicewise.core.dataset import (
    ColumnMapping,
    dataset_from_frame,
    detect_mapping,
    load_dataset,
    parse_boolean_column,
    parse_tags_column,
    read_table,
)
from slicewise.core.errors import (
    AmbiguousColumnError,
    DataError,
    DuplicateColumnError,
    DuplicateIdError,
    EmptyFileError,
    EncodingError,
    FileFormatError,
    InvalidValueError,
    MissingColumnError,
    MissingValuesError,
)


def parquet_bytes(df: pd.DataFrame | None = None, *, table: pa.Table | None = None) -> bytes:
    buf = io.BytesIO()
    if table is None:
        df.to_parquet(buf, index=False)
    else:
        pq.write_table(table, buf)
    return buf.getvalue()


class Upload:
    """Stands in for Streamlit's UploadedFile: a name and getvalue()."""

    def __init__(self, data: bytes, name: str):
        self.name = name
        self._data = data

    def getvalue(self) -> bytes:
        return self._data


LATIN1 = "label,prediction\ncafé,café\ncrème,thé\n".encode("latin-1")

# --------------------------------------------------------------------------- bad input

# (file bytes, file name, load_dataset kwargs, exact error type, substrings of the message)
BAD_INPUTS = [
    pytest.param(b"", "empty.csv", {}, EmptyFileError, ["empty"], id="empty-file"),
    pytest.param(
        b" \n\r\n\n", "blank.csv", {}, EmptyFileError, ["empty", "header row"], id="whitespace-only"
    ),
    pytest.param(
        b"label,prediction\n", "head.csv", {}, EmptyFileError, ["no data rows"], id="header-only"
    ),
    pytest.param(
        b"1,0,1\n0,1,1\n",
        "nohead.csv",
        {},
        EmptyFileError,
        ["first line (1, 0, 1)", "looks like data", "add a header row"],
        id="no-header",
    ),
    pytest.param(
        b"\nlabel,prediction\na,a\n",
        "gap.csv",
        {},
        EmptyFileError,
        ["first line is blank", "column names"],
        id="blank-first-line",
    ),
    pytest.param(
        b"foo,prediction\na,a\n",
        "nolabel.csv",
        {},
        MissingColumnError,
        ["no label column", "'foo'", "--label"],
        id="label-missing",
    ),
    pytest.param(
        b"label,foo\na,a\n",
        "nopred.csv",
        {},
        MissingColumnError,
        ["no prediction column", "'foo'", "--prediction"],
        id="prediction-missing",
    ),
    pytest.param(
        b"label,prediction\na,a\n",
        "map.csv",
        {"mapping": ColumnMapping(label="gold")},
        MissingColumnError,
        ["'gold'", "given as the label", "'label', 'prediction'"],
        id="mapped-column-absent",
    ),
    pytest.param(
        b"y_true,target,prediction\na,a,a\n",
        "amb.csv",
        {},
        AmbiguousColumnError,
        ["label", "'y_true', 'target'", "choose one"],
        id="label-ambiguous",
    ),
    pytest.param(
        b"label,pred,y_pred\na,a,a\n",
        "amb.csv",
        {},
        AmbiguousColumnError,
        ["prediction", "'pred', 'y_pred'", "--prediction"],
        id="prediction-ambiguous",
    ),
    pytest.param(
        b"label,prediction,label\na,a,a\n",
        "dup.csv",
        {},
        DuplicateColumnError,
        ["'label'", "columns 1 and 3", "rename"],
        id="duplicate-column",
    ),
    pytest.param(
        b"label, Label ,label \na,a,a\n",
        "dup.csv",
        {},
        DuplicateColumnError,
        ["'label'", "columns 1 and 3"],
        id="duplicate-after-strip",
    ),
    pytest.param(
        b"label,,prediction\na,a,a\n",
        "blankname.csv",
        {},
        DuplicateColumnError,
        ["column 2", "no name"],
        id="blank-column-name",
    ),
    pytest.param(
        b",label,prediction\n0,a,a\n",
        "index.csv",
        {},
        DuplicateColumnError,
        ["column 1", "no name", "index=False"],
        id="pandas-index-column",
    ),
    pytest.param(
        b"id,label,prediction\n1,a,a\n2,b,b\n1,c,c\n",
        "ids.csv",
        {},
        DuplicateIdError,
        ["'id'", "'1'", "rows 2, 4", "unique"],
        id="duplicate-ids",
    ),
    pytest.param(
        b"id,label,prediction\n1,a,a\n,b,b\n",
        "ids.csv",
        {},
        MissingValuesError,
        ["'id'", "blank", "row 3"],
        id="blank-id",
    ),
    pytest.param(
        b"label,prediction\na,a\n,b\nc,c\n,d\n",
        "miss.csv",
        {},
        MissingValuesError,
        ["'label'", "2 of 4 rows", "rows 3, 5", "missing='drop'"],
        id="missing-labels",
    ),
    pytest.param(
        b"label,prediction\na,\nb,b\nc,  \n",
        "miss.csv",
        {},
        MissingValuesError,
        ["'prediction'", "2 of 3 rows", "rows 2, 4"],
        id="missing-predictions",
    ),
    pytest.param(
        b"label,prediction\na,\n,b\nc,c\n",
        "miss.csv",
        {},
        MissingValuesError,
        [
            "'label' is missing in 1 of 3 rows (row 3)",
            "'prediction' is missing in 1 of 3 rows (row 2)",
        ],
        id="missing-both",
    ),
    pytest.param(
        b"label,prediction\n,a\n,b\n",
        "miss.csv",
        {"missing": "drop"},
        MissingValuesError,
        ["'label'", "empty in every row"],
        id="label-all-empty",
    ),
    pytest.param(
        b"label,prediction\na,\n,b\n",
        "miss.csv",
        {"missing": "drop"},
        MissingValuesError,
        ["every row misses", "row 2", "row 3"],
        id="nothing-left-after-drop",
    ),
    pytest.param(
        b"label,prediction\na,a\n",
        "opt.csv",
        {"missing": "skip"},
        InvalidValueError,
        ["'skip'", "'fail' or 'drop'"],
        id="bad-missing-option",
    ),
    pytest.param(
        b"label;prediction\na;a\n",
        "semi.csv",
        {"sep": ","},
        FileFormatError,
        ["one single column", "semicolon", "--sep"],
        id="wrong-delimiter-given",
    ),
    pytest.param(
        b"label,prediction\na,a\n",
        "commas.tsv",
        {},
        FileFormatError,
        ["tab", "comma-delimited"],
        id="tsv-holding-commas",
    ),
    pytest.param(
        b"label,prediction\na;a\nb;b\n",
        "mixed.csv",
        {},
        FileFormatError,
        ["line 2 has 1", "line 3 has 1", "semicolon-delimited"],
        id="rows-with-other-delimiter",
    ),
    pytest.param(
        b"label,prediction\na,a\n",
        "sep.csv",
        {"sep": "ab"},
        InvalidValueError,
        ["'ab'", "delimiter"],
        id="invalid-delimiter",
    ),
    pytest.param(
        b"label,prediction,device\na,a,ios\nb,b\nc,c,web\n",
        "short.csv",
        {},
        FileFormatError,
        ["header has 3 fields", "line 3 has 2"],
        id="ragged-short-row",
    ),
    pytest.param(
        b"label,prediction\na,a\nb,b,b,b\n",
        "long.csv",
        {},
        FileFormatError,
        ["header has 2 fields", "line 3 has 4"],
        id="ragged-long-row",
    ),
    pytest.param(
        b"label,prediction\n1,a,a\n2,b,b\n",
        "extra.csv",
        {},
        FileFormatError,
        ["header has 2 fields", "line 2 has 3", "line 3 has 3"],
        id="every-row-one-extra-field",
    ),
    pytest.param(
        b'label,prediction,note\na,a,"x, y"\n"b\nc",b\n',
        "quoted.csv",
        {},
        FileFormatError,
        ["header has 3 fields", "line 3 has 2"],
        id="ragged-row-in-quoted-file",
    ),
    pytest.param(
        b'label,prediction\n"a,a\nb,b\n',
        "quote.csv",
        {},
        FileFormatError,
        ["line 2", "never closed"],
        id="unclosed-quote",
    ),
    pytest.param(
        LATIN1,
        "latin.csv",
        {"encoding": "utf-8"},
        EncodingError,
        ["utf-8", "byte 0xe9 on line 2", "encoding"],
        id="not-utf8-as-given",
    ),
    pytest.param(
        b"label,prediction\na,a\n",
        "enc.csv",
        {"encoding": "klingon"},
        EncodingError,
        ["'klingon'", "not a known text encoding"],
        id="unknown-encoding",
    ),
    pytest.param(
        b"\xef\xbb\xbflabel,prediction\ncaf\xe9,a\n",
        "bom.csv",
        {},
        EncodingError,
        ["UTF-8 byte-order mark", "byte 0xe9 on line 2"],
        id="utf8-bom-with-latin1-bytes",
    ),
    pytest.param(
        bytes(range(256)) * 8,
        "random.csv",
        {},
        FileFormatError,
        ["binary data"],
        id="binary-named-csv",
    ),
    pytest.param(
        b"\x00\x01\x02\x03label,prediction\x00\xff\xfe\n",
        "nul.csv",
        {},
        FileFormatError,
        ["binary data"],
        id="nul-bytes",
    ),
    pytest.param(
        b"PK\x03\x04\x14\x00\x06\x00" + bytes(200),
        "book.csv",
        {},
        FileFormatError,
        ["Excel", "export the sheet as CSV"],
        id="xlsx-named-csv",
    ),
    pytest.param(
        b"\x1f\x8b\x08\x00" + bytes(50),
        "preds.csv",
        {},
        FileFormatError,
        ["gzip", "decompress"],
        id="gzip-named-csv",
    ),
    pytest.param(
        b"PAR1" + bytes(100),
        "broken.parquet",
        {},
        FileFormatError,
        ["not a readable Parquet file"],
        id="corrupt-parquet",
    ),
    pytest.param(
        b"label,prediction\na,a\n",
        "text.parquet",
        {},
        FileFormatError,
        ["not one", "rename it to .csv"],
        id="text-named-parquet",
    ),
    pytest.param(
        parquet_bytes(table=pa.table([[1], [2]], names=["label", "label"])),
        "dup.parquet",
        {},
        DuplicateColumnError,
        ["'label'", "appears twice"],
        id="parquet-duplicate-columns",
    ),
    pytest.param(
        parquet_bytes(
            pd.DataFrame(
                {"label": pd.Series([], dtype=str), "prediction": pd.Series([], dtype=str)}
            )
        ),
        "none.parquet",
        {},
        EmptyFileError,
        ["no rows"],
        id="parquet-without-rows",
    ),
    pytest.param(
        b"label,prediction,night\na,a,1\nb,b,maybe\n",
        "tags.csv",
        {"mapping": ColumnMapping(tag_columns=("night",))},
        InvalidValueError,
        ["'night'", "'maybe'", "row 3", "true/false"],
        id="bad-tag-value",
    ),
    pytest.param(
        b"label,prediction,score\na,a,0.5\nb,b,high\n",
        "score.csv",
        {},
        InvalidValueError,
        ["'score'", "'high'", "row 3", "numbers"],
        id="score-not-numeric",
    ),
    pytest.param(
        b"label,score\nyes,0.9\nno,0.2\n",
        "thr.csv",
        {"threshold": 0.5},
        InvalidValueError,
        ["positive class", "'no', 'yes'", "--positive"],
        id="threshold-without-positive",
    ),
    pytest.param(
        b"label,score\nyes,0.9\nno,0.2\n",
        "thr.csv",
        {"threshold": 0.5, "positive": "spam"},
        InvalidValueError,
        ["'spam'", "never occurs", "'label'"],
        id="positive-never-occurs",
    ),
    pytest.param(
        b"label,score\na,0.9\nb,0.2\nc,0.4\n",
        "thr.csv",
        {"threshold": 0.5, "positive": "a"},
        InvalidValueError,
        ["exactly two classes", "found 3"],
        id="threshold-with-three-classes",
    ),
    pytest.param(
        b"label,conf\nyes,0.9\nno,0.2\n",
        "thr.csv",
        {"threshold": 0.5, "positive": "yes"},
        MissingColumnError,
        ["score column", "--score"],
        id="threshold-without-score",
    ),
    pytest.param(
        b"label,prediction,score\nyes,yes,0.9\n",
        "thr.csv",
        {"threshold": 0.5, "positive": "yes", "mapping": ColumnMapping(prediction="prediction")},
        InvalidValueError,
        ["either a prediction column", "not both"],
        id="threshold-and-mapped-prediction",
    ),
    pytest.param(
        b"label,prediction,score\nyes,yes,0.9\n",
        "thr.csv",
        {"threshold": "high", "positive": "yes"},
        InvalidValueError,
        ["threshold must be a number", "'high'"],
        id="threshold-not-a-number",
    ),
    pytest.param(
        b"a,b\nx,y\n",
        "roles.csv",
        {"mapping": ColumnMapping(label="a", prediction="b", id="a")},
        InvalidValueError,
        ["'a'", "both the label and the id"],
        id="column-two-roles",
    ),
]


@pytest.mark.parametrize(("data", "name", "kwargs", "error", "parts"), BAD_INPUTS)
def test_bad_input_raises_one_clear_error(data, name, kwargs, error, parts):
    with pytest.raises(DataError) as info:
        load_dataset(data, name=name, **kwargs)
    err = info.value
    message = str(err)
    assert type(err) is error, message
    assert message.startswith(f"{name}: "), message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    assert "\n" not in message and "Traceback" not in message
    # No raw pandas/pyarrow exception chained for the user to see.
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


def test_missing_path_names_the_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        load_dataset(path)
    with pytest.raises(DataError, match="is a folder"):
        load_dataset(tmp_path)


def test_messages_start_with_the_uploaded_file_name():
    with pytest.raises(MissingColumnError, match=r"^upload\.csv: no label column"):
        load_dataset(Upload(b"foo,bar\n1,2\n", "upload.csv"))
    with pytest.raises(EmptyFileError, match=r"^upload: the file is empty"):
        load_dataset(b"")


def test_in_memory_frame_with_duplicate_columns_is_rejected():
    df = pd.DataFrame([[1, 1, 2]], columns=["label", "prediction", "label"])
    with pytest.raises(DuplicateColumnError, match=r"^frame: column name 'label' appears twice"):
        dataset_from_frame(df, name="frame")


# --------------------------------------------------------------------------- good input

BASIC = b"id,label,prediction,device\na1,cat,cat,ios\na2,dog,cat,web\na3,bird,bird,ios\n"


def check_basic(ds):
    assert ds.n == 3
    assert list(ds.frame.columns) == ["id", "label", "prediction", "device"]
    assert ds.frame["id"].tolist() == ["a1", "a2", "a3"]
    assert ds.frame["label"].tolist() == ["cat", "dog", "bird"]
    assert ds.frame["prediction"].tolist() == ["cat", "cat", "bird"]
    assert ds.frame["device"].tolist() == ["ios", "web", "ios"]
    assert isinstance(ds.frame.index, pd.RangeIndex)


@pytest.mark.parametrize(
    ("data", "name", "kwargs"),
    [
        pytest.param(BASIC, "p.csv", {}, id="csv"),
        pytest.param(BASIC.replace(b",", b"\t"), "p.tsv", {}, id="tsv"),
        pytest.param(BASIC.replace(b",", b"\t"), "p.csv", {}, id="tsv-named-csv-sniffed"),
        pytest.param(BASIC.replace(b",", b";"), "p.csv", {}, id="semicolon-csv"),
        pytest.param(BASIC.replace(b",", b"|"), "p.csv", {}, id="pipe-csv"),
        pytest.param(BASIC.replace(b",", b";"), "p.txt", {"sep": ";"}, id="explicit-sep"),
        pytest.param(BASIC.replace(b",", b"\t"), "p.txt", {"sep": "\\t"}, id="escaped-tab-sep"),
        pytest.param(BASIC.replace(b"\n", b"\r\n"), "p.csv", {}, id="crlf"),
        pytest.param(BASIC.replace(b"\n", b"\r"), "p.csv", {}, id="old-mac-cr"),
        pytest.param(BASIC.replace(b"\na2", b"\n\n  \na2"), "p.csv", {}, id="blank-lines"),
        pytest.param(BASIC + b"\n\n", "p.csv", {}, id="trailing-blank-lines"),
        pytest.param(b"\xef\xbb\xbf" + BASIC, "p.csv", {}, id="utf8-bom"),
        pytest.param(BASIC.decode().encode("utf-16"), "p.csv", {}, id="utf16-bom"),
        pytest.param(
            b"\xfe\xff" + BASIC.decode().encode("utf-16-be"), "p.csv", {}, id="utf16-be-bom"
        ),
        pytest.param(BASIC.decode().encode("utf-16-le"), "p.csv", {}, id="utf16-no-bom"),
        pytest.param(BASIC.decode().encode("utf-32"), "p.csv", {}, id="utf32-bom"),
        pytest.param(parquet_bytes(pd.read_csv(io.BytesIO(BASIC))), "p.parquet", {}, id="parquet"),
        pytest.param(
            parquet_bytes(pd.read_csv(io.BytesIO(BASIC))),
            "upload",
            {},
            id="parquet-detected-by-signature",
        ),
        pytest.param(
            b'"id","label","prediction","device"\n"a1","cat","cat","ios"\n'
            b'"a2","dog","cat","web"\n"a3","bird","bird","ios"\n',
            "p.csv",
            {},
            id="all-quoted",
        ),
    ],
)
def test_good_files_load(data, name, kwargs):
    check_basic(load_dataset(data, name=name, **kwargs))


def test_parquet_index_is_kept_as_a_column():
    df = pd.DataFrame(
        {"label": ["a", "b"], "prediction": ["a", "a"]}, index=pd.Index(["x", "y"], name="id")
    )
    buf = io.BytesIO()
    df.to_parquet(buf)
    ds = load_dataset(buf.getvalue(), name="p.parquet")
    assert ds.frame["id"].tolist() == ["x", "y"]


def test_sources_path_upload_and_file_like(tmp_path):
    path = tmp_path / "preds.csv"
    path.write_bytes(BASIC)
    with open(path, "rb") as handle:
        for source in (path, str(path), Upload(BASIC, "preds.csv"), handle):
            ds = load_dataset(source)
            check_basic(ds)
            assert ds.source_name == "preds.csv"
    buf = io.BytesIO(BASIC)
    buf.name = "mem.csv"
    assert load_dataset(buf).source_name == "mem.csv"
    df, digest, warnings = read_table(Upload(BASIC, "preds.csv"))
    assert len(df) == 3 and len(digest) == 64 and warnings == []


def test_non_utf8_is_detected_and_reported():
    ds = load_dataset(LATIN1, name="latin.csv")
    assert ds.frame["label"].tolist() == ["café", "crème"]
    assert ds.frame["prediction"].tolist() == ["café", "thé"]
    assert any("not UTF-8" in w and "cp1252" in w for w in ds.warnings)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ISO-8859-1"])
def test_explicit_encoding(encoding):
    ds = load_dataset(LATIN1, name="latin.csv", encoding=encoding)
    assert ds.frame["label"].tolist() == ["café", "crème"]
    assert ds.warnings == []


def test_explicit_mapping_overrides_detection():
    data = b"label,prediction,gold,model_b\nx,x,a,a\ny,y,b,c\n"
    ds = load_dataset(data, ColumnMapping(label="gold", prediction="model_b"), name="m.csv")
    assert ds.frame["label"].tolist() == ["a", "b"]
    assert ds.frame["prediction"].tolist() == ["a", "c"]
    # The columns named like roles stay as metadata under non-clashing names.
    assert ds.frame["label_meta"].tolist() == ["x", "y"]
    assert ds.frame["prediction_meta"].tolist() == ["x", "y"]
    assert ds.mapping.label == "gold" and ds.mapping.prediction == "model_b"


def test_metadata_named_like_a_reserved_name_is_kept():
    data = b"gold,model,score,prediction,prediction_meta\na,a,0.2,p,q\nb,c,0.9,r,s\n"
    mapping = ColumnMapping(label="gold", prediction="model")
    ds = load_dataset(data, mapping, name="m.csv")
    assert ds.frame["score"].tolist() == [0.2, 0.9]  # detected as the score role
    assert ds.frame["prediction_meta"].tolist() == ["q", "s"]  # its own name
    assert ds.frame["prediction_meta2"].tolist() == ["p", "r"]  # renamed, not overwritten
    assert set(ds.metadata_columns) == {"prediction_meta", "prediction_meta2"}


@pytest.mark.parametrize(
    ("label", "prediction"),
    [
        ("y_true", "y_pred"),
        ("target", "predicted"),
        ("ground_truth", "pred"),
        ("Ground Truth", "Predicted-Label"),
        ("gold", "output"),
    ],
)
def test_renamed_columns_are_detected(label, prediction):
    data = f"{label},{prediction}\na,a\nb,c\n".encode()
    ds = load_dataset(data, name="r.csv")
    assert ds.mapping.label == label and ds.mapping.prediction == prediction
    assert ds.frame["label"].tolist() == ["a", "b"]
    assert ds.frame["prediction"].tolist() == ["a", "c"]


def test_exact_role_name_wins_over_a_looser_match():
    data = b"x,y,label,prediction\n1,2,a,a\n3,4,b,b\n"
    ds = load_dataset(data, name="xy.csv")
    assert ds.mapping.label == "label"
    assert ds.frame["y"].tolist() == [2, 4]
    assert detect_mapping(pd.read_csv(io.BytesIO(data))).label == "label"


def test_optional_roles_are_detected():
    data = b"example_id,label,prediction,human_label,confidence\ne1,a,a,a,0.9\ne2,b,a,,0.6\n"
    ds = load_dataset(data, name="h.csv")
    assert ds.frame["id"].tolist() == ["e1", "e2"]
    assert ds.frame["human"].tolist() == ["a", None]
    assert ds.frame["score"].tolist() == [0.9, 0.6]
    assert ds.has_human


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("x", ""),
        ("X", ""),
        ("yes", "no"),
        ("Y", "N"),
        ("1", "0"),
        ("1.0", "0.0"),
        ("true", "false"),
        ("TRUE", "FALSE"),
        ("✓", ""),
    ],
)
def test_boolean_tag_columns_are_detected(yes, no):
    data = (f"label,prediction,noisy,device\na,a,{yes},ios\nb,c,{no},web\nc,c,{yes},ios\n").encode()
    ds = load_dataset(data, name="t.csv")
    assert ds.mapping.tag_columns == ("noisy",)
    assert ds.tags["noisy"].dtype == bool
    assert ds.tags["noisy"].tolist() == [True, False, True]
    assert "noisy" not in ds.frame.columns and "device" in ds.frame.columns


def test_tag_columns_overlap_and_columns_named_like_roles_are_not_tags():
    data = b"label,prediction,y,night,blurry\n1,1,1,x,yes\n0,1,0,,yes\n1,0,1,x,no\n"
    ds = load_dataset(data, ColumnMapping(label="label"), name="t.csv")
    assert ds.mapping.tag_columns == ("night", "blurry")
    assert ds.tags.to_numpy().tolist() == [[True, True], [False, True], [True, False]]
    assert ds.frame["y"].tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "cells",
    [
        ["noisy; night", "", "night;blurry ; noisy", "blurry;;"],
        ["noisy | night", "", "night|blurry | noisy", "|blurry"],
    ],
    ids=["semicolon", "pipe-with-spaces"],
)
def test_delimited_tags_column(cells):
    body = "".join(f"r{i},a,a,{c}\n" for i, c in enumerate(cells))
    ds = load_dataset(f"id,label,prediction,tags\n{body}".encode(), name="t.csv")
    assert ds.mapping.tags_column == "tags"
    assert list(ds.tags.columns) == ["blurry", "night", "noisy"]
    assert ds.tags.to_numpy().tolist() == [
        [False, True, True],
        [False, False, False],
        [True, True, True],
        [True, False, False],
    ]
    assert "tags" not in ds.frame.columns


def test_delimited_tags_merge_with_a_boolean_column_of_the_same_name():
    data = b"label,prediction,tags,night\na,a,night,\nb,b,,x\nc,c,dark,\n"
    ds = load_dataset(data, ColumnMapping(tags_column="tags", tag_columns=("night",)), name="t.csv")
    assert ds.tags["night"].tolist() == [True, True, False]
    assert ds.tags["dark"].tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("labels", "predictions"),
    [
        ("1,0,1,0", "1,0,0,unknown"),  # int labels, text predictions
        ("1.0,0.0,1.0,0.0", "1,0,0,unknown"),  # float labels, text predictions
        ("1,0,1,0", "1.0,0.0,0.0,unknown"),  # int labels, text "1.0"
        ("1.5,2.0,2.0,0.5", "1.5,2,1,x"),
    ],  # floats keep their decimals, lose ".0"
)
def test_numbers_and_text_of_the_same_classes_compare_equal(labels, predictions):
    rows = zip(labels.split(","), predictions.split(","), strict=True)
    data = ("label,prediction\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()
    ds = load_dataset(data, name="n.csv")
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, True, False, False]


def test_numbers_written_differently_name_one_class_shown_by_its_most_common_spelling():
    # 1.0 and 1 are one class (by value); "1" is written three times out of four.
    ds = load_dataset(b"label,prediction\n1.0,1\n0.0,1\n1,1\n", name="n.csv")
    assert ds.frame["label"].tolist() == ["1", "0.0", "1"]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, False, True]
    reg = load_dataset(b"label,prediction\n1.5,1.25\n2.0,2.5\n", name="r.csv")
    assert pd.to_numeric(reg.frame["label"]).tolist() == [1.5, 2.0]


def test_booleans_and_text_true_false_compare_equal():
    df = pd.DataFrame(
        {
            "label": [True, False, True],
            "prediction": pd.Series(["true", "False", "maybe"], dtype=object),
        }
    )
    ds = dataset_from_frame(df, name="b")
    # "false" (from the boolean) and "False" tie once each: the first in sorted order shows.
    assert ds.frame["label"].tolist() == ["true", "False", "true"]
    assert ds.frame["prediction"].tolist() == ["true", "False", "maybe"]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, True, False]


def test_booleans_next_to_numbers_compare_as_one_and_zero():
    ds = load_dataset(b"label,prediction\n1,true\n0,true\n0,false\n", name="b.csv")
    # "true" is written twice and "1" once; "0" twice and "false" once.
    assert ds.frame["prediction"].tolist() == ["true", "true", "0"]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, False, True]


def test_none_is_a_class_not_a_missing_value():
    ds = load_dataset(b"label,prediction\nNone,None\nspam,None\n", name="n.csv")
    assert ds.frame["label"].tolist() == ["None", "spam"]


def test_missing_drop_drops_warns_and_keeps_row_numbers_as_ids():
    data = b"label,prediction,night\na,a,x\n,b,\nc,c,x\nd,,\ne,f,x\n"
    ds = load_dataset(data, name="d.csv", missing="drop")
    assert ds.n == 3
    assert ds.frame["label"].tolist() == ["a", "c", "e"]
    assert ds.frame["id"].tolist() == [0, 2, 4]  # positions in the file, not renumbered
    assert ds.tags["night"].tolist() == [True, True, True]
    assert len(ds.tags) == ds.n
    assert len(ds.warnings) == 1
    assert "d.csv: left out 2 of 5 rows" in ds.warnings[0] and "rows 3, 5" in ds.warnings[0]


def test_errors_after_dropping_name_the_original_rows():
    data = b"id,label,prediction\n1,a,a\n2,,b\n3,c,c\n1,d,d\n"
    with pytest.raises(DuplicateIdError, match="rows 2, 5"):
        load_dataset(data, name="d.csv", missing="drop")


@pytest.mark.parametrize(
    ("labels", "positive", "expected_label"),
    [
        (["spam", "ham", "spam", "ham"], "spam", ["spam", "ham", "spam", "ham"]),
        (["1", "0", "1", "0"], "1", ["1", "0", "1", "0"]),
        (["1", "0", "1", "0"], 1, ["1", "0", "1", "0"]),
        (["1.0", "0.0", "1.0", "0.0"], "1", ["1.0", "0.0", "1.0", "0.0"]),
        (["TRUE", "FALSE", "TRUE", "FALSE"], "yes", ["TRUE", "FALSE", "TRUE", "FALSE"]),
    ],
)
def test_score_threshold_and_positive_build_predictions(labels, positive, expected_label):
    scores = ["0.9", "0.2", "0.4", "0.7"]
    body = "".join(f"{a},{s}\n" for a, s in zip(labels, scores, strict=True))
    ds = load_dataset(
        f"label,score\n{body}".encode(), name="s.csv", threshold=0.5, positive=positive
    )
    neg = expected_label[1]
    assert ds.frame["label"].tolist() == expected_label
    assert ds.frame["prediction"].tolist() == [expected_label[0], neg, neg, expected_label[0]]
    assert ds.frame["score"].tolist() == [0.9, 0.2, 0.4, 0.7]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, True, False, False]


def test_threshold_replaces_a_detected_prediction_and_missing_scores_drop():
    data = b"label,prediction,score\nyes,no,0.9\nno,no,\nno,yes,0.1\n"
    ds = load_dataset(data, name="s.csv", threshold=0.5, positive="yes", missing="drop")
    assert ds.frame["prediction"].tolist() == ["yes", "no"]
    assert ds.frame["prediction_meta"].tolist() == ["no", "yes"]
    assert any("predictions come from 'score'" in w for w in ds.warnings)
    assert any("left out 1 of 3 rows" in w for w in ds.warnings)
    with pytest.raises(MissingValuesError, match="score column 'score'.*row 3"):
        load_dataset(data, name="s.csv", threshold=0.5, positive="yes")


def test_fingerprint_depends_on_options():
    data = b"label,score\nyes,0.9\nno,0.2\n"
    a = load_dataset(data, threshold=0.5, positive="yes")
    b = load_dataset(data, threshold=0.8, positive="yes")
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == load_dataset(data, threshold=0.5, positive="yes").fingerprint()


def test_metadata_keeps_its_type():
    ds = load_dataset(b"label,prediction,age,device\na,a,31,ios\nb,b,40,\n", name="m.csv")
    assert ds.frame["age"].dtype == np.int64
    assert pd.api.types.is_string_dtype(ds.frame["device"])
    assert pd.isna(ds.frame["device"].iloc[1])


def test_dataset_from_frame_with_unhashable_cells():
    df = pd.DataFrame({"label": ["a", "b"], "prediction": ["a", "a"], "spans": [[1], [2, 3]]})
    ds = dataset_from_frame(df)
    # Lists become JSON text, hashable for slicing (tests/test_formats.py has the rest).
    assert ds.n == 2 and ds.frame["spans"].tolist() == ["[1]", "[2,3]"]
    assert "'spans' hold lists" in ds.warnings[0]


def test_parse_boolean_column_and_tags_column_directly():
    col = pd.Series(["x", None, " X ", "", "no"], index=[10, 11, 12, 13, 14])
    out = parse_boolean_column(col, file="f.csv", name="c")
    assert out.tolist() == [True, False, True, False, False]
    assert out.index.tolist() == [10, 11, 12, 13, 14]
    with pytest.raises(InvalidValueError, match=r"f\.csv: tag column 'c' holds '2' in row 4"):
        parse_boolean_column(pd.Series([1, 0, 2]), file="f.csv", name="c")
    tags = parse_tags_column(pd.Series(["a|b", None, " b "], index=[5, 6, 7]))
    assert tags.index.tolist() == [0, 1, 2]
    assert tags.to_dict("list") == {"a": [True, False, False], "b": [True, False, True]}
    assert parse_tags_column(pd.Series(["", None])).shape == (2, 0)


# --------------------------------------------------------------------------- properties

# "true"/"false" are left out: next to numbers they are read as 1/0 (tested above).
CLASS_VALUES = [
    "cat",
    "dog",
    "a,b",
    'say "hi"',
    "semi;colon",
    "pipe|x",
    "tab\there",
    "two\nlines",
    "  padded ",
    "None",
    "ünïcødé",
    "1",
    "2",
    "1.5",
    "-3",
]
SEPARATORS = [",", ";", "\t", "|"]


@st.composite
def small_tables(draw):
    n = draw(st.integers(1, 25))
    cell = st.sampled_from(CLASS_VALUES)
    labels = draw(st.lists(cell, min_size=n, max_size=n))
    preds = draw(st.lists(cell, min_size=n, max_size=n))
    note = draw(st.lists(st.text(string.ascii_letters + " ,;", max_size=8), min_size=n, max_size=n))
    return pd.DataFrame({"label": labels, "prediction": preds, "note": note})


def same_values(loaded: pd.Series, written: pd.Series) -> bool:
    """Loaded values equal the written ones (stripped; numbers compared as numbers)."""

    def same(got, text):
        if isinstance(got, (int, float, np.integer, np.floating)):
            return float(got) == float(text)
        return got == text.strip()

    return all(same(g, t) for g, t in zip(loaded, written, strict=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    small_tables(),
    st.sampled_from(SEPARATORS),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_round_trip_keeps_rows_and_values(df, sep, encoding):
    if encoding == "cp1252":
        df = df.replace("ünïcødé", "übung")
    data = df.to_csv(index=False, sep=sep).encode(encoding)
    ds = load_dataset(data, name="prop.csv", encoding=None)
    assert ds.n == len(df)
    assert same_values(ds.frame["label"], df["label"])
    assert same_values(ds.frame["prediction"], df["prediction"])
    same = [a.strip() == b.strip() for a, b in zip(df["label"], df["prediction"], strict=True)]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == same


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["x.csv", "x.tsv", "x.parquet", "upload"]))
def test_random_bytes_only_raise_data_error(data, name):
    try:
        ds = load_dataset(data, name=name)
    except DataError as exc:
        assert str(exc).startswith(f"{name}: ")
    else:
        assert ds.n >= 1


CSVISH = st.text(alphabet=list('ab1x0 ,;|\t"\n\r\\é') + ["\x00", "\ufeff", "\x1a"], max_size=80)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "label,prediction\n",
            "label;prediction;tags\n",
            "id,label,pred,x\n",
            "label\tprediction\n",
            "",
        ]
    ),
    CSVISH,
    st.sampled_from(["utf-8", "utf-16", "latin-1"]),
    st.sampled_from(["fail", "drop"]),
)
def test_random_text_tables_only_raise_data_error(header, body, encoding, missing):
    data = (header + body).encode(encoding, errors="replace")
    try:
        ds = load_dataset(data, name="t.csv", missing=missing)
    except DataError as exc:
        assert str(exc).startswith("t.csv: ")
        assert "\n" not in str(exc)
    else:
        assert ds.n >= 1
        assert len(ds.tags) == ds.n
        assert ds.frame["label"].notna().all() and ds.frame["prediction"].notna().all()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_random_bytes_after_parquet_signature_only_raise_data_error(tail):
    with pytest.raises(DataError, match=r"^p\.parquet: "):
        load_dataset(b"PAR1" + tail, name="p.parquet")


def test_million_rows_load_quickly(tmp_path: Path):
    """A 1M-row file with 6 tag columns loads in a few seconds (measured ~1.3 s)."""
    if not os.environ.get("SLICEWISE_SLOW_TESTS"):
        pytest.skip("set SLICEWISE_SLOW_TESTS=1 to run")
    rng = np.random.default_rng(42)
    n = 1_000_000
    classes = np.array(["cat", "dog", "bird", "fish"])
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "label": classes[rng.integers(0, 4, n)],
            "prediction": classes[rng.integers(0, 4, n)],
            "score": rng.random(n).round(4),
        }
    )
    for i, (yes, no) in enumerate(
        [("x", ""), ("yes", "no"), ("1", "0"), ("true", "false"), ("X", ""), ("Y", "N")]
    ):
        df[f"tag{i}"] = np.where(rng.random(n) < 0.2, yes, no)
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    start = time.perf_counter()
    ds = load_dataset(path)
    elapsed = time.perf_counter() - start
    assert ds.n == n and ds.tags.shape == (n, 6)
    assert elapsed < 10, elapsed


@pytest.mark.parametrize(
    ("values", "is_tag"),
    [
        (["x", "y"] * 3, False),  # two "truthy" spellings: a category, not a flag
        (["yes", "y"] * 3, False),
        (["x", ""] * 3, True),
        ([1.0, 0.0] * 3, True),
        (["Yes", "no"] * 3, True),
    ],
)
def test_boolean_tag_detection_needs_one_spelling_per_side(values, is_tag):
    df = pd.DataFrame({"label": list("ab") * 3, "prediction": list("ab") * 3, "col": values})
    assert ("col" in detect_mapping(df).tag_columns) is is_tag


def test_a_column_named_tag_holding_booleans_is_one_tag_not_a_tag_list():
    df = pd.DataFrame(
        {"label": list("ab") * 3, "prediction": list("ab") * 3, "tag": [True, False] * 3}
    )
    mapping = detect_mapping(df)
    assert mapping.tags_column is None
    assert mapping.tag_columns == ("tag",)


@pytest.mark.parametrize(
    "data",
    [
        b"label,prediction,c\n1,2\n1,2,3,4\n",  # a short row balanced by a long one
        b"label,prediction,c\n1,2,3,4\n1,2\n",  # the long row first (pandas would take an index)
    ],
)
def test_short_rows_balanced_by_long_rows_are_still_caught(data):
    with pytest.raises(FileFormatError, match="t.csv: .*line 3 has"):
        load_dataset(data, name="t.csv")


@pytest.mark.parametrize(
    "ids",
    [
        pd.array([1, 2, None, 3], dtype="Int64"),  # nullable integers
        pd.array(["a", "b", None, "c"], dtype="str"),  # Arrow strings
        np.array([1.0, 2.0, np.nan, 3.0]),  # floats
    ],
)
def test_a_blank_id_in_a_dropped_row_does_not_stop_the_load(ids):
    # Row 3 misses its label, so it is dropped, blank id and all: the other ids are unique.
    df = pd.DataFrame({"id": ids, "label": ["a", "b", None, "a"], "prediction": list("abba")})
    ds = dataset_from_frame(df, ColumnMapping(id="id"), missing="drop")
    assert ds.n == 3 and ds.frame["id"].notna().all()


@pytest.mark.parametrize(
    "ids, dup",
    [
        (pd.array(["a", "b", "a"], dtype="str"), "'a'"),
        (np.array([3, 1, 3]), "'3'"),
        (np.array([0.5, 0.25, 0.5]), "'0.5'"),
        (np.array(["x", 1, "x"], dtype=object), "'x'"),
    ],
)
def test_duplicate_ids_of_every_type_are_named(ids, dup):
    df = pd.DataFrame({"id": ids, "label": list("aba"), "prediction": list("abb")})
    with pytest.raises(DuplicateIdError, match=f"repeats {dup}"):
        dataset_from_frame(df, ColumnMapping(id="id"), name="t.csv")
