"""Per annotator pair: shared items, agreements and chance products, without a pair-key sort.

Cohen's kappa of annotators ``a`` and ``b`` needs, over the items both labelled, three sums:
``n`` (shared items), ``agree`` (items with the same label) and ``Σ_k m_a(k) m_b(k)``
(``m_a(k)``: shared items ``a`` put in class ``k``). They are counts of the pairs of labels
on one item, summed per annotator pair. The labels are ordered by item and, within an item,
by annotator, so every pair ``a < b`` on an item is (row of ``a``, a later row of the same
item). The rows of a block of low annotators ``a`` are expanded to those pairs and summed
with :func:`numpy.bincount` into dense bins (low annotator in the block) × (high
annotator): no sort of the 10⁷ pair keys a CIFAR-10H-sized file has, and memory bounded
by the block. The per-class marginals are counted on the pairs that occur in the block
(``pairs × classes`` bins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from slicewise.core.agreement.encoding import LabelCodes

#: Label pairs expanded at once: a block's arrays (~100 bytes a pair) stay in the CPU's cache,
#: which makes the dozen passes over them about 1.4 times faster than 2,000,000 at once.
BLOCK_PAIRS = 65_536
#: A block's pairs are grouped in dense bins (block annotators × annotators) while there are at
#: most this many bins per pair plus :data:`DENSE_BINS_FREE`; with more, by sorting the keys.
DENSE_BINS_PER_PAIR = 4
DENSE_BINS_FREE = 1_000_000


@dataclass(frozen=True)
class PairCounts:
    """The sums Cohen's kappa needs for every pair of annotators sharing an item.

    Attributes
    ----------
    low, high
        Annotator codes of the pair, ``low < high``; pairs sorted by (low, high).
    n
        Items both labelled (float64, whole numbers).
    agree
        Items both gave the same label.
    chance
        ``Σ_k m_low(k) · m_high(k)`` over the classes, each marginal counted on the shared
        items only.
    """

    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    agree: np.ndarray
    chance: np.ndarray
    _kappa: dict = field(default_factory=dict, compare=False, repr=False)

    def kappa(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(p_o, p_e, kappa)`` per pair, computed once; kappa is NaN where ``p_e`` is 1.

        ``p_e`` counts as 1 within :func:`numpy.isclose`'s default tolerance.
        """
        if "kappa" not in self._kappa:
            po = self.agree / self.n
            pe = self.chance / (self.n * self.n)
            with np.errstate(divide="ignore", invalid="ignore"):
                kappa = (po - pe) / (1 - pe)
            kappa[np.abs(pe - 1.0) <= 1e-08 + 1e-05] = np.nan  # numpy.isclose(pe, 1.0)
            self._kappa["kappa"] = (po, pe, kappa)
        return self._kappa["kappa"]


def _by_item_then_annotator(codes: LabelCodes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Annotator and label per row in (item, annotator) order, and each row's partners.

    The partners of a row are the later rows of its item (higher annotators).
    """
    order = codes.cache.get("item_annotator_order")
    if order is None:
        order = np.argsort(codes.item * max(len(codes.annotators), 1) + codes.annotator)
    item = codes.item[order]
    ends = np.cumsum(np.bincount(item, minlength=codes.cells.n_items))
    partners = ends[item] - np.arange(len(item)) - 1
    return codes.annotator[order], codes.label[order], partners


def _blocks(ann: np.ndarray, partners: np.ndarray, n_ann: int) -> list[tuple[int, int]]:
    """Ranges of low annotators whose pairs number about :data:`BLOCK_PAIRS` each."""
    work = np.cumsum(np.bincount(ann, weights=partners, minlength=n_ann))
    cuts = np.searchsorted(work, np.arange(BLOCK_PAIRS, work[-1], BLOCK_PAIRS), side="right")
    edges = np.unique(np.r_[0, cuts, n_ann])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _present(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys, how often each occurs and each key's index among them."""
    if size <= DENSE_BINS_PER_PAIR * len(keys) + DENSE_BINS_FREE:  # cheaper than a sort
        counts = np.bincount(keys, minlength=size)
        uniq = np.flatnonzero(counts)
        lookup = np.zeros(size, dtype=np.int64)
        lookup[uniq] = np.arange(len(uniq))
        return uniq, counts[uniq], lookup[keys]
    uniq, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return uniq, counts, inv


def _block(
    rows: np.ndarray,
    ann: np.ndarray,
    lab: np.ndarray,
    partners: np.ndarray,
    lo: int,
    shape: tuple[int, int],
) -> tuple[np.ndarray, ...]:
    """Pair sums for the rows of the low annotators ``lo``…: (keys, n, agree, chance).

    A key is ``low × A + high``; ``shape`` is (``A`` annotators, classes).
    """
    n_ann, n_cls = shape
    counts = partners[rows]
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    # partner row = own row + 1 + rank among the row's partners
    other = np.repeat(rows + 1 - starts, counts) + np.arange(total)
    keys = np.repeat((ann[rows] - lo) * n_ann, counts) + ann[other]
    low_lab = np.repeat(lab[rows], counts)
    high_lab = lab[other]
    size = (int(ann[rows].max()) - lo + 1) * n_ann
    uniq, n, pair = _present(keys, size)
    agree = np.bincount(pair, weights=low_lab == high_lab, minlength=len(uniq))
    pair *= n_cls
    m_low = np.bincount(pair + low_lab, minlength=len(uniq) * n_cls).reshape(-1, n_cls)
    m_high = np.bincount(pair + high_lab, minlength=len(uniq) * n_cls).reshape(-1, n_cls)
    chance = np.einsum("pk,pk->p", m_low, m_high)
    return uniq + lo * n_ann, n, agree, chance


def count_pairs(codes: LabelCodes) -> PairCounts:
    """Sum, for every pair of annotators sharing an item, what Cohen's kappa needs.

    Parameters
    ----------
    codes
        The encoded long table (:func:`slicewise.core.agreement.encode_labels`), one label
        per (item, annotator).

    Returns
    -------
    PairCounts
        One entry per pair of annotators with at least one shared item (``P`` pairs: arrays
        of shape ``(P,)``), sorted by (low, high) annotator code. Kappa's definition (Cohen
        1960): ``p_o = agree / n``, ``p_e = chance / n²``.

    Notes
    -----
    Time and memory: ``Σ_i m_i(m_i − 1)/2`` label pairs (``m_i`` labels of item ``i``),
    expanded :data:`BLOCK_PAIRS` at a time; no sort of pair keys while the dense bins of a
    block (block annotators × annotators) are fewer than about four per pair.
    """
    n_ann, n_cls = len(codes.annotators), max(len(codes.classes), 1)
    ann, lab, partners = _by_item_then_annotator(codes)
    if not len(ann) or int(partners.max()) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return PairCounts(empty, empty, np.zeros(0), np.zeros(0), np.zeros(0))
    by_ann = np.argsort(ann, kind="stable")
    first = np.r_[0, np.cumsum(np.bincount(ann, minlength=n_ann))]
    parts = []
    for lo, hi in _blocks(ann, partners, n_ann):
        rows = by_ann[first[lo] : first[hi]]
        rows = rows[partners[rows] > 0]
        if len(rows):
            parts.append(_block(rows, ann, lab, partners, lo, (n_ann, n_cls)))
    keys, n, agree, chance = (np.concatenate(p) for p in zip(*parts, strict=True))
    return PairCounts(keys // n_ann, keys % n_ann, n.astype(float), agree, chance.astype(float))
