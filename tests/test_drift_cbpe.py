"""Confidence-based performance estimation (core.drift.cbpe): checked against the truth on
simulated scores, against NannyML's CBPE itself (run in its own Python environment) and
against NannyML's documented algorithm written out here with scikit-learn.

NannyML needs older plotting and data libraries than Slicewise, so it lives in a virtual
environment of its own: ``SLICEWISE_NANNYML_PYTHON`` (its ``python``), else
``.nannyml-venv`` beside the tests, which the README's test command makes. Without either the
comparison is skipped, and fails under CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from slicewise.core.dataset import dataset_from_frame
from slicewise.core.drift.cbpe import estimate_accuracy, fit_calibration
from slicewise.core.errors import InvalidValueError, MissingColumnError, MissingValuesError


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _scored(n: int, *, seed: int, shift: float = 0.0, distort: float = 1.0) -> pd.DataFrame:
    """A binary model's rows: ``p_true`` = P(label = yes); the score is ``p_true ** distort``
    (1: well calibrated). Predictions are ``yes`` at a score of 0.5 or more; ``shift`` moves
    the feature, so the production mix of easy and hard rows changes."""
    rng = np.random.default_rng(seed)
    device = rng.choice(["phone", "laptop"], n)
    x = rng.normal(shift, 1.0, n) + np.where(device == "phone", 0.8, -0.3)
    p_true = _sigmoid(2.0 * x)
    score = p_true**distort
    label = np.where(rng.random(n) < p_true, "yes", "no")
    return pd.DataFrame(
        {
            "label": label,
            "prediction": np.where(score >= 0.5, "yes", "no"),
            "score": score,
            "device": device,
            "p_true": p_true,
        }
    )


def _p_correct(frame: pd.DataFrame) -> np.ndarray:
    """The true probability that each row's prediction is right."""
    return np.where(frame["prediction"] == "yes", frame["p_true"], 1 - frame["p_true"])


@pytest.mark.parametrize("method", ["none", "isotonic", "auto"])
@pytest.mark.parametrize(("seed", "shift"), [(1, 0.0), (2, 0.8), (3, -0.8)])
def test_estimate_is_within_three_standard_errors_of_the_measured_accuracy(method, seed, shift):
    """Well-calibrated scores: the measured accuracy of n rows is a sum of independent
    Bernoulli(c_i) over n, so it lies within 3 sqrt(sum c_i (1 - c_i)) / n of the expected
    accuracy (c_i: the true probability that row i is right); calibrating on a reference of
    N rows adds an error of the order of sqrt(a (1 - a) / N), added in quadrature."""
    ref_rows = _scored(20_000, seed=seed)
    prod = _scored(5000, seed=seed + 50, shift=shift)
    reference = dataset_from_frame(ref_rows.drop(columns="p_true"), positive="yes")
    table = estimate_accuracy(
        reference, prod.drop(columns="p_true"), slice_by=["device"], method=method
    )
    c = _p_correct(prod)
    right = (prod["label"] == prod["prediction"]).to_numpy()
    a = (ref_rows["label"] == ref_rows["prediction"]).mean()
    for name, mask in [
        ("All data", np.ones(len(prod), bool)),
        ("device = laptop", (prod["device"] == "laptop").to_numpy()),
        ("device = phone", (prod["device"] == "phone").to_numpy()),
    ]:
        n = mask.sum()
        se = np.sqrt(np.sum(c[mask] * (1 - c[mask])) / n**2 + a * (1 - a) / len(ref_rows))
        estimate = table.loc[name, "estimated_accuracy"]
        assert abs(estimate - right[mask].mean()) < 3 * se, name
        assert table.loc[name, "production_accuracy"] == pytest.approx(right[mask].mean())


@pytest.mark.parametrize("distort", [0.4, 2.5])
def test_calibration_removes_the_bias_of_miscalibrated_scores(distort):
    ref_rows = _scored(20_000, seed=4, distort=distort)
    prod = _scored(5000, seed=5, shift=0.6, distort=distort)
    reference = dataset_from_frame(ref_rows.drop(columns="p_true"), positive="yes")
    truth = _p_correct(prod).mean()
    se = np.sqrt(np.sum(_p_correct(prod) * (1 - _p_correct(prod)))) / len(prod)
    raw = estimate_accuracy(reference, prod, method="none").loc["All data"]
    calibrated = estimate_accuracy(reference, prod, method="auto")
    assert calibrated.attrs["calibration"] == "isotonic"
    assert abs(calibrated.loc["All data", "estimated_accuracy"] - truth) < 4 * se
    assert abs(raw["estimated_accuracy"] - truth) > 4 * se  # the raw scores mislead


def _nannyml_algorithm(ref: pd.DataFrame, chunk: pd.DataFrame) -> tuple[float, float]:
    """NannyML's documented binary CBPE accuracy with isotonic calibration, by hand."""
    y = (ref["label"] == "yes").to_numpy(dtype=int)
    iso = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(ref["score"], y)
    c = iso.predict(chunk["score"])
    estimate = np.mean(np.where(chunk["prediction"] == "yes", c, 1 - c))
    sampling_error = np.std(ref["label"] == ref["prediction"]) / np.sqrt(len(chunk))
    return float(estimate), float(sampling_error)


@pytest.mark.parametrize(("distort", "shift"), [(1.0, 0.7), (0.5, -0.5), (2.0, 1.2)])
def test_isotonic_estimate_per_chunk_matches_nannymls_documented_algorithm(distort, shift):
    ref = _scored(6000, seed=6, distort=distort).drop(columns="p_true")
    prod = _scored(3000, seed=7, shift=shift, distort=distort).drop(columns="p_true")
    reference = dataset_from_frame(ref, positive="yes")
    calibration = fit_calibration(reference, method="isotonic")
    for start in range(0, 3000, 1000):
        chunk = prod.iloc[start : start + 1000]
        ours = estimate_accuracy(reference, chunk, calibration=calibration).loc["All data"]
        estimate, sampling_error = _nannyml_algorithm(ref, chunk)
        assert ours["estimated_accuracy"] == pytest.approx(estimate, abs=1e-12)
        assert ours["sampling_error"] == pytest.approx(sampling_error, rel=1e-12)
        assert ours["estimated_low"] == pytest.approx(estimate - 3 * sampling_error)


_NANNYML_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import pandas as pd
    import nannyml as nml
    warnings.simplefilter("ignore")
    ref, prod = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
    chunking = json.loads(sys.argv[3])
    for frame in (ref, prod):
        frame["y_pred"] = (frame["prediction"] == "yes").astype(int)
    ref["y_true"] = (ref["label"] == "yes").astype(int)
    est = nml.CBPE(
        y_pred_proba="score", y_pred="y_pred", y_true="y_true",
        problem_type="classification_binary", metrics=["accuracy"], **chunking,
    )
    est.fit(ref)
    out = est.estimate(prod[["score", "y_pred"]]).filter(period="analysis").to_df()
    print(json.dumps({
        "needs_calibration": bool(est.needs_calibration),
        "start": out[("chunk", "start_index")].tolist(),
        "end": out[("chunk", "end_index")].tolist(),
        "value": out[("accuracy", "value")].tolist(),
        "sampling_error": out[("accuracy", "sampling_error")].tolist(),
        "low": out[("accuracy", "lower_confidence_boundary")].tolist(),
        "high": out[("accuracy", "upper_confidence_boundary")].tolist(),
    }))
    """
)


def _run_nannyml(ref: pd.DataFrame, prod: pd.DataFrame, chunking: dict, tmp_path) -> dict:
    beside = Path(__file__).resolve().parents[1] / ".nannyml-venv" / "bin" / "python"
    python = os.environ.get("SLICEWISE_NANNYML_PYTHON") or (str(beside) if beside.exists() else "")
    if not python:
        why = (
            "no NannyML environment: run the README's test command, or set "
            "SLICEWISE_NANNYML_PYTHON to the python of a virtual environment holding "
            "nannyml==0.13.1, to compare with NannyML's CBPE"
        )
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    script = tmp_path / "nannyml_cbpe.py"
    script.write_text(_NANNYML_SCRIPT)
    done = subprocess.run(
        [python, str(script), str(tmp_path / "ref.csv"), str(tmp_path / "prod.csv"),
         json.dumps(chunking)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("ref_seed", "distort", "shift", "chunking"),
    [
        (8, 1.0, 0.7, {"chunk_size": 1000}),  # calibrated scores, isotonic still helps
        (13, 1.0, 0.7, {"chunk_size": 2000}),  # calibrated scores, left as they are
        (8, 0.5, -0.5, {"chunk_size": 1500}),  # under-confident: calibration needed
        (8, 2.0, 1.2, {"chunk_number": 4}),  # over-confident
    ],
)
def test_estimate_per_chunk_agrees_with_nannymls_cbpe(ref_seed, distort, shift, chunking, tmp_path):
    # Scores written to CSV round-trip exactly (shortest repr), so both read the same floats.
    ref = _scored(6000, seed=ref_seed, distort=distort).drop(columns="p_true")
    prod = _scored(6000, seed=9, shift=shift, distort=distort).drop(columns="p_true")
    theirs = _run_nannyml(ref, prod, chunking, tmp_path)
    reference = dataset_from_frame(ref, positive="yes")
    calibration = fit_calibration(reference, method="auto")
    assert (calibration.method == "isotonic") == theirs["needs_calibration"]
    for start, end, value, error in zip(
        theirs["start"], theirs["end"], theirs["value"], theirs["sampling_error"], strict=True
    ):
        chunk = prod.iloc[start : end + 1]
        ours = estimate_accuracy(reference, chunk, calibration=calibration).loc["All data"]
        # NannyML's stated tolerance: its estimate ± 3 sampling errors. The same algorithm
        # on the same floats agrees far closer.
        assert abs(ours["estimated_accuracy"] - value) < 3 * error
        assert ours["estimated_accuracy"] == pytest.approx(value, abs=1e-9)
        assert ours["sampling_error"] == pytest.approx(error, rel=1e-9)


def test_all_data_row_holds_nannymls_sampling_error_and_interval():
    ref = _scored(2000, seed=10).drop(columns="p_true")
    prod = _scored(800, seed=11, shift=0.3).drop(columns="p_true")
    table = estimate_accuracy(dataset_from_frame(ref, positive="yes"), prod, slice_by=["device"])
    correct = ref["label"] == ref["prediction"]
    assert table.loc["All data", "sampling_error"] == pytest.approx(
        np.std(correct) / np.sqrt(len(prod))
    )
    phone = (ref["device"] == "phone").to_numpy()
    n_phone = (prod["device"] == "phone").sum()
    assert table.loc["device = phone", "sampling_error"] == pytest.approx(
        np.std(correct[phone]) / np.sqrt(n_phone)
    )
    row = table.loc["All data"]
    assert row["estimated_high"] == pytest.approx(
        min(1.0, row["estimated_accuracy"] + 3 * row["sampling_error"])
    )


def _reference(**changes) -> pd.DataFrame:
    return _scored(300, seed=12).drop(columns="p_true").assign(**changes)


@pytest.mark.parametrize(
    ("ref", "prod", "options", "error", "message"),
    [
        (_reference().drop(columns="score"), None, {}, MissingColumnError, "no score column"),
        (_reference(label="yes", prediction="yes"), None, {}, InvalidValueError, "two classes"),
        (_reference(), None, {"positive": "maybe"}, InvalidValueError, "'maybe' never occurs"),
        (_reference(), None, {"positive": None}, InvalidValueError, "needs the positive class"),
        (_reference(score=lambda d: d["score"] * 10), None, {"method": "none"},
         InvalidValueError, "no probabilities"),
        (_reference(), _reference().drop(columns="score"), {}, MissingColumnError, "score"),
        (_reference(), _reference(score=lambda d: d["score"].mask(d.index == 4)), {},
         MissingValuesError, "blank in row 6"),
    ],
    ids=["no-score", "one-class", "unknown-positive", "no-positive", "not-probabilities",
         "production-without-score", "production-score-missing"],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_message(ref, prod, options, error, message):
    positive = options.pop("positive", "yes")
    reference = dataset_from_frame(ref, name="ref.csv", positive=positive)
    production = _reference() if prod is None else prod
    with pytest.raises(error, match=message):
        estimate_accuracy(reference, production, source_name="prod.csv", **options)
