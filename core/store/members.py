"""Members of a project and their roles (:mod:`core.access`), and the first sign-in."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slicewise.core import access
from slicewise.core.auth_config import MAX_IDENTITY_LENGTH
from slicewise.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
)
from slicewise.core.store.common import (
    _clean_name,
    _clean_user,
    _few,
    _member_key,
    _now,
)
from slicewise.core.store.migrations import (
    _MEMBERS_SCHEMA,
)

#: The event recording that a store stopped being open (:meth:`Store.sign_in`): from it on,
#: writes check roles even before the store has a member.
FIRST_USER_EVENT = "store.first_user"


class MembersMixin:
    """Give people roles in a project and check them on every write."""

    def roles_enforced(self) -> bool:
        """Return whether writes check roles: once the store has a member or a sign-in.

        A store nobody signed in to and with no members (local single-user mode) is open:
        everyone may write, as an owner. It stops being open when the first user signs in
        (:meth:`sign_in`) or someone is given a role (:meth:`set_member`), for good.
        """
        with self._lock:
            if self.schema_version < _MEMBERS_SCHEMA:  # older code's schema: no members
                return False
            found = self.db.execute(
                "SELECT EXISTS (SELECT 1 FROM members) OR EXISTS (SELECT 1 FROM events "
                "WHERE kind = ?)",
                [FIRST_USER_EVENT],
            ).fetchone()
        return bool(found[0])

    def sign_in(self, user: str) -> str | None:
        """Record that a signed-in identity arrived: the store's first becomes owner.

        On an open store (:meth:`roles_enforced` is False), ``user`` becomes the owner of
        every project, and the store enforces roles from then on (also when it has no
        project yet: each project created after is owned by its creator). Otherwise, and
        on a read-only store, nothing is written. Call it whenever a signed-in identity
        arrives (each session).

        Parameters
        ----------
        user
            The signed-in identity (e.g. an e-mail address from the identity provider).

        Returns
        -------
        str or None
            What changed, e.g. ``"ana@example.org is the first user of this store and the
            owner of its 2 projects"``; ``None`` when nothing did.

        Raises
        ------
        StoreError
            A blank ``user``.
        """
        user = _clean_user(user)
        if self.roles_enforced() or self.read_only:
            # A read-only store cannot record a first owner; reading must still work.
            return None
        with self._write():
            if self.roles_enforced():  # another session signed in first
                return None
            names = self._claim_open_store(user, _now(), why="the first user who signed in")
        projects = (
            f"its {len(names)} project{'s' if len(names) != 1 else ''}"
            if names
            else "each project they create"
        )
        return f"{user} is the first user of this store and the owner of {projects}"

    def _claim_open_store(self, user: str, at: str, *, why: str) -> list[str]:
        """Make ``user`` owner of every project of an open store; return the projects' names.

        Runs inside a write transaction; records one ``member.set`` event per project and a
        :data:`FIRST_USER_EVENT`, which keeps roles enforced even with no project yet.
        """
        projects = self._rows("SELECT id, name FROM projects ORDER BY id")
        for p in projects:
            self._put_member(
                int(p["id"]), user, access.OWNER, user=user, at=at, previous=None, why=why
            )
        self._event(
            FIRST_USER_EVENT, user=user, at=at, why=why, projects=[p["name"] for p in projects]
        )
        return [str(p["name"]) for p in projects]

    def _put_member(
        self,
        project_id: int,
        member: str,
        role: str,
        *,
        user: str,
        at: str,
        previous: str | None,
        why: str = "",
    ) -> None:
        self.db.execute(
            "INSERT INTO members (project_id, member, role, added_by, added_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, member) DO UPDATE SET "
            "role = excluded.role, added_by = excluded.added_by, "
            "added_at = excluded.added_at",
            [project_id, member, role, user, at],
        )
        self._event(
            "member.set",
            user=user,
            at=at,
            project_id=project_id,
            member=member,
            role=role,
            previous=previous,
            **({"why": why} if why else {}),
        )

    def _member_rows(self, project_id: int | None, member: str) -> list[dict[str, Any]]:
        """Return ``member``'s rows (``project_id``, ``member``, ``role``) in a project or all.

        Names match regardless of case (:func:`_member_key`); a row spelled exactly as
        ``member`` comes first (a store written before may hold two spellings).
        """
        key, given = _member_key(member), str(member).strip()
        where, params = (
            ("WHERE project_id = ?", [project_id]) if project_id is not None else ("", [])
        )
        rows = [
            r
            for r in self._rows(
                f"SELECT project_id, member, role FROM members {where} ORDER BY added_at", params
            )
            if _member_key(r["member"]) == key
        ]
        return sorted(rows, key=lambda r: r["member"] != given)

    def _member_role(self, project_id: int, member: str | None) -> str | None:
        if member is None:
            return None
        rows = self._member_rows(project_id, member)
        return rows[0]["role"] if rows else None

    def _stored_member(self, project_id: int, member: str) -> str:
        """Return the name ``member`` is stored under in the project (else ``member``)."""
        rows = self._member_rows(project_id, member)
        return str(rows[0]["member"]) if rows else member

    def role(self, project_id: int, user: str | None) -> str | None:
        """Return ``user``'s role in a project (one of :data:`core.access.ROLES`).

        Parameters
        ----------
        project_id
            The project.
        user
            Who asks (``None``: nobody signed in).

        Returns
        -------
        str or None
            ``"owner"`` for everyone while the store is open (:meth:`roles_enforced` is
            False); once roles are enforced, the member's role, or ``None`` for someone who
            is not a member (or ``None`` as ``user``).

        Raises
        ------
        StoreError
            Unknown project.
        """
        pid = self._project_row(project_id)["id"]
        if not self.roles_enforced():
            return access.OWNER
        return self._member_role(pid, user)

    def _require(self, project_id: int, user: str | None, action: str) -> None:
        """Refuse ``action`` (a :data:`core.access.ACTIONS` key) unless the role allows it.

        Called first thing inside the write's transaction, so a refused write changes
        nothing.

        Raises
        ------
        PermissionDenied
            Roles are enforced and ``user``'s role in the project is below what
            ``action`` needs (or they are not a member).
        """
        if not self.roles_enforced():
            return
        role = self._member_role(project_id, user)
        if access.allows(role, access.needed(action)):
            return
        project = self._project_row(project_id)
        owners = [
            r["member"]
            for r in self._rows(
                "SELECT member FROM members WHERE project_id = ? AND role = ? ORDER BY added_at",
                [project["id"], access.OWNER],
            )
        ]
        raise PermissionDenied(
            access.refusal(action, user=user, role=role, project=project["name"], owners=owners)
        )

    def set_member(self, project_id: int, member: str, role: str, *, user: str) -> None:
        """Give ``member`` a role in a project (adding them, or changing their role).

        Needs owner. On an open store, ``user`` first becomes the owner of every project
        (as the first user who signs in would), so the store never locks everyone out.

        Parameters
        ----------
        project_id
            The project.
        member
            The identity to give the role (as they sign in, e.g. an e-mail address).
        role
            ``"viewer"``, ``"annotator"`` or ``"owner"`` (case ignored).
        user
            Who gives it (an owner of the project).

        Raises
        ------
        PermissionDenied
            ``user`` is not an owner of the project.
        InvalidValueError
            ``role`` is not a role.
        StoreError
            Unknown project, a blank member, or the change would leave the project without
            an owner (the last owner cannot be demoted).
        """
        member = _clean_name(member, "member", limit=MAX_IDENTITY_LENGTH)
        role = access.check_role(role)
        user = _clean_user(user)
        with self._write():
            project = self._project_row(project_id)
            pid = project["id"]
            at = _now()
            if not self.roles_enforced():
                self._claim_open_store(user, at, why="the first user who managed members")
            self._require(pid, user, "set_member")
            member = self._stored_member(pid, member)  # "OLIVIA" changes olivia's role
            previous = self._member_role(pid, member)
            if previous == role:
                return
            if previous == access.OWNER:
                self._check_other_owner(project, member)
            self._put_member(pid, member, role, user=user, at=at, previous=previous)

    def remove_member(self, project_id: int, member: str, *, user: str) -> None:
        """Take ``member``'s role in a project away. Needs owner.

        Raises
        ------
        PermissionDenied
            ``user`` is not an owner of the project.
        StoreError
            Unknown project, ``member`` is not a member, or they are its last owner.
        """
        member = _clean_name(member, "member", limit=MAX_IDENTITY_LENGTH)
        user = _clean_user(user)
        with self._write():
            project = self._project_row(project_id)
            pid = project["id"]
            self._require(pid, user, "remove_member")
            member = self._stored_member(pid, member)
            previous = self._member_role(pid, member)
            if previous is None:
                known = [
                    r["member"]
                    for r in self._rows(
                        "SELECT member FROM members WHERE project_id = ? ORDER BY member", [pid]
                    )
                ]
                raise NotFoundError(
                    f"{member!r} is not a member of project {project['name']!r}; "
                    f"its members are {_few(known, 12) or 'none'}"
                )
            if previous == access.OWNER:
                self._check_other_owner(project, member)
            self.db.execute(
                "DELETE FROM members WHERE project_id = ? AND member = ?", [pid, member]
            )
            self._event(
                "member.remove",
                user=user,
                at=_now(),
                project_id=pid,
                member=member,
                previous=previous,
            )

    def _check_other_owner(self, project: dict[str, Any], member: str) -> None:
        others = [
            r
            for r in self._rows(
                "SELECT member FROM members WHERE project_id = ? AND role = ?",
                [project["id"], access.OWNER],
            )
            if _member_key(r["member"]) != _member_key(member)
        ]
        if not others:
            raise ConflictError(
                f"{member} is the last owner of project {project['name']!r}, "
                "which must keep one: make someone else an owner first"
            )

    def members(self, project_id: int) -> pd.DataFrame:
        """Return a project's members, owners first, then annotators, then viewers.

        Parameters
        ----------
        project_id
            The project.

        Returns
        -------
        pandas.DataFrame
            Columns ``member``, ``role`` (:data:`core.access.ROLES`), ``added_by`` and
            ``added_at`` (who gave the current role, UTC ISO-8601); by role, then member.
            Empty on an open store.

        Raises
        ------
        StoreError
            Unknown project.
        """
        pid = self._project_row(project_id)["id"]
        cols = ["member", "role", "added_by", "added_at"]
        return self._frame(
            "SELECT member, role, added_by, added_at FROM members "
            "WHERE project_id = ? ORDER BY CASE role WHEN 'owner' THEN 0 "
            "WHEN 'annotator' THEN 1 ELSE 2 END, member",
            [pid],
            cols,
        )
