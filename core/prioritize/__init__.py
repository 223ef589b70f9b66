"""Rank slices by what closing their gap to human-level performance would be worth.

The rooms: :mod:`.ranking` (:func:`rank_slices`: priority = gap × share × importance ×
ease, or excess error without a baseline), :mod:`.excess` (each slice against the rest of
the data, with Benjamini-Hochberg), :mod:`.advice` (:func:`advise`: the first rule that
holds per ranked slice), :mod:`.fairness` (protected attributes and their disparities) and
:mod:`.wording` (how slices and baselines are named in sentences).
"""

from slicewise.core.prioritize.advice import (
    ACTIONS,
    ADVICE_COLUMNS,
    ADVICE_ORDER,
    TARGET_HALF_WIDTH,
    UNTAGGED_SHARE,
    WIDE_HALF_WIDTH,
    advise,
    describe_priorities,
)
from slicewise.core.prioritize.excess import (
    EXCESS_COLUMNS,
    FDR,
    add_excess_error,
    benjamini_hochberg,
)
from slicewise.core.prioritize.fairness import (
    FAIRNESS_RATES,
    PROTECTED_WORDS,
    fairness_disparities,
    fairness_lines,
    likely_protected,
)
from slicewise.core.prioritize.ranking import (
    NEUTRAL,
    RANK_BASES,
    RANK_RULES,
    USABLE_HLP,
    rank_basis,
    rank_rule,
    rank_slices,
)
from slicewise.core.prioritize.wording import (
    describe_hlp_basis,
    display_name,
    format_hlp,
    human_labels_text,
    too_few_text,
)

__all__ = [
    "ACTIONS",
    "ADVICE_COLUMNS",
    "ADVICE_ORDER",
    "EXCESS_COLUMNS",
    "FAIRNESS_RATES",
    "FDR",
    "NEUTRAL",
    "PROTECTED_WORDS",
    "RANK_BASES",
    "RANK_RULES",
    "TARGET_HALF_WIDTH",
    "UNTAGGED_SHARE",
    "USABLE_HLP",
    "WIDE_HALF_WIDTH",
    "add_excess_error",
    "advise",
    "benjamini_hochberg",
    "describe_hlp_basis",
    "describe_priorities",
    "display_name",
    "fairness_disparities",
    "fairness_lines",
    "format_hlp",
    "human_labels_text",
    "likely_protected",
    "rank_basis",
    "rank_rule",
    "rank_slices",
    "too_few_text",
]
