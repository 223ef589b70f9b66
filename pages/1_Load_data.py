from slicewise.ui import demo_project, load_form, saved_datasets, state

ctx = state.page_start(
    "Load data",
    "Which predictions do you want to analyse?",
    icon=":material/upload_file:",
    keeps_upload=True,
)
# Start from the demo project, or upload a file of predictions and save it as a dataset;
# then open, rename or delete the datasets saved.
demo_project.demo_section(ctx)
load_form.upload_section(ctx)
saved_datasets.saved_section(ctx)
