"""Roles per project and which role each write of the store needs.

Three roles, each allowing what the one before it does:

- ``viewer``: reads every page and downloads every export;
- ``annotator``: also tags, corrects labels, reviews, sets tag settings and saves reports;
- ``owner``: also uploads and deletes datasets, saves iterations and annotation sets, and
  manages the project's members.

:data:`ACTIONS` is the table :class:`core.store.Store` enforces: every write method of the
store names its entry, and the store refuses it with :class:`core.errors.PermissionDenied`
when the user's role does not :func:`allow <allows>` it. Creating a project is not in the
table: any signed-in user may, and becomes its owner. A store with no members at all is
open (local single-user mode): everyone is an owner there.

Pure: no database, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from slicewise.core.errors import InvalidValueError

VIEWER, ANNOTATOR, OWNER = "viewer", "annotator", "owner"
#: The roles, from the one allowing least to the one allowing most.
ROLES: tuple[str, ...] = (VIEWER, ANNOTATOR, OWNER)
#: What each role may do, for help texts.
ROLE_HELP: Mapping[str, str] = MappingProxyType(
    {
        VIEWER: "reads every page and downloads every export",
        ANNOTATOR: "a viewer who also tags, corrects labels, reviews, changes tag settings and "
        "saves reports",
        OWNER: "an annotator who also uploads and deletes datasets, iterations and annotation "
        "sets, and manages the project's members",
    }
)


@dataclass(frozen=True)
class Action:
    """A write the store guards: the role it needs and how a message names it.

    Attributes
    ----------
    needed
        The least role allowed to do it (one of :data:`ROLES`).
    what
        The action as a verb phrase for messages, e.g. ``"delete a dataset"``.
    """

    needed: str
    what: str


#: Which role each write of :class:`core.store.Store` needs, keyed by the method's name.
ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        # owner: what the project holds, and who may work on it
        "save_dataset": Action(OWNER, "upload a dataset"),
        "rename_dataset": Action(OWNER, "rename a dataset"),
        "delete_dataset": Action(OWNER, "delete a dataset"),
        "save_iteration": Action(OWNER, "save an iteration"),
        "delete_iteration": Action(OWNER, "delete an iteration"),
        "save_annotation_set": Action(OWNER, "upload an annotation set"),
        "delete_annotation_set": Action(OWNER, "delete an annotation set"),
        "save_production_sample": Action(OWNER, "upload a production sample"),
        "delete_production_sample": Action(OWNER, "delete a production sample"),
        "set_member": Action(OWNER, "manage the project's members"),
        "remove_member": Action(OWNER, "manage the project's members"),
        # annotator: the work on the examples
        "create_tag": Action(ANNOTATOR, "create a tag"),
        "rename_tag": Action(ANNOTATOR, "rename a tag"),
        "merge_tags": Action(ANNOTATOR, "merge tags"),
        "delete_tag": Action(ANNOTATOR, "delete a tag"),
        "set_tag": Action(ANNOTATOR, "tag examples"),
        "apply_tag_rule": Action(ANNOTATOR, "apply a tag rule"),
        "set_tag_settings": Action(ANNOTATOR, "change tag settings (HLP, importance, ease)"),
        "apply_annotation_hlp": Action(ANNOTATOR, "save HLP from an annotation set"),
        "set_tag_scope": Action(ANNOTATOR, "say where a tag is known"),
        "mark_reviewed": Action(ANNOTATOR, "mark examples reviewed"),
        "save_review_sample": Action(ANNOTATOR, "draw a review sample"),
        "undo_last": Action(ANNOTATOR, "undo a tag change"),
        "correct_label": Action(ANNOTATOR, "correct a label"),
        "revert_correction": Action(ANNOTATOR, "revert a label correction"),
        "save_review_decision": Action(ANNOTATOR, "record a review decision"),
        "save_report": Action(ANNOTATOR, "save a report to the project"),
        "set_drift_thresholds": Action(ANNOTATOR, "change drift thresholds"),
    }
)


def check_role(role: Any) -> str:
    """Return ``role`` as one of :data:`ROLES` (surrounding spaces and case ignored).

    Raises
    ------
    InvalidValueError
        ``role`` is not a role's name.

    Examples
    --------
    >>> check_role(" Annotator")
    'annotator'
    """
    text = role.strip().lower() if isinstance(role, str) else None
    if text not in ROLES:
        raise InvalidValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    return text


def allows(role: str | None, needed: str) -> bool:
    """Return whether ``role`` may do what needs ``needed`` (``None``: not a member).

    Raises
    ------
    InvalidValueError
        ``needed`` (or a ``role`` that is not ``None``) is not one of :data:`ROLES`.

    Examples
    --------
    >>> allows("owner", "annotator"), allows("viewer", "annotator"), allows(None, "viewer")
    (True, False, False)
    """
    rank = ROLES.index(check_role(needed))
    return role is not None and ROLES.index(check_role(role)) >= rank


def needed(action: str) -> str:
    """Return the role the store write ``action`` (a :data:`ACTIONS` key) needs.

    Raises
    ------
    KeyError
        ``action`` is not in :data:`ACTIONS` (a programming error, not a user's).
    """
    return ACTIONS[action].needed


def refusal(
    action: str, *, user: str | None, role: str | None, project: str, owners: Sequence[str]
) -> str:
    """Return the message refusing ``action`` to ``user``: who, role, project, need and fix.

    Parameters
    ----------
    action
        A key of :data:`ACTIONS`.
    user
        Who asked (``None`` or blank: nobody signed in).
    role
        Their role in the project (``None``: not a member).
    project
        The project's name.
    owners
        The project's owners, to ask.

    Examples
    --------
    >>> print(refusal("delete_dataset", user="cid@example.org", role="viewer",
    ...               project="Demo", owners=["ana@example.org"]))
    cid@example.org cannot delete a dataset in project 'Demo': that needs the role owner, and \
they are a viewer. Ask an owner of 'Demo' (ana@example.org) to make you an owner on the Team \
page, or to run `slicewise members set --project 'Demo' cid@example.org owner`.
    """
    wanted = ACTIONS[action]
    who = (user or "").strip()
    if not who:
        return (
            f"sign in to {wanted.what} in project {project!r}: that needs the role {wanted.needed}"
        )
    being = f"they are {_article(role)} {role}" if role else "they are not a member"
    asked = ""
    if owners:
        asked = f" ({', '.join(owners[:3])}{' and others' if len(owners) > 3 else ''})"
    return (
        f"{who} cannot {wanted.what} in project {project!r}: that needs the role "
        f"{wanted.needed}, and {being}. Ask an owner of {project!r}{asked} to make you "
        f"{_article(wanted.needed)} {wanted.needed} on the Team page, or to run "
        f"`slicewise members set --project {project!r} {who} {wanted.needed}`."
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
