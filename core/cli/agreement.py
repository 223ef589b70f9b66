"""``slicewise agreement``: how consistently several annotators label the same items."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from slicewise.core.cli.group import main
from slicewise.core.cli.options import emit, note, output_option
from slicewise.core.dataset import load_dataset
from slicewise.core.jsonable import dumps_json
from slicewise.core.report import to_safe_csv


@main.command("agreement")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--item", help="Item id column; detected by name (item, id...) if omitted.")
@click.option("--annotator", help="Annotator column (long form); detected by name if omitted.")
@click.option("--label", help="Label column (long form); detected by name if omitted.")
@click.option(
    "--layout",
    type=click.Choice(("auto", "long", "wide")),
    default="auto",
    show_default=True,
    help="Long: one row per label; wide: one column per annotator.",
)
@click.option(
    "--keep-last",
    is_flag=True,
    help="Keep the last label when an annotator labelled an item twice.",
)
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Predictions file whose ids are the items: adds HLP and agreement per tag.",
)
@click.option("--encoding", help="Text encoding of the file (default: detected).")
@click.option("--sep", help="Field delimiter (default: detected).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "csv")),
    default="table",
    show_default=True,
)
@output_option
def agreement_command(
    file: Path,
    item: str | None,
    annotator: str | None,
    label: str | None,
    layout: str,
    keep_last: bool,
    predictions: Path | None,
    encoding: str | None,
    sep: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Measure how consistently several annotators label the same items (FILE)."""
    from slicewise.core import agreement as ag

    ann = ag.load_annotations(
        file,
        item=item,
        annotator=annotator,
        label=label,
        layout=layout,  # type: ignore[arg-type]
        duplicates="last" if keep_last else "fail",
        encoding=encoding,
        sep=sep,
    )
    for warning in ann.warnings:
        note(warning)
    codes = ag.encode_labels(ann.labels)
    summary = ag.compute_agreement_summary(codes)
    figures = ag.summarize_annotations(codes)
    by_tag = None if predictions is None else _agreement_by_tag(codes, predictions)
    if fmt == "json":
        text = _agreement_json(ann.source_name, figures, by_tag)
    elif fmt == "csv":
        text = to_safe_csv(summary.drop(columns=["definition"]).reset_index())
    else:
        text = _agreement_table(ann.source_name, figures, summary, codes, by_tag)
    emit(text, output)


def _agreement_by_tag(codes: object, predictions: Path) -> pd.DataFrame:
    """Agreement, HLP and the model's accuracy per tag of the predictions file's items."""
    from slicewise.core import agreement as ag

    dataset = load_dataset(predictions)
    linked = ag.link_predictions(codes, dataset)  # type: ignore[arg-type]
    for warning in linked.warnings:
        note(warning)
    info = linked.info
    return ag.compute_agreement_by_slice(
        codes,  # type: ignore[arg-type]
        membership=linked.tags,
        truth=info.get("truth"),
        prediction=info.get("prediction"),
    )


def _agreement_json(source: str, figures: dict, by_tag: pd.DataFrame | None) -> str:
    """Return the figures (and per-tag rows) as ASCII JSON; NaN and inf are null."""
    data = {**figures, "source": source}
    if by_tag is not None:
        data["by_tag"] = [{"name": str(name), **row.to_dict()} for name, row in by_tag.iterrows()]
    return dumps_json(data, ensure_ascii=True) + "\n"


def _agreement_table(
    source: str, figures: dict, summary: pd.DataFrame, codes: object, by_tag: pd.DataFrame | None
) -> str:
    """Write the figures, the agreement measures, confused classes, annotators and tags as text."""
    from slicewise.core import agreement as ag

    def num(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{float(v):.3f}"

    head = (
        f"{source}: {figures['items']:,} items, {figures['annotators']} annotators, "
        f"{figures['labels_total']:,} labels, {figures['classes']} classes; "
        f"{figures['n_disagreements']:,} items with disagreement "
        f"({figures['n_ties']:,} tied)"
    )
    shown = pd.DataFrame(
        {
            "metric": summary["name"],
            "value": summary["value"].map(num),
            "observed": summary["observed_agreement"].map(num),
            "chance": summary["chance_agreement"].map(num),
        }
    ).to_string(index=False)
    parts = [head, "", shown]
    caution = ag.agreement_caution(summary)
    if caution:
        parts += ["", f"! {caution}"]
    pairs = ag.find_confused_pairs(codes).head(5)  # type: ignore[arg-type]
    if len(pairs):
        lines = [
            f"  {r.class_a} / {r.class_b}: {r.n_items} items, alpha if merged "
            f"{num(r.alpha_if_merged)} ({r.alpha_gain:+.3f})"
            for r in pairs.itertuples()
        ]
        parts += ["", "Most confused classes (candidates to merge or define better):", *lines]
    stats = ag.compute_annotator_stats(codes)  # type: ignore[arg-type]
    ann = pd.DataFrame(
        {
            "annotator": stats.index,
            "labels": stats["n_labels"].to_numpy(),
            "agree w/ others": stats["agreement_with_others"].map(num).to_numpy(),
            "agree w/ consensus": stats["agreement_with_consensus"].map(num).to_numpy(),
            "mean kappa": stats["mean_cohen_kappa"].map(num).to_numpy(),
        }
    )
    parts += ["", "Annotators (lowest agreement first):", ann.to_string(index=False)]
    if by_tag is not None:
        tags = pd.DataFrame(
            {
                "slice": by_tag.index,
                "items": by_tag["n"].to_numpy(),
                "agreement": by_tag["percent_agreement"].map(num).to_numpy(),
                "alpha": by_tag["krippendorff_alpha"].map(num).to_numpy(),
                "HLP": by_tag["hlp"].map(num).to_numpy(),
                "HLP from": by_tag["hlp_source"].map(ag.HLP_SOURCES).to_numpy(),
                "model acc.": by_tag["model_accuracy"].map(num).to_numpy(),
            }
        )
        parts += ["", "Per tag:", tags.to_string(index=False)]
    return "\n".join(parts) + "\n"
