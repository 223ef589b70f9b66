"""What was reviewed is data: tag scopes, reviewed examples, review samples and undo.

A project holds two datasets of the same examples (ids ``a``..``f``, two models); expected
values are written out by hand from the fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from slicewise.core.dataset import ColumnMapping, Dataset, dataset_from_frame
from slicewise.core.errors import StoreError
from slicewise.core.store import TAG_SCOPES, Store
from slicewise.core.task import TaskSpec

IDS = ["a", "b", "c", "d", "e", "f"]


def dataset(predictions: str, **tags: list[bool]) -> Dataset:
    frame = pd.DataFrame(
        {"id": IDS, "label": list("xyxyxy"), "prediction": list(predictions), **tags}
    )
    return dataset_from_frame(frame, ColumnMapping(tag_columns=tuple(tags)), name="p.csv")


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "slicewise.db")
    yield s
    s.close()


@pytest.fixture
def pair(store: Store) -> tuple[int, int]:
    """Two models of one project; model 1's file has "noisy" (filled on errors only)."""
    project = store.get_or_create_project("p", user="ann")
    m1 = store.save_dataset(
        project,
        "m1",
        dataset("xxxxxx", noisy=[False, True, False, True, False, False]),
        task=TaskSpec(),
        user="ann",
        tag_scopes={"noisy": "errors"},
    )
    m2 = store.save_dataset(
        project, "m2", dataset("yyyyyy", loud=[True] * 6), task=TaskSpec(), user="ann"
    )
    store.create_tag(m1, "blurry", user="ann")
    return m1, m2


def hand_rows(store: Store) -> list[tuple]:
    return store.db.execute(
        'SELECT t.name, o.example_id, o.value, o."user", o.at FROM '
        "tag_overrides o JOIN tags t ON t.id = o.tag_id "
        "ORDER BY t.name, o.example_id"
    ).fetchall()


# --------------------------------------------------------------------------- scopes


def test_scopes_default_to_auto_for_file_columns_and_none_elsewhere(store: Store, pair) -> None:
    # "auto": a file column saved without a scope is decided from the data by the analysis.
    m1, m2 = pair
    assert TAG_SCOPES == ("all", "errors", "none", "auto")
    assert store.tag_scopes(m1) == {"noisy": "errors", "loud": "none", "blurry": "none"}
    assert store.tag_scopes(m2) == {"noisy": "none", "loud": "auto", "blurry": "none"}


def test_set_tag_scope_is_per_dataset_and_logged(store: Store, pair) -> None:
    m1, m2 = pair
    store.set_tag_scope(m2, "blurry", "all", user="bob")
    store.set_tag_scope(m2, "blurry", "all", user="bob")  # no change, no event
    assert store.tag_scopes(m2)["blurry"] == "all"
    # Model 1 holds the same examples: it takes the scope a rule gave on model 2.
    assert store.tag_scopes(m1)["blurry"] == "all"
    scoped = store.events(m2)
    scoped = scoped[scoped["kind"] == "tag.scope"]
    assert len(scoped) == 1
    assert json.loads(scoped["detail"].iloc[0]) == {
        "tag": "blurry",
        "scope": "all",
        "previous": "none",
    }
    store.set_tag_scope(m1, "noisy", "all", user="bob")  # the file's column keeps seeding it
    assert store.tag_matrix(m1)["noisy"].tolist() == [False, True, False, True, False, False]


@pytest.mark.parametrize("scope", ["some", "ALL", None, 1, "sample"])
def test_unknown_scope_raises(store: Store, pair, scope) -> None:
    m1, _ = pair
    with pytest.raises(StoreError, match="unknown scope"):
        store.set_tag_scope(m1, "noisy", scope, user="bob")
    with pytest.raises(StoreError, match="unknown scope"):
        store.apply_tag_rule(m1, ["a"], "noisy", True, scope=scope, user="bob")
    assert store.tag_scopes(m1)["noisy"] == "errors"


def test_a_rule_sets_values_and_scope_and_one_undo_restores_both(store: Store, pair) -> None:
    m1, m2 = pair
    before = store.tag_matrix(m1)
    assert (
        store.apply_tag_rule(
            m1, ["a", "c"], "blurry", True, scope="all", user="bob", rule="device == car_kit"
        )
        == 2
    )
    assert store.tag_scopes(m1)["blurry"] == "all"
    assert store.tag_scopes(m2)["blurry"] == "all"  # inherited: the same examples, by id
    assert store.tag_matrix(m2)["blurry"].tolist() == [True, False, True, False, False, False]
    event = store.events(m1).iloc[-1]
    assert event["kind"] == "tag.rule"
    assert json.loads(event["detail"])["rule"] == "device == car_kit"
    assert store.undo_last(m2, user="bob") == (
        "rule 'device == car_kit': tagged 2 examples as 'blurry' (scope all)"
    )
    pd.testing.assert_frame_equal(store.tag_matrix(m1), before)
    assert store.tag_scopes(m1)["blurry"] == "none"
    assert store.tag_scopes(m2)["blurry"] == "none"


@pytest.mark.parametrize(
    ("scopes", "merged"),
    [
        (("all", "errors"), "errors"),
        (("all", "all"), "all"),
        (("errors", "none"), "none"),
    ],
)
def test_a_merged_tag_takes_the_narrowest_scope(store: Store, scopes, merged) -> None:
    project = store.get_or_create_project("p", user="ann")
    did = store.save_dataset(
        project,
        "d",
        dataset("xxxxxx", one=[True] + [False] * 5, two=[False] * 5 + [True]),
        task=TaskSpec(),
        user="ann",
        tag_scopes=dict(zip(["one", "two"], scopes, strict=True)),
    )
    store.merge_tags(did, ["one", "two"], "both", user="ann")
    assert store.tag_scopes(did) == {"both": merged}
    assert store.tag_matrix(did)["both"].tolist() == [True] + [False] * 4 + [True]


# --------------------------------------------------------------------------- reviewed


def test_mark_reviewed_counts_changes_and_withdraws(store: Store, pair) -> None:
    m1, m2 = pair
    assert store.mark_reviewed(m1, ["a", "b"], user="bob") == 2
    assert store.mark_reviewed(m1, ["b", "c", "c"], user="bob") == 1
    assert store.mark_reviewed(m2, ["a", "d"], user="bob", reviewed=False) == 1
    assert store.mark_reviewed(m2, ["a"], user="bob", reviewed=False) == 0
    marks = store.reviewed_examples(m1)
    assert sorted(marks["example_id"]) == ["b", "c"]
    assert marks["sample_id"].isna().all() and (marks["user"] == "bob").all()
    with pytest.raises(StoreError, match=r"no example with id 'zz' \(1 of 2 ids unknown\)"):
        store.mark_reviewed(m1, ["a", "zz"], user="bob")
    with pytest.raises(StoreError, match="reviewed must be True or False"):
        store.mark_reviewed(m1, ["a"], user="bob", reviewed="yes")


def test_reviewed_matrix_is_marks_or_hand_values_in_every_dataset(store: Store, pair) -> None:
    m1, m2 = pair
    store.mark_reviewed(m1, ["a"], user="bob")
    store.set_tag(m2, ["e"], "blurry", True, user="bob")
    store.set_tag(m2, ["f"], "noisy", False, user="bob")  # untagged already: still reviewed
    want = pd.DataFrame(
        {
            "noisy": [True, False, False, False, False, True],
            "loud": [True, False, False, False, False, False],
            "blurry": [True, False, False, False, True, False],
        }
    )
    for did in (m1, m2):
        pd.testing.assert_frame_equal(store.reviewed_matrix(did), want)
        assert list(store.reviewed_matrix(did).columns) == list(store.tag_matrix(did).columns)
    store.mark_reviewed(m1, ["a", "e"], user="bob", reviewed=False)
    assert store.reviewed_matrix(m1)["blurry"].tolist() == [False] * 4 + [True, False]


def test_reviewed_matrix_without_tags_has_the_frame_rows(store: Store) -> None:
    project = store.get_or_create_project("p", user="ann")
    did = store.save_dataset(project, "d", dataset("xxxxxx"), task=TaskSpec(), user="ann")
    assert store.reviewed_matrix(did).shape == (6, 0)


# --------------------------------------------------------------------------- samples


def sample_args(**changes) -> dict:
    args = {
        "seed": 42,
        "sizes": {"errors": 2, "correct": 2},
        "example_ids": {"errors": ["b", "d"], "correct": ["a"]},
        "population": {"errors": 3, "correct": 1},
        "user": "bob",
    }
    return {**args, **changes}


def test_review_sample_round_trip_and_its_reviews(store: Store, pair) -> None:
    m1, m2 = pair
    sid = store.save_review_sample(m1, **sample_args())
    listing = store.review_samples(m1)
    assert list(listing.columns) == [
        "id",
        "created_at",
        "created_by",
        "seed",
        "sizes",
        "population",
        "n_examples",
        "n_reviewed",
    ]
    row = listing.iloc[0]
    assert (row["id"], row["seed"], row["created_by"], row["n_examples"], row["n_reviewed"]) == (
        sid,
        42,
        "bob",
        3,
        0,
    )
    assert json.loads(row["sizes"]) == {"errors": 2, "correct": 2}
    assert json.loads(row["population"]) == {"errors": 3, "correct": 1}
    assert store.review_samples(m2).empty

    assert store.mark_reviewed(m1, ["d", "a"], user="cid", sample_id=sid) == 2
    with pytest.raises(StoreError, match="review sample .* has no example with id 'c'"):
        store.mark_reviewed(m1, ["c"], user="cid", sample_id=sid)
    with pytest.raises(StoreError, match="was drawn from dataset"):
        store.mark_reviewed(m2, ["a"], user="cid", sample_id=sid)
    with pytest.raises(StoreError, match="no review sample with id 99"):
        store.mark_reviewed(m1, ["a"], user="cid", sample_id=99)
    sample = store.review_sample(sid)
    assert sample["example_ids"] == {"errors": ["b", "d"], "correct": ["a"]}
    assert (sample["dataset_id"], sample["seed"], sample["sizes"]) == (
        m1,
        42,
        {"errors": 2, "correct": 2},
    )
    examples = sample["examples"]
    assert examples[["stratum", "example_id", "reviewed"]].values.tolist() == [
        ["errors", "b", False],
        ["errors", "d", True],
        ["correct", "a", True],
    ]
    assert examples["reviewed_by"].tolist() == [None, "cid", "cid"]
    assert store.review_samples(m1)["n_reviewed"].tolist() == [2]
    # A review in a sample counts as reviewed in every dataset of the project.
    assert store.reviewed_matrix(m2)["noisy"].tolist() == [True, False, False, True, False, False]
    # Withdrawn in the sample only; a plain mark outside it stays.
    store.mark_reviewed(m1, ["a"], user="cid")  # already reviewed (in the sample): 0
    assert store.mark_reviewed(m1, ["a"], user="cid", reviewed=False, sample_id=sid) == 1
    assert store.review_sample(sid)["examples"]["reviewed"].tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sizes": {"errors": 2}}, "example_ids has the strata"),
        ({"population": {"errors": 3, "wrong": 1}}, "population has the strata"),
        ({"sizes": {"errors": -1, "correct": 2}}, "size must be a whole number from 0"),
        ({"population": {"errors": 2.5, "correct": 1}}, "population must be a whole number"),
        ({"sizes": {"errors": 1, "correct": 2}}, "holds 2 ids, more than its size"),
        ({"example_ids": {"errors": ["b", "b"], "correct": ["a"]}}, "repeats example ids"),
        ({"example_ids": {"errors": ["b", "a"], "correct": ["a"]}}, "ids in two strata: 'a'"),
        ({"example_ids": {"errors": ["b", "zz"], "correct": ["a"]}}, "no example with id 'zz'"),
        ({"example_ids": {"errors": "bd", "correct": ["a"]}}, "give the drawn ids as a list"),
        ({"seed": "42"}, "seed must be a whole number"),
        ({"sizes": {}}, "non-empty"),
    ],
)
def test_bad_review_samples_raise_and_save_nothing(store: Store, pair, changes, message) -> None:
    m1, _ = pair
    with pytest.raises(StoreError, match=message):
        store.save_review_sample(m1, **sample_args(**changes))
    assert store.review_samples(m1).empty


# --------------------------------------------------------------------------- undo


def test_undo_restores_the_exact_previous_hand_values(store: Store, pair) -> None:
    m1, m2 = pair
    store.set_tag(m1, ["a", "b"], "blurry", True, user="ann")
    before_rows, before = hand_rows(store), store.tag_matrix(m1)
    assert store.last_change(m1, user="bob") is None
    store.set_tag(m2, ["b", "c"], "blurry", False, user="bob")  # b had ann's value; c none
    assert store.last_change(m1, user="bob") == "untagged 2 examples as 'blurry'"
    assert store.undo_last(m1, user="bob") == "untagged 2 examples as 'blurry'"
    assert hand_rows(store) == before_rows  # ann's value, user and time for b; none for c
    pd.testing.assert_frame_equal(store.tag_matrix(m1), before)
    assert store.undo_last(m1, user="bob") is None
    undo = store.events().iloc[-1]
    assert (undo["kind"], undo["user"]) == ("change.undo", "bob")
    assert json.loads(undo["detail"])["restored"] == 2


def test_undo_is_per_user_and_goes_back_one_change_at_a_time(store: Store, pair) -> None:
    m1, _ = pair
    store.set_tag(m1, ["a"], "blurry", True, user="ann")
    store.mark_reviewed(m1, ["c", "d"], user="ann")
    store.set_tag(m1, ["e"], "blurry", True, user="bob")
    assert store.undo_last(m1, user="ann") == "marked 2 examples reviewed"
    assert store.reviewed_examples(m1).empty
    assert store.undo_last(m1, user="ann") == "tagged 1 example as 'blurry'"
    assert store.tag_matrix(m1)["blurry"].tolist() == [False] * 4 + [True, False]  # bob's
    assert store.undo_last(m1, user="ann") is None


def test_undo_keeps_what_someone_changed_since(store: Store, pair) -> None:
    m1, m2 = pair
    store.set_tag(m1, ["b", "c"], "blurry", True, user="ann")
    store.set_tag(m2, ["c"], "blurry", False, user="bob")
    assert store.undo_last(m1, user="ann") == (
        "tagged 2 examples as 'blurry' (1 example changed since by a later change kept that value)"
    )
    assert store.tag_matrix(m1)["blurry"].tolist() == [False] * 6
    assert [r[:4] for r in hand_rows(store)] == [("blurry", "c", 0, "bob")]


def test_undo_of_a_withdrawal_puts_the_marks_back(store: Store, pair) -> None:
    m1, _ = pair
    sid = store.save_review_sample(m1, **sample_args())
    store.mark_reviewed(m1, ["a", "b"], user="ann", sample_id=sid)
    store.mark_reviewed(m1, ["d"], user="ann")
    marks = store.reviewed_examples(m1)
    store.mark_reviewed(m1, ["a", "b", "d"], user="ann", reviewed=False)
    assert store.reviewed_examples(m1).empty
    assert store.undo_last(m1, user="ann") == "withdrew the review of 3 examples"
    pd.testing.assert_frame_equal(store.reviewed_examples(m1), marks)


def test_undo_skips_changes_to_deleted_tags(store: Store, pair) -> None:
    m1, _ = pair
    store.set_tag(m1, ["a"], "blurry", True, user="ann")
    store.create_tag(m1, "gone", user="ann")
    store.set_tag(m1, ["b"], "gone", True, user="ann")
    store.delete_tag(m1, "gone", user="ann")
    assert store.undo_last(m1, user="ann") == "tagged 1 example as 'blurry'"


def test_undo_moves_the_revision_of_every_dataset(store: Store, pair) -> None:
    m1, m2 = pair
    store.set_tag(m1, ["a"], "blurry", True, user="ann")
    rev = store.revision(m2)
    store.undo_last(m1, user="ann")
    assert store.revision(m2) > rev


def test_a_large_rule_saves_and_undoes_whole(store: Store) -> None:
    n = 20_000
    frame = pd.DataFrame(
        {
            "id": [f"img-{i:05d}" for i in range(n)],
            "label": ["a", "b"] * (n // 2),
            "prediction": ["a"] * n,
        }
    )
    project = store.get_or_create_project("big", user="ann")
    did = store.save_dataset(project, "d", dataset_from_frame(frame), task=TaskSpec(), user="ann")
    store.create_tag(did, "rule", user="ann")
    store.set_tag(did, frame["id"].iloc[::3], "rule", True, user="ann")
    before = hand_rows(store)
    ids = frame["id"].iloc[: n // 2]
    assert store.apply_tag_rule(did, ids, "rule", False, scope="errors", user="bob") == len(
        range(0, n // 2, 3)
    )
    assert not store.tag_matrix(did)["rule"].iloc[: n // 2].any()
    store.undo_last(did, user="bob")
    assert hand_rows(store) == before
    assert store.tag_scopes(did)["rule"] == "none"


@pytest.mark.parametrize(
    ("before", "rule", "after"),
    [
        ("all", "errors", "all"),  # tagging more errors keeps a tag known everywhere
        ("errors", "all", "all"),
        ("none", "errors", "errors"),
        ("errors", "none", "errors"),
    ],
)
def test_a_rule_widens_where_a_tag_is_known_never_narrows_it(
    store: Store, pair, before, rule, after
) -> None:
    m1, _ = pair
    store.set_tag_scope(m1, "blurry", before, user="bob")
    store.apply_tag_rule(m1, ["a"], "blurry", True, scope=rule, user="bob")
    assert store.tag_scopes(m1)["blurry"] == after
