"""Cached steps of the *Balanced splits* page: the splits, their shares and the download.

Every number comes from :mod:`core.splits`. The cached functions take the loaded dataset
(keyed on its examples and tags through :data:`ui.data.BY_TAGS`) and a split assignment
keyed on a digest of its values (:class:`Assignment`), so nothing is hashed cell by cell
and nothing here reads ``st.session_state``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core.report import to_safe_csv
from slicewise.core.splits import compute_split_shares, split_dataset, splits_frame
from slicewise.ui import data
from slicewise.ui.data import Loaded
from slicewise.ui.views import slice_label


@dataclass(frozen=True)
class Assignment:
    """A split per example (index as the dataset's rows), keyed on a digest of the splits."""

    splits: pd.Series = field(repr=False)
    key: str = ""

    @classmethod
    def of(cls, splits: pd.Series) -> Assignment:
        """Key ``splits`` by the SHA-256 of its split codes (16 hex digits)."""
        codes = pd.Categorical(splits.astype(str)).codes.astype("int8")
        return cls(splits, hashlib.sha256(codes.tobytes()).hexdigest()[:16])


#: ``hash_funcs``: the dataset by its examples and tags, a split assignment by its digest.
BY_SPLITS = {**data.BY_TAGS, Assignment: lambda a: a.key}


@st.cache_data(max_entries=16, show_spinner="Splitting…", hash_funcs=data.BY_TAGS)
def _splits(
    loaded: Loaded,
    fractions: tuple[tuple[str, float], ...],
    seed: int,
    by_label: bool,
    tags: tuple[str, ...],
) -> pd.Series:
    return split_dataset(
        loaded.dataset, fractions=dict(fractions), seed=seed, by_label=by_label, tags=list(tags)
    )


def make_splits(
    loaded: Loaded, fractions: dict[str, float], *, seed: int, by_label: bool, tags: list[str]
) -> pd.Series:
    """Balanced splits of the loaded dataset (cached per option values).

    See :func:`core.splits.split_dataset` (``fractions``: {split name: share}, summing to 1).
    """
    return _splits(loaded, tuple(fractions.items()), int(seed), bool(by_label), tuple(tags))


def random_splits(loaded: Loaded, fractions: dict[str, float], *, seed: int) -> pd.Series:
    """Return a plain random split of the same sizes, for comparison."""
    return _splits(loaded, tuple(fractions.items()), int(seed), False, ())


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=BY_SPLITS)
def _shares(loaded: Loaded, assignment: Assignment, with_classes: bool) -> pd.DataFrame:
    labels = loaded.dataset.frame["label"] if with_classes else None
    return compute_split_shares(assignment.splits, labels, loaded.dataset.tags)


def shares(loaded: Loaded, splits: pd.Series, *, with_classes: bool) -> pd.DataFrame:
    """Class and tag shares per split (:func:`core.splits.compute_split_shares`, cached)."""
    return _shares(loaded, Assignment.of(splits), with_classes)


def shares_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Shares side by side: one column per split (percent), the count in its help."""
    splits = [c[len("share_") :] for c in table.columns if c.startswith("share_")]
    names = [
        slice_label(n, "tag") if g == "tag" else n
        for g, n in zip(table["group"], table["name"], strict=True)
    ]
    view = pd.DataFrame({"group": table["group"].to_numpy(), "name": names})
    config: dict[str, Any] = {
        "group": st.column_config.TextColumn("", width="small"),
        "name": st.column_config.TextColumn("Class or tag"),
    }
    for split in splits:
        view[split] = 100 * table[f"share_{split}"].to_numpy(dtype=float)
        view[f"n {split}"] = table[f"n_{split}"].to_numpy()
        title = "All data" if split == "all" else split
        config[split] = st.column_config.NumberColumn(title, format="%.1f%%")
        config[f"n {split}"] = st.column_config.NumberColumn(f"n {title}", format="localized")
    view["max diff"] = 100 * table["max_diff"].to_numpy(dtype=float)
    config["max diff"] = st.column_config.NumberColumn(
        "Largest difference",
        format="%.1f pts",
        help="Largest gap between a split's share and the share in all data",
    )
    return view, config


def worst_difference(table: pd.DataFrame) -> float:
    """Largest share difference of any class or tag in any split, in points (NaN: none)."""
    values = table["max_diff"].to_numpy(dtype=float)
    return float(100 * np.nanmax(values)) if np.isfinite(values).any() else float("nan")


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs=BY_SPLITS)
def _csv(loaded: Loaded, assignment: Assignment) -> bytes:
    return to_safe_csv(splits_frame(loaded.dataset, assignment.splits)).encode("utf-8")


def splits_csv(loaded: Loaded, splits: pd.Series) -> bytes:
    """Return the dataset with its tags and a ``split`` column as CSV bytes (cached)."""
    return _csv(loaded, Assignment.of(splits))
