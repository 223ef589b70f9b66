"""`slicewise tag`: a rule or a tag file applied to a file or to a stored dataset."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main, parse_condition
from slicewise.core.dataset import ColumnMapping, prepare
from slicewise.core.errors import DataError
from slicewise.core.rules import Condition
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec


@pytest.fixture
def predictions(tmp_path):
    # 60 examples: camera c3 on odd rows; the model is wrong on every third row.
    n = 60
    frame = pd.DataFrame(
        {
            "id": [f"e{i:02d}" for i in range(n)],
            "label": ["ok"] * n,
            "prediction": ["ok" if i % 3 else "dent" for i in range(n)],
            "camera": ["c1" if i % 2 == 0 else "c3" for i in range(n)],
            "snr": np.arange(n, dtype=float),
        }
    )
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("camera == c3", Condition("camera", "==", "c3")),
        ("snr < 5", Condition("snr", "<", "5")),
        ("phone model contains Nova 5", Condition("phone model", "contains", "Nova 5")),
        ("note is missing", Condition("note", "is missing", "")),
        ("note IS NOT MISSING", Condition("note", "is not missing", "")),
    ],
)
def test_rules_read_column_operator_value(text, expected):
    assert parse_condition(text) == expected


@pytest.mark.parametrize("text", ["camera = c3", "camera ==", "just words"])
def test_a_rule_that_cannot_be_read_says_how_to_write_one(text):
    with pytest.raises(DataError, match="COLUMN OPERATOR VALUE|needs a value"):
        parse_condition(text)


def test_file_mode_writes_true_false_for_a_rule_over_every_example(predictions, tmp_path):
    path, frame = predictions
    out = tmp_path / "tagged.csv"
    result = CliRunner().invoke(
        main,
        [
            "tag",
            str(path),
            "--rule",
            "camera == c3",
            "--rule",
            "snr >= 30",
            "--tag",
            "late_c3",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    expected = (frame["camera"] == "c3") & (frame["snr"] >= 30)
    assert written["late_c3"].tolist() == np.where(expected, "true", "false").tolist()
    assert list(written.columns) == [*frame.columns, "late_c3"]
    assert f"tagged {int(expected.sum())} of 60" in result.stderr


def test_errors_only_writes_x_and_blank_and_analyze_reads_it_as_known_on_errors(
    predictions, tmp_path
):
    path, frame = predictions
    out = tmp_path / "tagged.csv"
    result = CliRunner().invoke(
        main,
        [
            "tag",
            str(path),
            "--rule",
            "camera == c3",
            "--tag",
            "c3_error",
            "--errors-only",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    errors = frame["prediction"] != frame["label"]
    expected = errors & (frame["camera"] == "c3")  # rows 3, 9, 15...: 10 examples
    assert written["c3_error"].tolist() == np.where(expected, "x", "").tolist()
    report = CliRunner().invoke(
        main, ["analyze", str(out), "--tag-columns", "c3_error", "--format", "json"]
    )
    row = next(s for s in json.loads(report.stdout)["slices"] if s["name"] == "c3_error")
    assert row["scope"] == "errors" and row["accuracy"] is None
    assert row["error_share"] == pytest.approx(expected.sum() / errors.sum())


def test_a_taken_column_name_is_refused(predictions):
    path, _ = predictions
    result = CliRunner().invoke(
        main, ["tag", str(path), "--rule", "camera == c3", "--tag", "camera"]
    )
    assert result.exit_code == 2 and "already has a column 'camera'" in result.stderr


@pytest.fixture
def stored(tmp_path, predictions):
    _, frame = predictions
    db = tmp_path / "sw.db"
    with Store(db) as store:
        project = store.get_or_create_project("inspection", user="ann")
        did = store.save_dataset(
            project, "model-a", prepare(frame, ColumnMapping()), task=TaskSpec(), user="ann"
        )
    return db, did, frame


def test_store_mode_tags_the_stored_examples_and_records_the_scope(stored):
    db, did, frame = stored
    result = CliRunner().invoke(
        main,
        [
            "tag",
            "--db",
            str(db),
            "--dataset",
            "model-a",
            "--rule",
            "camera == c3",
            "--tag",
            "c3",
            "--errors-only",
            "--user",
            "bob",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = (frame["camera"] == "c3") & (frame["prediction"] != frame["label"])
    assert summary["tagged"] == int(expected.sum())
    with Store(db) as store:
        assert store.tag_matrix(did)["c3"].tolist() == expected.tolist()
        assert store.tag_scopes(did)["c3"] == "errors"
        events = store.events(did)
        assert (events["user"] == "bob").any()


def test_store_mode_takes_a_tag_file_of_hand_tags(stored, tmp_path):
    db, did, frame = stored
    tag_file = tmp_path / "tags.csv"
    pd.DataFrame({"id": ["e00", "e03", "e03"], "tag": ["blurry", "blurry", "glare"]}).to_csv(
        tag_file, index=False
    )
    result = CliRunner().invoke(
        main, ["tag", "--db", str(db), "--dataset", str(did), "--tag-file", str(tag_file)]
    )
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        tags = store.tag_matrix(did)
        assert frame["id"][tags["blurry"]].tolist() == ["e00", "e03"]
        assert frame["id"][tags["glare"]].tolist() == ["e03"]


def test_store_mode_names_the_datasets_when_the_reference_is_unknown(stored):
    db, _, _ = stored
    result = CliRunner().invoke(
        main, ["tag", "--db", str(db), "--dataset", "nope", "--rule", "camera == c3", "--tag", "c3"]
    )
    assert result.exit_code == 2 and "no dataset match 'nope'" in result.stderr
    assert "'model-a'" in result.stderr


@pytest.fixture
def regional(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text(
        'id,label,prediction,score,true_category\n1,a,a,NA,x\n2,a,b,"0,3",y\n'
        '3,b,b,"0,9",x\n4,b,a,"1,2",y\n'
    )
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # typed values: NA is missing only when listed; decimal commas read as numbers
        (["--na-values", "NA", "--decimal", ",", "--rule", "score is missing"], [1, 0, 0, 0]),
        (["--na-values", "NA", "--decimal", ",", "--rule", "score < 0.5"], [0, 1, 0, 0]),
        (["--na-values", "NA", "--decimal", ",", "--rule", "score > 1"], [0, 0, 0, 1]),
        # a role column under its canonical name and under the file's name for it
        (
            ["--na-values", "NA", "--decimal", ",", "--label", "label", "--rule", "label == b"],
            [0, 0, 1, 1],
        ),
    ],
)
def test_file_rules_compare_typed_values_read_with_the_reading_options(
    regional, tmp_path, args, expected
):
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(main, ["tag", str(regional), *args, "--tag", "t", "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype=str, keep_default_na=False)["t"]
    assert written.tolist() == ["true" if e else "false" for e in expected]


@pytest.mark.parametrize("rule", ["score < abc", "score >= 0,5", "score < nan"])
def test_a_value_that_is_not_a_number_is_refused_for_a_number_column(predictions, rule):
    path, _ = predictions
    result = CliRunner().invoke(
        main, ["tag", str(path), "--rule", rule.replace("score", "snr"), "--tag", "t"]
    )
    assert result.exit_code == 2 and "is not a number" in result.stderr


def test_a_tag_file_naming_unknown_ids_stores_nothing(stored, tmp_path):
    db, did, _ = stored
    tag_file = tmp_path / "tags.csv"
    pd.DataFrame({"id": ["e01", "e02", "bogus"], "tag": [" first ", "first", "second"]}).to_csv(
        tag_file, index=False
    )
    result = CliRunner().invoke(
        main, ["tag", "--db", str(db), "--dataset", str(did), "--tag-file", str(tag_file)]
    )
    assert result.exit_code == 2 and "'bogus'" in result.stderr
    with Store(db) as store:
        assert store.tag_scopes(did) == {}  # no tag created, none half-applied
    tag_file.write_text("id,tag\ne01, first \ne02,first\n")
    result = CliRunner().invoke(
        main, ["tag", "--db", str(db), "--dataset", str(did), "--tag-file", str(tag_file)]
    )
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert store.tag_matrix(did)["first"].sum() == 2  # " first " is the tag "first"


@pytest.mark.parametrize("extra", [["--rule", "camera == c3"], ["--tag", "x"], ["--errors-only"]])
def test_a_tag_file_with_a_rule_is_refused_not_half_read(stored, tmp_path, extra):
    db, did, _ = stored
    tag_file = tmp_path / "tags.csv"
    tag_file.write_text("id,tag\ne01,a\n")
    result = CliRunner().invoke(
        main, ["tag", "--db", str(db), "--dataset", str(did), "--tag-file", str(tag_file), *extra]
    )
    assert result.exit_code == 2 and "--tag-file" in result.stderr


def test_a_database_path_that_does_not_exist_is_refused_not_created(tmp_path):
    db = tmp_path / "typo.db"
    result = CliRunner().invoke(
        main, ["tag", "--db", str(db), "--dataset", "x", "--rule", "a == b", "--tag", "t"]
    )
    assert result.exit_code == 2 and "no such database" in result.stderr
    assert not db.exists()
