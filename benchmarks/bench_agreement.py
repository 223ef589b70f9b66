"""``agreement`` on a CIFAR-10H-sized long file against ``krippendorff.alpha``.

    python benchmarks/bench_agreement.py                    # 10,000 items × ~51 labels, 3 pairs
    python benchmarks/bench_agreement.py --items 2000 --repeats 5

The long file imitates CIFAR-10H (Peterson et al., ICCV 2019: 10,000 CIFAR-10 test images,
511,400 labels, ~51 per image, 2,571 annotators who labelled ~200 images each, humans ~95%
right): per image a Poisson(``labels_per_item``) number of labels from distinct annotators
drawn at random, each annotator ~199 labels, 95% the image's class and otherwise a uniform
class. Two comparisons, each run as interleaved pairs (ours, then the peer) so a busy machine
slows both alike; the ratio is per pair, and the row gives the median:

* **core**: :func:`slicewise.core.agreement.summarize_annotations` on the long table (every
  figure: percent agreement, Fleiss, Krippendorff, Gwet, mean pairwise Cohen's kappa, ties),
  against ``krippendorff.alpha`` (nominal) on the annotators × items reliability matrix built
  beforehand from the same table.
* **CLI**: ``slicewise agreement FILE`` (the table of figures, confused classes and every
  annotator) against a Python process that reads the same CSV with :func:`pandas.read_csv`,
  builds the reliability matrix and calls ``krippendorff.alpha``; peak RSS of each process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = np.array(
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
)
LABELS_PER_ANNOTATOR = 199
TARGET = 2.0

PEER_SCRIPT = """
import sys, numpy as np, pandas as pd, krippendorff
df = pd.read_csv(sys.argv[1])
item = pd.factorize(df["item"])[0]
ann = pd.factorize(df["annotator"])[0]
label = pd.factorize(df["label"])[0].astype(float)
matrix = np.full((ann.max() + 1, item.max() + 1), np.nan)
matrix[ann, item] = label
print(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
"""


def make_long_labels(
    items: int = 10_000, labels_per_item: int = 51, seed: int = 17
) -> pd.DataFrame:
    """Return a CIFAR-10H-like long table: columns ``item``, ``annotator``, ``label``."""
    rng = np.random.default_rng(seed)
    per_item = np.maximum(rng.poisson(labels_per_item, items), 2)
    n_ann = max(round(per_item.sum() / LABELS_PER_ANNOTATOR), int(per_item.max()))
    annotator = np.concatenate([rng.choice(n_ann, k, replace=False) for k in per_item])
    item = np.repeat(np.arange(items), per_item)
    truth = rng.integers(0, len(CLASSES), items)
    wrong = rng.random(len(item)) < 0.05
    label = np.where(wrong, rng.integers(0, len(CLASSES), len(item)), truth[item])
    return pd.DataFrame(
        {
            "item": np.char.add("img-", item.astype(str)),
            "annotator": np.char.add("worker-", annotator.astype(str)),
            "label": CLASSES[label],
        }
    )


def reliability_matrix(labels: pd.DataFrame) -> np.ndarray:
    """Annotators × items matrix of label codes, NaN where an annotator did not label."""
    item = pd.factorize(labels["item"])[0]
    ann = pd.factorize(labels["annotator"])[0]
    matrix = np.full((ann.max() + 1, item.max() + 1), np.nan)
    matrix[ann, item] = pd.factorize(labels["label"])[0]
    return matrix


def _timed_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process; raise if it fails.

    The peak is the child's own ``VmHWM`` (``/proc/PID/status``), read every 10 ms until it
    exits: ``ru_maxrss`` of a child counts the parent's memory it was forked from.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    status = Path(f"/proc/{proc.pid}/status")
    peak_kb = 0
    while proc.poll() is None:
        try:
            text = status.read_text()
        except OSError:
            break
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak_kb = max(peak_kb, int(line.split()[1]))
        time.sleep(0.01)
    err = proc.communicate()[1].decode(errors="replace")
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{args[:4]} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, peak_kb / 1024


def _row(name: str, ours: list[float], peer: list[float], **extra: object) -> dict:
    ratios = [a / b for a, b in zip(ours, peer, strict=True)]
    return {
        "name": name,
        "seconds": statistics.median(ours),
        "peer_seconds": statistics.median(peer),
        "ratio": statistics.median(ratios),
        "ratios": [round(r, 2) for r in ratios],
        "target": TARGET,
        "ok": statistics.median(ratios) <= TARGET,
        **extra,
    }


def bench_core(labels: pd.DataFrame, repeats: int) -> dict:
    """Interleaved pairs: summarize_annotations vs krippendorff.alpha on the matrix."""
    import krippendorff

    from slicewise.core.agreement import summarize_annotations

    matrix = reliability_matrix(labels)
    ours, peer = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        summarize_annotations(labels)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        peer.append(time.perf_counter() - t)
    return _row(
        f"agreement core: every figure, {len(labels):,} labels",
        ours,
        peer,
        peer_name="krippendorff.alpha (nominal, reliability matrix)",
    )


def bench_cli(csv: Path, repeats: int) -> dict:
    """Interleaved pairs of processes: slicewise agreement vs read_csv + krippendorff.alpha."""
    ours_cmd = [sys.executable, "-m", "slicewise.core.cli", "agreement", str(csv)]
    peer_cmd = [sys.executable, "-c", PEER_SCRIPT, str(csv)]
    ours, peer, ours_mb, peer_mb = [], [], [], []
    for _ in range(repeats):
        sec, mb = _timed_process(ours_cmd)
        ours.append(sec)
        ours_mb.append(mb)
        sec, mb = _timed_process(peer_cmd)
        peer.append(sec)
        peer_mb.append(mb)
    return _row(
        f"agreement CLI: slicewise agreement FILE ({csv.stat().st_size / 1e6:.0f} MB CSV)",
        ours,
        peer,
        peer_name="python: read_csv + reliability matrix + krippendorff.alpha",
        peak_mb=max(ours_mb),
        peer_peak_mb=max(peer_mb),
    )


def run(items: int = 10_000, labels_per_item: int = 51, repeats: int = 3) -> list[dict]:
    """Time ``agreement`` against ``krippendorff.alpha`` on a CIFAR-10H-sized long file.

    Parameters
    ----------
    items, labels_per_item
        Size of the generated long table (:func:`make_long_labels`): ``items`` images with
        about ``labels_per_item`` labels each (CIFAR-10H: 10,000 and 51).
    repeats
        Interleaved (ours, peer) pairs per comparison.

    Returns
    -------
    list of dict
        One row per comparison: ``name``, ``seconds`` and ``peer_seconds`` (medians, wall
        seconds), ``ratio`` (median of the per-pair ratios ``ours / peer``), ``ratios``,
        ``target`` (2.0), ``ok``, ``peer_name``; the CLI row also ``peak_mb`` and
        ``peer_peak_mb`` (peak resident memory of each process, MB).
    """
    labels = make_long_labels(items, labels_per_item)
    rows = [bench_core(labels, repeats)]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "labels.csv"
        labels.to_csv(csv, index=False)
        rows.append(bench_cli(csv, repeats))
    return rows


def main() -> None:
    """Print the rows of :func:`run`."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--labels-per-item", type=int, default=51)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = run(args.items, args.labels_per_item, args.repeats)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
