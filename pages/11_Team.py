import pandas as pd
import streamlit as st

from slicewise.core.access import OWNER, ROLE_HELP, ROLES
from slicewise.ui import state, team
from slicewise.ui.text import md

ctx = state.page_start(
    "Team", "Who works on this project, and who did what?", icon=":material/group:"
)
if ctx.project_id is None:
    state.empty_state("No project yet.")
    st.stop()
store = ctx.store
# A damaged store (StoreDamaged): each read shows its message instead of a traceback.
project = state.read(store.list_projects).set_index("id").loc[ctx.project_id, "name"]
enforced = state.read(store.roles_enforced)
owner = state.can(ctx, OWNER)
no_role = None if owner else state.needs(OWNER)

# ----------------------------------------------------------------------------- members
st.subheader(f"Members of {md(project)}")
st.markdown("\n".join(f"- **{role}**: {ROLE_HELP[role]}" for role in ROLES))
members = state.read(store.members, ctx.project_id, otherwise=pd.DataFrame(), what="The members")
if not enforced:
    st.info(
        "This store is open: nobody has signed in and no one has a role yet, so everyone "
        "may change everything (one person on this machine). Giving someone a role makes "
        f"you (**{md(ctx.user)}**) the owner of every project, and roles apply from then "
        "on.",
        icon=":material/lock_open:",
    )
else:
    st.caption(f"You are **{md(ctx.user)}**, {ctx.role or 'not a member'} here.")
if len(members):
    st.dataframe(
        members,
        hide_index=True,
        key="team_members",
        column_config={"added_by": "role given by", "added_at": "on"},
    )

with st.form("team_set_form", clear_on_submit=True, border=True):
    st.markdown("**Add a member, or change a member's role**")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    member = c1.text_input(
        "Member",
        key="team_member",
        disabled=not owner,
        placeholder="e.g. ana@example.org, as they sign in",
    )
    role = c2.selectbox(
        "Role", ROLES, index=ROLES.index("annotator"), key="team_role", disabled=not owner
    )
    if st.form_submit_button(
        "Save", icon=":material/person_add:", type="primary", disabled=not owner, help=no_role
    ):
        if not member.strip():
            state.flash("Type the member's name or e-mail address first", "warning")
        else:
            state.run_write(
                store.set_member,
                ctx.project_id,
                member,
                role,
                user=ctx.user,
                success=f"{member.strip()} is now {role} of {project}",
            )
        st.rerun()

if len(members):
    r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
    names = members["member"].astype(str).tolist()
    doomed = r1.selectbox(
        "Remove a member",
        names,
        index=None,
        key="team_remove_member",
        placeholder="Choose a member",
        disabled=not owner,
    )
    if r2.button(
        "Remove",
        key="team_remove",
        icon=":material/person_remove:",
        disabled=not (owner and doomed),
        help=no_role,
    ):
        state.run_write(
            store.remove_member,
            ctx.project_id,
            doomed,
            user=ctx.user,
            success=f"{doomed} is no longer a member of {project}",
        )
        st.rerun()

# ----------------------------------------------------------------------------- history
st.subheader("Who did what")
events = state.read(store.events, project_id=ctx.project_id, what="Who did what")
datasets = state.read(store.list_datasets, ctx.project_id)
view = team.event_view(
    events, dict(zip(datasets["id"].astype(int), datasets["name"].astype(str), strict=True))
)
if view.empty:
    st.caption("Nothing yet.")
    st.stop()
who = st.multiselect("Only", sorted(view["who"].unique()), key="team_who", placeholder="Everyone")
shown = view[view["who"].isin(who)] if who else view
st.dataframe(shown, hide_index=True, key="team_events", placeholder="–")
st.caption(
    f"The project's {len(events):,} writes, newest first"
    + (f" (the latest {team.SHOWN_EVENTS:,} shown)" if len(events) > len(view) else "")
    + ": each names the identity that made it. The log cannot be changed."
)
