"""Balanced train/dev/test splits for small data.

With 100 examples of which 30 are positive, a random 60/20/20 split can easily give the dev
set 2 positives or 10; the lecture asks for 18/6/6. :func:`assign_splits` makes splits
stratified by the label and by the tags, so every split has (almost exactly) the class and
tag shares of the whole data, and a seed makes them reproducible.

How the examples are allocated
------------------------------
1. Split sizes from the fractions by largest-remainder rounding (100 × 0.6/0.2/0.2 =
   60/20/20).
2. Per class, how many go to each split, so every class is split in proportion and the split
   sizes still add up (30 positives -> 18/6/6). The smaller splits are filled first, each
   from what the previous ones left, so rounding settles in the largest split. These counts
   are kept exactly.
3. Within those class counts, the examples are placed by iterative stratification
   (Sechidis, Tsoumakas and Vlahavas, 2011): the rarest tag first, each of its examples into
   the split that still wants most of it. What is balanced: every tag, every tag inside every
   class, and every class × tag combination, so a combination is never lumped into one
   split, and rare combinations (even a single example) need no special case; examples
   without a tag are balanced as their class's "no tag" combination. Everything random
   comes from one seeded generator. Above :data:`ITERATIVE_MAX` examples, step 3 rounds
   per class × combination instead (the shares then match to a small fraction of a point
   anyway).

Why not scikit-learn's ``StratifiedShuffleSplit`` (or ``train_test_split(stratify=...)``) on
the combined label × tags key: it rounds all keys together, so a class cut into several keys
can land off its share. With 30 positives in keys of 12 and 18 and 70 negatives in keys of
6, 32 and 32, a 20-example test set gets 7 positives instead of 6, for every random state we
tried. It also refuses keys with a single example. The allocation above keeps the class counts exact
and takes any key size; on the label alone its class counts agree with scikit-learn's (the
tests check both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError

#: The lecture's split: train 60%, dev 20%, test 20%.
DEFAULT_FRACTIONS: dict[str, float] = {"train": 0.6, "dev": 0.2, "test": 0.2}
#: A numeric label with more distinct values than this is stratified by quantile bins.
MAX_CLASSES = 20
LABEL_BINS = 5
ALL = "all"
#: Up to this many examples, tags are placed by iterative stratification (one step per
#: example); above it, by rounding per class × tag combination (the shares then match to a
#: small fraction of a point anyway).
ITERATIVE_MAX = 20_000


# --------------------------------------------------------------------------- allocation


def _largest_remainder(
    expected: np.ndarray, total: int, rng: np.random.Generator, cap: np.ndarray
) -> np.ndarray:
    """Round ``expected`` (summing to ``total``) to integers with that sum, each <= ``cap``.

    The floor of each value, then one more for the largest fractional parts; ties are
    broken at random (seeded).
    """
    out = np.minimum(np.floor(expected + 1e-9).astype(np.int64), cap)
    left = int(total - out.sum())
    if left > 0:
        frac = np.where(out < cap, expected - out, -np.inf)
        out[np.lexsort((rng.random(len(frac)), -frac))[:left]] += 1
    return out


def _allocate(counts: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Matrix of examples per (group, split) with row sums ``counts`` and column sums ``sizes``.

    Splits are filled smallest first, each in proportion to what the groups have left, so
    rounding errors settle in the largest split.
    """
    counts = np.asarray(counts, dtype=np.int64)
    out = np.zeros((len(counts), len(sizes)), dtype=np.int64)
    left = counts.copy()
    order = np.argsort(sizes, kind="stable")
    for j in order[:-1]:
        total = int(left.sum())
        if total == 0 or sizes[j] == 0:
            continue
        expected = left * (sizes[j] / total)
        out[:, j] = _largest_remainder(expected, int(sizes[j]), rng, left)
        left -= out[:, j]
    out[:, order[-1]] = left
    return out


def _check_fractions(fractions: Mapping[str, float], n: int) -> tuple[list[str], np.ndarray]:
    names = [str(k) for k in fractions]
    if len(names) < 2:
        raise InvalidValueError("give at least two splits, e.g. train=0.8, test=0.2")
    if len(set(names)) != len(names) or any(not k.strip() for k in names):
        raise InvalidValueError(f"split names must be distinct and non-empty, got {names}")
    values = np.array([float(v) for v in fractions.values()])
    if not np.all(np.isfinite(values)) or (values <= 0).any():
        raise InvalidValueError(
            "every split needs a positive share, e.g. train=60, dev=20, "
            f"test=20; got {dict(zip(names, values.tolist(), strict=True))}"
        )
    if n < len(names):
        raise InvalidValueError(
            f"{n} example{'' if n == 1 else 's'} cannot fill {len(names)} "
            "splits; give fewer splits or more examples"
        )
    weights = values / values.sum()
    sizes = _largest_remainder(n * weights, n, np.random.default_rng(0), np.full(len(names), n))
    return names, sizes


def stratification_label(labels: pd.Series) -> pd.Series:
    """Return the class used for stratifying: the label, or quantile bins of a numeric one.

    A numeric label with more than :data:`MAX_CLASSES` distinct values (a regression target)
    is cut into :data:`LABEL_BINS` quantile bins; anything else is used as text.
    """
    values = labels.reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > MAX_CLASSES:
        binned = pd.qcut(values, LABEL_BINS, duplicates="drop")
        return binned.astype(str).where(values.notna(), "(missing)")
    return values.astype(str).where(values.notna(), "(missing)")


def _stratification_flags(class_codes: np.ndarray, tags: pd.DataFrame) -> np.ndarray:
    """Return the flags iterative stratification balances, one column each.

    Each tag, each tag inside each class, and each class × tag combination (combinations
    are exclusive, so their unions, such as "not clean speech", come out balanced too).
    """
    flags = tags.to_numpy(dtype=bool)
    n = len(flags)
    if flags.shape[1] == 0:
        return flags
    parts = [flags]
    n_classes = int(class_codes.max()) + 1 if n else 0
    if n_classes > 1:
        per_class = class_codes[:, None] == np.arange(n_classes)[None, :]
        pairs = (per_class[:, :, None] & flags[:, None, :]).reshape(n, -1)
        parts.append(pairs[:, pairs.any(axis=0)])
    combo = np.packbits(flags, axis=1)
    key = pd.factorize(
        pd.Series(class_codes.astype(str)) + ":" + pd.Series([row.tobytes().hex() for row in combo])
    )[0]
    parts.append(key[:, None] == np.arange(key.max() + 1)[None, :])
    return np.hstack(parts)


def _stratify_tags(
    class_codes: np.ndarray,
    tags: np.ndarray,
    capacity: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Place the tagged examples by iterative stratification, within the class capacities.

    Sechidis, Tsoumakas and Vlahavas (2011), "On the stratification of multi-label data":
    take the tag with the fewest examples still unplaced; put each of its examples (in
    random order) in the split that still wants most of that tag, then most of the
    example's other tags, then has most room left for its class. ``capacity`` (classes ×
    splits) is used up in place; untagged examples are left as -1.
    """
    n, n_tags = tags.shape
    out = np.full(n, -1, dtype=np.int64)
    wanted = tags.sum(axis=0)[:, None] * weights[None, :]  # tags × splits, still wanted
    size = capacity.sum(axis=0).astype(float)
    placed = np.zeros(n, dtype=bool)
    untagged = ~tags.any(axis=1)
    placed[untagged] = True
    while not placed.all():
        remaining = tags[~placed].sum(axis=0).astype(float)
        remaining[remaining == 0] = np.inf
        tag = int(np.argmin(remaining))
        rows = np.flatnonzero(tags[:, tag] & ~placed)
        for i in rows[rng.permutation(len(rows))]:
            c = class_codes[i]
            room = capacity[c] > 0
            own = tags[i]
            keys = (
                rng.random(len(room)),
                capacity[c] / np.maximum(size, 1),
                wanted[own].sum(axis=0),
                wanted[tag],
            )
            order = np.lexsort(keys)[::-1]
            split = int(next(j for j in order if room[j]))
            out[i] = split
            capacity[c, split] -= 1
            wanted[own, split] -= 1
            placed[i] = True
    return out


def _allocate_combinations(
    class_codes: np.ndarray, tags: np.ndarray, capacity: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Place every example: per class, its tag combinations in proportion, then at random.

    Uses up ``capacity`` in place. Each combination is rounded on its own, which is
    negligible at the sizes this is used for (over :data:`ITERATIVE_MAX` examples).
    """
    out = np.full(len(class_codes), -1, dtype=np.int64)
    combo = (
        pd.factorize(pd.Series([row.tobytes() for row in np.packbits(tags, axis=1)]))[0]
        if tags.shape[1]
        else np.zeros(len(class_codes), dtype=np.int64)
    )
    for c in range(capacity.shape[0]):
        rows = np.flatnonzero(class_codes == c)
        codes, uniques = pd.factorize(combo[rows])
        per_combo = _allocate(np.bincount(codes, minlength=len(uniques)), capacity[c].copy(), rng)
        for k in range(len(uniques)):
            members = rows[codes == k]
            members = members[rng.permutation(len(members))]
            out[members] = np.repeat(np.arange(capacity.shape[1]), per_combo[k])
        capacity[c] = 0
    return out


def assign_splits(
    labels: pd.Series,
    tags: pd.DataFrame | None = None,
    *,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    by_label: bool = True,
) -> pd.Series:
    """Assign every example to a split, stratified by label and tags (see the module notes).

    Parameters
    ----------
    labels
        One label per example (classes; a numeric target with many values is binned, see
        :func:`stratification_label`).
    tags
        Boolean tags aligned with ``labels`` to balance as well (``None``: none).
    fractions
        Split name -> share, in the order the splits should be listed; shares are weights
        (``60/20/20`` and ``0.6/0.2/0.2`` are the same).
    seed
        The same seed and data give the same splits.
    by_label
        Stratify by the label (turn off for a text task, whose labels are all distinct, or
        to balance tags only).

    Returns
    -------
    pandas.Series
        The split name of each example (categorical, categories in ``fractions`` order),
        with the index of ``labels``.
    """
    n = len(labels)
    names, sizes = _check_fractions(fractions, n)
    if tags is None:
        tags = pd.DataFrame(index=range(n))
    if len(tags) != n:
        raise InvalidValueError(f"the tags have {len(tags)} rows but there are {n} labels")
    tags = tags.reset_index(drop=True).astype(bool)
    rng = np.random.default_rng(seed)
    classes = stratification_label(labels) if by_label else pd.Series("all", index=range(n))
    class_codes, class_names = pd.factorize(classes)
    capacity = _allocate(np.bincount(class_codes, minlength=len(class_names)), sizes, rng)
    if n <= ITERATIVE_MAX:
        out = _stratify_tags(
            class_codes,
            _stratification_flags(class_codes, tags),
            capacity,
            sizes / sizes.sum(),
            rng,
        )
    else:  # large data: allocate class × tag combinations by rounding, then draw at random
        out = _allocate_combinations(class_codes, tags.to_numpy(dtype=bool), capacity, rng)
    for c in range(len(class_names)):  # the rest of each class fills its remaining room
        rows = np.flatnonzero((class_codes == c) & (out < 0))
        rows = rows[rng.permutation(len(rows))]
        out[rows] = np.repeat(np.arange(len(names)), capacity[c])
    return pd.Series(
        pd.Categorical.from_codes(out, categories=names), index=labels.index, name="split"
    )


def split_dataset(
    dataset: Dataset,
    *,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    by_label: bool = True,
    tags: Sequence[str] | None = None,
) -> pd.Series:
    """Split a dataset's examples (see :func:`assign_splits`); ``tags`` limits the tags balanced.

    Returns
    -------
    pandas.Series
        The split of each row of ``dataset.frame``.

    Raises
    ------
    InvalidValueError
        Unknown tags, bad fractions, or fewer examples than splits; the message starts with
        the dataset's file name.
    """
    chosen = _tag_frame(dataset, tags)
    try:
        return assign_splits(
            dataset.frame["label"], chosen, fractions=fractions, seed=seed, by_label=by_label
        )
    except InvalidValueError as exc:
        raise InvalidValueError(f"{dataset.source_name}: {exc}") from None


def _tag_frame(dataset: Dataset, tags: Sequence[str] | None) -> pd.DataFrame:
    if tags is None:
        return dataset.tags
    unknown = [t for t in tags if t not in dataset.tags.columns]
    if unknown:
        raise InvalidValueError(
            f"{dataset.source_name} has no tag {', '.join(map(repr, unknown))}"
            f"; its tags: {', '.join(map(repr, dataset.tags.columns))}"
        )
    return dataset.tags[list(tags)]


# --------------------------------------------------------------------------- shares


def compute_split_shares(
    splits: pd.Series, labels: pd.Series | None = None, tags: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Count each class and tag per split, beside its share of the whole data.

    Parameters
    ----------
    splits
        Output of :func:`assign_splits`.
    labels
        Classes to count (``None``: no class rows).
    tags
        Boolean tags aligned with ``splits`` (``None``: no tag rows).

    Returns
    -------
    DataFrame with one row per class and tag, after a first ``examples`` row holding the
    split sizes. Columns: ``group`` (``examples``, ``class`` or ``tag``), ``name``; per
    split and for ``all`` the data: ``n_<split>`` (examples with it) and ``share_<split>``
    (n / examples in the split); ``max_diff``: the largest |share in a split − share in all
    data| (NaN on the ``examples`` row).
    """
    codes = np.asarray(pd.Categorical(splits).codes)
    names = list(pd.Categorical(splits).categories)
    k = len(names)
    size = np.bincount(codes, minlength=k).astype(float)
    rows: list[tuple[str, str, np.ndarray]] = [
        ("examples", "examples", np.ones((len(codes), 1), dtype=bool))
    ]
    if labels is not None:
        classes = stratification_label(labels)
        for value in sorted(pd.unique(classes), key=str):
            rows.append(("class", str(value), (classes == value).to_numpy()[:, None]))
    if tags is not None:
        t = tags.reset_index(drop=True).astype(bool)
        for col in t.columns:
            rows.append(("tag", str(col), t[col].to_numpy()[:, None]))
    member = np.hstack([r[2] for r in rows]).astype(float)  # examples × rows
    onehot = np.zeros((len(codes), k))
    onehot[np.arange(len(codes)), codes] = 1.0
    counts = member.T @ onehot  # rows × splits
    total = member.sum(axis=0)
    out = pd.DataFrame({"group": [r[0] for r in rows], "name": [r[1] for r in rows]})
    n_all = float(len(codes))
    out[f"n_{ALL}"] = total.astype(np.int64)
    out[f"share_{ALL}"] = total / n_all if n_all else np.nan
    diffs = []
    for j, split in enumerate(names):
        out[f"n_{split}"] = counts[:, j].astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(size[j] > 0, counts[:, j] / size[j], np.nan)
        out[f"share_{split}"] = share
        diffs.append(np.abs(share - out[f"share_{ALL}"].to_numpy()))
    out["max_diff"] = np.nanmax(np.vstack(diffs), axis=0) if diffs else np.nan
    out.loc[out["group"] == "examples", "max_diff"] = np.nan
    return out


def splits_frame(dataset: Dataset, splits: pd.Series) -> pd.DataFrame:
    """Return the dataset's rows with their tags (true/false columns) and a ``split`` column.

    A tag whose name is already a column of the frame is written as ``tag: <name>``.
    """
    frame = dataset.frame.reset_index(drop=True).copy()
    for col in dataset.tags.columns:
        name = str(col) if str(col) not in frame.columns else f"tag: {col}"
        frame[name] = dataset.tags[col].reset_index(drop=True).astype(bool)
    if "split" in frame.columns:
        frame = frame.rename(columns={"split": "split (original)"})
    frame["split"] = pd.Series(splits).reset_index(drop=True).astype(str)
    return frame
