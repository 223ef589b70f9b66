"""Who is there, on the pages (AppTest): local name and links, OIDC and proxy screens.

- Local mode: the name, dataset and slice-by live in the URL, so a reload (a new session on
  the same URL) opens the same view, and page links carry them.
- OpenID Connect (an ``[auth]`` secret): nobody signed in sees only a sign-in screen; a
  signed-in user is named by ``st.user`` (email, else sub), cannot be renamed by a link or a
  text box, and every write carries that identity.
- Proxy mode: refused unless the connection comes from a trusted proxy (AppTest has no
  network peer: the trusted path is driven in Chromium in ``test_auth_proxy_e2e.py``).
"""

from __future__ import annotations

import pandas as pd
import pytest
from pagetest import ROOT, TIMEOUT, assert_ok, texts
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.task import TaskSpec

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s" * 32,
    "client_id": "slicewise",
    "client_secret": "not-a-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture
def two_datasets(store) -> tuple[int, int]:
    """Two small datasets with a ``device`` column, in one project."""
    frame = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(12)],
            "label": ["a", "b"] * 6,
            "prediction": ["a"] * 12,
            "device": ["phone", "laptop", "car"] * 4,
        }
    )
    mapping = ColumnMapping(label="label", prediction="prediction", id="id")
    project = store.get_or_create_project("P", user="seed")
    return tuple(
        store.save_dataset(
            project,
            name,
            dataset_from_frame(frame, mapping, name=f"{name}.csv"),
            task=TaskSpec(kind="text"),
            user="seed",
        )
        for name in ("first", "second")
    )


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("SLICEWISE_PROXY_HEADER", "SLICEWISE_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)


def page(
    file: str = "app.py",
    *,
    query: dict | None = None,
    secrets: dict | None = None,
    user: dict | None = None,
) -> AppTest:
    at = AppTest.from_file(str(ROOT / file), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    if secrets:
        at.secrets["auth"] = secrets
    if user is not None:
        at.user = user
    return at.run()


# ----------------------------------------------------------------------------- local mode


def test_a_url_with_name_dataset_and_slice_by_opens_that_view(two_datasets):
    first, _ = two_datasets
    at = page(query={"user": "Ana", "dataset": str(first), "slice_by": "device"})
    assert_ok(at, no_errors=True)
    assert at.sidebar.text_input(key="user_name").value == "Ana"
    assert at.session_state["dataset_id"] == first
    assert at.session_state["shared_slice_by"] == ["device"]


def test_choices_are_written_to_the_url_so_a_reload_keeps_them(two_datasets):
    first, second = two_datasets
    at = page()
    at.sidebar.text_input(key="user_name").set_value("Ana").run()
    at.sidebar.selectbox(key="dataset_id").set_value(first).run()
    assert_ok(at, no_errors=True)
    assert at.query_params["user"] == "Ana"
    assert at.query_params["dataset"] == str(first)

    reloaded = page(query=dict(at.query_params))  # a new session on the same address
    assert reloaded.sidebar.text_input(key="user_name").value == "Ana"
    assert reloaded.session_state["dataset_id"] == first != second


def test_page_links_carry_dataset_slice_by_and_name(two_datasets):
    first, _ = two_datasets
    at = page(query={"user": "Ana", "dataset": str(first), "slice_by": ["device", "region"]})
    links = at.get("page_link")
    assert len(links) >= 9
    expected = f"dataset={first}&slice_by=device&slice_by=region&user=Ana"
    assert {link.proto.query_string for link in links} == {expected}


def test_slice_by_also_reads_comma_separated(two_datasets):
    at = page(query={"slice_by": "device,region"})
    assert at.session_state["shared_slice_by"] == ["device,region", "device", "region"]
    at = page("pages/3_Slices_vs_HLP.py", query={"slice_by": "device,region"})
    assert_ok(at)
    assert at.session_state["shared_slice_by"] == ["device"]  # only real columns stay


# ----------------------------------------------------------------------------- OIDC


def test_nobody_signed_in_sees_only_the_sign_in_screen(two_datasets):
    at = page(secrets=AUTH, user={"is_logged_in": False})
    assert_ok(at, no_errors=True)
    assert [t.value for t in at.title] == ["Sign in to Slicewise"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.selectbox and not at.sidebar.text_input


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        ({"email": "ana@example.org", "sub": "248289761001", "name": "Ana"}, "ana@example.org"),
        ({"sub": "248289761001"}, "248289761001"),
    ],
)
def test_a_signed_in_user_is_named_by_the_provider_not_by_a_link(two_datasets, claims, identity):
    at = page(secrets=AUTH, user={"is_logged_in": True, **claims}, query={"user": "Mallory"})
    assert_ok(at)
    assert not at.sidebar.text_input  # no name to type
    assert f"Signed in as **{identity}**" in texts(at.sidebar.markdown)
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert "user" not in at.query_params
    assert "user=" not in at.get("page_link")[0].proto.query_string


def test_every_write_carries_the_signed_in_identity(two_datasets, store):
    first, _ = two_datasets
    at = page(
        "pages/2_Tag_errors.py",
        secrets=AUTH,
        query={"dataset": str(first)},
        user={"is_logged_in": True, "email": "ana@example.org"},
    )
    assert_ok(at)
    at.text_input(key="tag_new").set_value("car_noise").run()
    at.button(key="tag_create").click().run()
    assert_ok(at, no_errors=True)
    made = store.events()
    assert made.loc[made["kind"] == "tag.create", "user"].tolist() == ["ana@example.org"]
    # The first identity to sign in became the owner of the store's projects.
    assert store.roles_enforced()
    assert store.role(int(store.list_projects()["id"].iloc[0]), "ana@example.org") == "owner"


def test_a_provider_that_names_nobody_is_an_error_not_anonymous(two_datasets):
    at = page(secrets=AUTH, user={"is_logged_in": True, "name": "Ana"})
    assert_ok(at)
    assert "named no user" in at.error[0].value
    assert not at.sidebar.selectbox


# ----------------------------------------------------------------------------- proxy


def test_proxy_mode_refuses_a_connection_that_is_not_a_trusted_proxy(two_datasets, monkeypatch):
    monkeypatch.setenv("SLICEWISE_PROXY_HEADER", "X-Forwarded-Email")
    monkeypatch.setenv("SLICEWISE_TRUSTED_PROXIES", "192.0.2.1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    at = page(query={"user": "Mallory"})
    assert_ok(at)
    assert [t.value for t in at.title] == ["Sign-in refused"]
    assert "which is not one" in at.error[0].value
    assert not at.sidebar.selectbox and not at.sidebar.text_input


@pytest.mark.parametrize(
    ("env", "secrets", "message"),
    [
        (
            {
                "SLICEWISE_PROXY_HEADER": "X-Forwarded-Email",
                "SLICEWISE_TRUSTED_PROXIES": "127.0.0.1",
            },
            None,
            "slicewise app \\-\\-proxy\\-header",
        ),  # the server would believe X-Forwarded-For
        ({"SLICEWISE_PROXY_HEADER": "X-Forwarded-Email"}, None, "SLICEWISE\\_TRUSTED\\_PROXIES"),
        (
            {
                "SLICEWISE_PROXY_HEADER": "X-Forwarded-Email",
                "SLICEWISE_TRUSTED_PROXIES": "127.0.0.1",
                "FORWARDED_ALLOW_IPS": "",
            },
            AUTH,
            "keep one",
        ),
    ],
)
def test_misconfigured_sign_in_stops_with_the_reason(
    two_datasets, monkeypatch, env, secrets, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = page(secrets=secrets)
    assert_ok(at)
    assert "Sign-in is misconfigured" in at.error[0].value
    assert message in at.error[0].value
    assert not at.sidebar.selectbox
