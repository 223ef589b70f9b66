"""`slicewise members list|set|remove`, and the role check on a CLI write (`tag --db`)."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

OWNER = "ana@example.org"


@pytest.fixture
def db(tmp_path):
    """A store with project 'Demo' (id 1) and one dataset, owned by OWNER."""
    path = tmp_path / "s.db"
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "label": ["x", "y", "x"],
            "prediction": ["x", "x", "y"],
            "device": ["p", "q", "p"],
        }
    )
    with Store(path) as s:
        pid = s.get_or_create_project("Demo", user=OWNER)
        s.save_dataset(
            pid,
            "d",
            dataset_from_frame(frame, ColumnMapping(), name="f.csv"),
            task=TaskSpec(),
            user=OWNER,
        )
        s.sign_in(OWNER)
    return path


def run(*args: str):
    return CliRunner().invoke(main, ["members", *args])


def test_set_list_and_remove_members(db):
    result = run("set", "--db", str(db), "--project", "Demo", "bob", "Annotator", "--user", OWNER)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "bob is an annotator of project 'Demo'"
    result = run("list", "--db", str(db), "--project", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split() == ["member", "role", "added_by", "added_at"]
    assert [line.split()[:3] for line in lines[1:]] == [
        [OWNER, "owner", OWNER],
        ["bob", "annotator", OWNER],
    ]
    result = run("remove", "--db", str(db), "--project", "Demo", "bob", "--user", OWNER)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "bob is no longer a member of project 'Demo'"
    with Store(db) as s:
        assert s.members(1)["member"].tolist() == [OWNER]
        assert s.events()["kind"].tolist()[-2:] == ["member.set", "member.remove"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("set", "--project", "Demo", "bob", "owner", "--user", "bob"),
            "bob cannot manage the project's members in project 'Demo': that needs the role owner, "
            "and they are not a member",
        ),
        (
            ("remove", "--project", "Demo", OWNER, "--user", OWNER),
            f"{OWNER} is the last owner of project 'Demo'",
        ),
        (("list", "--project", "Nope"), "no project matches --project 'Nope'; projects: 1 'Demo'"),
    ],
)
def test_refusals_are_one_line_with_exit_code_2(db, args, message):
    command, *rest = args
    result = run(command, "--db", str(db), *rest)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("slicewise: error: ")
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unknown_role_is_a_usage_error(db):
    result = run("set", "--db", str(db), "--project", "Demo", "bob", "admin", "--user", OWNER)
    assert result.exit_code == 2
    assert "'admin' is not one of 'viewer', 'annotator', 'owner'" in result.output


def test_a_missing_database_is_not_created(tmp_path):
    result = run("list", "--db", str(tmp_path / "none.db"), "--project", "Demo")
    assert result.exit_code == 2
    assert "no such database" in result.output
    assert not (tmp_path / "none.db").exists()


def test_an_open_store_says_so(tmp_path):
    with Store(tmp_path / "s.db") as s:
        s.get_or_create_project("Solo", user="me")
    result = run("list", "--db", str(tmp_path / "s.db"), "--project", "Solo")
    assert result.exit_code == 0
    assert result.output.strip() == (
        "project 'Solo' has no members: the store is open, everyone may write"
    )


@pytest.mark.parametrize(("role", "code"), [("viewer", 2), ("annotator", 0)])
def test_tag_into_a_store_checks_the_role(db, role, code):
    with Store(db) as s:
        s.set_member(1, "cid", role, user=OWNER)
    result = CliRunner().invoke(
        main,
        [
            "tag",
            "--db",
            str(db),
            "--dataset",
            "d",
            "--rule",
            "device == p",
            "--tag",
            "on_p",
            "--user",
            "cid",
        ],
    )
    assert result.exit_code == code, result.output
    with Store(db) as s:
        if code:
            assert result.output.strip() == (
                "slicewise: error: cid cannot create a tag in project 'Demo': that needs the "
                "role annotator, and they are a viewer. Ask an owner of 'Demo' "
                f"({OWNER}) to make you an annotator on the Team page, or to run `slicewise "
                "members set --project 'Demo' cid annotator`."
            )
            assert list(s.tag_matrix(1).columns) == []
        else:
            assert s.tag_matrix(1)["on_p"].tolist() == [True, False, True]
