"""core.lineage: the export round-trips through JSON and holds every dataset, iteration, event."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import dataset_from_frame
from slicewise.core.errors import DataError, FileFormatError, InvalidValueError, StoreError
from slicewise.core.lineage import (
    SECTIONS,
    export_lineage,
    lineage_json,
    lineage_summary,
    load_lineage,
)
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

DEMO = Path(__file__).resolve().parents[1] / "demo_data"


def pets(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "label": ["cat", "dog"] * (n // 2),
            "prediction": ["cat", "cat"] * (n // 2),
            "noisy": [True, False, False] * (n // 3),
            "age": [1.5, float("nan"), 3.0] * (n // 3),  # a missing number in the data
        }
    )


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "lineage.db")
    yield s
    s.close()


@pytest.fixture
def project(store: Store) -> int:
    """A project with two datasets, edits by three people, two iterations and a deletion."""
    pid = store.get_or_create_project("Pets", user="ann")
    d1 = store.save_dataset(
        pid, "v1", dataset_from_frame(pets(), name="pets_v1.csv"), task=TaskSpec(), user="ann"
    )
    store.create_tag(d1, "blurry", user="bob")
    store.set_tag(d1, ["p1", "p2"], "blurry", True, user="bob")
    store.set_tag_settings(d1, "noisy", hlp=0.9, importance=4, user="bob")
    store.correct_label(d1, "p3", "cat", user="cid", reason="mislabelled")
    store.save_iteration(
        pid,
        d1,
        model_name="pet-net",
        model_version="1",
        data_version="v1",
        notes={"lr": 0.01, "commit": "aaa111"},
        table=analyze(store.load_dataset(d1)),
        user="ann",
    )
    d2 = store.save_dataset(
        pid, "v2", dataset_from_frame(pets(12), name="pets_v2.csv"), task=TaskSpec(), user="ann"
    )
    store.save_iteration(
        pid,
        d2,
        model_name="pet-net",
        model_version="2",
        data_version="v2",
        notes={"lr": 0.01, "commit": "bbb222", "extra": [1, None]},
        table=analyze(store.load_dataset(d2)),
        user="ann",
    )
    scratch = store.save_dataset(
        pid, "scratch", dataset_from_frame(pets(), name="s.csv"), task=TaskSpec(), user="dan"
    )
    store.delete_dataset(scratch, user="dan")
    other = store.get_or_create_project("Other", user="eve")
    store.save_dataset(
        other, "o", dataset_from_frame(pets(), name="o.csv"), task=TaskSpec(), user="eve"
    )
    return pid


def test_export_round_trips_through_json(store: Store, project: int):
    lineage = export_lineage(store, project)
    text = json.dumps(lineage)
    assert "NaN" not in text  # plain JSON
    assert load_lineage(text) == lineage
    assert json.loads(lineage_json(lineage)) == lineage
    assert load_lineage(lineage_json(lineage).encode()) == lineage


def test_every_dataset_iteration_and_event_is_present(store: Store, project: int):
    lineage = export_lineage(store, project)
    assert lineage["project"]["name"] == "Pets" and lineage["project"]["created_by"] == "ann"
    datasets = store.list_datasets(project)
    assert sorted(d["id"] for d in lineage["datasets"]) == sorted(datasets["id"].tolist())
    for entry in lineage["datasets"]:
        info = store.dataset_info(entry["id"])
        for key in ("name", "source_name", "content_hash", "row_count", "created_by", "created_at"):
            assert entry[key] == info[key], key
        assert entry["mapping"] == info["mapping"].to_dict()
        assert entry["task"]["kind"] == info["task"].kind
    v1 = next(d for d in lineage["datasets"] if d["name"] == "v1")
    tags = {t["name"]: t for t in v1["tags"]}
    assert tags["blurry"]["created_by"] == "bob"
    assert tags["noisy"]["hlp"] == 0.9 and tags["noisy"]["updated_by"] == "bob"
    assert v1["corrections"] == [
        {
            **v1["corrections"][0],
            "example_id": "p3",
            "original": "dog",
            "corrected": "cat",
            "reason": "mislabelled",
            "user": "cid",
        }
    ]

    history = store.list_iterations(project)
    assert [i["id"] for i in lineage["iterations"]] == history["id"].tolist()
    second = lineage["iterations"][1]
    assert second["notes"] == {"lr": 0.01, "commit": "bbb222", "extra": [1, None]}
    assert second["model_version"] == "2" and second["content_hash"]
    table = store.iteration_table(second["id"])
    assert [r["slice"] for r in second["table"]["rows"]] == list(table.index)
    assert second["table"]["columns"] == ["slice", *table.columns]
    overall = second["table"]["rows"][0]
    assert overall["accuracy"] == pytest.approx(table.iloc[0]["accuracy"])

    log = store.events()
    mine = log[log["project_id"] == project]
    assert [e["id"] for e in lineage["events"]] == mine["id"].tolist()
    assert {e["project_id"] for e in lineage["events"]} == {project}  # not the other project
    kinds = [e["kind"] for e in lineage["events"]]
    assert "dataset.delete" in kinds and "iteration.save" in kinds  # the deleted one's trail
    assert all(isinstance(e["detail"], dict) for e in lineage["events"])
    rules = [(e["kind"], e["user"]) for e in lineage["rules"]]
    assert rules == [("tag.create", "bob"), ("tag.set", "bob"), ("tag.settings", "bob")]
    assert lineage["rules"][1]["detail"]["example_ids"] == ["p1", "p2"]
    assert [(e["kind"], e["user"]) for e in lineage["decisions"]] == [("label.correct", "cid")]
    summary = lineage_summary(lineage)
    assert summary.loc["datasets", "items"] == 2 and summary.loc["iterations", "items"] == 2


def test_demo_project_lineage_has_the_iterations_and_review_decisions(store: Store):
    from slicewise.core.demo import DEMO_PROJECT, create_demo_project

    create_demo_project(store, DEMO)
    pid = int(store.list_projects().set_index("name").loc[DEMO_PROJECT, "id"])
    lineage = export_lineage(store, pid)
    assert load_lineage(json.dumps(lineage)) == lineage
    assert {d["source_name"] for d in lineage["datasets"]} >= {
        "speech_predictions.csv",
        "speech_predictions_retrained.csv",
    }
    assert [i["model_version"] for i in lineage["iterations"]] == ["1.0", "1.1"]
    for section in SECTIONS:
        assert isinstance(lineage[section], list)


def test_unknown_project(store: Store):
    with pytest.raises(StoreError, match="no project with id 42"):
        export_lineage(store, 42)


@pytest.mark.parametrize(
    ("source", "error", "message"),
    [
        ("{not json", FileFormatError, "not valid JSON"),
        (b"\xff\xfe", FileFormatError, "not valid JSON"),
        ('{"format": "something else"}', InvalidValueError, "not a Slicewise lineage"),
        ("[1, 2]", InvalidValueError, "not a Slicewise lineage"),
        ('{"format": "slicewise-lineage", "version": 99}', InvalidValueError, "version 99"),
        (
            '{"format": "slicewise-lineage", "version": 1, "project": {}}',
            InvalidValueError,
            "has no datasets",
        ),
        (
            json.dumps(
                {
                    "format": "slicewise-lineage",
                    "version": 1,
                    "project": {},
                    **{k: [] for k in SECTIONS},
                    "events": {},
                }
            ),
            InvalidValueError,
            "events has the wrong type",
        ),
    ],
)
def test_bad_lineage_documents(source, error, message):
    with pytest.raises(error, match=message) as info:
        load_lineage(source)
    assert isinstance(info.value, DataError)


def test_load_lineage_from_a_file(store: Store, project: int, tmp_path: Path):
    path = tmp_path / "lineage.json"
    path.write_text(lineage_json(export_lineage(store, project)), encoding="utf-8")
    assert load_lineage(path)["project"]["name"] == "Pets"
    with pytest.raises(FileFormatError, match="cannot read"):
        load_lineage(tmp_path / "missing.json")
