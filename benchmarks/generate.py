"""Realistic benchmark data: predictions with 12 overlapping tags, metadata and human labels,
and multi-annotator labels. Deterministic (``np.random.default_rng(seed)``).

    python benchmarks/generate.py --rows 1000000 --out /tmp/slicewise-bench
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = np.array(["ok", "scratch", "dent", "pit mark", "discoloration", "crack", "stain", "chip"])
TAGS = [
    "blurry",
    "dark_background",
    "reflection",
    "light_background",
    "car_noise",
    "people_noise",
    "low_bandwidth",
    "night",
    "motion",
    "occluded",
    "small_object",
    "new_camera",
]


def make_predictions(rows: int, *, seed: int = 7) -> pd.DataFrame:
    """Return ``rows`` predictions: id, label, prediction, human_label, score, 12 tags
    (x/blank, overlapping, 2-25% each) and metadata (factory, device, region, snr_db,
    brightness)."""
    rng = np.random.default_rng(seed)
    label = CLASSES[
        rng.choice(len(CLASSES), rows, p=[0.45, 0.15, 0.12, 0.08, 0.08, 0.05, 0.04, 0.03])
    ]
    tags = {
        t: rng.random(rows) < p
        for t, p in zip(TAGS, np.linspace(0.02, 0.25, len(TAGS)), strict=True)
    }
    # Harder examples: every tag adds error probability, so tags matter.
    p_err = 0.05 + sum(0.02 * (k % 4 + 1) * v for k, v in enumerate(tags.values()))
    wrong = rng.random(rows) < np.clip(p_err, 0, 0.9)
    other = CLASSES[rng.integers(0, len(CLASSES), rows)]
    prediction = np.where(wrong, other, label)
    human = np.where(rng.random(rows) < 0.04, CLASSES[rng.integers(0, len(CLASSES), rows)], label)
    df = pd.DataFrame(
        {
            "id": np.char.add("ex-", np.arange(rows).astype(str)),
            "label": label,
            "prediction": prediction,
            "human_label": human,
            "score": np.round(rng.beta(5, 2, rows), 4),
            "factory": rng.choice(["A", "B", "C", "D"], rows),
            "device": rng.choice(["android", "ios", "web", "kiosk", "car_kit"], rows),
            "region": rng.choice(["north", "south", "east", "west", "central", "islands"], rows),
            "snr_db": np.round(rng.normal(18, 6, rows), 2),
            "brightness": np.round(rng.uniform(0, 1, rows), 3),
        }
    )
    for t, v in tags.items():
        df[t] = np.where(v, "x", "")
    return df


def make_annotations(items: int, annotators: int = 5, *, seed: int = 11) -> pd.DataFrame:
    """Return long-form labels: every item labelled by every annotator, 85% accurate."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(CLASSES), items)
    item = np.repeat(np.arange(items), annotators)
    ann = np.tile(np.arange(annotators), items)
    noisy = rng.random(items * annotators) < 0.15
    lab = np.where(noisy, rng.integers(0, len(CLASSES), items * annotators), truth[item])
    return pd.DataFrame(
        {
            "item": np.char.add("it-", item.astype(str)),
            "annotator": np.char.add("ann-", ann.astype(str)),
            "label": CLASSES[lab],
        }
    )


def main() -> None:
    """Write predictions.csv, predictions.parquet and annotations.csv."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/slicewise-bench"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    df = make_predictions(args.rows)
    df.to_csv(args.out / "predictions.csv", index=False)
    df.to_parquet(args.out / "predictions.parquet", index=False)
    make_annotations(args.items).to_csv(args.out / "annotations.csv", index=False)
    print(f"wrote {args.rows:,} predictions and {args.items:,} annotated items to {args.out}")


if __name__ == "__main__":
    main()
