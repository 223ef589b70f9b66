"""Standardisation rules (merge classes, normalise text) and their effect on agreement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from slicewise.core.agreement.consensus import compute_consensus
from slicewise.core.agreement.encoding import encode_labels
from slicewise.core.agreement.long_table import (
    ANNOTATOR,
    ITEM,
    LABEL,
    check_labels,
    clean_label_values,
)
from slicewise.core.agreement.summary import compute_agreement_summary
from slicewise.core.errors import InvalidValueError
from slicewise.core.report import to_safe_csv
from slicewise.core.text_normalise import UnicodeForm, normalise_text

CHANGELOG_COLUMNS = [ITEM, ANNOTATOR, "before", "after", "rule"]


@dataclass(frozen=True)
class MergeClasses:
    """Merge classes: every label in ``sources`` becomes ``target`` (``A, B -> C``).

    Labels are compared as text, so the rule works on numeric labels too.
    """

    sources: tuple[str, ...]
    target: str

    def __post_init__(self) -> None:
        sources = tuple(str(s).strip() for s in self.sources if str(s).strip())
        if not sources:
            raise InvalidValueError("a merge rule needs at least one class to merge")
        if not str(self.target).strip():
            raise InvalidValueError("a merge rule needs the name of the merged class")
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "target", str(self.target).strip())

    @property
    def name(self) -> str:
        """The rule as written in the change log."""
        return f"merge {', '.join(self.sources)} -> {self.target}"

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` with the source classes replaced by the target."""
        hit = values.astype(str).isin(self.sources).to_numpy(dtype=bool)
        if not hit.any():
            return values
        target: Any = self.target
        if pd.api.types.is_numeric_dtype(values):
            try:
                num = float(target)
                target = int(num) if num.is_integer() else num
            except ValueError:
                values = values.astype(object)
        out = values.copy()
        out[hit] = target
        return out


@dataclass(frozen=True)
class NormalizeText:
    """Normalise transcripts: user replacements, then Unicode form, case, punctuation, spaces.

    Every step is :func:`core.text_normalise.normalise_text`, the one the text task uses to
    compare predictions with labels (:class:`core.task.TextNormalization`): the same options
    give the same text. Only the defaults differ: this rule changes nothing but whitespace
    (and the Unicode form) unless asked, and its replacements are whole words, any case.

    Attributes
    ----------
    replacements
        ``(before, after)`` pairs applied first, in order, as whole words/phrases
        (``"Umm," -> "Um,"``; ``"[unintelligible]" -> "[inaudible]"``),
        case-insensitively unless ``match_case``.
    lowercase, strip_punctuation, collapse_whitespace
        Then lower-case, drop punctuation (keeping ``[`` ``]`` tags and apostrophes inside
        words; punctuation between two words becomes a space), collapse spaces.
    match_case
        Replacements match only with the same case (default ``False``: any case).
    whole_words
        Replacements match only whole words/phrases (default ``True``).
    unicode_form
        Unicode normal form applied after the replacements (default ``"NFC"``: a composed
        "é" equals a decomposed one); ``None`` skips it.
    """

    replacements: tuple[tuple[str, str], ...] = ()
    lowercase: bool = False
    strip_punctuation: bool = False
    collapse_whitespace: bool = True
    match_case: bool = False
    whole_words: bool = True
    unicode_form: UnicodeForm | None = "NFC"

    @property
    def name(self) -> str:
        """The rule as written in the change log."""
        parts = [f"{a!r} -> {b!r}" for a, b in self.replacements]
        if self.lowercase:
            parts.append("lower-case")
        if self.strip_punctuation:
            parts.append("no punctuation")
        if self.collapse_whitespace:
            parts.append("single spaces")
        return "normalise: " + ", ".join(parts) if parts else "normalise"

    def transform(self, text: str) -> str:
        """Apply the rule to one string (:func:`core.text_normalise.normalise_text`)."""
        return normalise_text(text, **asdict(self))

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` normalised (numbers, and cells that are not text, are left alone)."""
        if pd.api.types.is_numeric_dtype(values):
            return values
        options = asdict(self)
        uniques = pd.unique(values)
        mapping = {u: (normalise_text(u, **options) if isinstance(u, str) else u) for u in uniques}
        return values.map(mapping)


Rule = MergeClasses | NormalizeText


def apply_rules(labels: pd.DataFrame, rules: Iterable[Rule]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply standardisation rules in order: a pure function on the long table.

    Returns
    -------
    (cleaned, changelog)
        ``cleaned``: ``labels`` with the ``label`` column rewritten (other columns kept).
        ``changelog``: one row per label a rule changed, columns ``item``, ``annotator``,
        ``before``, ``after``, ``rule``, in rule order.
    """
    check_labels(labels)
    current = labels[LABEL].reset_index(drop=True)
    logs = []
    for rule in rules:
        new = rule.apply(current)
        changed = (new.astype(str) != current.astype(str)).to_numpy(dtype=bool)
        if changed.any():
            logs.append(
                pd.DataFrame(
                    {
                        ITEM: labels[ITEM].to_numpy()[changed],
                        ANNOTATOR: labels[ANNOTATOR].to_numpy()[changed],
                        "before": current.to_numpy(dtype=object)[changed],
                        "after": new.to_numpy(dtype=object)[changed],
                        "rule": rule.name,
                    }
                )
            )
        current = new
    cleaned = labels.copy()
    cleaned[LABEL] = current.to_numpy()
    if cleaned[LABEL].dtype == object:
        cleaned[LABEL] = clean_label_values(cleaned[LABEL]).to_numpy()
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=CHANGELOG_COLUMNS)
    return cleaned, log


def preview_rules(
    labels: pd.DataFrame, rules: Iterable[Rule], *, min_pair_items: int = 5
) -> pd.DataFrame:
    """How every agreement metric changes when the rules are applied ("raising HLP").

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric`` (the summary's metrics, then ``n_disagreements`` and
        ``n_classes``): ``name``, ``before``, ``after`` and ``change`` (after − before).
    """
    rules = list(rules)
    cleaned, _ = apply_rules(labels, rules)
    frames = []
    for table in (labels, cleaned):
        codes = encode_labels(table)
        summary = compute_agreement_summary(codes, min_pair_items=min_pair_items)
        cons = compute_consensus(codes)
        extra = pd.DataFrame(
            {
                "name": ["Items with disagreement", "Classes"],
                "value": [
                    float(((~cons["unanimous"]) & (cons["n_labels"] >= 2)).sum()),
                    float(len(codes.classes)),
                ],
            },
            index=pd.Index(["n_disagreements", "n_classes"], name="metric"),
        )
        frames.append(pd.concat([summary[["name", "value"]], extra]))
    before, after = frames
    out = pd.DataFrame(
        {
            "name": before["name"].combine_first(after["name"]),
            "before": before["value"],
            "after": after["value"],
        }
    )
    out = out.reindex(list(before.index) + [i for i in after.index if i not in before.index])
    out["name"] = out["name"].fillna(after["name"])
    out["change"] = out["after"] - out["before"]
    out.index.name = "metric"
    return out


def changelog_csv(cleaned: pd.DataFrame, changelog: pd.DataFrame) -> tuple[str, str]:
    """Return (cleaned labels CSV, change log CSV) as text, safe to open in a spreadsheet."""
    return to_safe_csv(cleaned), to_safe_csv(changelog.reindex(columns=CHANGELOG_COLUMNS))
