"""Page scaffolding: the store, the sidebar selections, flash messages and the data guard.

Session-state keys shared by every page (page-specific keys are prefixed with the page name):

- ``dataset_id``: the dataset in use (sidebar selectbox, kept across pages).
- ``project_id``: the project whose datasets the sidebar lists.
- ``user_name``: the display name typed in the sidebar (local mode, no sign-in).
- ``_signed_in_identity``: the signed-in user (OpenID Connect or trusted proxy, see
  :mod:`ui.auth`); when set it, not the typed name, is passed as ``user=`` to every write.
- ``shared_slice_by``: metadata columns chosen on *Slices vs HLP*, reused by *Prioritise*
  and *Export*.

The URL keeps the dataset (``?dataset=3``), the slice-by columns (``?slice_by=device``,
repeated per column) and, without sign-in, the typed name (``?user=Ana``): a reload or a
shared link opens the same view; :func:`page_link` links carry them too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from slicewise.core import access
from slicewise.core.errors import DataError
from slicewise.core.store import Store
from slicewise.ui import auth
from slicewise.ui.text import md

DB_ENV = "SLICEWISE_DB"
ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo_data"

PROJECT = "project_id"
DATASET = "dataset_id"
USER = "user_name"
SLICE_BY = "shared_slice_by"
_PENDING = "_pending_dataset_id"
_FLASH = "_flash"
_IDENTITY = "_signed_in_identity"
_SIGNED_IN = "_store_signed_in"
_MODE = "_sign_in_mode"
_ADVICE_SHOWN = "_store_advice_shown"  # the store's advice already on the page in this run
ANONYMOUS = "anonymous"
_T = TypeVar("_T")
_STOP: Any = object()  # read(): no fallback given, stop the page

LOAD_PAGE = "pages/1_Load_data.py"
TAG_PAGE = "pages/2_Tag_errors.py"
SLICES_PAGE = "pages/3_Slices_vs_HLP.py"
PRIORITISE_PAGE = "pages/4_Prioritise.py"
EXPORT_PAGE = "pages/5_Export.py"
LABELS_PAGE = "pages/6_Label_consistency.py"
COMPARE_PAGE = "pages/7_Compare_iterations.py"
SPLITS_PAGE = "pages/8_Balanced_splits.py"
SUGGEST_PAGE = "pages/9_Suggested_slices.py"
TEAM_PAGE = "pages/10_Team.py"
#: The workflow in order: (page file, label, icon, what the step does).
WORKFLOW: tuple[tuple[str, str, str, str], ...] = (
    (
        LOAD_PAGE,
        "Load data",
        ":material/upload_file:",
        "upload predictions (CSV, TSV, Parquet) or open the demo project",
    ),
    (
        TAG_PAGE,
        "Tag errors",
        ":material/sell:",
        "review the errors like a spreadsheet and tag their causes",
    ),
    (
        SLICES_PAGE,
        "Slices vs HLP",
        ":material/bar_chart:",
        "compare accuracy per tag with human-level performance",
    ),
    (
        PRIORITISE_PAGE,
        "Prioritise",
        ":material/low_priority:",
        "rank the slices by gap × share, weighted by importance and ease",
    ),
    (
        EXPORT_PAGE,
        "Export",
        ":material/download:",
        "download the report as CSV, Markdown, JSON or HTML",
    ),
    (
        LABELS_PAGE,
        "Label consistency",
        ":material/groups:",
        "measure how well annotators agree, review their disagreements, get HLP per tag",
    ),
    (
        COMPARE_PAGE,
        "Compare iterations",
        ":material/compare_arrows:",
        "after a data change, see slice by slice what got better or worse, and whether it is real",
    ),
    (
        SPLITS_PAGE,
        "Balanced splits",
        ":material/call_split:",
        "split small data into train/dev/test with the same class and tag shares",
    ),
    (
        SUGGEST_PAGE,
        "Suggested slices",
        ":material/travel_explore:",
        "let the data point at weak slices nobody tagged, and at labels that look wrong",
    ),
    (
        TEAM_PAGE,
        "Team",
        ":material/group:",
        "see who may do what in the project (viewer, annotator, owner) and who did what",
    ),
)


def db_path() -> str:
    """Return the database path from ``$SLICEWISE_DB`` ("" means the store's default)."""
    return os.environ.get(DB_ENV, "")


@st.cache_resource(max_entries=4, show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path or None)


def get_store() -> Store:
    """Return the store for the current database path (one per path, shared by sessions)."""
    return _open_store(db_path())


@dataclass(frozen=True)
class Context:
    """What the sidebar selected: the store, the project, the dataset and the user.

    ``role`` is the user's role in the project (:meth:`core.store.Store.role`: ``"owner"``
    for everyone on a store without members; ``None`` for a non-member or no project);
    :func:`can` asks whether it allows a write.
    """

    store: Store
    db: str
    project_id: int | None
    dataset_id: int | None
    user: str
    role: str | None = None


def can(ctx: Context, needed: str) -> bool:
    """Return whether the user's role in the selected project allows what needs ``needed``.

    ``needed`` is one of :data:`core.access.ROLES`; pages disable the controls it refuses
    (the store refuses the write anyway, see :data:`core.access.ACTIONS`). A read-only
    store allows nothing (:attr:`core.store.Store.read_only`; :func:`needs` says why).
    """
    return not ctx.store.read_only and access.allows(ctx.role, needed)


def allowed(store: Store, project_id: int, user: str, needed: str) -> bool:
    """Return whether ``user``'s role in another project than the selected one allows it."""
    return not store.read_only and access.allows(store.role(project_id, user), needed)


def needs(needed: str, *, project: str | None = None) -> str:
    """Return the help text of a control disabled for want of the role ``needed``.

    ``project`` names the project when it is not the one selected in the sidebar (e.g.
    the demo project). On a read-only store, why nothing can be saved there
    (:func:`read_only_help`).
    """
    if project is not None:
        return (
            read_only_help(get_store())
            or f"Needs the {needed} role in the project {project!r}: ask one of its "
            "owners to give it to you on the Team page."
        )
    return (
        read_only_help(get_store())
        or f"Needs the {needed} role in this project: ask an owner on the Team page."
    )


# --------------------------------------------------------------------------- messages


def flash(message: str, kind: str = "success") -> None:
    """Queue a message to show at the top of the next run (callbacks and reruns lose output)."""
    st.session_state.setdefault(_FLASH, []).append((kind, message))


def show_flash() -> None:
    """Show and clear the queued messages."""
    for kind, message in st.session_state.pop(_FLASH, []):
        # Messages quote names and values from users' files: shown literally.
        if kind == "error":
            st.error(md(error_text(message)), icon=":material/error:")
        elif kind == "warning":
            st.warning(md(message), icon=":material/warning:")
        else:
            st.toast(md(message), icon=":material/check_circle:")


def run_write(
    action: Callable[..., Any],
    *args: Any,
    success: str | Callable[[Any], str] | None = None,
    **kwargs: Any,
) -> bool:
    """Call a store write; a :class:`DataError` becomes a flash error instead of a traceback.

    ``success`` is the message to flash when it worked (or a function of the action's
    result returning it). Returns whether the write succeeded.
    """
    try:
        result = action(*args, **kwargs)
    except DataError as exc:
        flash(str(exc), "error")
        return False
    if success:
        flash(success(result) if callable(success) else success)
    return True


def error_text(error: object) -> str:
    """Return the text of an error to show, the store's advice in it once per page run.

    A read-only or damaged store ends its messages with what to do about it
    (:attr:`core.store.Store.read_only_advice`: for a damaged one, a paragraph on how to
    recover). The first message of a run showing it (usually the banner of
    :func:`read_only_banner`) keeps it; later ones point to it instead.
    """
    text = str(error)
    try:
        advice = get_store().read_only_advice
    except DataError:  # the store cannot be opened at all: the error says why, whole
        return text
    if not advice or advice not in text:
        return text
    if st.session_state.get(_ADVICE_SHOWN) == advice:
        return text.replace(advice, "What to do: see the message above.")
    st.session_state[_ADVICE_SHOWN] = advice
    return text


def show_error(error: object, prefix: str = "") -> None:
    """Show an error (e.g. a :class:`DataError`) with ``st.error``, literally (:func:`error_text`).

    ``prefix`` comes first, e.g. ``"The dataset cannot be opened: "``.
    """
    st.error(md(prefix + error_text(error)), icon=":material/error:")


def _left_out(what: str) -> str:
    return f"{what} cannot be shown: " if what else ""


def read(
    action: Callable[..., _T], *args: Any, otherwise: Any = _STOP, what: str = "", **kwargs: Any
) -> _T:
    """Call a store read; a :class:`DataError` is shown (:func:`show_error`), not a traceback.

    E.g. ``sets = state.read(store.list_annotation_sets, otherwise=None, what="The saved
    annotation sets")``. Returns what the read returned; when it raised a
    :class:`DataError` (a damaged store, see :class:`core.errors.StoreDamaged`), shows
    "``what`` cannot be shown: " and the message, then returns ``otherwise`` when given,
    else stops the page there (``st.stop``).
    """
    try:
        return action(*args, **kwargs)
    except DataError as exc:
        show_error(exc, _left_out(what))
        if otherwise is _STOP:
            st.stop()
        return otherwise


@contextmanager
def section(what: str = "") -> Iterator[None]:
    """Run a part of a page; a :class:`DataError` ends that part with its message.

    The rest of the page goes on (``with state.section("The lineage"): ...`` around a
    table or a download whose reads may fail on a damaged store, see
    :class:`core.errors.StoreDamaged`); the message starts "``what`` cannot be shown: ".
    """
    try:
        yield
    except DataError as exc:
        show_error(exc, _left_out(what))


def current_user() -> str:
    """Return the signed-in identity, else the name typed in the sidebar, else ``anonymous``."""
    identity = st.session_state.get(_IDENTITY)
    if identity:
        return str(identity)
    name = str(st.session_state.get(USER) or "").strip()
    return name or ANONYMOUS


def select_dataset(dataset_id: int | None) -> None:
    """Make ``dataset_id`` the dataset in use from the next run on (safe after widgets exist)."""
    st.session_state[_PENDING] = dataset_id


# --------------------------------------------------------------------------- sidebar


def latest_dataset(store: Store, dataset_ids: Iterable[int]) -> int | None:
    """Return the dataset written most recently (created, tagged, renamed…) among the ids.

    "Most recently" is the newest entry of the store's event log about the dataset itself
    (:meth:`core.store.Store.last_event_id`: writes made through another dataset of its
    project do not count); ties, which only a log without the dataset's events can give,
    go to the newest id. ``None`` when there are no ids.
    """
    ids = [int(i) for i in dataset_ids]
    return max(ids, key=lambda i: (store.last_event_id(i), i)) if ids else None


def _on_project_change() -> None:
    # Switching project selects that project's latest dataset.
    store = get_store()
    project_id = st.session_state.get(PROJECT)
    datasets = store.list_datasets(project_id) if project_id is not None else None
    if datasets is not None and len(datasets):
        st.session_state[DATASET] = latest_dataset(store, datasets["id"])
    else:
        st.session_state.pop(DATASET, None)


def sidebar() -> Context:
    """Draw the sidebar (who, project, dataset) and return the selections.

    With sign-in configured, nobody signed in gets a sign-in (or refusal) screen and the
    page stops here (:func:`ui.auth.who_is_there`).
    """
    store = get_store()
    who = _sign_in(store)
    if "_query_applied" not in st.session_state:
        # A link such as /Tag_errors?dataset=3 opens that dataset (once per session).
        st.session_state["_query_applied"] = True
        _apply_query_params(who)
    if _PENDING in st.session_state:
        pending = st.session_state.pop(_PENDING)
        if pending is None:
            st.session_state.pop(DATASET, None)
        else:
            st.session_state[DATASET] = int(pending)
    projects = store.list_projects(current_user())  # once roles apply: the user's own
    datasets = store.list_datasets()
    datasets = datasets[datasets["project_id"].isin(projects["id"])]
    project_names = dict(
        zip(projects["id"].astype(int), projects["name"].astype(str), strict=False)
    )
    dataset_rows = {int(r.id): r for r in datasets.itertuples(index=False)}

    # Keep the selections valid before the widgets are drawn.
    chosen = st.session_state.get(DATASET)
    if chosen is not None and int(chosen) not in dataset_rows:
        st.session_state.pop(DATASET, None)
        chosen = None
    if chosen is not None:
        st.session_state[PROJECT] = int(dataset_rows[int(chosen)].project_id)
    elif st.session_state.get(PROJECT) not in project_names:
        # A new session opens the latest dataset and its project (else the first project).
        latest = latest_dataset(store, dataset_rows)
        if latest is not None:
            st.session_state[DATASET] = latest
            st.session_state[PROJECT] = int(dataset_rows[latest].project_id)
        elif project_names:
            st.session_state[PROJECT] = next(iter(project_names))
        else:
            st.session_state.pop(PROJECT, None)
    project_id = st.session_state.get(PROJECT)
    in_project = [i for i, r in dataset_rows.items() if int(r.project_id) == project_id]
    if st.session_state.get(DATASET) is None and in_project:
        st.session_state[DATASET] = latest_dataset(store, in_project)

    _keep_in_url()
    _keep_widget_values()
    with st.sidebar:
        if who.identity is None:
            st.text_input(
                "Your name",
                key=USER,
                placeholder="e.g. Ana",
                persist_state="session",
                help="Saved with every tag, label correction and setting you change.",
            )
        else:
            st.markdown(
                f"Signed in as **{md(who.identity)}**",
                help="Saved with every tag, label correction and setting you change.",
            )
            if who.mode == "oidc":
                st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        if not project_names:
            st.caption(
                "You are not a member of any project here."
                if projects_not_shown(store, current_user())
                else "No project yet: load a file or open the demo project."
            )
            return Context(
                store,
                db_path(),
                None,
                None,
                current_user(),
                None if store.roles_enforced() else access.OWNER,
            )
        st.selectbox(
            "Project",
            list(project_names),
            key=PROJECT,
            format_func=lambda i: project_names.get(i, str(i)),
            on_change=_on_project_change,
            persist_state="session",
        )
        if store.roles_enforced():
            role = store.role(st.session_state[PROJECT], current_user())
            st.caption(
                f"Your role here: {role or 'none'}",
                help=f"{role}: {access.ROLE_HELP[role]}" if role else None,
            )
        if in_project:
            st.selectbox(
                "Dataset",
                in_project,
                key=DATASET,
                persist_state="session",
                format_func=lambda i: (
                    f"{dataset_rows[i].name} ({int(dataset_rows[i].row_count):,} rows)"
                ),
            )
            row = dataset_rows[int(st.session_state[DATASET])]
            st.caption(f"Task: {row.task_kind} · from {md(row.source_name)}")
        else:
            st.caption("This project has no dataset yet.")
    dataset_id = st.session_state.get(DATASET)
    return Context(
        store,
        db_path(),
        project_id,
        int(dataset_id) if dataset_id is not None else None,
        current_user(),
        store.role(project_id, current_user()) if project_id is not None else None,
    )


def _sign_in(store: Store) -> auth.SignIn:
    # Who is there; a signed-in identity is recorded once per session with the store.
    who = auth.who_is_there()
    st.session_state[_MODE] = who.mode
    if who.identity is None:
        st.session_state.pop(_IDENTITY, None)
        return who
    st.session_state[_IDENTITY] = who.identity
    if st.session_state.get(_SIGNED_IN) != who.identity:
        try:
            news = store.sign_in(who.identity)
        except DataError as exc:
            st.error(md(exc), icon=":material/error:")
            st.stop()
        st.session_state[_SIGNED_IN] = who.identity
        if news:  # e.g. the store's first user became the owner of every project
            flash(news, "warning")
    return who


def _apply_query_params(who: auth.SignIn) -> None:
    # Read the URL back at session start: dataset, slice-by and (local mode) the name.
    wanted = st.query_params.get("dataset")
    if wanted and str(wanted).isdigit():
        st.session_state.setdefault(_PENDING, int(wanted))
    columns: list[str] = []
    for value in st.query_params.get_all("slice_by"):
        # One parameter per column; "a,b" also reads as two (the chooser keeps real columns).
        for name in [value, *value.split(",")] if "," in value else [value]:
            if name and name not in columns:
                columns.append(name)
    if columns:
        st.session_state.setdefault(SLICE_BY, columns)
    name = st.query_params.get("user")
    if who.identity is None and name and name.strip():
        st.session_state.setdefault(USER, name.strip()[:200])


def link_params() -> dict[str, str | list[str]]:
    """Return the query parameters that reopen the current view: dataset, slice-by, name.

    The typed name is included only without sign-in (a signed-in identity comes from the
    sign-in, never from a link).
    """
    params: dict[str, str | list[str]] = {}
    dataset_id = st.session_state.get(DATASET)
    if dataset_id is not None:
        params["dataset"] = str(int(dataset_id))
    slice_by = [str(c) for c in st.session_state.get(SLICE_BY) or []]
    if slice_by:
        params["slice_by"] = slice_by
    name = str(st.session_state.get(USER) or "").strip()
    if (
        st.session_state.get(_MODE, "local") == "local"
        and not st.session_state.get(_IDENTITY)
        and name
    ):
        params["user"] = name
    return params


def _keep_widget_values() -> None:
    # Streamlit (1.67) draws a sidebar widget on another page with its default value when
    # that value was set by code (from a link, the latest dataset) rather than by the user;
    # setting it again before the widget is drawn keeps it across pages.
    for key in (USER, PROJECT, DATASET):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _keep_in_url() -> None:
    # Mirror the selections into the address bar so that a reload keeps them.
    wanted = link_params()
    for key in ("dataset", "slice_by", "user"):
        value = wanted.get(key)
        current = st.query_params.get_all(key)
        target = [] if value is None else value if isinstance(value, list) else [value]
        if current == target:
            continue
        if target:
            st.query_params[key] = target if len(target) > 1 else target[0]
        else:
            del st.query_params[key]


def page_start(
    title: str, question: str, *, icon: str = ":material/analytics:", layout: str = "wide"
) -> Context:
    """Configure the page, draw the sidebar, the heading (the page's question) and messages.

    A read-only or damaged store gets a banner under the heading (:func:`read_only_banner`);
    a damaged one whose projects or datasets cannot be read stops the page with the reason.
    """
    st.set_page_config(page_title=f"{title} · Slicewise", page_icon=icon, layout=layout)
    st.session_state.pop(_ADVICE_SHOWN, None)  # a new run: nothing shown yet
    try:
        ctx = sidebar()
    except DataError as exc:  # e.g. StoreDamaged: the list of datasets cannot be read
        st.title(question)
        show_error(exc)
        st.stop()
    st.title(question)
    read_only_banner(ctx.store)
    show_flash()
    return ctx


def read_only_banner(store: Store) -> None:
    """Say, once at the top of a page, that the store is read-only (or damaged) and why.

    Later messages of the run leave out what to do (:func:`error_text`).
    """
    reason = store.read_only_reason
    if reason is None:
        return
    st.session_state[_ADVICE_SHOWN] = store.read_only_advice
    if store.damaged:
        st.error(md(reason), icon=":material/report:")
    else:
        st.warning(md(reason), icon=":material/lock:")


def read_only_help(store: Store) -> str | None:
    """Return why write controls are off (for their ``help``), or ``None`` when they are not."""
    if not store.read_only:
        return None
    return (
        "The store is read-only, so nothing can be saved"
        + (" (it is damaged)" if store.damaged else "")
        + ": see the message at the top."
    )


def empty_state(message: str = "No dataset yet.") -> None:
    """Say there is nothing to show and link to *Load data*; does not stop the script.

    Someone who is a member of none of the store's projects is told that instead, and whom
    to ask (:func:`projects_not_shown`).
    """
    user = current_user()
    others = projects_not_shown(get_store(), user)
    if others:
        st.info(
            f"You ({md(user)}) are not a member of any project here (this store holds "
            f"{others} project{'s' if others != 1 else ''}): ask an owner of one to add "
            "you on its Team page, or load a file to start a project of your own.",
            icon=":material/person_off:",
        )
    else:
        st.info(f"{message} Load a file or open the demo project to start.", icon=":material/info:")
    page_link(LOAD_PAGE, "Load a file or open the demo project", ":material/upload_file:")


def projects_not_shown(store: Store, user: str) -> int:
    """Return how many projects the store holds when ``user`` is a member of none (else 0).

    0 too while roles are not enforced (:meth:`core.store.Store.roles_enforced`: everyone
    sees every project) or when the projects cannot be read (the page says why).
    """
    if not read(store.roles_enforced, otherwise=False) or len(
        read(store.list_projects, user, otherwise=[None])
    ):
        return 0
    return len(read(store.list_projects, otherwise=[]))


def page_link(page: str, label: str, icon: str | None = None) -> None:
    """Draw ``st.page_link`` carrying :func:`link_params` (a caption when run alone).

    Outside the multipage app (a page run alone) there is nothing to link to.
    """
    try:
        st.page_link(page, label=label, icon=icon, query_params=link_params())
    except st.errors.StreamlitAPIException:
        st.caption(f"→ {label}")
