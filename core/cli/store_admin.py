"""Store administration commands: ``demo``, ``members`` (list, set, remove) and ``recover``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from slicewise.core.cli.group import DEMO_DIR, SlicewiseGroup, main
from slicewise.core.cli.options import db_option
from slicewise.core.errors import DataError, count_of
from slicewise.core.jsonable import dumps_json

if TYPE_CHECKING:
    from slicewise.core.store import RecoveryReport, Store


@main.command("demo")
@db_option
def demo_command(db: Path | None) -> None:
    """(Re)create the demo project from the files in demo_data/."""
    from slicewise.core.demo import create_demo_project
    from slicewise.core.store import Store

    store = Store(db)
    ids = create_demo_project(store, DEMO_DIR)
    click.echo(f"demo project ready in {store.path}: datasets {', '.join(map(str, ids))}")


# --------------------------------------------------------------------------- members


def _members_options(command: Callable) -> Callable:
    """Add the options every ``members`` command takes: the database and the project."""
    command = click.option(
        "--project", "project_ref", required=True, help="The project's name or id."
    )(command)
    return db_option(command)


def _user_option(command: Callable) -> Callable:
    """Add ``--user``: who makes the change (default: ``$USER``)."""
    return click.option(
        "--user",
        default=lambda: os.environ.get("USER", "cli"),
        help="Who makes the change: an owner of the project (default: $USER).",
    )(command)


def _open_project(db: Path | None, ref: str) -> tuple[Store, int, str]:
    """Open an existing store and find a project by id or name: (store, id, name)."""
    from slicewise.core.store import Store, default_db_path

    path = db if db is not None else default_db_path()
    if not Path(path).exists():
        raise DataError(f"{path}: no such database (check the path or --db)")
    store = Store(path)
    projects = store.list_projects()
    match = projects[
        (projects["id"].astype(str) == ref.strip()) | (projects["name"] == ref.strip())
    ]
    if match.empty:
        store.close()
        known = ", ".join(
            f"{i} {n!r}" for i, n in list(zip(projects["id"], projects["name"], strict=True))[:8]
        )
        raise DataError(
            f"{path}: no project matches --project {ref!r}; projects: {known or 'none'}"
        )
    return store, int(match["id"].iloc[0]), str(match["name"].iloc[0])


@main.group("members", cls=SlicewiseGroup)
def members_group() -> None:
    """List and change who may do what in a project (viewer, annotator, owner).

    A viewer reads and downloads; an annotator also tags, corrects labels and reviews;
    an owner also uploads and deletes datasets and manages members. A store without
    members is open: everyone may write (local single-user mode). The first member set
    on such a store makes --user the owner of every project.
    """


@members_group.command("list")
@_members_options
def members_list_command(db: Path | None, project_ref: str) -> None:
    """Print the project's members and roles, owners first."""
    store, pid, name = _open_project(db, project_ref)
    with store:
        members = store.members(pid)
        enforced = store.roles_enforced()
    if members.empty:
        click.echo(
            f"project {name!r} has no members"
            + ("" if enforced else ": the store is open, everyone may write")
        )
        return
    click.echo(members.to_string(index=False))


@members_group.command("set")
@_members_options
@click.argument("member")
@click.argument("role", type=click.Choice(["viewer", "annotator", "owner"], case_sensitive=False))
@_user_option
def members_set_command(
    db: Path | None, project_ref: str, member: str, role: str, user: str
) -> None:
    """Give MEMBER the ROLE (viewer, annotator or owner) in the project."""
    store, pid, name = _open_project(db, project_ref)
    with store:
        store.set_member(pid, member, role, user=user)
        now = store.role(pid, member)
    click.echo(
        f"{member.strip()} is {'an' if now[0] in 'aeiou' else 'a'} {now} of project {name!r}"
    )


@members_group.command("remove")
@_members_options
@click.argument("member")
@_user_option
def members_remove_command(db: Path | None, project_ref: str, member: str, user: str) -> None:
    """Take MEMBER's role in the project away."""
    store, pid, name = _open_project(db, project_ref)
    with store:
        store.remove_member(pid, member, user=user)
    click.echo(f"{member.strip()} is no longer a member of project {name!r}")


# --------------------------------------------------------------------------- recover


@main.command("recover")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLICEWISE_DB",
    help="The damaged database (default: $SLICEWISE_DB or "
    "~/.slicewise/slicewise.db); it is only read.",
)
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new database to create (it must not exist); its datasets' files go "
    "to <name>_files/ beside it.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="The report as a table or as JSON.",
)
def recover_command(db: Path | None, target: Path, fmt: str) -> None:
    """Copy what can still be read of a damaged store into a new one.

    Every readable row of every table (ids kept) and the files of the datasets whose rows
    survived; the damaged file is left as it is. Prints per table the rows copied and
    lost. Exit code 0 when everything was copied, 1 when rows or files were lost, 2 on
    errors.
    """
    from slicewise.core.store import default_db_path, files_dir_of, recover_store

    report = recover_store(db if db is not None else default_db_path(), target)
    if fmt == "json":
        click.echo(dumps_json(report.as_dict()))
    else:
        click.echo(_recovery_text(report, files_dir_of(report.source), files_dir_of(report.target)))
    if not report.complete:
        sys.exit(1)


def _recovery_text(report: RecoveryReport, old_files: Path, new_files: Path) -> str:
    """Render a :class:`core.store.RecoveryReport` as lines for the terminal."""
    lines = [
        f"recovered {report.source} into {report.target} (schema {report.schema_version}"
        f"; {report.source.name} was not changed)"
    ]
    rows = []
    for t in report.tables.values():
        notes = []
        if t.damaged:
            shown = "; ".join(t.unreadable) or "some rows"
            count = f" ({count_of(t.unreadable_ids, 'id')})" if t.unreadable_ids else ""
            stopped = ", search stopped early" if t.search_stopped else ""
            notes.append(f"unreadable: {shown}{count}{stopped}")
        if t.rejected:
            notes.append(f"{count_of(t.rejected, 'garbled row')} refused")
        if t.dropped:
            notes.append(f"{t.dropped:,} left out: {t.dropped_because}")
        if t.unlinked:
            notes.append(f"{count_of(t.unlinked, 'link')} to lost rows cleared")
        if t.stand_ins:
            notes.append(
                f"stand-in rows made for ids {', '.join(map(str, t.stand_ins))} "
                "(rows of the other tables belong to them)"
            )
        rows.append((t.name, f"{t.copied:,}", "; ".join(notes) or "-"))
    width = max([len("table"), *(len(r[0]) for r in rows)])
    count_width = max([len("rows"), *(len(r[1]) for r in rows)])
    lines.append(f"{'table':<{width}}  {'rows':>{count_width}}  lost")
    lines += [f"{a:<{width}}  {b:>{count_width}}  {c}" for a, b, c in rows]
    lines += _file_lines(report, old_files, new_files)
    lines += [f"warning: {w}" for w in report.warnings]
    if report.lost_tables:
        lines.append(
            f"rows were lost in {', '.join(report.lost_tables)}; a backup of "
            f"{report.source.name} may still hold them"
        )
    elif report.complete:
        lines.append("every row and file was copied")
    lines.append(f"next: point --db or $SLICEWISE_DB at {report.target}")
    return "\n".join(lines)


def _file_lines(report: RecoveryReport, old_files: Path, new_files: Path) -> list[str]:
    """Return the lines on the files :func:`recover_store` copied and those it could not."""
    lines: list[str] = []
    if report.datasets_copied:
        lines.append(
            f"dataset files copied to {new_files}: datasets "
            f"{', '.join(map(str, report.datasets_copied))}"
        )
    if report.datasets_lost:
        lines.append(
            f"datasets {', '.join(map(str, report.datasets_lost))}: their rows were "
            f"lost; their files stay in {old_files}"
        )
    if report.dataset_files_missing:
        lines.append(
            f"datasets {', '.join(map(str, report.dataset_files_missing))}: their "
            f"files are missing or unreadable in {old_files}; loading them will fail"
        )
    for what, files, ids in (
        ("annotation sets", "label files", report.annotation_files_missing),
        ("production samples", "files", report.production_files_missing),
    ):
        if ids:
            lines.append(
                f"{what} {', '.join(map(str, ids))}: their {files} are missing in {old_files}"
            )
    return lines
