"""Which column plays which role: id, label, prediction, human label, score, tags.

:class:`ColumnMapping` records the choice; :func:`detect_mapping` guesses it from column
names (:data:`ROLE_NAMES`) and values; :func:`resolve_mapping` fills what the user left
unset and checks the whole choice, raising errors that name the file and the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from slicewise.core.baselines import HUMAN_KINDS, is_majority_name
from slicewise.core.column_parsing import FALSE_TOKENS, TRUE_TOKENS, distinct_present
from slicewise.core.errors import AmbiguousColumnError, InvalidValueError, MissingColumnError

# Names each role is recognised by, compared after lower-casing and turning spaces and
# hyphens into underscores.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "label": (
        "label",
        "labels",
        "y_true",
        "ytrue",
        "target",
        "ground_truth",
        "groundtruth",
        "gold",
        "gold_label",
        "true_label",
        "true_class",
        "true_category",
        "truth",
        "reference",
        "ref",
        "actual",
        "y",
        "class",
    ),
    "prediction": (
        "prediction",
        "predictions",
        "pred",
        "preds",
        "y_pred",
        "ypred",
        "predicted",
        "predicted_label",
        "prediction_label",
        "model_prediction",
        "model_output",
        "output",
        "hypothesis",
        "hyp",
        "yhat",
        "y_hat",
    ),
    "human": (
        "human_label",
        "human",
        "annotator_label",
        "human_prediction",
        "human_transcript",
        "human_labels",
        "annotator",
        "inspector",
        "inspector_label",
        "hlp",
        "hlp_label",
        "human_majority",
        "majority_label",
        "human_consensus",
        "consensus_label",
        "crowd_label",
    ),
    # The probability that one person labels the example right (CIFAR-10H: the share of
    # its annotators choosing the true class); see core.baselines.
    "human_accuracy": (
        "human_accuracy",
        "human_acc",
        "annotator_accuracy",
        "human_correct_rate",
        "human_p_correct",
    ),
    "id": ("id", "example_id", "item_id", "uid", "example", "item", "sample_id", "key", "row_id"),
    "score": (
        "score",
        "scores",
        "confidence",
        "probability",
        "prob",
        "proba",
        "y_score",
        "y_prob",
        "pred_score",
        "prediction_score",
    ),
    "tags_column": ("tags", "tag", "tag_list", "error_tags", "slices"),
}

RESERVED = ("id", "label", "prediction", "human", "score", "human_accuracy")
#: A role mapped to this is switched off (not detected): ``ColumnMapping(score=NO_COLUMN)``.
NO_COLUMN = ""
ROLES = ("label", "prediction", "id", "human", "score", "tags_column", "human_accuracy")


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column plays which role. ``None`` means "detect" (or "none" once resolved).

    Attributes
    ----------
    label, prediction
        Required roles (``prediction`` may be absent when a score and threshold stand in).
    id, human, score
        Optional roles.
    human_accuracy
        Optional role: per example, the probability in [0, 1] that one person labels it
        right (see :mod:`core.baselines`). When given it is the HLP, taking precedence over
        the human-label column.
    human_kind
        What the human-label column holds: ``"single"`` (one person's label) or
        ``"majority"`` (a majority or other aggregate of several people, whose HLP is an
        upper bound on one person's); ``None`` decides by the column's name
        (:func:`core.baselines.is_majority_name`).
    tag_columns
        Boolean columns used as tags; ``None`` detects them (columns holding only
        true/false, 1/0, yes/no or x/blank values).
    tags_column, tag_delimiter
        Alternatively one column holding delimited tag names (``;`` or ``|``).
    """

    label: str | None = None
    prediction: str | None = None
    id: str | None = None
    human: str | None = None
    score: str | None = None
    tag_columns: tuple[str, ...] | None = None
    tags_column: str | None = None
    tag_delimiter: str | None = None
    human_accuracy: str | None = None
    human_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the mapping as a JSON-friendly dict."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if d["tag_columns"] is not None:
            d["tag_columns"] = list(d["tag_columns"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnMapping:
        """Build a mapping from :meth:`to_dict` output (one stored before a field existed too)."""
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if d.get("tag_columns") is not None:
            d["tag_columns"] = tuple(d["tag_columns"])
        return cls(**d)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def is_boolean_like(col: pd.Series, seen: dict[str, list[Any]] | None = None) -> bool:
    """Whether ``col`` holds true/false-like values; their distinct values go in ``seen``."""
    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        uniques = distinct_present(col, limit=6)
    except TypeError:  # unhashable cells (lists from Parquet)
        return False
    if uniques is None:
        return False
    if seen is not None:
        seen[str(col.name)] = uniques
    tokens = {str(v).strip().lower() for v in uniques}  # missing cells count as false
    tokens = {t[:-2] if t in ("1.0", "0.0") else t for t in tokens}
    truthy, falsy = tokens & TRUE_TOKENS, tokens & FALSE_TOKENS - {""}
    # One spelling per side: {"x", "y"} or {"yes", "y"} are categories, not a flag.
    return tokens <= (TRUE_TOKENS | FALSE_TOKENS) and len(truthy) == 1 and len(falsy) <= 1


def find_role_candidates(df: pd.DataFrame) -> dict[str, list[str]]:
    """Return, for each role, the columns whose names match it (in file order)."""
    out: dict[str, list[str]] = {role: [] for role in ROLE_NAMES}
    for col in df.columns:
        n = _norm(col)
        for role, names in ROLE_NAMES.items():
            if n in names:
                # A "tag" column of true/false values is one boolean tag, not a tag list.
                if role == "tags_column" and is_boolean_like(df[col]):
                    break
                out[role].append(col)
                break
    return out


def _pick(role: str, options: list[str]) -> str | None:
    """One column for ``role``: the only candidate, or the one named exactly like the role."""
    if len(options) == 1:
        return options[0]
    exact = [c for c in options if _norm(c) == ROLE_NAMES[role][0]]
    return exact[0] if len(exact) == 1 else None


#: Words that make a true/false column read as an outcome, a target or a model output rather
#: than a tag (``is_recid``, ``fraud_label``, ``target_flag`` is a tag: see
#: :data:`TAG_WORDS`); compared with the words of the name (see :func:`name_words`).
OUTCOME_WORDS = frozenset(
    {
        "label",
        "labels",
        "target",
        "targets",
        "outcome",
        "outcomes",
        "result",
        "response",
        "truth",
        "gt",
        "gold",
        "actual",
        "expected",
        "y",
        "yhat",
        "decision",
        "verdict",
        "score",
        "scores",
        "prob",
        "proba",
        "probability",
        "pred",
        "preds",
        "prediction",
        "predictions",
        "predicted",
    }
)
#: Words that make a column a tag whatever else its name says.
TAG_WORDS = frozenset({"tag", "tags", "flag", "flags", "slice"})
#: A name starting with one of these words states a property of the example that is usually
#: the thing predicted (``is_recid``, ``is_fraud``, ``is_spam``), not a reason for an error.
OUTCOME_PREFIXES = frozenset({"is"})


def name_words(name: Any) -> list[str]:
    """Split a column name into lower-case words at non-alphanumerics and camelCase humps.

    Letters of any script count (``نویز`` is one word).

    Examples
    --------
    >>> name_words("isRecid"), name_words("two_year-recid"), name_words("Car noise")
    (['is', 'recid'], ['two', 'year', 'recid'], ['car', 'noise'])
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


def is_tag_name(name: Any) -> bool:
    """Whether a true/false column called ``name`` may be proposed as a tag.

    A tag marks a reason for an error (``car_noise``, ``blurry``, ``night``). A column whose
    name says it is an outcome, a target or a model output (a word of
    :data:`OUTCOME_WORDS`, or a first word of :data:`OUTCOME_PREFIXES` such as ``is_*``) is
    not proposed, unless a word of :data:`TAG_WORDS` (``tag``, ``flag``) says it is one.
    Detection only proposes: such a column can still be chosen as a tag by name.

    Examples
    --------
    >>> [is_tag_name(n) for n in ("car_noise", "is_recid", "target", "y", "risk_flag")]
    [True, False, False, False, True]
    """
    words = name_words(name)
    if TAG_WORDS.intersection(words):
        return True
    if OUTCOME_WORDS.intersection(words):
        return False
    return not words or words[0] not in OUTCOME_PREFIXES


def detect_tag_columns(
    df: pd.DataFrame,
    exclude: set[str | None],
    cands: dict[str, list[str]],
    seen: dict[str, list[Any]] | None = None,
) -> tuple[str, ...]:
    """Return the columns that may be tags: boolean-like, named like a tag, in no role.

    ``exclude``: columns taken by a role; ``cands``: :func:`find_role_candidates`'s answer
    (a column named like a role is not proposed as a tag); ``seen`` receives the distinct
    values looked at.
    """
    named_like_role = {c for role, cs in cands.items() if role != "tags_column" for c in cs}
    return tuple(
        c
        for c in df.columns
        if c not in exclude
        and c not in named_like_role
        and is_tag_name(c)
        and is_boolean_like(df[c], seen)
    )


def detect_mapping(df: pd.DataFrame) -> ColumnMapping:
    """Guess the mapping from column names and values; never raises.

    A role matched by exactly one column is filled; when several match, a column named
    exactly like the role (``label``, ``prediction``, ``id``, ``human_label``, ``score``,
    ``tags``) wins, and otherwise the role stays ``None``. Tag columns are the other columns
    holding only boolean-like values whose names may be tags (:func:`is_tag_name`: not
    ``is_recid``, ``target`` or ``y``), unless a delimited tags column is found by name.
    """
    cands = find_role_candidates(df)
    pick = {role: _pick(role, c) for role, c in cands.items()}
    used = {v for v in pick.values() if v}
    tag_columns: tuple[str, ...] | None
    if pick["tags_column"]:
        tag_columns = ()
    else:
        tag_columns = detect_tag_columns(df, used, cands)
    return ColumnMapping(
        label=pick["label"],
        prediction=pick["prediction"],
        id=pick["id"],
        human=pick["human"],
        score=pick["score"],
        tag_columns=tag_columns,
        tags_column=pick["tags_column"],
        human_accuracy=pick["human_accuracy"],
    )


def resolve_mapping(
    df: pd.DataFrame,
    mapping: ColumnMapping | None,
    *,
    file: str,
    require_prediction: bool = True,
    distinct: dict[str, list[Any]] | None = None,
) -> ColumnMapping:
    """Fill the unset roles of ``mapping`` by detection and check every named column exists.

    ``distinct``, when given, receives the distinct values of the columns looked at for tag
    detection, so that :func:`parse_boolean_column` need not find them again.

    A role given as ``""`` (:data:`NO_COLUMN`; CLI ``--score none``) is switched off: it is
    not detected and comes back as ``None``. Label and prediction cannot be switched off.

    Raises
    ------
    MissingColumnError
        A named column is absent, or the label/prediction cannot be found.
    AmbiguousColumnError
        Several columns match the label or prediction role and none was chosen.
    InvalidValueError
        One column is given two roles, or the label or prediction is switched off.
    """
    mapping, off = _switch_off(mapping or ColumnMapping(), file, require_prediction)
    cols = list(df.columns)
    _check_named_columns(mapping, cols, file)
    cands = find_role_candidates(df)
    mapping = _fill_detected(mapping, cands, off, file)
    _check_required(mapping, cols, file, require_prediction)
    _check_one_role_per_column(mapping, file)
    if mapping.tag_columns is None and mapping.tags_column is None:
        used = {getattr(mapping, r) for r in ROLES}
        mapping = replace(mapping, tag_columns=detect_tag_columns(df, used, cands, distinct))
    elif mapping.tags_column is not None and mapping.tag_columns is None:
        mapping = replace(mapping, tag_columns=())
    return replace(mapping, human_kind=_human_kind(mapping, file))


def _switch_off(
    mapping: ColumnMapping, file: str, require_prediction: bool
) -> tuple[ColumnMapping, set[str]]:
    """Turn the roles given as :data:`NO_COLUMN` into ``None``; return them too."""
    off = {role for role in ROLES if getattr(mapping, role) == NO_COLUMN}
    for role in off & {"label", "prediction"}:
        if role == "label" or require_prediction:
            raise InvalidValueError(
                f"{file}: the {role} column cannot be switched off; "
                f"choose it (CLI: --{role} COLUMN)"
            )
    if off:
        mapping = replace(mapping, **{role: None for role in off})
    return mapping, off


def _check_named_columns(mapping: ColumnMapping, cols: list[Any], file: str) -> None:
    """Raise :class:`MissingColumnError` when a column the mapping names is not in ``cols``."""
    for role in ROLES:
        value = getattr(mapping, role)
        if value is not None and value not in cols:
            raise MissingColumnError(
                f"{file}: column {value!r} (given as the {role.replace('_', ' ')}) is not in the "
                f"file; its columns are {quoted_list(cols)}"
            )
    for c in mapping.tag_columns or ():
        if c not in cols:
            raise MissingColumnError(
                f"{file}: tag column {c!r} is not in the file; its columns are {quoted_list(cols)}"
            )


def _fill_detected(
    mapping: ColumnMapping, cands: dict[str, list[str]], off: set[str], file: str
) -> ColumnMapping:
    """Fill each unset role (not switched off) with its one candidate column not yet taken.

    Raises :class:`AmbiguousColumnError` when several could be the label or prediction.
    """
    explicit = {getattr(mapping, r) for r in ROLES} | set(mapping.tag_columns or ())
    filled: dict[str, Any] = {}
    for role in ROLES:
        if getattr(mapping, role) is not None or role in off:
            continue
        options = [c for c in cands[role] if c not in explicit]
        choice = _pick(role, options) if options else None
        if choice is not None:
            filled[role] = choice
        elif len(options) > 1 and role in ("label", "prediction"):
            raise AmbiguousColumnError(
                f"{file}: several columns could be the {role}: {quoted_list(options)}; "
                f"choose one (CLI: --{role} COLUMN)"
            )
    return replace(mapping, **filled)


def _check_required(
    mapping: ColumnMapping, cols: list[Any], file: str, require_prediction: bool
) -> None:
    """Raise :class:`MissingColumnError` when no label (or needed prediction) was found."""
    if mapping.label is None:
        raise MissingColumnError(
            f"{file}: no label column found among {quoted_list(cols)}; name it 'label' (or "
            "y_true, target, ground_truth) or choose it (CLI: --label COLUMN)"
        )
    if mapping.prediction is None and require_prediction:
        raise MissingColumnError(
            f"{file}: no prediction column found among {quoted_list(cols)}; name it "
            "'prediction' (or pred, y_pred, predicted) or choose it (CLI: --prediction "
            "COLUMN), or give a score column and a threshold"
        )


def _check_one_role_per_column(mapping: ColumnMapping, file: str) -> None:
    """Raise :class:`InvalidValueError` when one column is given two roles (tags included)."""
    roles = [(r.replace("_", " "), getattr(mapping, r)) for r in ROLES]
    roles += [("tag", c) for c in mapping.tag_columns or ()]
    seen: dict[str, str] = {}
    for role, col in roles:
        if col is None:
            continue
        if col in seen:
            raise InvalidValueError(
                f"{file}: column {col!r} cannot be both the {seen[col]} and the {role}; "
                f"choose another column for one of them"
            )
        seen[col] = role


def _human_kind(mapping: ColumnMapping, file: str) -> str | None:
    """Say what the human-label column holds: ``single`` or ``majority`` (``None``: no column).

    Given, or read from the column's name (:func:`core.baselines.is_majority_name`:
    ``human_majority``, ``crowd_label``, ``consensus``...).

    Raises
    ------
    InvalidValueError
        A kind other than single or majority, or a majority without a human-label column.
    """
    kind = mapping.human_kind
    if kind is not None and kind not in HUMAN_KINDS:
        raise InvalidValueError(
            f"{file}: the human label kind must be 'single' or 'majority', not {kind!r}"
        )
    if mapping.human is None:
        if kind == "majority":
            raise InvalidValueError(
                f"{file}: a majority human label needs a human-label "
                "column; choose it (CLI: --human COLUMN)"
            )
        return None
    if kind is None:
        kind = "majority" if is_majority_name(mapping.human) else "single"
    return kind


def quoted_list(cols: Iterable[Any], limit: int = 12) -> str:
    """Quote up to ``limit`` names for a message: ``'a', 'b' and 3 more``."""
    cols = list(cols)
    text = ", ".join(repr(c) for c in cols[:limit])
    return text + (f" and {len(cols) - limit} more" if len(cols) > limit else "")


def metadata_names(columns: list[str], taken: set[str]) -> list[str]:
    """Names for the metadata columns: their own, or ``<name>_meta`` when that would clash."""
    out = []
    all_names = set(columns) | taken
    for c in columns:
        target = c
        if c in RESERVED or c in taken:
            target, i = f"{c}_meta", 2
            while target in all_names:
                target, i = f"{c}_meta{i}", i + 1
        taken.add(target)
        all_names.add(target)
        out.append(target)
    return out


def check_nested_roles(nested: Iterable[str], mapping: ColumnMapping, *, file: str) -> None:
    """Raise when a column read from lists, structs or maps (JSON text) was given a role.

    ``nested`` names those columns: kept in ``DataFrame.attrs`` by the Parquet reader and
    :func:`dataset_from_frame` (checked by :func:`prepare`), found from the column types by
    the DuckDB engine.

    Raises
    ------
    InvalidValueError
        Naming the file, the column, the role and the option to choose another column.
    """
    nested = set(nested)
    if not nested:
        return
    roles = [(r, getattr(mapping, r)) for r in ROLES]
    roles += [("tag", c) for c in mapping.tag_columns or ()]
    for role, col in roles:
        if col is not None and col in nested:
            what = role.replace("_", " ")
            flag = {"tag": "tag-columns", "tags_column": "tags-column"}.get(role, role)
            raise InvalidValueError(
                f"{file}: the {what} column {col!r} holds lists, structs or maps (read as JSON "
                f"text), but the {what} column must hold one text or number per row: choose "
                f"another column (CLI: --{flag} COLUMN), or flatten it in the file"
            )
