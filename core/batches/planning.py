"""The passes behind :func:`core.batches.plan.build_plan`: roles, formats, one grouped pass.

Each helper takes one whole-table decision of :func:`core.dataset.prepare` (and of
:func:`core.metrics.build_slices`) from a :class:`~core.batches.source.BatchSource`, with the
loader's own rules: the tags a tags column lists, each sliced or numeric column's number
format, class spellings counted with the rows' weights, the sliced columns' values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.batches.first_pass import (
    ROLE_FIELDS,
    first_pass,
    int_or,
    spellings,
    typed_values,
    without_tags,
)
from slicewise.core.batches.pins import Pins
from slicewise.core.batches.plan import (
    HEAD_ROWS,
    LoadPlan,
    SliceSpec,
    batch_mapping,
    batch_numbering,
    blank_tag_names,
    check_kept,
    column_format,
    distinct_cells,
    drop_warning,
    each_batch,
    needed_columns,
    number_shapes,
    numbering_of,
    prepare_batch,
    resolve_roles,
    slice_spec,
    without,
)
from slicewise.core.batches.role_classes import RoleClasses, role_classes
from slicewise.core.batches.source import BatchSource, Progress
from slicewise.core.column_parsing import is_text, mask_na_tokens, parse_tags_column
from slicewise.core.column_roles import ColumnMapping, check_nested_roles, metadata_names
from slicewise.core.errors import DataError, DuplicateIdError
from slicewise.core.prepare_steps import check_threshold
from slicewise.core.reading import NESTED_ATTR
from slicewise.core.score_threshold import prediction_from_score
from slicewise.core.slice_names import (
    resolve_slice_column,
    slice_info,
    tag_slice_names,
    unique_name,
)
from slicewise.core.task import TaskSpec, infer_task_kind
from slicewise.core.values import _FORMATS, NumberFormat, as_text, class_keys

#: A column with at most this many distinct cells gives its number shapes from its counts.
SHAPE_VALUES = 100_000


def plan_table(
    source: BatchSource, options: dict[str, Any], progress: Progress | None, defer_ids: bool = False
) -> LoadPlan:
    """Do :func:`core.batches.plan.build_plan`'s work (its caller re-raises a DataError).

    With ``defer_ids`` and a source that can scan ids in the background
    (``prefetch_ids(column, na)``), the id checks start now and end in
    :func:`check_plan_ids` (the plan's ``ids_later``), after the roles and tags are read
    as the loader reads them first: their errors come first.
    """
    resolved, distinct, na = resolve_roles(
        source, options["mapping"], missing=options["missing"],
        na_values=options["na_values"], threshold=options["threshold"],
    )  # fmt: skip
    threshold = check_threshold(options["threshold"], options["mapping"], source.source_name)
    later = defer_ids and resolved.id is not None and hasattr(source, "prefetch_ids")
    if later:
        source.prefetch_ids(resolved.id, na)
    recheck = not later and _ids_repeat(source, resolved.id, na, options["missing"])
    plan = _plan_roles(source, options, progress, (resolved, distinct, na, threshold), recheck)
    return replace(plan, ids_later=later)


def check_plan_ids(source: BatchSource, plan: LoadPlan) -> None:
    """End the id checks a plan left for later (``plan.ids_later``; else nothing to do).

    Raises
    ------
    DuplicateIdError
        The loader's error: the id column repeats an id, or has a blank one, among the
        rows it keeps.
    """
    column = plan.mapping.id
    if not plan.ids_later or column is None:
        return
    na = tuple(plan.load["na_values"])
    if _ids_repeat(source, column, na, plan.load["missing"]):
        _check_kept_ids(source, plan.load, plan.columns, column, na)


def _ids_repeat(source: BatchSource, column: str | None, na: tuple[str, ...], missing: str) -> bool:
    """Check the ids over the whole table; ``True``: they repeat, the kept rows decide."""
    try:
        _check_ids(source, column, na)
    except DuplicateIdError:
        if missing == "fail":
            raise
        return True  # the loader checks ids over the rows it keeps only
    return False


def _plan_roles(
    source: BatchSource,
    o: dict[str, Any],
    progress: Progress | None,
    roles: tuple,
    recheck: bool,
) -> LoadPlan:
    """Plan the table once roles are resolved (``roles``: resolve_roles' three, threshold)."""
    file = source.source_name
    resolved, distinct, na, threshold = roles
    warnings: list[str] = []
    if threshold is not None and resolved.prediction is not None:
        warnings.append(
            f"{file}: predictions come from {resolved.score!r} >= {threshold:g}; "
            f"column {resolved.prediction!r} is kept as metadata"
        )
        resolved = replace(resolved, prediction=None)
    resolved, tags_listed = _tags_column(source, resolved, na)
    # A role holding lists or structs is refused as the loader refuses it.
    check_nested_roles(source.head(1).attrs.get(NESTED_ATTR, ()), resolved, file=file)
    load = dict(
        mapping=batch_mapping(resolved), source_name=file, missing=o["missing"],
        positive=o["positive"], threshold=threshold, na_values=na, decimal=o["decimal"],
        thousands=o["thousands"], task=o["task"],
    )  # fmt: skip
    head = source.head(HEAD_ROWS)
    fields = _sliced_fields(head, resolved, o["slice_by"], load)
    needed = needed_columns(resolved, [c for c, _ in fields.values() if c])
    _refuse_many_values(source, {**load, "pins": Pins(tags=tags_listed)}, needed, fields, o)
    formats, kinds = _number_formats(source, head, resolved, fields, o, na, two_ways := [])
    two = _label_classes(source, head, resolved, load) if threshold is not None else None
    pins = Pins(formats=formats, metadata=kinds, tags=tags_listed, label_classes=two)
    apart = _score_apart(source, resolved, fields, formats, o, na)
    columns = needed_columns(resolved, [c for c, _ in fields.values() if c])
    if recheck:
        _check_kept_ids(source, {**load, "pins": pins}, columns, resolved.id, na)
    seen = first_pass(source, without(apart, {**load, "pins": pins}, columns), fields, progress)
    check_kept(file, seen["kept"])
    kinds = {c: int_or(c, kinds[c], seen["values"], fields) for c in kinds}
    pins = replace(pins, metadata=kinds, spellings=spellings(seen["spellings"]))
    load["pins"] = pins
    seen["values"] = typed_values(seen["values"], fields, pins)
    if seen["dropped"]:
        warnings.append(_dropped(source, load, columns, seen))
    warnings += two_ways
    spec = o["spec"] or TaskSpec(kind=_infer_task(source, load, columns))
    head_set, _ = prepare_batch(source.head(HEAD_ROWS)[list(columns)], load, numbering_of(source))
    tags = tuple(str(t) for t in head_set.tags.columns)
    slices, info = _slices(seen["values"], fields, tags, o, file, kinds)
    return LoadPlan(
        source_name=file, mapping=resolved, columns=columns, load=load, task=spec, tags=tags,
        blank_tags=blank_tag_names(head, resolved, distinct, tags), slices=slices, info=info,
        rows=seen["rows"], kept=seen["kept"], warnings=tuple(warnings), apart=apart,
        bins=_bins(slices, fields, formats, kinds, (na, o["decimal"], o["thousands"])),
        roles=_role_classes(source, seen["groups"], without(apart, load, columns)[0], spec, slices),
    )  # fmt: skip


def _role_classes(
    source: BatchSource, groups: Any, load: dict[str, Any], spec: TaskSpec, slices: Sequence
) -> RoleClasses | None:
    """Return the first pass's role cells in classes, for a source merging rows by them."""
    if not getattr(source, "merges_roles", False):
        return None
    if any(s.field in ROLE_FIELDS.values() for s in slices):  # a sliced role keeps its cells
        return None
    return role_classes(groups, without_tags(load)[0], spec, numbering_of(source))


def _bins(
    slices: Sequence[SliceSpec], fields: dict, formats: dict, kinds: dict, user: tuple
) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """``(column, edges)`` of binned metadata read as plain numbers (no na texts, no format)."""
    if user != ((), None, None):
        return ()
    out = {}
    for spec, (col, field) in zip(slices, fields.values(), strict=True):
        plain = col not in formats and kinds.get(col) in ("float", "int", "keep")
        if spec.edges is not None and col and field not in ROLE_FIELDS.values() and plain:
            out[col] = spec.edges
    return tuple(out.items())


def _score_apart(
    source: BatchSource, mapping: ColumnMapping, fields: dict, formats: dict, o: dict, na: tuple
) -> tuple[str, ...]:
    """Check the score whole when no threshold reads it and no slice cuts it: ``(score,)``.

    The counting passes then leave it out (:attr:`LoadPlan.apart`), so identical rows merge.
    """
    sliced = {c for c, _ in fields.values()} | {f for _, f in fields.values()}
    col = mapping.score
    if not col or o["threshold"] is not None or sliced & {col, "score"}:
        return ()
    _check_score(source, col, formats.get(col, (o["decimal"], o["thousands"])), na)
    return (col,)


def _check_score(
    source: BatchSource, column: str, fmt: tuple[str | None, str | None], na: tuple[str, ...]
) -> None:
    """Check the whole score column as the loader reads it (numbers in ``fmt``, finite).

    Its distinct cells only (grouped batches), or a source's count of a numeric column's
    infinite cells (``count_infinite``) when none. The caller re-words a refusal.
    """
    from slicewise.core.column_parsing import parse_score

    infinite = getattr(source, "count_infinite", None)  # a source's own scan, if it has one
    if infinite is not None and infinite(column) == 0:
        return  # held as numbers, none infinite: the loader's rule passes every cell
    for batch in source.batches([column], group=True):
        cells = mask_na_tokens(batch.rows, na)[column] if na else batch.rows[column]
        parse_score(
            cells, file=source.source_name, column=column, decimal=fmt[0], thousands=fmt[1],
            numbering=batch_numbering(source, batch),
        )  # fmt: skip


def _check_ids(source: BatchSource, column: str | None, na: tuple[str, ...] = ()) -> None:
    """Refuse repeated or blank ids over the whole table (the message is the loader's).

    Ids are compared as the loader compares them: trimmed text (`` 7`` and ``7`` are one
    id, ``07`` and ``7`` two). Cells with spaces around are few: they are held, trimmed,
    and looked up in a second pass only when there are some.
    """
    if column is None:
        return
    from slicewise.core.errors import DuplicateIdError

    repeated = DuplicateIdError(f"{source.source_name}: the id column {column!r} repeats ids")
    # A source that names the few cells trimming may change does so first: its scan may
    # also answer the two questions below.
    suspects = getattr(source, "suspect_ids", None)
    found = suspects(column, na) if suspects is not None else None
    if len(source.repeated(column, 1)) or source.missing(column, 1)[0]:
        raise repeated
    if suspects is None:
        padded = _padded_by_pass(source, column, na, repeated)
    else:  # checked here exactly
        padded = set() if found is None else _padded(found.dropna().astype(str), na, repeated)
    wanted = {p.strip() for p in padded}
    for batch in source.batches([column], group=True) if wanted else ():
        if batch.rows[column].dropna().astype(str).isin(wanted).any():
            raise repeated


def _padded(text: pd.Series, na: tuple[str, ...], repeated: Exception) -> set[str]:
    """Return the distinct ``text`` cells with spaces around; raise when trimming repeats.

    Raises ``repeated`` when a cell trims to nothing or to a missing-value text, or two
    cells trim to one id.
    """
    trimmed = text.str.strip()
    if (trimmed == "").any() or trimmed.isin(na).any():
        raise repeated
    raw = set(text[trimmed != text])
    if len({r.strip() for r in raw}) < len(raw):
        raise repeated
    return raw


def _padded_by_pass(
    source: BatchSource, column: str, na: tuple[str, ...], repeated: Exception
) -> set[str]:
    """:func:`_padded` over every batch of the column (a source without ``suspect_ids``)."""
    padded: set[str] = set()
    for batch in source.batches([column], group=True):
        cells = batch.rows[column]
        if not is_text(cells):
            continue
        raw = _padded(cells.dropna().astype(str), na, repeated)
        if len({r.strip() for r in raw} | {r.strip() for r in padded}) < len(raw | padded):
            raise repeated
        padded |= raw
    return padded


def _check_kept_ids(
    source: BatchSource,
    load: dict[str, Any],
    columns: Sequence[str],
    column: str,
    na: tuple[str, ...],
) -> None:
    """Refuse repeated or blank ids among the rows the loader keeps (trimmed text).

    Run only when the whole column repeats ids and rows may be left out: the kept ids are
    held in memory (one pass over the roles and the id).
    """
    seen: set[str] = set()
    repeated = DuplicateIdError(f"{source.source_name}: the id column {column!r} repeats ids")
    wanted = list(dict.fromkeys([*columns, column]))
    for batch in source.batches(wanted, group=False):
        dataset, _ = prepare_batch(batch.rows[list(columns)], load, batch_numbering(source, batch))
        at = dataset.frame["id"].to_numpy(dtype=np.int64)
        cells = batch.rows[column].iloc[at]
        text = as_text(mask_na_tokens(cells.to_frame(), na)[column])
        if text.isna().any():
            raise repeated
        ids = set(text.tolist())
        if len(ids) < len(text) or ids & seen:
            raise repeated
        seen |= ids


def _tags_column(
    source: BatchSource, mapping: ColumnMapping, na: tuple[str, ...]
) -> tuple[ColumnMapping, tuple[str, ...] | None]:
    """Pin a tags column's delimiter and the tags it lists over the whole table."""
    col = mapping.tags_column
    if col is None:
        return mapping, None
    cells = distinct_cells(source, col, na).astype("string")
    delimiter = mapping.tag_delimiter
    if delimiter is None:
        delimiter = "|" if cells.str.contains("|", regex=False).any() else ";"
    names = tuple(str(c) for c in parse_tags_column(cells, delimiter).columns)
    return replace(mapping, tag_delimiter=delimiter), names


def _sliced_fields(
    head: pd.DataFrame, mapping: ColumnMapping, slice_by: Sequence[str], load: dict[str, Any]
) -> dict[str, tuple[str | None, str]]:
    """Map each ``slice_by`` column (as named) to (its table column, its frame column).

    A name no column answers is left out (the batch pass then raises the loader's error).
    """
    roles = {getattr(mapping, r): f for r, f in ROLE_FIELDS.items() if getattr(mapping, r)}
    role_cols = set(needed_columns(mapping, ())) | {mapping.id}
    meta = [str(c) for c in head.columns if c not in role_cols]
    taken = {"id", "label", "prediction", "human", "score", "human_accuracy"}
    by_field = dict(zip(metadata_names(meta, taken), meta, strict=True))
    frame_cols = ["id", "label", "prediction", *roles.values(), *by_field]
    out: dict[str, tuple[str | None, str]] = {}
    for col in dict.fromkeys(str(c).strip() for c in slice_by):
        field = resolve_slice_column(col, columns=frame_cols, mapping=mapping)
        if field is None:
            raise _no_column(col)
        file_col = by_field.get(field) or next((c for c, f in roles.items() if f == field), None)
        out[col] = (file_col, field)
    return out


def _no_column(col: str) -> Exception:
    from slicewise.core.errors import InvalidValueError

    return InvalidValueError(f"cannot slice by {col!r}: no such column")


def _number_formats(
    source: BatchSource,
    head: pd.DataFrame,
    mapping: ColumnMapping,
    fields: dict[str, tuple[str | None, str]],
    o: dict[str, Any],
    na: tuple[str, ...],
    warnings: list[str],
) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, str]]:
    """Each numeric role's and sliced metadata column's number format over the whole table.

    Returns the pinned formats (a column inferred as plain dot numbers is left to the
    loader) and the sliced metadata columns' kinds (``text``, ``float``, ``keep``); appends
    the loader's warning for each metadata column (sliced or not) read two ways.
    """
    user = (o["decimal"], o["thousands"])
    formats: dict[str, tuple[str | None, str | None]] = {}
    kinds: dict[str, str] = {}
    meta = {c for c, f in fields.values() if c and f not in ROLE_FIELDS.values()}
    roles = set(needed_columns(mapping, ())) | {mapping.id}
    unsliced = [c for c in head.columns if c not in roles and c not in meta]
    wanted = [mapping.score, mapping.human_accuracy, *sorted(meta)]
    wanted += [c for c in unsliced if user == (None, None) and _may_be_ambiguous(head[c])]
    looked = [c for c in dict.fromkeys(wanted) if c is not None and is_text(head[c])]
    shapes = _shape_pass(source, looked, na)
    ambiguous = []
    for col in dict.fromkeys(wanted):
        if col not in looked:
            if col in meta:
                kinds[col] = "keep"
            continue
        cells = shapes[col]
        fmt = column_format(cells, decimal=user[0], thousands=user[1]) if len(cells) else None
        if col not in unsliced and isinstance(fmt, NumberFormat) and user == (None, None):
            if fmt != NumberFormat("."):
                formats[col] = (fmt.decimal, fmt.thousands)
        if col in meta or col in unsliced:
            kinds.update({col: "float" if isinstance(fmt, NumberFormat) else "text"})
            if fmt == "ambiguous":
                first = as_text(head[col]).dropna()
                ambiguous.append((col, first.iloc[0] if len(first) else cells.iloc[0]))
        elif fmt is None and len(cells):
            # The loader reads a role's cells that fit no (or not the given) format as
            # plain numbers and names the cells that are none (the batches do the same).
            formats[col] = (".", None)
        elif fmt == "ambiguous":
            raise _not_numbers(col, source.source_name, cells)
    for col in unsliced:
        kinds.pop(col, None)
    order = {c: i for i, c in enumerate(head.columns)}
    warnings.extend(
        f"{source.source_name}: column {col!r} holds numbers such as {sample!r} "
        "that read differently with a decimal comma and with a thousands "
        "separator; it is kept as text: give the format (CLI: --decimal , or "
        "--thousands ,)"
        for col, sample in sorted(ambiguous, key=lambda a: order[a[0]])
    )
    return formats, kinds


def _may_be_ambiguous(cells: pd.Series) -> bool:
    """Whether a whole column could read two ways, from its head (formats only shrink)."""
    if not is_text(cells):
        return False
    text = number_shapes(cells)
    if not len(text):
        return True
    s = text.astype("string")
    fits = [f for f, p in _FORMATS.items() if f != NumberFormat(".")]
    return sum(bool(s.str.fullmatch(_FORMATS[f].pattern).all()) for f in fits) >= 2


def _shape_pass(source: BatchSource, columns: list[str], na: tuple[str, ...]) -> dict:
    """Each of ``columns``' cells, one per shape (:func:`number_shapes`), over the table.

    A column of few values (the source's value counts) gives them from its distinct cells;
    the others come from one ungrouped pass, memory holding the shapes, not the distinct
    cells (a score column may have millions).
    """
    found: dict[str, pd.Series] = {c: pd.Series([], dtype=object) for c in columns}
    counts = source.value_counts(columns, limit=SHAPE_VALUES) if columns else {}
    for c, got in counts.items():
        if got is not None:
            cells = pd.DataFrame({c: pd.Series(got.index, dtype=object)})
            found[c] = number_shapes((mask_na_tokens(cells, na) if na else cells)[c].dropna())
    wide = [c for c in columns if counts.get(c) is None]
    for batch in source.batches(wide, group=False) if wide else ():
        rows = mask_na_tokens(batch.rows, na) if na else batch.rows
        for c in wide:
            cells = pd.Series(pd.unique(rows[c].dropna().to_numpy(dtype=object)), dtype=object)
            found[c] = number_shapes(pd.concat([found[c], cells], ignore_index=True))
    return found


def _not_numbers(col: str, file: str, cells: pd.Series) -> Exception:
    """Return the error for a numeric column holding text, naming a cell no format reads."""
    from slicewise.core.errors import InvalidValueError

    text = cells.astype("string")
    fits = pd.Series(False, index=cells.index)
    for pattern in _FORMATS.values():
        fits |= text.str.fullmatch(pattern.pattern).fillna(False)
    bad = cells[~fits.to_numpy(dtype=bool)]
    such = f" such as {bad.iloc[0]!r}" if len(bad) else ""
    return InvalidValueError(f"{file}: the column {col!r} holds values{such} that are no numbers")


def _refuse_many_values(
    source: BatchSource,
    load: dict[str, Any],
    columns: Sequence[str],
    fields: dict[str, tuple[str | None, str]],
    o: dict[str, Any],
) -> None:
    """Refuse a sliced column of too many values before any pass over the rows.

    A column the loader does not hold as numbers (not binned) with more distinct cells than
    the cap is refused from the source's value counts asked with the cap as the limit (a
    million ids are not streamed); the count is the source's estimate when it has one.
    """
    from slicewise.core import limits
    from slicewise.core.batches.refusals import EarlyRefusal

    cap = limits.max_slices(o["max_slices"])
    head, _ = prepare_batch(source.head(HEAD_ROWS)[list(columns)], load, numbering_of(source))
    for col, (file_col, field) in fields.items():
        values = head.frame[field]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if file_col is None or numeric:
            continue
        if source.value_counts([file_col], limit=cap)[file_col] is not None:
            continue
        estimate = getattr(source, "approx_distinct", None)
        n = max(int(estimate(file_col)), cap + 1) if estimate else cap + 1
        try:
            limits.check_slice_count(n, column=col, source=source.source_name, cap=cap, about=True)
        except DataError as error:
            raise EarlyRefusal(error, source.count_rows()) from None


def _dropped(
    source: BatchSource, load: dict[str, Any], columns: Sequence[str], seen: dict[str, Any]
) -> str:
    """Return the loader's warning naming the rows left out, positions found exactly."""
    firsts = [f for f, w in seen["dropped"]]
    grouped = any((w > 1).any() for _, w in seen["dropped"])
    n = seen["rows"] - seen["kept"]
    if grouped:
        found: list[int] = []
        for batch, dataset, _ in each_batch(source, load, columns, group=False):
            lost = np.ones(len(batch.rows), dtype=bool)
            lost[dataset.frame["id"].to_numpy(dtype=np.int64)] = False
            found.extend(batch.first_rows[lost][:5].tolist())
            if len(found) >= 5:
                break
    else:
        found = sorted(np.concatenate(firsts).astype(int).tolist())[:5]
    return drop_warning(source.source_name, found, n, seen["rows"], numbering_of(source))


def _infer_task(source: BatchSource, load: dict[str, Any], columns: Sequence[str]) -> str:
    """Infer the task kind from the first 50,000 kept labels (:func:`infer_task_kind`).

    The tags are left out: they decide no row's fate (:func:`first_pass`'s rule).
    """
    load, tagged = without_tags(load)
    columns = [c for c in columns if c not in tagged]
    total, n = source.count_rows(), 60_000
    while True:
        dataset, _ = prepare_batch(source.head(n)[columns], load, numbering_of(source))
        if len(dataset.frame) >= 50_000 or n >= total:
            return infer_task_kind(dataset.frame["label"])
        n *= 2


def _slices(
    values: dict[str, pd.Series],
    fields: dict[str, tuple[str | None, str]],
    tags: tuple[str, ...],
    o: dict[str, Any],
    file: str,
    kinds: dict[str, str],
) -> tuple[tuple[SliceSpec, ...], pd.DataFrame]:
    """Return the slice specs of the ``slice_by`` columns and the slice info (tags first)."""
    from slicewise.core import limits

    cap = limits.max_slices(o["max_slices"])
    tag_names = tag_slice_names(tags)
    names = [tag_names[t] for t in tags]
    kinds_out, sources = ["tag"] * len(tags), list(tags)
    specs, made = [], 0
    for col, (_, field) in fields.items():
        spec = slice_spec(
            col, field, values[field], bins=o["bins"], cap=cap, before=made, file=file
        )
        made += len(spec.names)
        unique = []
        for name in spec.names:
            unique.append(unique_name(name, names))
            names.append(unique[-1])
        specs.append(replace(spec, names=tuple(unique)))
        kinds_out += ["column"] * len(unique)
        sources += [col] * len(unique)
    return tuple(specs), slice_info(names, kinds_out, sources)


def _label_classes(
    source: BatchSource, head: pd.DataFrame, resolved: ColumnMapping, load: dict[str, Any]
) -> dict[str, str]:
    """Return the label's classes over the whole table (class key -> first spelling).

    A score threshold needs exactly two label classes and the positive among them; a batch
    may hold one, so the whole table's are pinned. Checked as the loader checks them
    (:func:`core.score_threshold.prediction_from_score` on the distinct labels, head first
    so the first spelling is the file's first where the head shows it).
    """
    column = resolved.label
    counts = source.value_counts([column], limit=1_000)[column]
    seen = [] if counts is None else list(counts.index)
    cells = [*head[column].dropna().tolist(), *seen]
    label = pd.Series(list(dict.fromkeys(cells)), dtype=object).rename(column)
    label = mask_na_tokens(label.to_frame(), load["na_values"])[column].dropna()
    label = label.reset_index(drop=True)
    prediction_from_score(
        pd.Series(np.nan, index=label.index), label, load["positive"], load["threshold"],
        file=load["source_name"], label_col=column,
    )  # fmt: skip
    text = as_text(label)
    keys = class_keys(text)
    return {k: t for k, t in zip(keys, text, strict=True) if k is not None and t is not None}
