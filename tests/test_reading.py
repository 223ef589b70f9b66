"""Reading a file into a raw table of text cells (core.reading)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from slicewise.core.errors import EmptyFileError, RowNumbers
from slicewise.core.reading import read_source, read_table


def test_cells_stay_text_as_written():
    data = b"id;label;prediction;score\n007;NA;a;0,85\n010;b;;1,5\n"
    df, digest, warnings = read_table(data, name="f.csv")
    assert list(df.columns) == ["id", "label", "prediction", "score"]  # ';' detected
    assert df["id"].tolist() == ["007", "010"]  # leading zeros kept
    assert df["label"].tolist() == ["NA", "b"]  # "NA" is a value unless declared missing
    assert df["score"].tolist() == ["0,85", "1,5"]  # numbers are read later, by prepare
    assert pd.isna(df.loc[1, "prediction"])  # a blank cell is missing
    assert digest == hashlib.sha256(data).hexdigest()
    assert warnings == []


def test_excel_sep_line_gives_the_delimiter_and_moves_the_header_to_line_2():
    df, _, _ = read_table(b"sep=|\nlabel|prediction\na,b|a\n", name="f.csv")
    assert df.to_dict("list") == {"label": ["a,b"], "prediction": ["a"]}
    assert RowNumbers.of_frame(df) == RowNumbers(first=3)


def test_trailing_delimiters_and_blank_rows_are_left_out_with_notes():
    df, _, warnings = read_table(b"label,prediction,,\na,a,,\n,,,\nb,c,,\n", name="f.csv")
    assert df.to_dict("list") == {"label": ["a", "b"], "prediction": ["a", "c"]}
    assert len(warnings) == 2
    assert "left out columns 3, 4" in warnings[0]
    assert "skipped 1 row where every cell is blank (row 3)" in warnings[1]


def test_read_source_also_returns_the_file_name(tmp_path):
    path = tmp_path / "preds.tsv"
    path.write_bytes(b"label\tprediction\na\tb\n")
    df, _, _, name = read_source(path, name=None, encoding=None, sep=None)
    assert name == "preds.tsv" and df.to_dict("list") == {"label": ["a"], "prediction": ["b"]}


def test_a_file_of_spaces_is_empty():
    with pytest.raises(EmptyFileError, match="f.csv: the file is empty"):
        read_table(b"  \n\n", name="f.csv")
