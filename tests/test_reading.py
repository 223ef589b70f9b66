"""Reading a file into a raw table of text cells (core.reading)."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

from slicewise.core.dataset import load_dataset
from slicewise.core.errors import EmptyFileError, RowNumbers
from slicewise.core.reading import FileDigest, read_source, read_table


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


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_path_is_hashed_only_when_the_digest_is_asked_for(tmp_path, suffix):
    sep = "\t" if suffix == ".tsv" else ","
    data = f"id{sep}label{sep}prediction\n1{sep}a{sep}a\n2{sep}b{sep}a\n".encode()
    path = tmp_path / f"preds{suffix}"
    path.write_bytes(data)
    _, digest, _, _ = read_source(path, name=None, encoding=None, sep=None, lazy_hash=True)
    assert isinstance(digest, FileDigest) and digest._digest is None  # not hashed yet
    assert digest() == hashlib.sha256(data).hexdigest()
    dataset = load_dataset(path)
    assert callable(dataset.__dict__["_content_hash"])  # analyze never reads it
    assert dataset.content_hash == hashlib.sha256(data).hexdigest()
    assert dataset.fingerprint() == load_dataset(data, name=path.name).fingerprint()


def test_a_file_changed_after_reading_matches_neither_version(tmp_path):
    path = tmp_path / "preds.csv"
    old, new = b"label,prediction\na,a\n", b"label,prediction\nb,b\n"
    path.write_bytes(old)
    _, digest, _, _ = read_source(path, name=None, encoding=None, sep=None, lazy_hash=True)
    changed = new + b"b,a\n"  # another size: the change is seen
    path.write_bytes(changed)
    value = digest()
    assert value not in (hashlib.sha256(old).hexdigest(), hashlib.sha256(changed).hexdigest())
    assert digest() == value  # remembered


@pytest.mark.parametrize("source", ["bytes", "upload"])
def test_bytes_and_uploads_are_hashed_while_read(source):
    data = b"label,prediction\na,a\n"
    given = data if source == "bytes" else io.BytesIO(data)
    _, digest, _, _ = read_source(given, name="f.csv", encoding=None, sep=None, lazy_hash=True)
    assert digest == hashlib.sha256(data).hexdigest()
