"""Comparisons shaped for display (:mod:`ui.compare_views`): the history of iterations."""

from __future__ import annotations

import pandas as pd
import pytest

from slicewise.ui.compare_views import HISTORY_COLUMNS, callouts, history_view

HASH = "ab" * 32  # 64 hex characters, like a SHA-256


def _iterations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [4, 9],
            "project_id": [1, 1],
            "dataset_id": [2, None],
            "dataset_name": ["baseline", "retrained"],
            "source_name": ["a.csv", "b.csv"],
            "content_hash": [HASH, "0123456789abcdef" * 4],
            "row_count": [100, 120],
            "model_name": ["asr", "asr"],
            "notes": [{"lr": 0.001, "commit": "8d41e07"}, {}],
            "created_by": ["Ana", "Bo"],
            "created_at": ["2024-01-01 10:00:00", "2024-01-02 11:00:00"],
        }
    )


def test_history_view_writes_notes_cuts_the_hash_and_keeps_the_order():
    view, config = history_view(_iterations(), ["#4 asr", "#9 asr 2"])
    assert list(view.columns) == list(HISTORY_COLUMNS) == list(config)
    assert view["iteration"].tolist() == ["#4 asr", "#9 asr 2"]
    assert view["notes"].tolist() == ["lr=0.001, commit=8d41e07", ""]
    assert view["content_hash"].tolist() == ["abababababab", "0123456789ab"]
    assert view["row_count"].tolist() == [100, 120]
    assert view["created_by"].tolist() == ["Ana", "Bo"]


def test_history_view_needs_one_label_per_iteration():
    with pytest.raises(ValueError):
        history_view(_iterations(), ["#4 asr"])


def test_callouts_name_the_slices_worse_while_all_data_improved_worst_first():
    table = pd.DataFrame(
        {
            "kind": ["overall", "tag", "tag", "tag"],
            "accuracy_before": [0.6, 0.9, 0.5, 0.8],
            "accuracy_after": [0.8, 0.7, 0.45, 0.9],
            "delta": [0.2, -0.2, -0.05, 0.1],
            "p_value": [0.03, 0.01, 0.4, 0.2],
            "test": ["mcnemar", "mcnemar", "fisher", "two-proportion"],
            "significant": [True, True, False, False],
            "worse_while_overall_better": [False, True, True, False],
        },
        index=["All data", "quiet", "car_noise", "accent"],
    )
    assert callouts(table) == [
        "**Quiet** got worse while all data improved: 90.0% → 70.0% "
        "(-20.0 pts; McNemar (paired) p = 0.01, significant)",
        "**Car noise** got worse while all data improved: 50.0% → 45.0% "
        "(-5.0 pts; Fisher's exact p = 0.4, not significant: it could be chance)",
    ]
