"""Tags, hand values and label corrections belong to the project (schema 4, issue 13).

Two datasets of one project hold the same examples (ids ``a``..``f``) with different
predictions, as when the next model is evaluated; a third dataset with the same ids lives in
another project. Expected values are written out by hand from the fixtures below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slicewise.core.dataset import ColumnMapping, Dataset, dataset_from_frame
from slicewise.core.errors import StoreError
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

IDS = ["a", "b", "c", "d", "e", "f"]
LABELS = ["cat", "dog", "cat", "dog", "cat", "dog"]
MODEL_1 = ["cat", "cat", "dog", "dog", "cat", "cat"]
MODEL_2 = ["dog", "dog", "cat", "cat", "cat", "dog"]


def dataset(predictions: list[str], ids: list[str] = IDS, **tags: list[bool]) -> Dataset:
    """Examples ``ids`` (labels as LABELS) with the given predictions and tag columns."""
    frame = pd.DataFrame(
        {"id": ids, "label": LABELS[: len(ids)], "prediction": predictions, **tags}
    )
    return dataset_from_frame(frame, ColumnMapping(tag_columns=tuple(tags)), name="preds.csv")


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "slicewise.db")
    yield s
    s.close()


@pytest.fixture
def two_models(store: Store) -> tuple[int, int, int]:
    """Model 1 and model 2 of project "speech", and a dataset of project "other"."""
    speech = store.get_or_create_project("speech", user="ann")
    other = store.get_or_create_project("other", user="ann")
    noisy = [True, False, False, True, False, False]
    m1 = store.save_dataset(
        speech, "model-1", dataset(MODEL_1, noisy=noisy), task=TaskSpec(), user="ann"
    )
    m2 = store.save_dataset(speech, "model-2", dataset(MODEL_2), task=TaskSpec(), user="ann")
    elsewhere = store.save_dataset(
        other, "model-1", dataset(MODEL_1, noisy=noisy), task=TaskSpec(), user="ann"
    )
    return m1, m2, elsewhere


def column(store: Store, dataset_id: int, tag: str) -> list[bool]:
    return store.tag_matrix(dataset_id)[tag].tolist()


# --------------------------------------------------------------------------- the case


def test_tags_and_a_correction_made_on_one_model_appear_on_the_next(
    store: Store, two_models
) -> None:
    m1, m2, elsewhere = two_models
    store.create_tag(m1, "accent", user="bob")
    store.set_tag(m1, ["b", "d"], "accent", True, user="bob")
    store.set_tag(m1, ["a"], "noisy", False, user="bob")  # the file said True
    store.set_tag(m1, ["c"], "noisy", True, user="bob")  # the file said False
    store.correct_label(m1, "b", "cat", user="bob", reason="it meows")

    # Model 2 has no tag columns: it lists the project's tags, with the hand values.
    assert store.list_tags(m2)["name"].tolist() == ["noisy", "accent"]
    assert column(store, m2, "accent") == [False, True, False, True, False, False]
    assert column(store, m2, "noisy") == [False, False, True, False, False, False]
    fixes = store.corrections(m2)
    assert fixes[["example_id", "original", "corrected", "user"]].values.tolist() == [
        ["b", "dog", "cat", "bob"]
    ]
    loaded = store.load_dataset(m2)
    assert loaded.frame["label"].tolist() == ["cat", "cat", "cat", "dog", "cat", "dog"]
    assert loaded.frame["prediction"].tolist() == MODEL_2  # its own predictions
    # Model 1 itself: file values with the hand values over them.
    assert column(store, m1, "noisy") == [False, False, True, True, False, False]

    # The other project's dataset, same ids, is untouched.
    assert store.list_tags(elsewhere)["name"].tolist() == ["noisy"]
    assert column(store, elsewhere, "noisy") == [True, False, False, True, False, False]
    assert store.corrections(elsewhere).empty
    assert store.load_dataset(elsewhere).frame["label"].tolist() == LABELS


def test_a_dataset_saved_after_the_tagging_gets_the_tags_too(store: Store, two_models) -> None:
    m1, _, _ = two_models
    store.set_tag(m1, ["e"], "noisy", True, user="bob")
    store.correct_label(m1, "f", "cat", user="bob")
    speech = store.dataset_info(m1)["project_id"]
    m3 = store.save_dataset(speech, "model-3", dataset(MODEL_2), task=TaskSpec(), user="cid")
    assert column(store, m3, "noisy") == [False, False, False, False, True, False]
    assert store.corrections(m3)["example_id"].tolist() == ["f"]


# --------------------------------------------------------------------------- file columns


def test_a_file_column_of_an_existing_tag_name_seeds_it_for_its_dataset_only(
    store: Store, two_models
) -> None:
    m1, _, _ = two_models
    speech = store.dataset_info(m1)["project_id"]
    m3 = store.save_dataset(
        speech,
        "model-3",
        dataset(
            MODEL_2,
            noisy=[False, True, True, False, False, False],
            night=[True, True, False, False, False, False],
        ),
        task=TaskSpec(),
        user="cid",
    )
    # One "noisy" tag for the project; "night" is new and comes last.
    assert store.list_tags(m1)["name"].tolist() == ["noisy", "night"]
    assert store.list_tags(m3)["name"].tolist() == ["noisy", "night"]
    assert column(store, m1, "noisy") == [True, False, False, True, False, False]
    assert column(store, m3, "noisy") == [False, True, True, False, False, False]
    assert column(store, m1, "night") == [False] * 6  # no such column in model 1's file
    assert column(store, m3, "night") == [True, True, False, False, False, False]
    # A hand value set through one dataset overrides every dataset's file value.
    assert store.set_tag(m3, ["b"], "noisy", False, user="cid") == 1
    assert column(store, m1, "noisy") == [True, False, False, True, False, False]  # was False
    assert column(store, m3, "noisy") == [False, False, True, False, False, False]
    store.set_tag(m3, ["a"], "noisy", False, user="cid")  # False in model 3's file already
    assert column(store, m1, "noisy") == [False, False, False, True, False, False]
    events = store.events()
    saved = events[events["kind"] == "dataset.save"].iloc[-1]
    assert '"new_tags": ["night"]' in saved["detail"]


# --------------------------------------------------------------------------- tag edits


def test_create_rename_settings_and_delete_through_one_dataset_show_in_the_other(
    store: Store, two_models
) -> None:
    m1, m2, elsewhere = two_models
    store.create_tag(m2, "blurry", user="bob")
    with pytest.raises(StoreError, match="project .* already has a tag named 'blurry'"):
        store.create_tag(m1, "blurry", user="bob")
    store.create_tag(elsewhere, "blurry", user="bob")  # another project: allowed
    store.set_tag(m2, ["f"], "blurry", True, user="bob")
    store.rename_tag(m1, "blurry", "out of focus", user="cid")
    store.set_tag_settings(m2, "out of focus", hlp=0.9, importance=4, user="cid")
    for did in (m1, m2):
        assert store.list_tags(did)["name"].tolist() == ["noisy", "out of focus"]
        assert column(store, did, "out of focus") == [False] * 5 + [True]
        assert store.tag_settings(did) == {
            "hlp": {"out of focus": 0.9},
            "importance": {"out of focus": 4},
            "ease": {},
        }
    assert store.tag_settings(elsewhere) == {"hlp": {}, "importance": {}, "ease": {}}
    store.delete_tag(m1, "out of focus", user="cid")
    assert store.list_tags(m2)["name"].tolist() == ["noisy"]
    assert store.list_tags(elsewhere)["name"].tolist() == ["noisy", "blurry"]


@pytest.mark.parametrize(
    ("sources", "target"),
    [
        (["noisy", "night"], "noisy"),
        (["night", "blurry"], "hard"),
        (["noisy", "night", "blurry"], "any"),
        (["blurry"], "night"),  # into an existing other tag
    ],
)
def test_merge_is_the_union_in_every_dataset_of_the_project(
    store: Store, two_models, sources, target
) -> None:
    m1, _, _ = two_models
    speech = store.dataset_info(m1)["project_id"]
    m3 = store.save_dataset(
        speech,
        "model-3",
        dataset(
            MODEL_2,
            noisy=[False, True, False, False, False, True],
            night=[False, False, True, False, False, False],
        ),
        task=TaskSpec(),
        user="cid",
    )
    store.create_tag(m1, "blurry", user="bob")
    store.set_tag(m1, ["e"], "blurry", True, user="bob")
    store.set_tag(m3, ["d"], "noisy", False, user="bob")  # file True in model 1
    store.set_tag(m1, ["a"], "night", True, user="bob")
    before = {did: store.tag_matrix(did) for did in (m1, m3)}
    store.merge_tags(m3, sources, target, user="bob")
    for did, old in before.items():
        merged = [*sources, target] if target in old.columns else sources
        want = old.drop(columns=merged)
        want[target] = old[merged].any(axis=1)  # the oracle: a row-wise OR, per dataset
        got = store.tag_matrix(did)
        pd.testing.assert_frame_equal(got[sorted(got.columns)], want[sorted(want.columns)])


# --------------------------------------------------------------------------- deleting


def test_deleting_a_dataset_keeps_the_project_tags_hand_values_and_corrections(
    store: Store, two_models
) -> None:
    m1, m2, _ = two_models
    store.create_tag(m1, "accent", user="bob")
    store.set_tag(m1, ["c"], "accent", True, user="bob")
    store.set_tag_settings(m1, "noisy", hlp=0.8, user="bob")
    store.correct_label(m1, "a", "dog", user="bob")
    store.delete_dataset(m1, user="bob")
    assert store.list_tags(m2)["name"].tolist() == ["noisy", "accent"]
    assert column(store, m2, "accent") == [False, False, True, False, False, False]
    assert column(store, m2, "noisy") == [False] * 6  # its base was model 1's file
    assert store.tag_settings(m2)["hlp"] == {"noisy": 0.8}
    assert store.corrections(m2)["example_id"].tolist() == ["a"]
    assert store.db["tag_bases"].count == 1  # the other project's "noisy" in its dataset


# --------------------------------------------------------------------------- corrections


def test_corrections_of_a_dataset_are_those_of_its_examples(store: Store, two_models) -> None:
    m1, _, _ = two_models
    speech = store.dataset_info(m1)["project_id"]
    part = store.save_dataset(
        speech, "first half", dataset(MODEL_2[:3], ids=IDS[:3]), task=TaskSpec(), user="cid"
    )
    store.correct_label(m1, "b", "cat", user="bob")
    store.correct_label(m1, "e", "dog", user="bob")
    assert store.corrections(m1)["example_id"].tolist() == ["b", "e"]
    assert store.corrections(part)["example_id"].tolist() == ["b"]
    assert store.load_dataset(part).frame["label"].tolist() == ["cat", "cat", "cat"]
    store.revert_correction(part, "b", user="cid")  # reverts it for the project
    assert store.corrections(m1)["example_id"].tolist() == ["e"]
    with pytest.raises(StoreError, match="example 'b' of dataset .* has no label correction"):
        store.revert_correction(m1, "b", user="cid")


def test_a_correction_takes_the_label_type_of_each_dataset(store: Store) -> None:
    speech = store.get_or_create_project("digits", user="ann")
    frame = pd.DataFrame({"id": [1, 2, 3], "label": [0, 1, 2], "prediction": [0, 2, 2]})
    one = store.save_dataset(speech, "one", dataset_from_frame(frame), task=TaskSpec(), user="ann")
    two = store.save_dataset(
        speech, "two", dataset_from_frame(frame.assign(prediction=1)), task=TaskSpec(), user="ann"
    )
    store.correct_label(one, 2, "2.0", user="ann")  # spelled "2" in both datasets
    for did in (one, two):
        labels = store.load_dataset(did).frame["label"]
        assert labels.tolist() == ["0", "2", "2"]
        assert labels.dtype == object


# --------------------------------------------------------------------------- revision


def test_revision_moves_for_every_dataset_of_the_project_and_only_there(
    store: Store, two_models
) -> None:
    m1, m2, elsewhere = two_models
    revs = {did: store.revision(did) for did in (m1, m2, elsewhere)}
    last = {did: store.last_event_id(did) for did in (m1, m2, elsewhere)}
    store.set_tag(m1, ["b"], "noisy", True, user="bob")
    assert store.revision(m1) > revs[m1] and store.revision(m2) > revs[m2]
    assert store.revision(elsewhere) == revs[elsewhere]
    assert store.last_event_id(m2) == last[m2]  # nothing was done on model 2 itself
    assert store.last_event_id(m1) == store.revision(m1)
    tagged = store.revision(m2)
    store.save_report(m1, "md", "r.md", "# r", user="bob")  # model 1's own business
    store.rename_dataset(m1, "model one", user="bob")
    assert store.revision(m2) == tagged
    assert store.revision(m1) > tagged
    store.correct_label(m1, "a", "dog", user="bob")
    assert store.revision(m2) > tagged


def test_events_say_who_did_what_through_which_dataset(store: Store, two_models) -> None:
    m1, m2, _ = two_models
    store.set_tag(m2, ["c"], "noisy", True, user="dan")
    log = store.events()
    row = log.iloc[-1]
    assert (row["kind"], row["user"], row["dataset_id"]) == ("tag.set", "dan", m2)
    assert row["project_id"] == store.dataset_info(m1)["project_id"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ({"ghost": "all"}, "tag_scopes names 'ghost', which is not among its tag columns"),
        ({"noisy": "some"}, "tag 'noisy': unknown scope 'some'; use one of all, errors, none"),
        ({"noisy": None}, "unknown scope None"),
    ],
)
def test_bad_tag_scopes_on_save_raise_and_save_nothing(store: Store, scopes, message) -> None:
    project = store.get_or_create_project("p", user="ann")
    with pytest.raises(StoreError, match=message):
        store.save_dataset(
            project,
            "d",
            dataset(MODEL_1, noisy=[True] * 6),
            task=TaskSpec(),
            user="ann",
            tag_scopes=scopes,
        )
    assert store.list_datasets().empty
    assert store.db["tags"].count == 0


def test_int_ids_match_across_datasets_as_text(store: Store) -> None:
    project = store.get_or_create_project("p", user="ann")
    ints = pd.DataFrame({"id": [7, 8, 9], "label": ["a", "b", "a"], "prediction": ["a"] * 3})
    texts = ints.assign(id=["7", "8", "9"], prediction=["b"] * 3)
    one = store.save_dataset(project, "ints", dataset_from_frame(ints), task=TaskSpec(), user="ann")
    two = store.save_dataset(
        project, "texts", dataset_from_frame(texts), task=TaskSpec(), user="ann"
    )
    store.create_tag(one, "odd", user="ann")
    store.set_tag(one, [np.int64(7), 9], "odd", True, user="ann")
    assert column(store, two, "odd") == [True, False, True]
