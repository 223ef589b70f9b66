import streamlit as st

from slicewise.core.charts import tidy_chart
from slicewise.core.charts.splits import split_shares_chart
from slicewise.core.errors import DataError
from slicewise.ui import data, state, views
from slicewise.ui import splits as uc

ctx = state.page_start(
    "Balanced splits",
    "How do we split a small dataset so that every split looks alike?",
    icon=":material/call_split:",
)
loaded = data.require_dataset(ctx)
ds = loaded.dataset
st.caption(
    "With little data a random split can give the dev set too few positives or too few "
    "examples of a tag (the lecture: 100 images, 30 defective → want 18/6/6). These "
    "splits keep every class's count exact and balance the tags by iterative "
    "stratification; the same seed gives the same splits."
)

# ----------------------------------------------------------------------------- options
c1, c2, c3, c4 = st.columns(4)
train = c1.number_input("Train %", 1, 98, 60, key="split_train")
dev = c2.number_input("Dev %", 1, 98, 20, key="split_dev")
test = c3.number_input("Test %", 1, 98, 20, key="split_test")
seed = c4.number_input(
    "Seed",
    0,
    2**31 - 1,
    0,
    key="split_seed",
    help="The same seed and data always give the same splits",
)
if train + dev + test != 100:
    st.warning(
        f"The shares add up to {train + dev + test}%; they are used as weights "
        f"({train}:{dev}:{test}).",
        icon=":material/warning:",
    )
fractions = {"train": float(train), "dev": float(dev), "test": float(test)}
few_classes = ds.frame["label"].nunique() <= 30 and loaded.task.kind != "text"
o1, o2 = st.columns([1, 3])
# Keyed by dataset: a keyed widget keeps its value when its default changes, and the
# defaults (the dataset's tags, whether its labels are few classes) belong to one dataset.
did = loaded.dataset_id
by_label = o1.toggle(
    "Stratify by label",
    value=few_classes,
    key=f"split_by_label_{did}",
    help="Keep each class's share in every split (numeric targets: by "
    "quantile bins). Off for text tasks, whose labels are all distinct.",
)
tags = o2.multiselect(
    "Balance these tags",
    loaded.tag_names,
    default=loaded.tag_names,
    key=f"split_tags_{did}",
    format_func=lambda t: views.slice_label(t, "tag"),
)

try:
    splits = uc.make_splits(loaded, fractions, seed=int(seed), by_label=by_label, tags=tags)
    table = uc.shares(loaded, splits, with_classes=few_classes)
    random = uc.random_splits(loaded, fractions, seed=int(seed))
    random_table = uc.shares(loaded, random, with_classes=few_classes)
except DataError as exc:
    state.show_error(exc)
    st.stop()

# ----------------------------------------------------------------------------- result
sizes = table.iloc[0]
m = st.columns(4)
for col, split in zip(m[:3], ("train", "dev", "test"), strict=True):
    col.metric(f"{split.capitalize()} examples", f"{int(sizes[f'n_{split}']):,}")
m[3].metric(
    "Largest share difference",
    f"{uc.worst_difference(table):.1f} pts",
    delta=f"{uc.worst_difference(table) - uc.worst_difference(random_table):+.1f} "
    "pts vs a random split",
    delta_color="inverse",
    help="The largest gap between a class's or tag's share in a split and in all "
    f"data; a random split of the same sizes (same seed) gives "
    f"{uc.worst_difference(random_table):.1f} pts",
)
view, config = uc.shares_view(table)
st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="split_table")
st.plotly_chart(tidy_chart(split_shares_chart(table)), key="split_chart")
st.download_button(
    "Download the data with a split column (CSV)",
    uc.splits_csv(loaded, splits),
    file_name=f"{loaded.name.replace(' ', '_').replace(':', '')}-splits.csv",
    mime="text/csv",
    key="split_download",
    on_click="ignore",
    icon=":material/download:",
)
