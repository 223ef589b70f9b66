"""The demo project and the home page for someone who is not a member (issue 15).

A tester typed ``?user=mallory`` on a store with members: *Load data* offered "Open the
demo project", and clicking it failed twice with a refusal naming the user "demo" (the
demo was written as that user, not as mallory); the home page told mallory to load a file
as if the store were empty. Now the demo is (re)created as the user in the sidebar, the
button is off for whoever may not do it (saying which role in which project), and the home
page says the user is a member of no project here.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pagetest import assert_ok, run_page, texts

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.demo import DEMO_ITERATIONS, DEMO_PROJECT, DEMO_USER, create_demo_project
from slicewise.core.errors import PermissionDenied
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui.state import DEMO_DIR

pytestmark = pytest.mark.usefixtures("fresh")
LOAD, HOME = "pages/1_Load_data.py", "app.py"


def seed_demo(store: Store, owner: str = "olivia", *, with_dataset: bool = True) -> int:
    """A small project called like the demo's, owned by ``owner``, on a store with roles."""
    store.sign_in(owner)  # the first user: owner of every project from now on
    pid = store.get_or_create_project(DEMO_PROJECT, user=owner)
    if with_dataset:
        frame = pd.DataFrame(
            {"id": ["a", "b", "c"], "label": ["x", "y", "x"], "prediction": ["x", "x", "x"]}
        )
        dataset = dataset_from_frame(frame, ColumnMapping(id="id"), name="tiny.csv")
        store.save_dataset(pid, "tiny", dataset, task=TaskSpec(), user=owner)
    return pid


def counts(store: Store) -> tuple[int, int, int]:
    return len(store.list_projects()), len(store.list_datasets()), len(store.events())


def test_a_non_member_finds_the_demo_button_off_and_saying_why(store):
    seed_demo(store)
    before = counts(store)
    at = run_page(LOAD, user_name="mallory")
    assert_ok(at, no_errors=True)
    button = at.button(key="load_open_demo")
    assert button.disabled
    assert button.help == (
        "Needs the owner role in the project 'Demo': ask one of its owners "
        "to give it to you on the Team page."
    )
    assert counts(store) == before


@pytest.mark.parametrize(
    ("user", "with_dataset", "disabled"),
    [
        ("vic", True, False),  # a viewer sees the demo's datasets: the button only opens them
        ("vic", False, True),  # nothing to open: (re)creating it needs the owner role
        ("OLIVIA", False, False),  # the owner olivia, typed in capitals
        ("mallory", True, True),  # not a member
    ],
    ids=["viewer-opens", "viewer-cannot-create", "owner-any-case", "non-member"],
)
def test_the_demo_button_follows_the_role_in_the_demo_project(store, user, with_dataset, disabled):
    pid = seed_demo(store, with_dataset=with_dataset)
    store.set_member(pid, "vic", "viewer", user="olivia")
    at = run_page(LOAD, user_name=user)
    assert_ok(at, no_errors=True)
    button = at.button(key="load_open_demo")
    assert button.disabled is disabled
    assert (button.help or "").startswith("Needs the owner role") is disabled


def test_the_home_page_tells_a_non_member_whom_to_ask(store):
    seed_demo(store)
    at = run_page(HOME, user_name="mallory")
    assert_ok(at, no_errors=True)
    info = texts(at.info)
    assert (
        "You (mallory) are not a member of any project here (this store holds 1 project)" in info
        and "ask an owner" in info
    )
    assert "No dataset yet" not in info
    assert "You are not a member of any project here." in texts(at.sidebar.caption)


def test_on_an_empty_or_open_store_the_home_page_says_no_dataset_yet(store):
    at = run_page(HOME, user_name="mallory")
    assert "No dataset yet." in texts(at.info) and "not a member" not in texts(at.info)


def test_the_demo_is_made_as_the_user_in_the_sidebar(store):
    store.sign_in("olivia")  # roles enforced, no demo yet: anyone may create it, and owns it
    at = run_page(LOAD, user_name="mallory")
    at.button(key="load_open_demo").click().run()
    assert_ok(at, no_errors=True)
    pid = int(store.list_projects().set_index("name").loc[DEMO_PROJECT, "id"])
    assert store.role(pid, "mallory") == "owner"
    writers = set(store.events(project_id=pid)["user"])
    assert writers == {"mallory"}, writers
    assert set(store.list_datasets(pid)["created_by"]) == {"mallory"}


def test_recreating_the_demo_replaces_its_iterations_whoever_made_them(store):
    create_demo_project(store, DEMO_DIR)  # as the CLI does: the user "demo"
    ids = create_demo_project(store, DEMO_DIR, user="olivia")
    pid = int(store.list_projects().set_index("name").loc[DEMO_PROJECT, "id"])
    runs = store.list_iterations(pid)
    assert len(runs) == len(DEMO_ITERATIONS)  # the demo's, once: not twice
    assert set(runs["created_by"]) == {"olivia"}
    assert sorted(store.list_datasets(pid)["id"]) == sorted(ids)
    assert store.list_datasets(pid)["created_by"].eq("olivia").all()
    assert DEMO_USER in set(store.events(project_id=pid)["user"])  # the first demo's


def test_a_non_owner_cannot_recreate_the_demo_and_the_refusal_names_them(store):
    seed_demo(store)
    before = counts(store)
    with pytest.raises(
        PermissionDenied,
        match=r"^mallory cannot upload a dataset in project "
        r"'Demo'.*they are not a member",
    ):
        create_demo_project(store, DEMO_DIR, user="mallory")
    assert counts(store) == before
