"""The data contract of issue 12, end to end through the loader and the CLI.

Each case is a whole file as people export it; the right figures are worked by hand in the
comments (accuracy = correct / n; WER = word edits / reference words, jiwer's definition).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import NO_COLUMN, ColumnMapping, load_dataset
from slicewise.core.errors import DataError, DuplicateIdError, MissingValuesError
from slicewise.core.task import TaskSpec

NA_REGION = (
    "id,label,prediction,region\n1,cat,cat,NA\n2,cat,dog,NA\n3,dog,dog,EU\n4,dog,cat,EU\n"
    "5,cat,cat,\n6,dog,dog,NA\n"
)
SPEECH = (
    "id,label,prediction,noise\n"
    "1,turn the lights on,turn the light on,car\n"
    "2,play some jazz music,play some jazz music,car\n"
    "3,,,street\n"
    "4,,okay,street\n"
    "5,what time is it,,street\n"
    "6,set an alarm for seven,set an alarm for eleven,car\n"
)


def cli(tmp_path: Path, name: str, text: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "analyze", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def slices(result: subprocess.CompletedProcess) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return {"All data": data["overall"], **{s["name"]: s for s in data["slices"]}}


# ---------------------------------------------------------------- NA is a value


def test_na_region_is_a_value_and_only_the_blank_cell_is_missing(tmp_path):
    got = slices(cli(tmp_path, "na.csv", NA_REGION, "--slice-by", "region", "--format", "json"))
    # NA rows 1, 2, 6: correct 1 and 6 -> 2/3; the blank row 5 alone is (missing), correct.
    assert got["region = NA"]["n"] == 3
    assert got["region = NA"]["accuracy"] == pytest.approx(2 / 3)
    assert got["region = (missing)"]["n"] == 1
    assert got["region = (missing)"]["accuracy"] == 1.0
    assert got["region = EU"]["n"] == 2


def test_na_values_option_makes_na_missing(tmp_path):
    got = slices(
        cli(
            tmp_path,
            "na.csv",
            NA_REGION,
            "--slice-by",
            "region",
            "--na-values",
            "NA",
            "--format",
            "json",
        )
    )
    assert got["region = (missing)"]["n"] == 4  # rows 1, 2, 5, 6: 3 of 4 correct
    assert got["region = (missing)"]["accuracy"] == pytest.approx(3 / 4)


@pytest.mark.parametrize("token", ["NA", "N/A", "null", "None", "nan", "NaN", "NULL"])
def test_a_class_spelt_like_a_missing_marker_is_a_class(token):
    data = f"label,prediction\n{token},{token}\n{token},x\nx,x\n".encode()
    ds = load_dataset(data, name="c.csv")
    assert ds.frame["label"].tolist() == [token, token, "x"]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, False, True]


def test_drop_missing_keeps_rows_whose_class_is_na():
    data = b"label,prediction\nNA,NA\n,b\nc,c\n"
    ds = load_dataset(data, name="c.csv", missing="drop")
    assert ds.frame["label"].tolist() == ["NA", "c"]  # only the blank row 3 is dropped
    assert "left out 1 of 3 rows" in ds.warnings[-1]


def test_na_values_declared_missing_are_refused_in_labels_like_blanks():
    with pytest.raises(MissingValuesError, match="missing in 1 of 2 rows"):
        load_dataset(b"label,prediction\nN/A,a\nb,b\n", name="c.csv", na_values=["N/A"])


# ---------------------------------------------------------------- empty transcripts


def test_empty_transcripts_follow_jiwer(tmp_path):
    got = slices(
        cli(
            tmp_path, "asr.csv", SPEECH, "--task", "text", "--slice-by", "noise", "--format", "json"
        )
    )
    # Correct: rows 2 and 3 (both empty). Edits: 1 + 0 + 0 + 1 (insertion) + 4 (deletions)
    # + 1 = 7 over 4 + 4 + 0 + 0 + 4 + 5 = 17 reference words.
    assert got["All data"]["accuracy"] == pytest.approx(2 / 6)
    assert got["All data"]["wer"] == pytest.approx(7 / 17)
    assert got["noise = street"]["wer"] == pytest.approx(5 / 4)  # 0 + 1 + 4 over 4 words
    assert got["noise = car"]["wer"] == pytest.approx(2 / 13)


def test_without_the_text_task_blank_transcripts_are_refused_with_the_cause(tmp_path):
    result = cli(tmp_path, "asr.csv", SPEECH)
    assert result.returncode == 2
    assert "asr.csv" in result.stderr and "--task text" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- identities and classes


def test_leading_zeros_are_distinct_ids():
    ds = load_dataset(b"id,label,prediction\n7,a,a\n07,a,b\n007,b,b\n", name="i.csv")
    assert ds.frame["id"].tolist() == ["7", "07", "007"]


def test_a_repeated_id_is_quoted_as_written():
    with pytest.raises(DuplicateIdError, match=r"repeats '07' .*rows 3, 4"):
        load_dataset(b"id,label,prediction\n7,a,a\n07,a,b\n07,b,b\n", name="i.csv")


@pytest.mark.parametrize(
    ("label", "prediction", "correct"),
    [
        ("01", "1", False),
        ("1.0", "1", True),
        ("007", "7", False),
        ("1", "+1", True),
        ("TRUE", "1", True),
        ("yes", "true", True),
        ("No", "0", True),
        ("cat", "Cat", False),
    ],
)
def test_whether_a_row_is_correct_depends_on_its_two_cells(label, prediction, correct):
    ds = load_dataset(f"label,prediction\n{label},{prediction}\n".encode(), name="c.csv")
    assert bool(ds.frame["label"].iloc[0] == ds.frame["prediction"].iloc[0]) is correct
    # ... and on nothing else: a numeric or a text row beside it changes nothing.
    for other in ("2,3", "dog,dog", "0.5,0.5", "x,07"):
        ds = load_dataset(
            f"label,prediction\n{label},{prediction}\n{other}\n".encode(), name="c.csv"
        )
        assert bool(ds.frame["label"].iloc[0] == ds.frame["prediction"].iloc[0]) is correct


@pytest.mark.parametrize("positive", ["True", "true", "TRUE", "1", "yes"])
def test_booleans_mean_one_thing_for_label_prediction_and_positive(positive):
    data = b"label,prediction\nTRUE,1\nFALSE,yes\ntrue,false\nfalse,0\n"
    ds = load_dataset(data, name="b.csv")
    table = analyze(ds, task=TaskSpec(kind="binary", positive=positive))
    overall = table.loc[table["kind"] == "overall"].iloc[0]
    # rows: TP, FP, FN, TN -> precision 1/2, recall 1/2, accuracy 2/4
    assert overall["accuracy"] == 0.5
    assert overall["precision"] == 0.5 and overall["recall"] == 0.5


# ---------------------------------------------------------------- numbers


def test_decimal_comma_scores_in_a_semicolon_file_are_read_and_binned(tmp_path):
    text = "label;prediction;score;weight\n" + "".join(
        f"a;{'ab'[i % 2]};0,{i};{i},5\n" for i in range(1, 9)
    )
    ds = load_dataset(text.encode(), name="eu.csv")
    assert ds.frame["score"].tolist() == [i / 10 for i in range(1, 9)]
    assert ds.frame["weight"].tolist() == [i + 0.5 for i in range(1, 9)]
    got = slices(cli(tmp_path, "eu.csv", text, "--slice-by", "weight", "--format", "json"))
    assert sum(s["n"] for k, s in got.items() if k.startswith("weight in")) == 8


def test_thousands_separators_are_read_when_unambiguous():
    data = b'label,prediction,income\na,a,"1,234.50"\nb,a,"12,000.00"\nc,c,950.25\n'
    ds = load_dataset(data, name="t.csv")
    assert ds.frame["income"].tolist() == [1234.5, 12000.0, 950.25]


def test_ambiguous_numbers_stay_text_with_a_warning_naming_the_option():
    data = b'label,prediction,income\na,a,"1,234"\nb,a,"2,000"\n'
    ds = load_dataset(data, name="t.csv")
    assert ds.frame["income"].tolist() == ["1,234", "2,000"]
    assert any("'income'" in w and "--thousands" in w for w in ds.warnings)
    given = load_dataset(data, name="t.csv", thousands=",")
    assert given.frame["income"].tolist() == [1234, 2000]


def test_a_score_that_is_not_a_number_names_the_likely_cause():
    with pytest.raises(
        DataError,
        match=r"s\.csv: the score column 'score' holds '0,5' .*"
        r"decimal comma",
    ):
        load_dataset(b'label,prediction,score\na,a,"0,5"\nb,b,0.25\n', name="s.csv")


def test_codes_with_leading_zeros_stay_text_in_metadata():
    ds = load_dataset(b"label,prediction,zip\na,a,00501\nb,b,10001\n", name="z.csv")
    assert ds.frame["zip"].tolist() == ["00501", "10001"]


# ---------------------------------------------------------------- optional roles off


@pytest.mark.parametrize("role", ["id", "human", "score"])
def test_every_optional_role_can_be_switched_off(role):
    data = b"id,label,prediction,human_label,score\n1,a,a,a,0.9\n2,b,a,b,0.2\n"
    detected = load_dataset(data, name="r.csv")
    assert getattr(detected.mapping, role) is not None
    off = load_dataset(data, ColumnMapping(**{role: NO_COLUMN}), name="r.csv")
    assert getattr(off.mapping, role) is None
    canonical = {"id": "id", "human": "human", "score": "score"}[role]
    if role == "id":
        assert off.frame["id"].tolist() == [0, 1]  # row numbers
    else:
        assert canonical not in off.frame.columns


@pytest.mark.parametrize(
    ("option", "gone"),
    [
        ("--score", "score"),
        ("--human", "hlp"),
        ("--id", None),
        ("--tag-columns", "blurry"),
    ],
)
def test_cli_none_switches_a_role_off(tmp_path, option, gone):
    text = "id,label,prediction,human_label,score,blurry\n" + "".join(
        f"{i},{'ab'[i % 2]},a,{'ab'[i % 2]},0.{i},{'x' if i % 3 else ''}\n" for i in range(1, 7)
    )
    on = slices(cli(tmp_path, "r.csv", text, "--format", "json"))
    off = slices(cli(tmp_path, "r.csv", text, option, "none", "--format", "json"))
    if option == "--human":
        assert on["All data"]["hlp_n"] == 6 and off["All data"]["hlp_n"] == 0
    elif option == "--tag-columns":
        assert "blurry" in on and "blurry" not in off
    else:
        assert on["All data"]["n"] == off["All data"]["n"] == 6


def test_label_cannot_be_switched_off():
    with pytest.raises(DataError, match="label column cannot be switched off"):
        load_dataset(b"label,prediction\na,a\n", ColumnMapping(label=NO_COLUMN), name="r.csv")


def test_dataset_from_frame_and_file_agree_on_a_typed_frame(tmp_path):
    # A Parquet file keeps types: ints become the text a person would type.
    frame = pd.DataFrame({"id": [7, 8], "label": [1, 0], "prediction": [1.0, 1.0]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    ds = load_dataset(path)
    assert ds.frame["id"].tolist() == ["7", "8"]
    assert (ds.frame["label"] == ds.frame["prediction"]).tolist() == [True, False]


def test_compare_reads_both_files_with_the_same_value_options(tmp_path):
    before = tmp_path / "b.csv"
    after = tmp_path / "a.csv"
    before.write_text("id,label,prediction,region\n1,a,a,NA\n2,b,a,NA\n3,a,a,EU\n")
    after.write_text("id,label,prediction,region\n1,a,a,NA\n2,b,b,NA\n3,a,a,EU\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "slicewise.core.cli",
            "compare",
            str(before),
            str(after),
            "--slice-by",
            "region",
            "--na-values",
            "NA",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = {s["name"]: s for s in json.loads(result.stdout)["slices"]}
    # NA declared missing: rows 1-2 form the (missing) slice, 1/2 -> 2/2 correct
    assert names["region = (missing)"]["accuracy_before"] == 0.5
    assert names["region = (missing)"]["accuracy_after"] == 1.0
    assert "region = NA" not in names


# ---------------------------------------------------------------- found by trying it


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_text_metadata_is_trimmed_and_blank_cells_are_missing(tmp_path, engine):
    text = (
        'id,label,prediction,region\n1,a,a,"  "\n2,a,b,""\n3,b,b,#N/A\n4,b,a,\t\n'
        '5,a,a," EU "\n6,b,b,EU\n'
    )
    got = slices(
        cli(
            tmp_path,
            "trim.csv",
            text,
            "--slice-by",
            "region",
            "--engine",
            engine,
            "--format",
            "json",
        )
    )
    assert got["region = EU"]["n"] == 2  # " EU " is EU
    assert got["region = (missing)"]["n"] == 3  # rows 1, 2, 4: 1 of 3 correct
    assert got["region = (missing)"]["accuracy"] == pytest.approx(1 / 3)
    assert got["region = #N/A"]["n"] == 1  # a value unless listed in --na-values


def test_na_values_reach_typed_number_cells(tmp_path):
    frame = pd.DataFrame(
        {
            "label": ["a", "b", "a", "b"],
            "prediction": ["a", "a", "a", "b"],
            "age": [-999, 20, 30, -999],
        }
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    ds = load_dataset(path, na_values=["NA", "-999"])
    assert ds.frame["age"].isna().tolist() == [True, False, False, True]


@pytest.mark.parametrize("option", ["--hlp", "--importance", "--ease"])
def test_a_row_name_that_is_not_in_the_table_is_refused(tmp_path, option):
    text = "label,prediction,noisy\na,a,x\nb,a,\n"
    value = "90%" if option == "--hlp" else "4"
    result = cli(tmp_path, "t.csv", text, option, f"nosiy={value}")
    assert result.returncode == 2
    assert "'nosiy'" in result.stderr and "'noisy'" in result.stderr


@pytest.mark.parametrize("weight", ["0", "6", "9"])
def test_importance_and_ease_are_weights_from_1_to_5(tmp_path, weight):
    result = cli(
        tmp_path, "t.csv", "label,prediction,noisy\na,a,x\nb,a,\n", "--ease", f"noisy={weight}"
    )
    assert result.returncode == 2 and "from 1 to 5" in result.stderr


@pytest.mark.parametrize(
    ("edges", "shown"),
    [
        ([2019.0, 2020.0, 2022.0, 2024.0], ["2019", "2020", "2022", "2024"]),
        ([1700000000.0, 1700090000.0], ["1700000000", "1700090000"]),
        ([999.9, 1617.25, 1618.5], ["999.9", "1617", "1618"]),  # 4 digits tell them apart
        ([0.001234, 0.001235], ["0.001234", "0.001235"]),
        ([0.12345, 0.5], ["0.123", "0.5"]),
    ],
)
def test_bin_edges_are_written_so_every_edge_reads_differently(edges, shown):
    from slicewise.core.metrics import format_edges

    assert format_edges(edges) == shown


def test_year_bins_read_as_years(tmp_path):
    text = "label,prediction,year\n" + "".join(f"a,a,{2019 + i % 6}\n" for i in range(100))
    got = slices(cli(tmp_path, "y.csv", text, "--slice-by", "year", "--format", "json"))
    names = [k for k in got if k.startswith("year")]
    assert names and all("e+" not in k for k in names)
    assert sum(got[k]["n"] for k in names) == 100


def test_compare_takes_the_reading_options_its_messages_name(tmp_path):
    before = tmp_path / "b.csv"
    after = tmp_path / "a.csv"
    before.write_text("id;label;prediction;human_label\n1;a;;a\n2;b;b;b\n")
    after.write_text("id;label;prediction;human_label\n1;a;a;a\n2;b;b;b\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "slicewise.core.cli",
            "compare",
            str(before),
            str(after),
            "--drop-missing",
            "--sep",
            ";",
            "--human",
            "none",
            "--id",
            "none",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["overall"]["n_before"] == 1 and data["overall"]["n_after"] == 2
    assert data["overall"]["hlp_before"] is None  # --human none
    assert "by their position" in data["pairing"] and "by id" not in data["pairing"]
    assert "b.csv: b.csv" not in result.stderr


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_slice_by_column_given_twice_or_with_spaces_is_sliced_once(tmp_path, engine):
    got = slices(
        cli(
            tmp_path,
            "na.csv",
            NA_REGION,
            "--slice-by",
            "region",
            "--slice-by",
            "region ",
            "--engine",
            engine,
            "--format",
            "json",
        )
    )
    assert sorted(k for k in got if k.startswith("region")) == sorted(
        ["region = EU", "region = NA", "region = (missing)"]
    )
