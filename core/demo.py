"""Put the demo datasets into a store, so a new user opens the app on real-looking data."""

from __future__ import annotations

from pathlib import Path

from core.dataset import load_dataset
from core.store import Store
from core.task import TaskSpec

DEMO_PROJECT = "Demo"
DEMO_USER = "demo"
#: (dataset name in the store, file in demo_data/, task). The speech set, the lecture's
#: worked example, is saved last so the app opens on it (the newest dataset).
DEMO_DATASETS: tuple[tuple[str, str, TaskSpec], ...] = (
    ("Visual inspection", "inspection_predictions.csv", TaskSpec(kind="classification")),
    ("Speech: voice search", "speech_predictions.csv", TaskSpec(kind="text")),
)


def create_demo_project(store: Store, demo_dir: Path) -> list[int]:
    """(Re)create the demo project's datasets in ``store``; return their ids, speech first.

    An existing demo dataset of the same name is replaced, so the command can be rerun to
    reset the demo.
    """
    project_id = store.get_or_create_project(DEMO_PROJECT, user=DEMO_USER)
    existing = store.list_datasets(project_id)
    ids = []
    for name, file, task in DEMO_DATASETS:
        dataset = load_dataset(demo_dir / file)
        for old in existing.loc[existing["name"] == name, "id"]:
            store.delete_dataset(int(old), user=DEMO_USER)
        ids.append(store.save_dataset(project_id, name, dataset, task=task, user=DEMO_USER))
    return ids[::-1]
