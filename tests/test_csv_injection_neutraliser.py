"""The CSV neutraliser, without a spreadsheet: every formula start gets an apostrophe.

A formula start is ``= + - @`` at the start of a cell or after a separator or line break
(``, ; tab | CR LF``), with only spaces or double quotes between; a leading tab or carriage
return is prefixed too (OWASP "CSV Injection"). The expected texts are written out by hand.
tests/test_csv_injection_libreoffice.py opens the real downloads in LibreOffice.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slicewise.core.errors import FileFormatError
from slicewise.core.report import (
    CELL_BREAKS,
    FORMULA_CHARS,
    make_csv_safe,
    neutralise_formula,
    neutralise_frame,
    to_safe_csv,
)
from slicewise.core.store import Store

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    ("=1+1", "'=1+1"),
    ("+1+1", "'+1+1"),
    ("-1+1", "'-1+1"),
    ("@SUM(1)", "'@SUM(1)"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),  # after "|" comes "'": already text
    ("x;=1+1", "x;'=1+1"),
    ("x,=1+1", "x,'=1+1"),
    ("a\t=1+1", "a\t'=1+1"),
    ("x|=1+1", "x|'=1+1"),
    ("x; =1+1", "x; '=1+1"),
    ("x;\u00a0=1", "x;\u00a0'=1"),  # a no-break space counts as a space
    ('"x";=1+1', '"x";\'=1+1'),
    ('x;"=1+1', "x;\"'=1+1"),
    ('x,"" @a', 'x,"" \'@a'),
    ("x;;=1+1", "x;;'=1+1"),
    ("=1;=2", "'=1;'=2"),
    ("x;-", "x;'-"),
    (" =1+1", " '=1+1"),
    ('"=1+1', "\"'=1+1"),
    ("ok\n=1+1", "ok\n'=1+1"),
    ("ok\r\n=1+1", "ok\r\n'=1+1"),
    ("ok\r=1+1", "ok\r'=1+1"),
    ("ok\n x;@SUM(1)", "ok\n x;'@SUM(1)"),
    ("\t=1+1", "'\t'=1+1"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("a;b=1", "a;b=1"),  # "=" inside a cell: no cell starts there
    ("a - b", "a - b"),  # space is not taken for a separator
    ("e-mail: a@b.c", "e-mail: a@b.c"),
    ("＝1+1", "＝1+1"),  # full width: LibreOffice does not evaluate it
    ("'=1+1", "'=1+1"),
    ("x;'=1+1", "x;'=1+1"),
    ("safe", "safe"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_each_formula_start_gets_an_apostrophe(value, expected):
    assert neutralise_formula(value) == expected


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_neutralising_twice_changes_nothing_more(value, expected):
    assert neutralise_formula(expected) == expected


@pytest.mark.parametrize("value", [3, -0.25, None, True, pd.NA])
def test_values_that_are_not_text_are_returned_as_given(value):
    assert neutralise_formula(value) is value


@given(
    st.text(
        alphabet=[
            "=",
            "+",
            "-",
            "@",
            ",",
            ";",
            "\t",
            "|",
            "\r",
            "\n",
            " ",
            '"',
            "'",
            "x",
            "1",
            ".",
            "e",
        ],
        max_size=12,
    )
)
def test_no_cell_of_any_split_starts_a_formula(text):
    # Split the neutralised text at any one break (as a reader with that separator would),
    # and at all of them; drop leading spaces and quotes (trimmed, or taken as quoting):
    # no piece may start with a formula character unless it is a plain number such as -1
    # (a spreadsheet reads a number), and none may start with tab or CR.
    safe = neutralise_formula(text)
    assert safe.replace("'", "") == text.replace("'", "")  # only apostrophes are added
    pieces = [safe]
    for sep in CELL_BREAKS:
        pieces += safe.split(sep)
    every = safe
    for sep in CELL_BREAKS:
        every = every.replace(sep, "\0")
    pieces += every.split("\0")
    for piece in pieces:
        start = piece.lstrip(' "')
        assert not start.startswith(tuple(FORMULA_CHARS)) or _plain_number(start), (
            text,
            safe,
            piece,
        )
    assert not safe.startswith(("\t", "\r"))


def _plain_number(text: str) -> bool:
    """A number with trailing spaces: digits, sign, ``.``/``,`` and e; float reads it bare."""
    number = text.rstrip(" ")
    if set(number) - set("0123456789.,eE+-"):
        return False
    try:
        float(number.replace(",", "").replace(".", ""))  # "-1,000.5" -> "-10005"
    except ValueError:
        return False
    return True


def test_a_frame_keeps_its_numbers_and_neutralises_text_cells_and_names():
    frame = pd.DataFrame(
        {
            "x;=name": ["=1+1", "ok\n=2", None],
            "n": [-1.5, 2.0, 3.0],
            "k": [-1, 0, 1],
            "s": pd.Series(["@x", "a|-y", "+z"], dtype="string"),
            "c": pd.Categorical(["=a", "b", "=a"]),
            "mixed": [-2, "-2+1", "x,@y"],
        }
    )
    out = neutralise_frame(frame)
    assert list(out.columns) == ["x;'=name", "n", "k", "s", "c", "mixed"]
    assert out["x;'=name"].tolist()[:2] == ["'=1+1", "ok\n'=2"]
    assert pd.isna(out["x;'=name"].iloc[2])
    assert out["n"].tolist() == [-1.5, 2.0, 3.0] and out["k"].tolist() == [-1, 0, 1]
    assert out["s"].tolist() == ["'@x", "a|'-y", "'+z"]
    assert out["c"].tolist() == ["'=a", "b", "'=a"]
    assert out["mixed"].tolist() == [-2, "'-2+1", "x,'@y"]  # a number stays a number
    assert frame["x;=name"].iloc[0] == "=1+1"  # the input is not modified


def test_the_safe_csv_quotes_every_field_and_ends_lines_in_crlf():
    frame = pd.DataFrame({"name": ["x;=1+1", None], "n": [2, -3], "share": [0.5, -0.25]})
    text = to_safe_csv(frame)
    assert text == ('"name","n","share"\r\n"x;\'=1+1","2","0.5"\r\n"","-3","-0.25"\r\n')
    back = pd.read_csv(io.StringIO(text))
    assert back["n"].tolist() == [2, -3] and back["share"].tolist() == [0.5, -0.25]


def test_an_old_csv_is_made_safe_and_a_safe_one_comes_back_unchanged():
    old = 'name,n,gap\r\nx;=1+1,2,-0.25\r\n=cmd|x,-3,1e-05\r\n"ok\r=1",4,\r\n'
    assert make_csv_safe(old) == (
        '"name","n","gap"\r\n'
        '"x;\'=1+1","2","-0.25"\r\n'
        '"\'=cmd|x","-3","1e-05"\r\n'
        '"ok\r\'=1","4",""\r\n'
    )
    assert make_csv_safe(old.encode()) == make_csv_safe(old)
    safe = to_safe_csv(pd.DataFrame({"a": ["=1", "x;@2", "-0.5"], "n": [1.5, -2.0, 3.0]}))
    assert make_csv_safe(safe) == safe


def test_a_csv_that_cannot_be_parsed_is_a_typed_error_naming_it():
    with pytest.raises(FileFormatError, match=r"^r\.csv: cannot be read as CSV .*field limit"):
        make_csv_safe('a,"' + "x" * 200_000 + '"\r\n', name="r.csv")


def test_download_again_rewrites_a_saved_csv_report_but_no_other_format(tmp_path):
    from slicewise.core.dataset import dataset_from_frame
    from slicewise.core.task import TaskSpec
    from slicewise.ui import export

    dataset = dataset_from_frame(
        pd.DataFrame({"label": ["a", "b"], "prediction": ["a", "a"]}), name="d.csv"
    )
    with Store(tmp_path / "s.db") as store:
        project = store.get_or_create_project("p", user="Ana")
        did = store.save_dataset(project, "d", dataset, task=TaskSpec(), user="Ana")
        csv_id = store.save_report(did, "csv", "r.csv", "name\r\nx;=1+1\r\n", user="Ana")
        md_id = store.save_report(did, "markdown", "r.md", "x;=1+1\n", user="Ana")
        assert export.saved_content(store, csv_id, "csv") == '"name"\r\n"x;\'=1+1"\r\n'
        assert export.saved_content(store, md_id, "markdown") == b"x;=1+1\n"


def test_the_agreement_cli_csv_is_the_safe_csv(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("item,annotator,label\n1,a,x\n1,b,x\n2,a,y\n2,b,x\n")
    result = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "agreement", str(labels), "--format", "csv"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:3] == ["metric", "name", "value"]
    assert text.startswith('"metric","name","value"') and text.endswith("\r\n")


def test_no_module_writes_csv_past_the_safe_writer():
    # Every CSV the app or the CLI offers goes through core.report.to_safe_csv.
    files = [
        ROOT / "app.py",
        *(p for d in ("core", "ui", "pages") for p in (ROOT / d).rglob("*.py")),
    ]
    found = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in files
        if p != ROOT / "core" / "report" / "csv_safety.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if ".to_csv(" in line or "csv.writer(" in line
    ]
    assert found == []
