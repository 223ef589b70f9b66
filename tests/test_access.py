"""core.access: the three roles, what each allows, and the message refusing a write."""

from __future__ import annotations

import doctest

import pytest

from slicewise.core import access
from slicewise.core.errors import DataError, InvalidValueError, PermissionDenied

# What each role may do, written out from the issue (viewer < annotator < owner).
RANK = {"viewer": 0, "annotator": 1, "owner": 2}


def test_the_roles_are_ordered_from_least_to_most():
    assert access.ROLES == ("viewer", "annotator", "owner")
    assert (access.VIEWER, access.ANNOTATOR, access.OWNER) == access.ROLES


@pytest.mark.parametrize("needed", list(RANK))
@pytest.mark.parametrize("role", [*RANK, None])
def test_a_role_allows_what_needs_it_or_less(role, needed):
    expected = role is not None and RANK[role] >= RANK[needed]
    assert access.allows(role, needed) is expected


@pytest.mark.parametrize(
    ("given", "expected"), [(" Owner ", "owner"), ("VIEWER", "viewer"), ("annotator", "annotator")]
)
def test_a_role_is_read_without_case_or_spaces(given, expected):
    assert access.check_role(given) == expected


@pytest.mark.parametrize("bad", ["admin", "", None, 2, "owners"])
def test_an_unknown_role_is_refused_naming_the_roles(bad):
    with pytest.raises(InvalidValueError, match="viewer, annotator, owner"):
        access.check_role(bad)
    with pytest.raises(InvalidValueError):
        access.allows(bad if bad is not None else "x", "viewer")


# The issue's table: uploads, deletes and members need owner; the work on examples annotator.
OWNER_WRITES = {
    "save_dataset",
    "rename_dataset",
    "delete_dataset",
    "save_iteration",
    "delete_iteration",
    "save_annotation_set",
    "delete_annotation_set",
    "set_member",
    "remove_member",
    "save_production_sample",
    "delete_production_sample",
}
ANNOTATOR_WRITES = {
    "create_tag",
    "rename_tag",
    "merge_tags",
    "delete_tag",
    "set_tag",
    "apply_tag_rule",
    "set_tag_settings",
    "apply_annotation_hlp",
    "set_tag_scope",
    "mark_reviewed",
    "save_review_sample",
    "undo_last",
    "correct_label",
    "revert_correction",
    "save_review_decision",
    "save_report",
    "set_drift_thresholds",
}


def test_the_table_gives_each_write_the_role_the_issue_names():
    assert {a for a, act in access.ACTIONS.items() if act.needed == "owner"} == OWNER_WRITES
    assert {a for a, act in access.ACTIONS.items() if act.needed == "annotator"} == ANNOTATOR_WRITES
    assert set(access.ACTIONS) == OWNER_WRITES | ANNOTATOR_WRITES  # nothing needs viewer only


def test_a_refusal_names_who_their_role_the_project_the_need_and_whom_to_ask():
    text = access.refusal(
        "delete_dataset",
        user="cid@example.org",
        role="viewer",
        project="Demo",
        owners=["ana@example.org", "bob@example.org"],
    )
    for part in (
        "cid@example.org",
        "a viewer",
        "'Demo'",
        "delete a dataset",
        "needs the role owner",
        "ana@example.org, bob@example.org",
        "Team page",
        "slicewise members set --project 'Demo' cid@example.org owner",
    ):
        assert part in text, part


@pytest.mark.parametrize(
    ("user", "role", "expected"),
    [
        ("eve", None, "they are not a member"),
        ("eve", "annotator", "they are an annotator"),
        ("", None, "sign in to manage the project's members"),
        (None, None, "sign in to manage the project's members"),
    ],
)
def test_a_refusal_says_what_the_user_is(user, role, expected):
    text = access.refusal("set_member", user=user, role=role, project="P", owners=["o"])
    assert expected in text


def test_a_refusal_lists_at_most_three_owners():
    text = access.refusal(
        "set_tag", user="v", role="viewer", project="P", owners=["o1", "o2", "o3", "o4"]
    )
    assert "(o1, o2, o3 and others)" in text and "o4" not in text


def test_permission_denied_is_a_data_error():
    # So the CLI prints one line with exit code 2 and pages show st.error.
    assert issubclass(PermissionDenied, DataError)


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(access).failed == 0
