"""A data file Slicewise writes comes back to Slicewise as it was; plain numbers stay numbers.

``slicewise tag FILE -o OUT`` writes FILE's table with a tag column. OUT is data to analyse
again (README: the errors-only tag round trip), not a spreadsheet report, so every value is
written exactly (:func:`core.report.to_data_csv`): for each fixture, ``OUT`` holds the
same cells as the source with the tag column (written here by hand, the tag worked out by
hand from the rule), and :func:`core.analysis.analyze` gives the same table for both
(``pandas.testing``). The spreadsheet neutraliser (:func:`core.report.neutralise_formula`)
leaves plain numbers such as ``-1.5`` alone in reports too; the expected texts are written
by hand. tests/test_csv_injection_libreoffice.py shows LibreOffice reads them as numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal

from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, load_dataset, read_table
from slicewise.core.report import make_csv_safe, neutralise_formula, to_data_csv, to_safe_csv

# Each case: the source file, the `tag` arguments, the source with the tag column as the user
# would write it by hand, and how to analyse both (load_dataset options, slice-by columns).
CASES = {
    "negative_numbers": (  # the tester's file: -1/1 classes, a signed temperature
        "id,label,prediction,temp\n"
        "1,-1,-1,-3.5\n2,1,-1,2.5\n3,-1,1,-0.5\n4,1,1,4\n5,-1,-1,-2\n6,1,1,1e-3\n",
        ["--rule", "temp < 0", "--tag", "cold"],
        "id,label,prediction,temp,cold\n"
        "1,-1,-1,-3.5,true\n2,1,-1,2.5,false\n3,-1,1,-0.5,true\n4,1,1,4,false\n"
        "5,-1,-1,-2,true\n6,1,1,1e-3,false\n",
        {},
        ["temp"],
    ),
    "regression_labels_errors_only": (  # errors: |label - prediction| > 0.5
        "id,label,prediction,site\n"
        "a,-1.5,-1.4,n\nb,-0.25,1.0,n\nc,2,-2,s\nd,+3,3.1,s\ne,-.5,-0.5,n\nf,-1e-3,0.9,s\n",
        [
            "--task",
            "regression",
            "--tolerance",
            "0.5",
            "--rule",
            "site == n",
            "--errors-only",
            "--tag",
            "north",
        ],
        "id,label,prediction,site,north\n"
        "a,-1.5,-1.4,n,\nb,-0.25,1.0,n,x\nc,2,-2,s,\nd,+3,3.1,s,\ne,-.5,-0.5,n,\n"
        "f,-1e-3,0.9,s,\n",
        {"task": "regression", "mapping": ColumnMapping(tag_columns=("north",))},
        ["site"],
    ),
    "leading_zeros": (
        "id,label,prediction,zip\n007,01,01,01234\n0012,02,01,01234\n13,01,01,99\n0,02,02,00099\n",
        ["--rule", "zip == 01234", "--tag", "zip_01234"],
        "id,label,prediction,zip,zip_01234\n"
        "007,01,01,01234,true\n0012,02,01,01234,true\n13,01,01,99,false\n"
        "0,02,02,00099,false\n",
        {},
        ["zip"],
    ),
    "formula_like_ids_and_values": (
        "id,label,prediction,camera\n"
        '"=HYPERLINK(""http://x"",""y"")",cat,cat,=cmd|\' /C calc\'!A0\n'
        "@SUM(1),dog,cat,-A1\n+44 20,cat,cat,=cmd|' /C calc'!A0\n-1+1,dog,dog,+x\n"
        "=1+1,cat,dog,-A1\n",
        ["--rule", "camera contains A", "--tag", "=tag"],
        "id,label,prediction,camera,=tag\n"
        '"=HYPERLINK(""http://x"",""y"")",cat,cat,=cmd|\' /C calc\'!A0,true\n'
        "@SUM(1),dog,cat,-A1,true\n+44 20,cat,cat,=cmd|' /C calc'!A0,true\n"
        "-1+1,dog,dog,+x,false\n=1+1,cat,dog,-A1,true\n",
        {},
        ["camera"],
    ),
    "text_with_separators": (
        "id,label,prediction,note\n"
        'e1,cat,cat,"a;b"\ne2,dog,cat,"x,y"\ne3,cat,cat,p|q\ne4,dog,dog,"tab\there"\n'
        'e5,cat,dog,"say ""hi"""\ne6,dog,cat,"two\nlines"\ne7,cat,cat,"a;b"\n',
        ["--rule", "note contains ;", "--tag", "semi"],
        "id,label,prediction,note,semi\n"
        'e1,cat,cat,"a;b",true\ne2,dog,cat,"x,y",false\ne3,cat,cat,p|q,false\n'
        'e4,dog,dog,"tab\there",false\ne5,cat,dog,"say ""hi""",false\n'
        'e6,dog,cat,"two\nlines",false\ne7,cat,cat,"a;b",true\n',
        {},
        ["note"],
    ),
    "semicolon_file_with_decimal_commas": (  # written back with ",": the values are kept
        "id;label;prediction;temp\n1;-1;-1;-3,5\n2;1;-1;2,5\n3;-1;1;-0,5\n4;1;1;4\n",
        ["--decimal", ",", "--rule", "temp < 0", "--tag", "cold"],
        "id;label;prediction;temp;cold\n"
        "1;-1;-1;-3,5;true\n2;1;-1;2,5;false\n3;-1;1;-0,5;true\n4;1;1;4;false\n",
        {"decimal": ","},
        ["temp"],
    ),
}


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"  # the same name, so the tables cannot differ by it
    path.write_bytes(text.encode("utf-8"))
    return path


def tag(source: Path, args: list[str], out: Path) -> None:
    result = CliRunner().invoke(main, ["tag", str(source), *args, "-o", str(out)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", list(CASES))
def test_tag_output_holds_the_source_values_exactly(tmp_path, case):
    source_text, args, by_hand_text, _, _ = CASES[case]
    source = write(tmp_path / "source", source_text)
    out = tmp_path / "out" / "data.csv"
    out.parent.mkdir()
    tag(source, args, out)
    by_hand = write(tmp_path / "by_hand", by_hand_text)
    assert_frame_equal(read_table(out)[0], read_table(by_hand)[0])
    assert "'" not in out.read_text(encoding="utf-8").replace("' /C calc'", "")


@pytest.mark.parametrize("case", list(CASES))
def test_analysing_the_tag_output_gives_the_table_of_the_source_with_the_tag(tmp_path, case):
    source_text, args, by_hand_text, options, slice_by = CASES[case]
    source = write(tmp_path / "source", source_text)
    out = tmp_path / "out" / "data.csv"
    out.parent.mkdir()
    tag(source, args, out)
    by_hand = write(tmp_path / "by_hand", by_hand_text)
    tagged, expected = (load_dataset(p, **options) for p in (out, by_hand))
    assert_frame_equal(tagged.frame, expected.frame)  # ids, labels, values: the same
    assert_frame_equal(analyze(tagged, slice_by=slice_by), analyze(expected, slice_by=slice_by))


def test_the_testers_file_slices_by_number_bins_with_numeric_classes(tmp_path):
    source = write(tmp_path / "source", CASES["negative_numbers"][0])
    out = tmp_path / "neg_t.csv"
    tag(source, ["--rule", "temp < 0", "--tag", "cold"], out)
    assert out.read_bytes().startswith(b"id,label,prediction,temp,cold\r\n1,-1,-1,-3.5,true\r\n")
    table = analyze(load_dataset(out), slice_by=["temp"])
    names = [str(n) for n in table.index]
    assert "temp in [-3.5, -1.62)" in names  # number bins, not one slice per text value
    assert not [n for n in names if "'" in n]


def test_tag_to_standard_output_is_the_same_data_file(tmp_path):
    source_text, args, _, _, _ = CASES["formula_like_ids_and_values"]
    source = write(tmp_path / "source", source_text)
    out = tmp_path / "out.csv"
    tag(source, args, out)
    result = CliRunner().invoke(main, ["tag", str(source), *args])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == out.read_bytes()


def test_the_data_writer_quotes_only_where_csv_needs_it():
    frame = pd.DataFrame(
        {
            "id": ["=1+1", "a,b", 'say "hi"', "two\nlines", "007"],
            "y": ["-1", None, "-3.5", "x;y", "+2"],
        }
    )
    assert to_data_csv(frame) == (
        'id,y\r\n=1+1,-1\r\n"a,b",\r\n"say ""hi""",-3.5\r\n"two\nlines",x;y\r\n007,+2\r\n'
    )


# ------------------------------------------------------ the neutraliser: numbers are numbers

NUMBERS_LEFT_ALONE = [
    ("-1", "-1"),
    ("-3.5", "-3.5"),
    ("+2", "+2"),
    ("-1e-3", "-1e-3"),
    ("-1E+5", "-1E+5"),
    ("-.5", "-.5"),
    ("-1.", "-1."),
    (" -1.5 ", " -1.5 "),
    ("-1.5   ", "-1.5   "),
    ("-1,5", "-1,5"),  # a decimal comma
    ("-1,000.5", "-1,000.5"),
    ("-1.000,5", "-1.000,5"),
    ("x;-1.5", "x;-1.5"),  # the piece after a separator is a number
    ("a\t-2", "a\t-2"),
    ("x|+3", "x|+3"),
    ('x;"-1', 'x;"-1'),
]
FORMULAS_STILL_PREFIXED = [
    ("-1+1", "'-1+1"),
    ("=1", "'=1"),
    ("=-1", "'=-1"),
    ("-A1", "'-A1"),
    ("+cmd", "'+cmd"),
    ("--1", "'--1"),
    ("+-1", "'+-1"),
    ("-1 +1", "'-1 +1"),
    ("- 1", "'- 1"),
    ("-1e", "'-1e"),
    ("-inf", "'-inf"),
    ("-1%", "'-1%"),
    ("-1;x", "'-1;x"),  # a "," reading keeps "-1;x" whole: not a number
    ("-1;-2", "'-1;-2"),  # the last piece is a number
    ("-1;=2", "'-1;'=2"),
    ("-1\n", "'-1\n"),
    ('-1"', "'-1\""),
    ("\t-1", "'\t-1"),
    ("-\u0661", "'-\u0661"),  # an Arabic-Indic digit is not an ASCII digit
    ("@1", "'@1"),
]


@pytest.mark.parametrize(("value", "expected"), NUMBERS_LEFT_ALONE + FORMULAS_STILL_PREFIXED)
def test_a_plain_number_is_left_alone_and_a_formula_still_prefixed(value, expected):
    assert neutralise_formula(value) == expected
    assert neutralise_formula(expected) == expected  # idempotent


def test_a_report_of_text_numbers_keeps_them_unprefixed():
    frame = pd.DataFrame({"label": ["-1", "-1.5", "-1+1"], "n": [-1, 2, 3]})
    assert to_safe_csv(frame) == ('"label","n"\r\n"-1","-1"\r\n"-1.5","2"\r\n"\'-1+1","3"\r\n')
    assert make_csv_safe("label\r\n-1\r\n'-2\r\nx;-3\r\n") == (
        '"label"\r\n"-1"\r\n"\'-2"\r\n"x;-3"\r\n'
    )
