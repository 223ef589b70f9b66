"""The review queue (items annotators disagree on) and the final label per item."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from slicewise.core.agreement.consensus import compute_consensus
from slicewise.core.agreement.encoding import LabelCodes, encode_labels
from slicewise.core.agreement.long_table import ITEM
from slicewise.core.agreement.slices import LinkedItems
from slicewise.core.errors import MissingColumnError
from slicewise.core.report import to_safe_csv

BORDERLINE = "borderline"


def find_disagreements(
    labels: pd.DataFrame | LabelCodes,
    *,
    linked: LinkedItems | None = None,
    weights: pd.Series | Mapping[str, float] | str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Return the review queue: items whose annotators disagree, most contested first.

    Returns
    -------
    pandas.DataFrame
        One row per item with 2+ distinct labels, sorted by vote ``entropy`` (bits),
        then ties first, then more labels first: ``item``, ``entropy``, ``n_labels``,
        ``n_classes``, ``consensus``, ``vote_share``, ``tie``, ``tied_labels``, one column
        per annotator holding their label (None where they did not label the item) and,
        with ``linked``, ``truth`` and ``prediction``. At most ``limit`` rows.
    """
    codes = encode_labels(labels)
    cons = compute_consensus(codes, weights=weights)
    dis = cons[~cons["unanimous"]]
    dis = dis.sort_values(["entropy", "tie", "n_labels"], ascending=False, kind="stable")
    if limit is not None:
        dis = dis.iloc[:limit]
    out = dis[
        ["entropy", "n_labels", "n_classes", "consensus", "vote_share", "tie", "tied_labels"]
    ].copy()
    if len(out):
        pos = pd.Series(np.arange(len(codes.items)), index=codes.items)[out.index].to_numpy()
        sel = np.isin(codes.item, pos)
        wide = pd.DataFrame(
            {
                "item": codes.items[codes.item[sel]],
                "annotator": codes.annotators[codes.annotator[sel]],
                "label": codes.classes[codes.label[sel]],
            }
        )
        wide = wide.pivot(index="item", columns="annotator", values="label")
        wide = wide.reindex(index=out.index, columns=codes.annotators)
        wide = wide.astype(object).where(wide.notna(), None)
        out = out.join(wide)
    else:
        for a in codes.annotators:
            out[a] = pd.Series(dtype=object)
    if linked is not None:
        info = linked.info.reindex(out.index.astype(str))
        for col in ("truth", "prediction"):
            if col in info.columns:
                out[col] = info[col].to_numpy()
    out.index.name = ITEM
    return out.reset_index()


#: How :func:`compute_final_labels` decided an item's final label.
BY_DECISION, BY_MAJORITY, BY_TIE = "review decision", "majority vote", "tie — needs review"


FINAL_LABEL_COLUMNS = (
    "item",
    "final_label",
    "decided_by",
    "n_votes",
    "agreement",
    "tied_labels",
    "reviewer",
    "note",
)


REVIEW_COLUMNS = ("item", "decision", "note", "user")


def compute_final_labels(
    labels: pd.DataFrame | LabelCodes, decisions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One final label per item: the reviewer's decision, else the annotators' majority vote.

    Parameters
    ----------
    labels
        The long table (or its codes).
    decisions
        Review decisions as :meth:`core.store.Store.review_decisions` returns them: columns
        ``item``, ``decision`` (a label, ``"borderline"``, or missing for a note alone),
        ``note`` and ``user``; when an item has several rows the last one counts. Rows
        without a decision and items not in ``labels`` are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per item of ``labels``, in item order, columns:

        ``item``
            The item id, as text.
        ``final_label``
            The decision when the item has one (``"borderline"`` included: the reviewer
            found the item ambiguous), otherwise the label with the most votes; missing
            when the top votes are tied and nobody decided.
        ``decided_by``
            ``"review decision"``, ``"majority vote"`` or ``"tie — needs review"``.
        ``n_votes``
            Number of labels the item received.
        ``agreement``
            Share of those labels equal to ``final_label``; for an undecided tie, the share
            of one of the tied labels. A decision that overrides the majority has a low
            (possibly zero) agreement.
        ``tied_labels``
            The tied labels, ``" | "``-joined, for an item whose majority vote is tied
            (kept when a decision resolved it); empty otherwise.
        ``reviewer``, ``note``
            Who made the decision and their note; empty for a majority vote.

    Raises
    ------
    MissingColumnError
        ``decisions`` lacks one of ``item``, ``decision``, ``note``, ``user``.

    Examples
    --------
    Item ``a``: 2 votes for cat, 1 for dog → majority cat, agreement 2/3. Item ``b``: cat
    and dog once each → a tie. Item ``c``: dog, dog, cat, but a reviewer decided cat →
    cat, agreement 1/3.

    >>> labels = pd.DataFrame({"item": list("aaabbccc"), "annotator": list("xyzxyxyz"),
    ...                        "label": ["cat", "cat", "dog", "cat", "dog", "dog", "dog",
    ...                                  "cat"]})
    >>> made = pd.DataFrame({"item": ["c"], "decision": ["cat"], "note": [""],
    ...                      "user": ["Ana"]})
    >>> compute_final_labels(labels, made)[["item", "final_label", "decided_by"]]
      item final_label          decided_by
    0    a         cat       majority vote
    1    b         NaN  tie — needs review
    2    c         cat     review decision
    """
    codes = encode_labels(labels)
    table = _majority_labels(codes)
    if decisions is not None and len(decisions):
        _apply_decisions(table, codes, decisions)
    return pd.DataFrame(table, columns=list(FINAL_LABEL_COLUMNS))


def _majority_labels(codes: LabelCodes) -> dict[str, np.ndarray]:
    """Return the final-label columns from the majority vote alone (ties undecided)."""
    cons = compute_consensus(codes)
    n_votes = cons["n_labels"].to_numpy(dtype=np.int64)
    tie = cons["tie"].to_numpy(dtype=bool)
    final = np.array([None if v is None else str(v) for v in cons["consensus"]], dtype=object)
    final[tie] = None
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = cons["votes"].to_numpy(dtype=float) / n_votes
    n = len(codes.items)
    return {
        "item": codes.items.astype(str).to_numpy(dtype=object),
        "final_label": final,
        "decided_by": np.where(tie, BY_TIE, BY_MAJORITY).astype(object),
        "n_votes": n_votes,
        "agreement": agreement,
        "tied_labels": cons["tied_labels"].to_numpy(dtype=object),
        "reviewer": np.full(n, "", dtype=object),
        "note": np.full(n, "", dtype=object),
    }


def _apply_decisions(
    table: dict[str, np.ndarray], codes: LabelCodes, decisions: pd.DataFrame
) -> None:
    """Overwrite ``table``'s rows of the decided items with the last decision of each."""
    missing = [c for c in REVIEW_COLUMNS if c not in decisions.columns]
    if missing:
        raise MissingColumnError(
            f"the review decisions have no column {', '.join(map(repr, missing))}; "
            f"expected {', '.join(REVIEW_COLUMNS)} (as Store.review_decisions returns)"
        )
    items = codes.items.astype(str)
    made = decisions[decisions["decision"].notna()]
    made = made.assign(item=made["item"].astype(str)).drop_duplicates("item", keep="last")
    pos = pd.Series(np.arange(len(items)), index=items)
    made = made[made["item"].isin(pos.index)]
    if not len(made):
        return
    c = codes.cells
    votes = pd.Series(
        c.count,
        index=pd.MultiIndex.from_arrays([items[c.item], codes.classes.astype(str)[c.cls]]),
    )
    where = pos[made["item"]].to_numpy()
    chosen = made["decision"].astype(str).to_numpy()
    n_votes = table["n_votes"]
    table["final_label"][where] = chosen
    table["decided_by"][where] = BY_DECISION
    table["agreement"][where] = [
        votes.get((i, d), 0) / n_votes[w]
        for i, d, w in zip(made["item"], chosen, where, strict=True)
    ]
    table["reviewer"][where] = made["user"].fillna("").astype(str).to_numpy()
    table["note"][where] = made["note"].fillna("").astype(str).to_numpy()


def final_labels_csv(
    labels: pd.DataFrame | LabelCodes, decisions: pd.DataFrame | None = None
) -> str:
    """Return :func:`compute_final_labels` as CSV text, safe to open in a spreadsheet."""
    return to_safe_csv(compute_final_labels(labels, decisions))
