"""The slice search itself: settings checked, the lattice counted, slices ranked and tested.

Many slices are tried, so chance alone makes some look bad. Each evaluated slice (every
conjunction whose counts were computed and that has at least ``min_support`` examples) gets
a one-sided exact binomial p-value of its error count against the overall error rate, and
the p-values are adjusted with Benjamini-Hochberg over all of them: a slice is
``significant`` when its q-value is at most ``fdr``, which keeps the expected share of false
discoveries among the significant slices at or under ``fdr``. The family is the evaluated
slices; sub-slices never enumerated because of pruning are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.dataset import Dataset
from slicewise.core.discovery.conditions import (
    DEFAULT_BINS,
    DEFAULT_MAX_VALUES,
    Conditions,
    Predicate,
    encode_conditions,
)
from slicewise.core.discovery.lattice import Evaluated, drop_refinements, evaluate_lattice
from slicewise.core.discovery.scoring import (
    DEFAULT_ALPHA,
    benjamini_hochberg,
    excess_error_p_value,
    slice_score,
)
from slicewise.core.errors import InvalidValueError, count_of
from slicewise.core.metrics import compute_outcomes
from slicewise.core.task import TaskSpec, infer_task_kind

MAX_CONDITIONS = 3
DEFAULT_FDR = 0.05

#: Columns of :attr:`SliceSuggestions.slices`.
SLICE_COLUMNS: tuple[str, ...] = (
    "conditions",
    "n",
    "errors",
    "error_rate",
    "lift",
    "score",
    "p_value",
    "q_value",
    "significant",
)


@dataclass
class SliceSuggestions:
    """The result of :func:`find_error_slices`.

    Attributes
    ----------
    slices
        The best slices by score, best first (index 0..k-1), columns:

        - ``conditions``: list of ``"col op value"`` strings (the slice is their AND);
        - ``n``: examples in the slice; ``errors``: model errors among them;
        - ``error_rate`` = errors / n; ``lift`` = error_rate / overall error rate;
        - ``score``: SliceLine score (higher is a larger slice with a higher error rate);
        - ``p_value``: one-sided exact binomial test of the slice's errors against the
          overall error rate; ``q_value``: Benjamini-Hochberg adjusted over every
          evaluated slice (``n_tested``);
        - ``significant``: ``q_value <= fdr``.
    predicates
        For each row of ``slices``, its conditions as :class:`Predicate` objects (use
        :func:`slice_mask` to find the examples).
    n, errors, overall_error_rate
        The whole dataset.
    n_tested
        How many slices were evaluated (the Benjamini-Hochberg family).
    alpha, fdr, min_support, max_conditions
        The settings used.
    columns, skipped
        Columns searched; columns left out with the reason.
    warnings
        Legal but degenerate input (no errors, no usable column...).
    """

    slices: pd.DataFrame
    predicates: list[tuple[Predicate, ...]]
    n: int
    errors: int
    overall_error_rate: float
    n_tested: int
    alpha: float
    fdr: float
    min_support: int
    max_conditions: int
    columns: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_significant(self) -> int:
        """Slices among ``slices`` that are significant."""
        return int(self.slices["significant"].sum()) if len(self.slices) else 0

    def fdr_note(self) -> str:
        """One sentence on the multiple-testing guard, for the CLI and the page."""
        return (
            f"{self.n_tested:,} slices were evaluated, so some look bad by chance: each gets "
            "a one-sided exact binomial test of its error count against the overall error "
            f"rate ({100 * self.overall_error_rate:.1f}%), and the p-values are adjusted with "
            f"Benjamini-Hochberg over all {self.n_tested:,}. Slices with q ≤ {self.fdr:g} are "
            f"marked significant: among them, at most {100 * self.fdr:g}% are expected to be "
            "false discoveries."
        )


def _empty_slices() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in SLICE_COLUMNS})
    out["conditions"] = pd.Series(dtype=object)
    out["n"] = pd.Series(dtype=np.int64)
    out["errors"] = pd.Series(dtype=np.int64)
    out["significant"] = pd.Series(dtype=bool)
    return out


def _check_settings(max_conditions: int, alpha: float, fdr: float, top: int | None) -> None:
    """Raise :class:`InvalidValueError` for settings outside their ranges."""
    if not 1 <= int(max_conditions) <= MAX_CONDITIONS:
        raise InvalidValueError(
            f"max_conditions must be 1 to {MAX_CONDITIONS}, got {max_conditions!r}"
        )
    if not 0 < alpha <= 1:
        raise InvalidValueError(f"alpha must be in (0, 1], got {alpha!r}")
    if not 0 < fdr < 1:
        raise InvalidValueError(f"fdr must be between 0 and 1, got {fdr!r}")
    if top is not None and top < 1:
        raise InvalidValueError(f"top must be at least 1, got {top!r}")


def _error_vector(errors: np.ndarray | pd.Series, rows: int) -> np.ndarray:
    """``errors`` as floats 0/1, one per row; ``ValueError`` otherwise."""
    e = np.asarray(errors, dtype=float)
    if e.ndim != 1 or len(e) != rows:
        raise ValueError(f"errors has {e.size} values for {rows} rows")
    if np.isnan(e).any() or not np.isin(e, (0.0, 1.0)).all():
        raise ValueError("errors must be true/false (or 0/1) for every example")
    return e


def _min_support(min_support: int | None, n: int) -> int:
    """Return the given minimum slice size, or ``max(30, 1% of n)``; at least 1."""
    if min_support is None:
        min_support = max(30, int(np.ceil(0.01 * n)))
    if int(min_support) < 1:
        raise InvalidValueError(f"min_support must be at least 1, got {min_support!r}")
    return int(min_support)


def _nothing_to_search(n: int, total_err: int, cond: Conditions) -> str | None:
    """Return the warning when no slice can stand out (no error, all errors, no column)."""
    if n == 0 or total_err == 0:
        return "the model makes no errors here: there is no slice to suggest"
    if total_err == n:
        return "every prediction is wrong: no slice can be worse than the whole"
    if not cond.columns:
        return "no metadata column can be sliced (ids, free text, constants are left out)"
    return None


def _rank(
    result: SliceSuggestions,
    found: Evaluated,
    cond: Conditions,
    *,
    top: int | None,
    distinct: bool,
) -> SliceSuggestions:
    """Score, test and order the evaluated slices into ``result`` (best score first)."""
    rate = result.overall_error_rate
    size_all = np.concatenate(found.sizes)
    err_all = np.concatenate(found.errors)
    score_all = slice_score(size_all, err_all, n=result.n, overall_rate=rate, alpha=result.alpha)
    p_all = excess_error_p_value(err_all, size_all, rate)
    q_all = benjamini_hochberg(p_all)
    result.n_tested = len(size_all)
    key_list = [tuple(int(i) for i in row) for k in found.keys for row in k]
    text = np.array(
        [" AND ".join(cond.predicates[i].text for i in key) for key in key_list], dtype=object
    )
    order = np.lexsort((text, p_all, -score_all))
    order = order[score_all[order] > 0]
    if distinct:
        order = drop_refinements(order, key_list, top)
    if top is not None:
        order = order[:top]
    if not len(order):
        result.warnings.append(
            "no slice has a positive score: no slice of at least "
            f"{count_of(result.min_support, 'example')} has a clearly higher "
            "error rate"
        )
        return result
    result.predicates = [tuple(cond.predicates[i] for i in key_list[o]) for o in order]
    result.slices = pd.DataFrame(
        {
            "conditions": [[p.text for p in preds] for preds in result.predicates],
            "n": size_all[order].astype(np.int64),
            "errors": err_all[order].astype(np.int64),
            "error_rate": err_all[order] / size_all[order],
            "lift": err_all[order] / size_all[order] / rate,
            "score": score_all[order],
            "p_value": p_all[order],
            "q_value": q_all[order],
            "significant": q_all[order] <= result.fdr,
        }
    )
    return result


def find_error_slices(
    metadata: pd.DataFrame,
    errors: np.ndarray | pd.Series,
    *,
    columns: Sequence[str] | None = None,
    max_conditions: int = MAX_CONDITIONS,
    min_support: int | None = None,
    top: int | None = 20,
    alpha: float = DEFAULT_ALPHA,
    fdr: float = DEFAULT_FDR,
    bins: int = DEFAULT_BINS,
    max_values: int = DEFAULT_MAX_VALUES,
    distinct: bool = True,
) -> SliceSuggestions:
    """Find conjunctions of metadata conditions with an error rate well above the whole.

    Parameters
    ----------
    metadata
        One row per example (see :func:`encode_conditions` for how columns are used).
    errors
        Boolean (or 0/1) per example: whether the model's prediction is wrong.
    columns
        Columns to search (default: all of ``metadata``).
    max_conditions
        Most conditions in one slice (1 to 3).
    min_support
        Fewest examples in a slice; default ``max(30, 1% of the examples)``.
    top
        How many slices to return (``None``: every evaluated slice with a positive score).
    alpha
        SliceLine's weight of the error-rate term against the size term (0 < α ≤ 1).
    fdr
        False discovery rate at which slices are marked significant.
    distinct
        Leave out a slice that refines a better-ranked one (adds conditions to it): the
        extra condition lowers the score, so it says nothing new. The search then prunes
        against the ``5 × top`` best slices so that enough remain.

    Returns
    -------
    SliceSuggestions
        Ranked by score (ties: smaller p-value first).

    Raises
    ------
    InvalidValueError
        Bad settings or an unknown column.
    ValueError
        ``errors`` does not have one value per row of ``metadata``.
    """
    _check_settings(max_conditions, alpha, fdr, top)
    e = _error_vector(errors, len(metadata))
    n = len(metadata)
    min_support = _min_support(min_support, n)
    cond = encode_conditions(metadata, columns=columns, bins=bins, max_values=max_values)
    total_err = int(e.sum())
    rate = total_err / n if n else float("nan")
    result = SliceSuggestions(
        slices=_empty_slices(),
        predicates=[],
        n=n,
        errors=total_err,
        overall_error_rate=rate,
        n_tested=0,
        alpha=float(alpha),
        fdr=float(fdr),
        min_support=min_support,
        max_conditions=int(max_conditions),
        columns=cond.columns,
        skipped=cond.skipped,
    )
    warning = _nothing_to_search(n, total_err, cond)
    if warning:
        result.warnings.append(warning)
        return result
    # Dropping refinements leaves room: prune against a longer list than is returned.
    k_best = (top * (1 + 4 * distinct)) if top is not None else np.inf
    score_kw = {"n": n, "overall_rate": rate, "alpha": alpha}
    found = evaluate_lattice(
        cond,
        e,
        max_conditions=int(max_conditions),
        min_support=min_support,
        k_best=k_best,
        score_kw=score_kw,
    )
    return _rank(result, found, cond, top=top, distinct=distinct)


def format_suggestions(found: SliceSuggestions, *, source: str) -> str:
    """Render suggestions as plain text: a heading, the ranked table and the FDR note."""
    head = (
        f"{source}: {count_of(found.n, 'example')}, {count_of(found.errors, 'error')} "
        f"({100 * found.overall_error_rate:.1f}%); searched "
        f"{', '.join(found.columns) or 'no column'}"
        f" (up to {count_of(found.max_conditions, 'condition')}, at least "
        f"{count_of(found.min_support, 'example')} per slice)"
    )
    parts = [head]
    if found.skipped:
        parts.append("left out: " + "; ".join(f"{c} ({why})" for c, why in found.skipped.items()))
    s = found.slices
    if len(s):
        shown = pd.DataFrame(
            {
                "rank": range(1, len(s) + 1),
                "slice": [" AND ".join(c) for c in s["conditions"]],
                "n": s["n"].to_numpy(),
                "error rate": [f"{100 * v:.1f}%" for v in s["error_rate"]],
                "lift": [f"{v:.2f}x" for v in s["lift"]],
                "score": [f"{v:.2f}" for v in s["score"]],
                "q-value": [f"{v:.2g}" for v in s["q_value"]],
                "significant": s["significant"].map({True: "yes", False: "no"}).to_numpy(),
            }
        )
        parts += ["", shown.to_string(index=False)]
    else:
        parts += ["", "no slice stands out."]
    parts += ["", f"* {found.fdr_note()}"]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- datasets


def error_indicator(dataset: Dataset, task: TaskSpec | None = None) -> np.ndarray:
    """Return whether each prediction of ``dataset`` is wrong (see :mod:`core.metrics`)."""
    task = task or TaskSpec(kind=infer_task_kind(dataset.frame["label"]))
    correct = compute_outcomes(dataset.frame, task, source=dataset.source_name)["correct"]
    correct = correct.to_numpy(dtype=float)
    return correct < 1


def candidate_columns(
    dataset: Dataset, *, bins: int = DEFAULT_BINS, max_values: int = DEFAULT_MAX_VALUES
) -> list[str]:
    """Metadata columns to search by default.

    All but per-class probability columns (:func:`core.label_issues.find_probability_columns`)
    and the columns :func:`encode_conditions` would skip (ids, free text, constants).
    """
    from slicewise.core.label_issues import find_probability_columns

    probs = set(find_probability_columns(dataset.frame).values())
    cols = [c for c in dataset.metadata_columns if c not in probs]
    return encode_conditions(dataset.frame, columns=cols, bins=bins, max_values=max_values).columns


def suggest_slices(
    dataset: Dataset,
    *,
    task: TaskSpec | None = None,
    columns: Sequence[str] | None = None,
    **options: Any,
) -> SliceSuggestions:
    """Run :func:`find_error_slices` on a dataset's metadata and model errors.

    ``columns`` defaults to :func:`candidate_columns`; ``options`` go to
    :func:`find_error_slices`.
    """
    cols = list(columns) if columns is not None else candidate_columns(dataset)
    return find_error_slices(dataset.frame, error_indicator(dataset, task), columns=cols, **options)
