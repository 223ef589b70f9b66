"""Copying the readable rows of one damaged table, searching around damaged pages."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from slicewise.core.store.faults import (
    _SQLITE_CORRUPT,
    _SQLITE_IOERR,
    _SQLITE_NOTADB,
    _sqlite_code,
)
from slicewise.core.store.recovery_report import TableRecovery

#: At most this many key ranges of one table are searched around its damaged pages by
#: :func:`recover_store`; ranges left unsearched are reported unreadable.
RECOVER_SEARCH_LIMIT = 20_000


#: A range of keys none of whose rows could be read is split in halves at most this many
#: times in a row before it is given up as unreadable: integer ids up to 1,024 apart are
#: searched one by one, and a readable page between damaged ones is found unless it holds
#: under 1/1,024 of the range (1/64 for text keys, whose halves are rougher).
_BLIND_SPLITS = {"int": 10, "text": 6}


#: Rows copied per ``executemany``.
_RECOVER_BATCH = 500


#: SQLite result codes of a read that hit a damaged page or a bad sector.
_UNREADABLE = frozenset({_SQLITE_CORRUPT, _SQLITE_NOTADB, _SQLITE_IOERR})


_MAX_ID = (1 << 63) - 1


class _Infinity:
    """The lowest (``-1``) or highest (``+1``) value a key column can be compared with."""

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def __repr__(self) -> str:
        return "-inf" if self.sign < 0 else "+inf"


_LOWEST, _HIGHEST = _Infinity(-1), _Infinity(1)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mid_text(a: str | None, b: str | None) -> str | None:
    """Return a string strictly between ``a`` and ``b`` in SQLite's BINARY order, or None.

    ``None`` stands for the lowest (``a``) or highest (``b``) end; ``a < b``. Strings
    compare as their UTF-8 bytes, which is code point order, so the result is built from
    code points (never a surrogate, which UTF-8 cannot hold).

    Examples
    --------
    >>> _mid_text("e0099", "e0151"), _mid_text("cat", "dog"), _mid_text(None, "")
    ('e01', 'd', None)
    """
    if a is None:
        return "" if b is None or b != "" else None
    i = 0
    while b is not None and i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    lo = ord(a[i]) if i < len(a) else -1
    hi = ord(b[i]) if b is not None else 0x110000
    c = (lo + hi) // 2
    if 0xD800 <= c <= 0xDFFF:
        c = 0xD7FF if 0xD7FF > lo else 0xE000
    if lo < c < hi:
        return a[:i] + chr(c)
    if b is not None and len(b) > i + 1:  # b's start: above a at i, and below b
        return b[: i + 1]
    if lo == -1:  # b is a + one character, the lowest above a's end: nothing between
        return None
    return a[: i + 1] + str(_mid_text(a[i + 1 :], None))  # above a, still below b at i


def _mid_value(a: Any, b: Any, kind: str | None, hint: tuple[int, int]) -> Any:
    """Return a value strictly between ``a`` and ``b`` (either may be infinite), or None."""
    if kind == "int":
        lo = hint[0] - 1 if a is _LOWEST else a
        hi = hint[1] + 1 if b is _HIGHEST else b
        if not (isinstance(lo, int) and isinstance(hi, int)) or hi - lo < 2:
            return None
        return (lo + hi) // 2
    if kind == "text":
        lo = None if a is _LOWEST else a
        hi = None if b is _HIGHEST else b
        if not (lo is None or isinstance(lo, str)) or not (hi is None or isinstance(hi, str)):
            return None
        return _mid_text(lo, hi)
    return None


@dataclass
class _Bound:
    """One end of a range of keys: a full key or a prefix of one (the first columns)."""

    values: tuple
    inclusive: bool = False  # a lower end: keys >= values (else >)


@dataclass
class _TableShape:
    """How to read and write one table: its columns and the key it is ordered by."""

    name: str
    columns: list[str]  # as selected; "_rowid_" first for a rowid table without an alias
    keys: list[int]  # positions in columns of the key, in key order
    kinds: list[str | None]  # "int", "text" or None per key column (how to split ranges)
    hint: tuple[int, int]  # lowest and highest id of a table with an integer id

    def key_names(self) -> list[str]:
        return [self.columns[i] for i in self.keys]

    def sql_columns(self) -> str:
        return ", ".join(c if c == "_rowid_" else _quote(c) for c in self.columns)

    def sql_keys(self, n: int | None = None) -> list[str]:
        return [c if c == "_rowid_" else _quote(c) for c in self.key_names()[:n]]


def _table_shape(src: sqlite3.Connection, name: str, seq: int | None) -> _TableShape:
    info = src.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
    listed = src.execute(
        "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", [name]
    ).fetchone()
    names = [str(r[1]) for r in info]
    pk = [i for _, i in sorted((int(r[5]), i) for i, r in enumerate(info) if r[5])]
    types = [str(r[2] or "").upper() for r in info]
    if listed is not None and listed[0]:  # WITHOUT ROWID: ordered by its primary key
        columns, keys = names, pk
    elif len(pk) == 1 and types[pk[0]] == "INTEGER":  # the id is the rowid
        columns, keys = names, pk
    else:
        columns, keys, types = ["_rowid_", *names], [0], ["INTEGER", *types]

    def kind(declared: str) -> str | None:
        if "INT" in declared:
            return "int"
        if any(t in declared for t in ("CHAR", "CLOB", "TEXT")):
            return "text"
        return None

    kinds = [kind(types[i]) for i in keys]
    hint = (1, seq) if seq is not None else (-_MAX_ID, _MAX_ID)
    return _TableShape(name, columns, keys, kinds, hint)


class _Copier:
    """Buffers the rows read from one table and inserts them into the new database."""

    def __init__(self, dst: sqlite3.Connection, shape: _TableShape, result: TableRecovery):
        self.dst, self.shape, self.result = dst, shape, result
        marks = ", ".join("?" * len(shape.columns))
        self.sql = f"INSERT INTO {_quote(shape.name)} ({shape.sql_columns()}) VALUES ({marks})"
        self.buffer: list[tuple] = []
        self.max_id: int | None = None

    def add(self, row: tuple) -> None:
        self.buffer.append(row)
        if len(self.shape.keys) == 1:
            key = row[self.shape.keys[0]]
            if isinstance(key, int) and (self.max_id is None or key > self.max_id):
                self.max_id = key
        if len(self.buffer) >= _RECOVER_BATCH:
            self.flush()

    def flush(self) -> None:
        rows, self.buffer = self.buffer, []
        if not rows:
            return
        self.dst.execute("SAVEPOINT batch")
        try:
            self.dst.executemany(self.sql, rows)
            self.result.copied += len(rows)
        except sqlite3.IntegrityError:  # a garbled row breaks a constraint: one at a time
            self.dst.execute("ROLLBACK TO batch")
            for row in rows:
                try:
                    self.dst.execute(self.sql, row)
                    self.result.copied += 1
                except sqlite3.IntegrityError:
                    self.result.rejected += 1
        self.dst.execute("RELEASE batch")


def _where(shape: _TableShape, lower: _Bound | None, upper: _Bound | None) -> tuple[str, list[Any]]:
    parts, params = [], []
    for bound, op in ((lower, ">=" if lower and lower.inclusive else ">"), (upper, "<")):
        if bound is not None:
            cols = shape.sql_keys(len(bound.values))
            marks = ", ".join("?" * len(bound.values))
            parts.append(f"({', '.join(cols)}) {op} ({marks})")
            params.extend(bound.values)
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), params


def _scan(
    src: sqlite3.Connection,
    shape: _TableShape,
    lower: _Bound | None,
    upper: _Bound | None,
    *,
    descending: bool,
    copier: _Copier,
) -> tuple[tuple | None, bool]:
    """Copy the rows between two ends in key order until the end or a damaged page.

    Returns the key of the last row read (``None``: none) and whether the range was read
    to its end. Python's cursor reads a row ahead and drops the row it holds when that
    read fails, so after a failure the next row is asked for alone (``LIMIT 1`` reads no
    further); when it is there, the scan goes on after it.
    """
    order = ", ".join(f"{k}{' DESC' if descending else ''}" for k in shape.sql_keys())
    last: tuple | None = None
    alone = False
    while True:
        after = None if last is None else _Bound(last)
        where, params = _where(
            shape,
            lower if descending or after is None else after,
            after if descending and after is not None else upper,
        )
        sql = (
            f"SELECT {shape.sql_columns()} FROM {_quote(shape.name)} {where} "
            f"ORDER BY {order}{' LIMIT 1' if alone else ''}"
        )
        read, failed = 0, False
        try:
            cursor = src.execute(sql, params)
        except sqlite3.DatabaseError as exc:  # its first row: none was dropped
            if _sqlite_code(exc) not in _UNREADABLE:
                raise
            return last, False
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.DatabaseError as exc:
                if _sqlite_code(exc) not in _UNREADABLE:
                    raise
                cursor.close()
                failed = True
                break
            if row is None:
                break
            copier.add(row)  # outside the try: a fault of the new database is not damage
            last, read = tuple(row[i] for i in shape.keys), read + 1
        if failed and alone:  # the next row itself is on a damaged page
            return last, False
        if not failed and not (alone and read):  # read to the end
            return last, True
        alone = failed  # after a failure, the next row alone; after it, a scan again


def _mid_key(
    shape: _TableShape, lower: _Bound | None, upper: _Bound | None
) -> tuple[tuple, str | None] | None:
    """Return a key (or its first columns) strictly inside the range and the kind split."""
    n = len(shape.keys)
    lo = list(lower.values) if lower else []
    lo += [_LOWEST] * (n - len(lo))
    hi = list(upper.values) if upper else [_HIGHEST]
    hi += [_LOWEST] * (n - len(hi))
    for i in range(n):
        if lo[i] is hi[i] or (type(lo[i]) is type(hi[i]) and lo[i] == hi[i]):
            continue
        hint = shape.hint if i == 0 else (0, _MAX_ID)
        mid = _mid_value(lo[i], hi[i], shape.kinds[i], hint)
        if mid is not None:
            return (*lo[:i], mid), shape.kinds[i]
        if lo[i] is _LOWEST:
            return None
        for j in range(i + 1, n):  # nothing between at i: keys above lower that share it
            mid = _mid_value(lo[j], _HIGHEST, shape.kinds[j], (0, _MAX_ID))
            if mid is not None:
                return (*lo[:j], mid), shape.kinds[j]
        return None
    return None


def _nearest(dst: sqlite3.Connection, shape: _TableShape, bound: _Bound | None, below: bool) -> str:
    """Return the key of the copied row nearest below (above) a range's lower (upper) end."""
    if bound is None:
        return "the start" if below else "the end"
    cols = ", ".join(shape.sql_keys(len(bound.values)))
    op = ("<" if bound.inclusive else "<=") if below else ">="
    order = ", ".join(f"{k}{' DESC' if below else ''}" for k in shape.sql_keys())
    row = dst.execute(
        f"SELECT {', '.join(shape.sql_keys())} FROM {_quote(shape.name)} "
        f"WHERE ({cols}) {op} ({', '.join('?' * len(bound.values))}) "
        f"ORDER BY {order} LIMIT 1",
        list(bound.values),
    ).fetchone()
    if row is None:
        return "the start" if below else "the end"
    return repr(row[0]) if len(row) == 1 else repr(tuple(row))


def _describe_ranges(
    dst: sqlite3.Connection,
    shape: _TableShape,
    ranges: list[tuple[_Bound | None, _Bound | None]],
    result: TableRecovery,
) -> None:
    """Merge the unreadable ranges that touch and describe them in the result.

    A range of integer ids reads ``"id 21 to 37"``; any other, by the copied rows around
    it: ``"(tag_id, example_id) between (9, 'e0329') and (9, 'e0397')"``.
    """

    def start(r: tuple[_Bound | None, _Bound | None]) -> tuple:
        return (0,) if r[0] is None else (1, r[0].values, r[0].inclusive)

    merged: list[list[_Bound | None]] = []
    for lower, upper in sorted(ranges, key=start):
        if (
            merged
            and merged[-1][1] is not None
            and lower is not None
            and lower.inclusive
            and merged[-1][1].values == lower.values
        ):
            merged[-1][1] = upper
        else:
            merged.append([lower, upper])
    single_int = len(shape.keys) == 1 and shape.kinds[0] == "int"
    name = "id" if shape.columns[shape.keys[0]] == "_rowid_" else shape.columns[shape.keys[0]]
    count: int | None = 0 if single_int else None
    for lower, upper in merged:
        if not single_int or not all(
            b is None or isinstance(b.values[0], int) for b in (lower, upper)
        ):
            count = None
            keys = shape.key_names()
            result.unreadable.append(
                f"{keys[0] if len(keys) == 1 else '(' + ', '.join(keys) + ')'} between "
                f"{_nearest(dst, shape, lower, True)} and {_nearest(dst, shape, upper, False)}"
            )
            continue
        first = shape.hint[0] if lower is None else lower.values[0] + (0 if lower.inclusive else 1)
        last = shape.hint[1] if upper is None else upper.values[0] - 1
        if first > last:
            continue
        known = (lower is not None or first > -_MAX_ID) and (upper is not None or last < _MAX_ID)
        if count is not None:
            count = count + last - first + 1 if known else None
        shown_first = first if lower is not None or first > -_MAX_ID else "the start"
        shown_last = last if upper is not None or last < _MAX_ID else "the end"
        result.unreadable.append(
            f"{name} {first}" if first == last else f"{name} {shown_first} to {shown_last}"
        )
    result.unreadable_ids = count


def _copy_table(
    src: sqlite3.Connection, dst: sqlite3.Connection, shape: _TableShape, result: TableRecovery
) -> int | None:
    """Copy every readable row of one table; return the largest integer id read.

    Reads the table in key order; where a read hits a damaged page, reads the rest of the
    range backwards from its end, then splits what lies between the last keys read into
    halves and searches each the same way (keys are ``rowid`` values or the primary key of
    a ``WITHOUT ROWID`` table), so rows on readable pages between damaged ones are found.
    """
    copier = _Copier(dst, shape, result)
    pending: list[tuple[_Bound | None, _Bound | None, int]] = [(None, None, 0)]  # blind
    lost: list[tuple[_Bound | None, _Bound | None]] = []
    searches = 0
    while pending:
        lower, upper, blind = pending.pop()
        if searches >= RECOVER_SEARCH_LIMIT:
            result.search_stopped = True
            lost.append((lower, upper))
            continue
        searches += 1
        first, done = _scan(src, shape, lower, upper, descending=False, copier=copier)
        if done:
            continue
        result.damaged = True
        if first is not None:
            lower = _Bound(first)
        last, done = _scan(src, shape, lower, upper, descending=True, copier=copier)
        if done:
            continue
        if last is not None:
            upper = _Bound(last)
        blind = 0 if first is not None or last is not None else blind + 1
        mid = _mid_key(shape, lower, upper)
        if mid is None or blind > _BLIND_SPLITS.get(str(mid[1]), 0):
            lost.append((lower, upper))
            continue
        pending.append((_Bound(mid[0], inclusive=True), upper, blind))
        pending.append((lower, _Bound(mid[0]), blind))
    copier.flush()
    _describe_ranges(dst, shape, lost, result)
    return copier.max_id
