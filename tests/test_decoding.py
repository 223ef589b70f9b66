"""Bytes to text (core.decoding): BOMs, UTF-8, detected single-byte encodings, refusals."""

from __future__ import annotations

import codecs

import pytest

from slicewise.core.decoding import check_file_path, decode_text, source_bytes
from slicewise.core.errors import DataError, EncodingError, FileFormatError


def test_utf8_is_read_as_utf8():
    assert decode_text("id,label\n1,café\n".encode(), "f.csv", None) == (
        "id,label\n1,café\n",
        "utf-8",
    )


def test_a_utf16_bom_is_honoured_and_dropped():
    data = codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le")
    assert decode_text(data, "f.csv", None) == ("a,b\n1,2\n", "utf-16")


def test_utf16_without_a_bom_is_recognised_by_its_nul_bytes():
    data = "label,prediction\nyes,no\n".encode("utf-16-le")
    assert decode_text(data, "f.csv", None) == ("label,prediction\nyes,no\n", "utf-16-le")


def test_a_latin_export_is_read_as_cp1252():
    # 0xE9 is "é" in cp1252 and latin-1, and is not valid UTF-8 on its own.
    text, used = decode_text(b"id,city\n1,Orl\xe9ans\n", "f.csv", None)
    assert (text, used) == ("id,city\n1,Orléans\n", "cp1252")


def test_a_given_encoding_that_does_not_fit_names_the_byte_and_line():
    with pytest.raises(
        EncodingError, match=r"f\.csv: cannot be read as utf-8: byte 0xe9 on line 2"
    ):
        decode_text(b"id,city\n1,Orl\xe9ans\n", "f.csv", "utf-8")


def test_an_unknown_encoding_is_named():
    with pytest.raises(EncodingError, match="'klingon' is not a known text encoding"):
        decode_text(b"a,b\n", "f.csv", "klingon")


def test_a_pdf_is_refused_as_no_table():
    with pytest.raises(FileFormatError, match="f.csv: is a PDF document, not a table"):
        decode_text(b"%PDF-1.7\n...", "f.csv", None)


def test_source_bytes_names_the_path_and_refuses_a_folder(tmp_path):
    path = tmp_path / "preds.csv"
    path.write_bytes(b"a,b\n")
    assert source_bytes(path, None) == (b"a,b\n", "preds.csv")
    assert source_bytes(b"x", None) == (b"x", "upload")
    with pytest.raises(DataError, match="is a folder, not a file"):
        check_file_path(tmp_path)
