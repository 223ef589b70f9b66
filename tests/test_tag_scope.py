"""Per-tag figures are honest about where a tag is known (core.tag_scope).

Expected values are worked out with plain pandas on the same frames, never by the module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, Dataset, prepare
from slicewise.core.errors import InvalidValueError
from slicewise.core.tag_scope import (
    draw_review_sample,
    estimate_tag_figures,
    known_matrix,
    sample_figures,
)


def _population(seed: int = 1, n: int = 20_000) -> tuple[np.ndarray, pd.DataFrame]:
    """A model right 85% of the time and a tag on 30% of errors and 5% of correct examples."""
    rng = np.random.default_rng(seed)
    correct = rng.random(n) < 0.85
    tag = np.where(correct, rng.random(n) < 0.05, rng.random(n) < 0.30)
    return correct, pd.DataFrame({"blurry": tag})


def _truth(correct: np.ndarray, tag: np.ndarray) -> dict[str, float]:
    frame = pd.DataFrame({"correct": correct, "tag": tag})
    inside = frame[frame["tag"]]
    return {
        "share": len(inside) / len(frame),
        "accuracy": inside["correct"].mean(),
        "error_share": inside["correct"].eq(False).sum() / (~frame["correct"]).sum(),
    }


def test_fully_known_tag_gives_the_exact_counts():
    correct, tags = _population(n=2_000)
    known = pd.DataFrame({"blurry": np.ones(len(correct), dtype=bool)})
    row = estimate_tag_figures(correct, tags, known).loc["blurry"]
    truth = _truth(correct, tags["blurry"].to_numpy())
    assert row["scope"] == "all"
    assert row["accuracy"] == pytest.approx(truth["accuracy"])
    assert row["share"] == pytest.approx(truth["share"])
    assert row["error_share"] == pytest.approx(truth["error_share"])
    # Exact figures have no interval width.
    assert row["accuracy_ci_low"] == row["accuracy_ci_high"] == pytest.approx(truth["accuracy"])


def test_tag_known_only_on_errors_has_an_error_share_and_a_ceiling_but_no_accuracy():
    # 10 examples: 4 errors (rows 0-3), the tag on errors 0 and 1; correct rows never reviewed.
    correct = np.array([False] * 4 + [True] * 6)
    tags = pd.DataFrame({"blurry": [True, True, False, False] + [False] * 6})
    known = known_matrix(correct, tags, {"blurry": "errors"})
    row = estimate_tag_figures(correct, tags, known).loc["blurry"]
    assert row["scope"] == "errors"
    assert row["error_share"] == pytest.approx(2 / 4)  # 2 of the 4 errors
    assert row["max_gain"] == pytest.approx(2 / 10)  # fixing both: +2 correct of 10
    assert np.isnan(row["accuracy"]) and np.isnan(row["share"])
    assert row["error_share_ci_low"] == row["error_share_ci_high"] == pytest.approx(0.5)


def _scoped(cells: list, correct: list[int], *, times: int = 5, **kwargs) -> str:
    # The pattern repeated: 10 carriers, all errors at an error rate of 50%, happen by chance
    # with probability 0.5 ** 10 < 1%, so auto reads them as filled on errors only.
    cells, correct = cells * times, correct * times
    frame = pd.DataFrame(
        {
            "id": range(len(cells)),
            "label": "a",
            "prediction": ["a" if c else "b" for c in correct],
            "t": cells,
        }
    )
    return analyze(prepare(frame, ColumnMapping(tag_columns=("t",))), **kwargs).loc["t", "scope"]


@pytest.mark.parametrize(
    ("cells", "correct", "expected"),
    [
        (["x", "x", "", ""], [0, 0, 1, 1], "errors"),  # x/blank, only errors carry it
        (["x", "x", None, None], [0, 0, 1, 1], "errors"),  # missing cells are blanks too
        (["x", "", "x", ""], [0, 0, 1, 1], "all"),  # a correct example carries it
        (["", "", "", ""], [0, 0, 1, 1], "all"),  # nobody carries it: nothing suggests errors
        # Every example an error: the errors are all the examples, so the tag is known everywhere.
        (["x", "x", "x", "x"], [0, 0, 0, 0], "all"),
        (["1", "1", "0", "0"], [0, 0, 1, 1], "all"),  # 0 says "no" explicitly: known everywhere
        (["yes", "yes", "no", ""], [0, 0, 1, 1], "all"),
        (["true", "true", "false", "false"], [0, 0, 1, 1], "all"),
    ],
)
def test_auto_scope_reads_a_blank_for_no_tag_only_errors_carry_as_filled_on_errors(
    cells, correct, expected
):
    assert _scoped(cells, correct) == expected


@pytest.mark.parametrize(("times", "expected"), [(3, "all"), (4, "errors")])
def test_auto_scope_needs_all_errors_to_be_unlikely_by_chance(times, expected):
    # 2 × times carriers, all errors, at an error rate of 1/2: 0.5 ** 6 = 1.6% is not below
    # 1%, 0.5 ** 8 = 0.4% is.
    assert _scoped(["x", "x", "", ""], [0, 0, 1, 1], times=times) == expected


def test_a_given_scope_wins_over_auto_and_a_bad_one_is_refused():
    cells, correct = ["x", "", ""], [0, 1, 1]
    assert _scoped(cells, correct, tag_scopes={"t": "all"}) == "all"
    assert _scoped(cells, correct, tag_scopes="all") == "all"
    assert _scoped(["1", "0", "0"], correct, tag_scopes="errors") == "errors"
    with pytest.raises(InvalidValueError, match="unknown scope 'some'"):
        _scoped(cells, correct, tag_scopes={"t": "some"})


def test_a_tags_column_lists_tags_so_its_blanks_are_unknown():
    frame = pd.DataFrame(
        {
            "id": range(40),
            "label": "a",
            "prediction": ["b", "b", "a", "a"] * 10,
            "tags": ["blurry", "blurry;dark", "", "dark"] * 10,
        }
    )
    table = analyze(prepare(frame, ColumnMapping(tags_column="tags")))
    assert table.loc["blurry", "scope"] == "errors"  # only errors 0 and 1 carry it
    assert table.loc["dark", "scope"] == "all"  # a correct example carries it


def test_review_sample_is_seeded_stratified_and_capped():
    correct = np.array([False] * 30 + [True] * 70)
    first = draw_review_sample(correct, {"errors": 10, "correct": 500}, seed=7)
    again = draw_review_sample(correct, {"errors": 10, "correct": 500}, seed=7)
    assert np.array_equal(first["errors"], again["errors"])
    assert len(first["errors"]) == 10 and not correct[first["errors"]].any()
    assert len(first["correct"]) == 70 and correct[first["correct"]].all()  # capped at 70
    assert len(set(first["errors"])) == 10  # without replacement
    other = draw_review_sample(correct, {"errors": 10}, seed=8)
    assert not np.array_equal(first["errors"], other["errors"])
    with pytest.raises(InvalidValueError, match="unknown sample stratum"):
        draw_review_sample(correct, {"wrong": 3}, seed=1)


def _sample_known(correct: np.ndarray, seed: int, sizes: dict[str, int]) -> pd.DataFrame:
    drawn = draw_review_sample(correct, sizes, seed=seed)
    known = np.zeros(len(correct), dtype=bool)
    for positions in drawn.values():
        known[positions] = True
    return pd.DataFrame({"blurry": known})


def test_a_review_sample_lands_within_its_interval_of_the_full_truth():
    correct, tags = _population()
    truth = _truth(correct, tags["blurry"].to_numpy())
    known = _sample_known(correct, seed=3, sizes={"errors": 100, "correct": 100})
    row = estimate_tag_figures(correct, tags, known).loc["blurry"]
    assert row["scope"] == "sample" and row["reviewed"] == 200
    for figure in ("accuracy", "share", "error_share"):
        assert row[f"{figure}_ci_low"] <= truth[figure] <= row[f"{figure}_ci_high"], figure


def test_review_sample_intervals_cover_the_truth_about_95_percent_of_the_time():
    # 300 independent 100 + 100 samples of one population with known truth; a 95% interval
    # should miss about 15 times (binomial sd ~3.8): 90-99% coverage is the accepted band.
    correct, tags = _population(seed=11)
    truth = _truth(correct, tags["blurry"].to_numpy())
    hits = {"accuracy": 0, "share": 0, "error_share": 0}
    reps = 300
    for rep in range(reps):
        known = _sample_known(correct, seed=1000 + rep, sizes={"errors": 100, "correct": 100})
        row = estimate_tag_figures(correct, tags, known, draws=2000, seed=rep).loc["blurry"]
        for figure in hits:
            hits[figure] += row[f"{figure}_ci_low"] <= truth[figure] <= row[f"{figure}_ci_high"]
    for figure, hit in hits.items():
        assert 0.90 <= hit / reps <= 0.99, (figure, hit / reps)


def _errors_only_file(tmp_path):
    frame = pd.DataFrame(
        {
            "id": range(60),
            "label": ["a"] * 60,
            "prediction": (["a"] * 8 + ["b"] * 4) * 5,
            "camera": ["c1", "c3"] * 30,
        }
    )
    frame["cam3_error"] = np.where(
        (frame.label != frame.prediction) & (frame.camera == "c3"), "x", ""
    )
    frame["human_label"] = frame["label"]
    path = tmp_path / "errtag.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_the_issue_case_an_error_only_tag_is_not_ranked_and_has_no_accuracy(tmp_path):
    path, frame = _errors_only_file(tmp_path)
    dataset = prepare(frame, ColumnMapping(tag_columns=("cam3_error",)))
    table = analyze(dataset, hlp={"cam3_error": 0.9})
    row = table.loc["cam3_error"]
    errors = frame.label != frame.prediction
    tagged = frame.cam3_error.eq("x")
    assert row["scope"] == "errors"
    assert pd.isna(row["rank"]) and pd.isna(row["accuracy"]) and pd.isna(row["gap"])
    assert row["n"] == (tagged & errors).sum()
    assert row["error_share"] == pytest.approx((tagged & errors).sum() / errors.sum())
    assert row["max_gain"] == pytest.approx((tagged & errors).sum() / len(frame))
    # Said to be filled on all examples, the same column is exact: 0% accuracy, a gap.
    exact = analyze(dataset, tag_scopes="all", hlp={"cam3_error": 0.9}).loc["cam3_error"]
    assert exact["scope"] == "all" and exact["accuracy"] == 0
    assert exact["gap"] == pytest.approx(0.9) and exact["rank"] == 1


def test_cli_reads_error_only_tags_as_such_and_says_so(tmp_path):
    path, frame = _errors_only_file(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        main, ["analyze", str(path), "--tag-columns", "cam3_error", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert "read as filled on errors only" in result.stderr
    import json

    report = json.loads(result.stdout)
    row = next(s for s in report["slices"] if s["name"] == "cam3_error")
    assert row["scope"] == "errors" and row["accuracy"] is None and row["rank"] is None
    forced = runner.invoke(
        main,
        [
            "analyze",
            str(path),
            "--tag-columns",
            "cam3_error",
            "--tag-scope",
            "cam3_error=all",
            "--format",
            "json",
        ],
    )
    row = next(s for s in json.loads(forced.stdout)["slices"] if s["name"] == "cam3_error")
    assert row["scope"] == "all" and row["accuracy"] == 0.0
    bad = runner.invoke(main, ["analyze", str(path), "--tag-scope", "maybe"])
    assert bad.exit_code == 2 and "scope must be all, errors or auto" in bad.stderr


def test_a_sampled_tag_with_an_entered_hlp_gets_a_gap_from_its_estimate():
    correct, tags = _population(n=5_000)
    frame = pd.DataFrame(
        {"id": range(len(correct)), "label": "a", "prediction": np.where(correct, "a", "b")}
    )
    dataset = Dataset(frame=frame, tags=tags, mapping=ColumnMapping())
    known = _sample_known(correct, seed=5, sizes={"errors": 150, "correct": 150})
    table = analyze(dataset, tag_scopes={"blurry": "none"}, reviewed=known, hlp={"blurry": 0.95})
    row = table.loc["blurry"]
    expected = estimate_tag_figures(correct, tags, known).loc["blurry"]
    assert row["scope"] == "sample"
    assert row["accuracy"] == pytest.approx(expected["accuracy"])
    assert row["gap"] == pytest.approx(0.95 - expected["accuracy"])
    assert row["potential_gain"] == pytest.approx(row["gap"] * expected["share"])
    assert pd.isna(row["p_value"])


def test_no_tag_row_is_known_only_where_every_tag_is():
    # Tag a is known everywhere, tag b on errors only: "No tag" is known on errors only.
    correct = np.array([False, False, False, True, True, True])
    tags = pd.DataFrame(
        {
            "a": [True, False, False, True, False, False],
            "b": [False, True, False, False, False, False],
        }
    )
    frame = pd.DataFrame({"id": range(6), "label": "x", "prediction": np.where(correct, "x", "y")})
    table = analyze(
        Dataset(frame=frame, tags=tags, mapping=ColumnMapping()),
        tag_scopes={"a": "all", "b": "errors"},
    )
    untagged = table.loc["No tag"]
    assert untagged["scope"] == "errors"
    assert untagged["error_share"] == pytest.approx(1 / 3)  # error 2 of errors 0, 1, 2
    assert pd.isna(untagged["accuracy"])
    assert table.loc["a", "scope"] == "all" and table.loc["a", "accuracy"] == 0.5


def test_sample_figures_use_only_the_reviewed_part_of_a_sample():
    correct, tags = _population(n=3_000)
    drawn = draw_review_sample(correct, {"errors": 60, "correct": 60}, seed=2)
    positions = np.concatenate([drawn["errors"], drawn["correct"]])
    reviewed = np.zeros(len(positions), dtype=bool)
    reviewed[::2] = True  # half of the sample reviewed so far
    figures = sample_figures(correct, tags, positions, reviewed=reviewed).loc["blurry"]
    known = np.zeros(len(correct), dtype=bool)
    known[positions[reviewed]] = True
    expected = estimate_tag_figures(correct, tags, pd.DataFrame({"blurry": known})).loc["blurry"]
    assert figures["reviewed"] == reviewed.sum() == 60
    assert figures["accuracy"] == pytest.approx(expected["accuracy"])
    assert figures["share"] == pytest.approx(expected["share"])


@pytest.mark.parametrize(
    ("cells", "note"),
    [
        (["1", "0", "0", "0"], "every example carrying 't' is an error"),  # says no: known
        (["x", "", "", ""], "every example carrying 't' is an error"),  # 1 error: too few to tell
        (["true", "false", "false", "false"], "every example carrying 't' is an error"),
    ],
)
def test_cli_says_how_to_read_a_tag_only_errors_carry_when_it_is_read_as_known(
    tmp_path, cells, note
):
    frame = pd.DataFrame(
        {
            "id": range(8),
            "label": "a",
            "prediction": ["b", "a", "a", "a", "b", "a", "a", "a"],
            "t": cells + ["0" if cells[0] == "1" else ""] * 4,
        }
    )
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["analyze", str(path), "--tag-columns", "t"])
    assert result.exit_code == 0, result.output
    assert note in result.stderr and "--tag-scope 't=errors'" in result.stderr
