"""Tests for the cache keys of ui.data: each cached step is keyed on what it reads.

A tick changes only the tags fingerprint: what reads no tag (outcomes, masks, row orders,
profiles) must keep its key, what reads the tags must not.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.task import TaskSpec
from slicewise.ui import data


def loaded(**changes) -> data.Loaded:
    frame = pd.DataFrame({"id": ["a", "b"], "label": ["x", "y"], "prediction": ["x", "x"]})
    ds = dataset_from_frame(frame, ColumnMapping(label="label", prediction="prediction", id="id"))
    base = data.Loaded(
        db="/tmp/s.db",
        dataset_id=1,
        rev=5,
        dataset=ds,
        task=TaskSpec(),
        info={},
        tag_list=pd.DataFrame(),
        settings={},
        corrections=pd.DataFrame(),
        frame_key="1:h:none",
        tags_key="t1",
    )
    return dataclasses.replace(base, **changes)


def keys(item: data.Loaded) -> dict[str, tuple]:
    return {name: fn[data.Loaded](item) for name, fn in data.KEYS.items()}


def test_a_tick_moves_only_the_keys_of_what_reads_the_tags():
    before, after = keys(loaded()), keys(loaded(tags_key="t2", rev=6))
    assert before["frame"] == after["frame"] and before["task"] == after["task"]
    assert before["tags"] != after["tags"] and before["data"] != after["data"]


def test_a_corrected_label_moves_every_key():
    before, after = keys(loaded()), keys(loaded(frame_key="1:h:abc"))
    assert all(before[k] != after[k] for k in before)


def test_another_task_moves_what_scores_but_not_what_reads_only_the_examples():
    other = TaskSpec(kind="binary", positive="x")
    before, after = keys(loaded()), keys(loaded(task=other))
    assert before["frame"] == after["frame"] and before["tags"] == after["tags"]
    assert before["task"] != after["task"] and before["data"] != after["data"]


def test_another_database_or_dataset_never_shares_a_key():
    base = keys(loaded())
    for other in (loaded(db="/tmp/other.db"), loaded(dataset_id=2)):
        assert all(base[k] != v for k, v in keys(other).items())
