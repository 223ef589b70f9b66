"""Put the demo datasets into a store, so a new user opens the app on real-looking data."""

from __future__ import annotations

from pathlib import Path

from slicewise.core.agreement import load_annotations
from slicewise.core.analysis import analyze
from slicewise.core.dataset import load_dataset
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

DEMO_PROJECT = "Demo"
DEMO_USER = "demo"
BASELINE = "Speech: voice search"
RETRAINED = "Speech: retrained model"
#: (dataset name in the store, file in demo_data/, task). The speech set, the lecture's
#: worked example, is saved last so the app opens on it (the newest dataset).
DEMO_DATASETS: tuple[tuple[str, str, TaskSpec], ...] = (
    ("Visual inspection", "inspection_predictions.csv", TaskSpec(kind="classification")),
    (RETRAINED, "speech_predictions_retrained.csv", TaskSpec(kind="text")),
    (BASELINE, "speech_predictions.csv", TaskSpec(kind="text")),
)
#: The demo annotation set: five annotators on 300 images of the inspection dataset, saved
#: linked to it as (set name, file in demo_data/, linked dataset).
DEMO_ANNOTATIONS = ("Inspection annotations", "inspection_annotations.csv", "Visual inspection")
#: The speech model's two iterations, oldest first: (dataset, model name, model version,
#: data version, notes).
DEMO_ITERATIONS: tuple[tuple[str, str, str, str, dict], ...] = (
    (
        BASELINE,
        "speech-asr",
        "1.0",
        "v1: 5,000 voice-search utterances",
        {"learning_rate": 0.0003, "epochs": 40, "code_commit": "3f2a9c1"},
    ),
    (
        RETRAINED,
        "speech-asr",
        "1.1",
        "v2: + car-noise augmentation",
        {
            "learning_rate": 0.0003,
            "epochs": 40,
            "augmentation": "car noise, SNR 0-15 dB",
            "code_commit": "8d41e07",
        },
    ),
)


def create_demo_project(store: Store, demo_dir: Path, *, user: str = DEMO_USER) -> list[int]:
    """(Re)create the demo project's datasets in ``store``; return their ids, speech first.

    An existing demo dataset of the same name is replaced, so the command can be rerun to
    reset the demo. The speech model's two iterations (baseline, retrained) are saved with
    the tables of the new datasets, replacing the demo's earlier iterations (those of
    :data:`DEMO_ITERATIONS`, whoever saved them). The demo annotation set is saved linked to
    the inspection dataset, replacing the earlier one (and its review decisions).

    Parameters
    ----------
    store
        Where to put the demo.
    demo_dir
        The folder holding the demo files (``demo_data/``).
    user
        Who does it (the app's signed-in or typed name): the store records it, and once
        roles are enforced it must be an owner of the demo project when that exists
        (a new demo project is owned by whoever creates it).

    Raises
    ------
    PermissionDenied
        ``user`` is not an owner of an existing demo project (nothing was changed).
    StoreReadOnly
        The store cannot be written.
    """
    project_id = store.get_or_create_project(DEMO_PROJECT, user=user)
    existing = store.list_datasets(project_id)
    ids = []
    for name, file, task in DEMO_DATASETS:
        dataset = load_dataset(demo_dir / file)
        for old in existing.loc[existing["name"] == name, "id"]:
            store.delete_dataset(int(old), user=user)
        ids.append(store.save_dataset(project_id, name, dataset, task=task, user=user))
    by_name = dict(zip((d[0] for d in DEMO_DATASETS), ids, strict=True))
    tasks = {d[0]: d[2] for d in DEMO_DATASETS}
    old = store.list_iterations(project_id)
    runs = {(model, version, data) for _, model, version, data, _ in DEMO_ITERATIONS}
    for row in old.itertuples(index=False):
        if (row.model_name, row.model_version, row.data_version) in runs:
            store.delete_iteration(int(row.id), user=user)
    for name, model, version, data_version, notes in DEMO_ITERATIONS:
        table = analyze(store.load_dataset(by_name[name]), task=tasks[name])
        store.save_iteration(
            project_id,
            by_name[name],
            model_name=model,
            model_version=version,
            data_version=data_version,
            notes=notes,
            table=table,
            user=user,
        )
    set_name, set_file, linked = DEMO_ANNOTATIONS
    annotations = load_annotations(demo_dir / set_file)
    sets = store.list_annotation_sets(project_id)
    for set_id in sets.loc[sets["name"] == set_name, "id"]:
        store.delete_annotation_set(int(set_id), user=user)
    store.save_annotation_set(
        project_id,
        set_name,
        annotations.labels,
        source_name=annotations.source_name,
        content_hash=annotations.content_hash,
        user=user,
        linked_dataset_id=by_name[linked],
    )
    return ids[::-1]
