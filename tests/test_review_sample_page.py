"""*Review a sample* on Tag errors: draw, tag in the grid, mark reviewed, read the estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pagetest import assert_ok
from pagetest import run_page as app

from slicewise.core.dataset import ColumnMapping, prepare
from slicewise.core.tag_scope import draw_review_sample, sample_figures
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")
N = 300


def _frame() -> pd.DataFrame:
    label = np.where(np.arange(N) % 2, "ok", "dent")
    wrong = np.arange(N) % 4 == 0  # 75 errors, 225 correct
    return pd.DataFrame(
        {
            "id": [f"x{i:03d}" for i in range(N)],
            "label": label,
            "prediction": np.where(wrong, np.where(label == "ok", "dent", "ok"), label),
            "camera": np.where(np.arange(N) % 3 == 0, "c3", "c1"),
        }
    )


@pytest.fixture
def saved(store):
    project = store.get_or_create_project("p", user="Ana")
    did = store.save_dataset(
        project, "model-1", prepare(_frame(), ColumnMapping()), task=TaskSpec(), user="Ana"
    )
    store.create_tag(did, "c3", user="Ana")
    return store, did


def test_a_drawn_sample_is_stored_listed_alone_and_estimated_once_reviewed(saved):
    store, did = saved
    at = app("pages/2_Tag_errors.py", did)
    assert_ok(at)
    at.number_input(key=f"sample_errors_{did}").set_value(20)
    at.number_input(key=f"sample_correct_{did}").set_value(30)
    at.number_input(key=f"sample_seed_{did}").set_value(7)
    at.button(key=f"sample_draw_{did}").click().run()
    assert_ok(at, no_errors=True)
    samples = store.review_samples(did)
    assert len(samples) == 1
    sample = store.review_sample(int(samples["id"].iloc[0]))
    frame = _frame()
    correct = (frame["label"] == frame["prediction"]).to_numpy()
    drawn = draw_review_sample(correct, {"errors": 20, "correct": 30}, seed=7)
    assert sample["example_ids"]["errors"] == frame["id"].to_numpy()[drawn["errors"]].tolist()
    # The grid lists the sample only (50 examples, on one page of 100).
    at.selectbox(key="tag_page_size").set_value(100).run()
    listed = at.data_editor[0].value["id"].tolist()
    assert sorted(listed) == sorted(sum(sample["example_ids"].values(), []))
    # The reviewer tags the sampled c3 examples, then marks the sample reviewed.
    positions = np.concatenate([drawn["errors"], drawn["correct"]])
    c3 = positions[frame["camera"].to_numpy()[positions] == "c3"]
    store.set_tag(did, frame["id"].to_numpy()[c3].tolist(), "c3", True, user="Ana")
    at.run()
    at.button(key=f"sample_mark_{did}").click().run()
    assert_ok(at, no_errors=True)
    assert store.review_samples(did)["n_reviewed"].iloc[0] == 50
    view = next(d.value for d in at.dataframe if "accuracy interval" in d.value.columns)
    expected = sample_figures(
        correct, pd.DataFrame({"c3": frame["camera"].eq("c3")}), positions
    ).loc["c3"]
    row = view[view["tag"] == "c3"].iloc[0]
    assert row["accuracy"] == pytest.approx(100 * expected["accuracy"])
    assert row["share"] == pytest.approx(100 * expected["share"])
    slices = app("pages/3_Slices_vs_HLP.py", did)
    table = next(d.value for d in slices.dataframe if "slice" in d.value.columns)
    assert table.loc[table["slice"] == "C3", "known on"].iloc[0] == "a review sample (50 reviewed)"
