"""Tests for core.dataset's fast read path: pyarrow reads large UTF-8 files as pandas would.

The pandas path (files up to 64 KiB, and every file pyarrow declines) is the oracle: the fast
path must give the same frame, column types included, or decline (return ``None``). Both read
every cell as text (blank cells missing); types are decided later, by core.values' rules.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slicewise.core import reading as ds_module
from slicewise.core.dataset import load_dataset, read_table
from slicewise.core.errors import EmptyFileError, FileFormatError, RowNumbers
from slicewise.core.reading import (
    _HEAD_BYTES,
    _leave_out_blank_shapes,
    _parse,
    _read_csv_arrow,
)

# Cells where pandas' and pyarrow's readers could disagree: number spellings, booleans in
# any case, dates, missing-value tokens, spaces, quotes. Integers beyond 2**64 are left out:
# there pandas itself is inconsistent (it reads a blank beside them as "" and "1_000" as
# 1000), and the fast path reads them as text with blanks missing.
TOKENS = [
    "0x1",
    "0X1F",
    "+3",
    "-3",
    "3",
    "007",
    " 1",
    "1 ",
    "1e5",
    "1E5",
    ".5",
    "5.",
    "-.5",
    "0.1",
    "1.0",
    "-0",
    "inf",
    "-inf",
    "+inf",
    "Infinity",
    "nan",
    "NaN",
    "NA",
    "n/a",
    "#N/A",
    "None",
    "",
    "True",
    "TRUE",
    "true",
    "tRue",
    "False",
    "fAlse",
    "t",
    "x",
    "yes",
    "2024-01-01",
    "12:30",
    "2024-01-01T00:00:00",
    "2024-01-01 00:00",
    "9223372036854775808",
    "1_000",
    "1.5e+10",
    "−1",
    "١",
    "0b1",
    "1d",
    "1.2.3",
    "a, b",
    'say "hi"',
    "C++",
    "-1.5E-3",
]


def csv_cell(token: str) -> str:
    if any(ch in token for ch in ',"\n'):
        return '"' + token.replace('"', '""') + '"'
    return token


def oracle(data: bytes) -> pd.DataFrame:
    """The pandas path: what every file read before the fast path existed."""
    assert len(data) <= _HEAD_BYTES
    return _parse(data, "t.csv", None, None)[0]


def assert_same_or_declined(data: bytes) -> bool:
    """Assert the fast path equals the pandas path; return whether it read the file."""
    names = data.split(b"\n", 1)[0].decode().split(",")
    fast = _read_csv_arrow(data, ",", names)
    if fast is None:
        return False
    # _parse then leaves out all-blank rows and nameless empty columns from either reader.
    try:
        expected = oracle(data)
    except EmptyFileError:
        with pytest.raises(EmptyFileError):
            _leave_out_blank_shapes(fast, "t.csv", RowNumbers(first=2))
        return True
    got, _ = _leave_out_blank_shapes(fast, "t.csv", RowNumbers(first=2))
    pd.testing.assert_frame_equal(got, expected, check_dtype=True)
    return True


@pytest.mark.parametrize("token", TOKENS)
def test_fast_read_matches_pandas_for_each_tricky_cell(token):
    for others in (("3", "x"), ("3", ""), ("2.5", "7"), ("true", "")):
        rows = [f"{csv_cell(t)},{i}" for i, t in enumerate((token, *others))]
        assert_same_or_declined(("v,w\n" + "\n".join(rows) + "\n").encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(TOKENS), min_size=3, max_size=3), min_size=1, max_size=8))
def test_fast_read_matches_pandas_on_random_tables(rows):
    text = "a,b,c\n" + "".join(",".join(map(csv_cell, r)) + "\n" for r in rows)
    assert_same_or_declined(text.encode())


@pytest.mark.parametrize(
    "raw, reads",
    [
        ("id,label,score\n1,a,0.5\n2,b,0.25\n", True),  # the common case is read fast
        ("label,prediction\n0x1,1\n0x2,0x2\n", True),  # text either way: no number parsing
        ("label,prediction\n+1,-1\n-1,-1\n", True),
        ("id,label\n007,01\n7,1\n", True),  # leading zeros kept by both
        ("a,b\n1,2\n3\n", False),  # a short row: the pandas path names it
        ("a,b\n1,2\n   \n3,4\n", False),  # a whitespace-only line: pandas skips it
        ('a,b\n"multi\nline",2\n', True),  # a newline inside quotes
        ("a,b\n1,2\n\n3,4\n", True),  # blank lines are skipped by both
        ("d,t\n2024-01-01,12:30\n2024-01-02,13:00\n", True),  # dates stay text
        ("flag,b\nTrue,1\n,2\n", True),  # a true/false column with a blank: text, NaN
        ("a,b\n,1\n,2\n", True),  # an all-blank column: text, all NaN
        ("a,b\nNA,1\nnull,2\n", True),  # NA and null are values
    ],
)
def test_fast_read_reads_or_declines_as_documented(raw, reads):
    assert assert_same_or_declined(raw.encode()) is reads


def big_csv(rows: int = 6000, *, extra: str = "") -> bytes:
    lines = ["id,label,prediction,score,device,night"]
    lines += [
        f"ex-{i},{'ab'[i % 2]},{'ab'[i % 3 % 2]},{i / rows:.4f},dev-{i % 5},"
        f"{'x' if i % 4 == 0 else ''}"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n" + extra).encode()


def test_large_file_takes_the_fast_path_and_matches_the_pandas_path(monkeypatch):
    data = big_csv()
    assert len(data) > _HEAD_BYTES
    calls = []
    real = ds_module._read_csv_arrow
    monkeypatch.setattr(ds_module, "_read_csv_arrow", lambda *a: calls.append(1) or real(*a))
    fast, _, _ = read_table(data, name="big.csv")
    assert calls, "a large UTF-8 file should go through pyarrow"
    monkeypatch.setattr(ds_module, "_read_csv_arrow", lambda *a: None)
    slow, _, _ = read_table(data, name="big.csv")
    pd.testing.assert_frame_equal(fast, slow)
    loaded = load_dataset(data, name="big.csv")
    assert loaded.n == 6000 and list(loaded.tags.columns) == ["night"]
    assert int(loaded.tags["night"].sum()) == 1500  # every 4th row of 6,000


def test_large_file_with_a_short_row_still_names_the_line():
    data = big_csv(extra="ex-x,a\n")
    with pytest.raises(
        FileFormatError,
        match=r"big\.csv: the header has 6 fields but line "
        r"6002 has 2",
    ):
        read_table(data, name="big.csv")


def test_large_file_not_utf8_past_the_head_is_read_with_its_detected_encoding():
    data = big_csv() + "ex-é,a,a,0.5,dev-0,x\n".encode("cp1252")
    df, _, warnings = read_table(data, name="big.csv")
    assert df["id"].iloc[-1] == "ex-é"
    assert any("not UTF-8" in w for w in warnings)
