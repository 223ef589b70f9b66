"""Slice discovery speed: 100,000 rows × 8 metadata columns, up to three conditions.

    pip install -e ".[bench]" && python benchmarks/bench_discovery.py
    python benchmarks/bench_discovery.py --rows 20000 --peer-repeat 1     # quicker

Times :func:`core.discovery.find_error_slices` (median of 5 after a warm-up; target: under
2 s) and, as the peer, the ``sliceline`` package (SliceLine, the same score and lattice) on
the same conditions: numeric columns are given to it already cut into the same quartile
bins, so both search exactly the same lattice with the same alpha, support and k. A weak
slice is planted (``region = north AND device = old``: 30% errors, 5% elsewhere) and each
tool's top slice is checked against it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slicewise.core.discovery import (  # noqa: E402
    compute_error_tree,
    encode_conditions,
    find_error_slices,
)

PLANTED = frozenset({"region = north", "device = old"})
TARGET_S = 2.0


def make_data(rows: int, *, seed: int = 42) -> tuple[pd.DataFrame, np.ndarray]:
    """Eight metadata columns (five categorical, three numeric) and a planted weak slice."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "region": rng.choice(["north", "south", "east", "west", "central", "islands"], rows),
            "device": rng.choice(["old", "new", "mid", "tablet"], rows),
            "browser": rng.choice(["chrome", "firefox", "safari", "edge", "other"], rows),
            "plan": rng.choice(["free", "pro", "team"], rows),
            "lang": rng.choice(["en", "de", "fr", "es", "it", "nl", "pt", "pl"], rows),
            "age": np.round(rng.normal(40, 12, rows), 1),
            "snr_db": np.round(rng.uniform(0, 30, rows), 2),
            "latency_ms": np.round(rng.lognormal(4, 0.6, rows), 1),
        }
    )
    weak = (df["region"] == "north") & (df["device"] == "old")
    errors = rng.random(rows) < np.where(weak, 0.30, 0.05)
    return df, errors


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls after one warm-up call, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--peer-repeat",
        type=int,
        default=3,
        help="Timed runs of the sliceline peer (it is much slower).",
    )
    args = parser.parse_args()

    df, errors = make_data(args.rows)
    min_support = max(30, int(np.ceil(0.01 * args.rows)))
    k = 10
    print(
        f"{args.rows:,} rows × {df.shape[1]} metadata columns, error rate "
        f"{errors.mean():.1%}, up to 3 conditions, min support {min_support}, k = {k}"
    )
    rows = []

    def record(
        tool: str,
        seconds: float,
        top: frozenset,
        tested: str,
        note: str = "",
        *,
        contains: bool = False,
    ) -> None:
        hit = PLANTED <= top if contains else top == PLANTED
        rows.append(
            {
                "tool": tool,
                "median s": f"{seconds:.3f}",
                "top slice": " AND ".join(sorted(top)),
                "planted first": "yes" if hit else "NO",
                "slices evaluated": tested,
                "note": note,
            }
        )

    t, found = timed(
        lambda: find_error_slices(df, errors, max_conditions=3, min_support=min_support, top=k),
        args.repeat,
    )
    record(
        "slicewise (default: distinct slices)",
        t,
        frozenset(found.slices["conditions"][0]),
        f"{found.n_tested:,}",
        f"target < {TARGET_S:g} s: {'met' if t < TARGET_S else 'MISSED'}",
    )
    ours_t = t
    t, same = timed(
        lambda: find_error_slices(
            df, errors, max_conditions=3, min_support=min_support, top=k, distinct=False
        ),
        args.repeat,
    )
    record(
        "slicewise (distinct=False, as sliceline)",
        t,
        frozenset(same.slices["conditions"][0]),
        f"{same.n_tested:,}",
    )
    t, tree = timed(lambda: compute_error_tree(df, errors, max_depth=3), args.repeat)
    leaves = tree[tree["is_leaf"]].sort_values("error_rate")
    record(
        "slicewise error tree (depth 3)",
        t,
        frozenset(leaves.iloc[-1]["path"]),
        "–",
        "worst leaf's path (contains the planted slice?)",
        contains=True,
    )

    try:
        from sliceline import Slicefinder
    except ImportError:
        rows.append(
            {
                "tool": "sliceline",
                "median s": "–",
                "top slice": "not installed (pip install -e '.[bench]')",
                "planted first": "–",
                "slices evaluated": "–",
                "note": "",
            }
        )
    else:
        cond = encode_conditions(df)
        binned = np.empty(cond.codes.shape, dtype=object)
        for f, col in enumerate(cond.columns):
            names = np.array([p.text for p in cond.predicates if p.column == col], dtype=object)
            binned[:, f] = names[cond.codes[:, f]]
        e = errors.astype(float)

        def peer() -> Slicefinder:
            sf = Slicefinder(alpha=0.95, k=k, max_l=3, min_sup=min_support, verbose=False)
            return sf.fit(binned, e)

        t, sf = timed(peer, args.peer_repeat)
        top = frozenset(v for v in sf.top_slices_[0] if v is not None)
        ours = [frozenset(c) for c in same.slices["conditions"]]
        theirs = [frozenset(v for v in s if v is not None) for s in sf.top_slices_]
        agree = ours == theirs and np.allclose(
            same.slices["score"], [s["slice_score"] for s in sf.top_slices_statistics_]
        )
        from sliceline import slicefinder

        jit = "with numba" if getattr(slicefinder, "NUMBA_AVAILABLE", False) else "no numba"
        record(
            f"sliceline ({jit})",
            t,
            top,
            "–",
            f"median of {args.peer_repeat}; same top {k} and scores as "
            f"distinct=False: {'yes' if agree else 'NO'}; {t / ours_t:.0f}× slower",
        )
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
