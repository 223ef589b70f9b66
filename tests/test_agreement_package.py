"""core.agreement is a package of rooms; every name the old single module offered still imports.

The rooms: long_table, loading, encoding, measures, summary, annotators, consensus, classes,
slices, review, rules (see the package docstring).
"""

from __future__ import annotations

import importlib

import pytest

import slicewise.core.agreement as ag

# Every public name of the former core/agreement.py, and the room it lives in now.
HOMES = {
    "long_table": [
        "ANNOTATOR",
        "COMMENT",
        "ITEM",
        "LABEL",
        "LONG_COLUMNS",
        "TIME",
        "DuplicateAnnotationError",
        "check_labels",
        "clean_label_values",
    ],
    "loading": [
        "ANNOTATION_ROLE_NAMES",
        "Annotations",
        "annotations_from_frame",
        "load_annotations",
    ],
    "encoding": [
        "Cells",
        "LabelCodes",
        "cells_from_counts",
        "compute_label_counts",
        "encode_labels",
    ],
    "measures": [
        "compute_coincidence_matrix",
        "compute_cohen_kappa_matrix",
        "compute_pairwise_agreement",
    ],
    "summary": [
        "METRICS",
        "SUMMARY_COLUMNS",
        "agreement_caution",
        "compute_agreement_from_counts",
        "compute_agreement_summary",
        "summarize_annotations",
    ],
    "annotators": ["compute_annotator_stats", "compute_annotator_weights"],
    "consensus": ["compute_consensus"],
    "classes": ["compute_class_agreement", "find_confused_pairs"],
    "slices": [
        "HLP_SOURCES",
        "LinkedItems",
        "compute_agreement_by_slice",
        "link_predictions",
        "prediction_matches",
    ],
    "review": [
        "BORDERLINE",
        "BY_DECISION",
        "BY_MAJORITY",
        "BY_TIE",
        "FINAL_LABEL_COLUMNS",
        "REVIEW_COLUMNS",
        "compute_final_labels",
        "final_labels_csv",
        "find_disagreements",
    ],
    "rules": [
        "CHANGELOG_COLUMNS",
        "MergeClasses",
        "NormalizeText",
        "apply_rules",
        "changelog_csv",
        "preview_rules",
    ],
}


@pytest.mark.parametrize(
    ("room", "name"), [(room, name) for room, names in HOMES.items() for name in names]
)
def test_old_names_are_the_rooms_objects(room, name):
    module = importlib.import_module(f"slicewise.core.agreement.{room}")
    assert getattr(ag, name) is getattr(module, name)
    assert name in ag.__all__


def test_type_aliases_and_overall_still_import():
    from slicewise.core.agreement import OVERALL, Layout, Level, Rule
    from slicewise.core.metrics import OVERALL as METRICS_OVERALL

    assert OVERALL == METRICS_OVERALL == "All data"
    assert Rule is not None and Layout is not None and Level is not None


def test_the_public_names_are_exactly_the_old_ones():
    old = {name for names in HOMES.values() for name in names}
    old |= {"OVERALL", "Layout", "Level", "Rule"}
    assert set(ag.__all__) == old
