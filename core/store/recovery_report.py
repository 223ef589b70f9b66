"""What :func:`core.store.recover_store` copied and what it lost, per table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TableRecovery:
    """What :func:`recover_store` copied of one table.

    Attributes
    ----------
    name
        The table.
    copied
        Rows read and put in the new store (ids and keys unchanged), less ``dropped``;
        ``stand_ins`` come on top.
    damaged
        Whether reading the table hit a damaged page: the rows on it could not be read.
    unreadable
        The key ranges that could not be read, e.g. ``["id 21 to 37"]``.
    unreadable_ids
        For a table keyed by one integer id: how many ids lie in those ranges (at most
        that many rows were lost; some may have been deleted before). ``None`` when the
        keys are not integers or the range is open-ended (the count is unknown).
    rejected
        Rows read but refused by the table's constraints (their bytes were garbled).
    dropped
        Rows left out because the row they belong to (``ON DELETE CASCADE``) was lost, as
        deleting it would have removed them; ``dropped_because`` says which.
    dropped_because
        E.g. ``"their datasets rows were lost (dataset_id 1, 2)"``.
    unlinked
        Links to lost rows that were cleared (``ON DELETE SET NULL``), e.g. an annotation
        set's link to a lost dataset.
    stand_ins
        Ids of the stand-in rows made for lost projects that other rows belong to (named as
        their ``project.create`` event says, else ``"recovered project <id>"``).
    search_stopped
        Whether the search around damaged pages stopped at :data:`RECOVER_SEARCH_LIMIT`.
    """

    name: str
    copied: int = 0
    damaged: bool = False
    unreadable: list[str] = field(default_factory=list)
    unreadable_ids: int | None = 0
    rejected: int = 0
    dropped: int = 0
    dropped_because: str = ""
    unlinked: int = 0
    stand_ins: list[int] = field(default_factory=list)
    search_stopped: bool = False

    @property
    def lost(self) -> bool:
        """Whether rows of the table did not reach the new store (unreadable or left out)."""
        return self.damaged or self.rejected > 0 or self.dropped > 0


@dataclass
class RecoveryReport:
    """What :func:`recover_store` copied from a damaged store into a new one.

    Attributes
    ----------
    source, target
        The damaged database (not changed) and the new one.
    schema_version
        The damaged database's schema version (the new store is migrated to the newest).
    tables
        Per table (in the damaged file's order), what was copied and lost.
    datasets_copied
        Ids of the datasets whose rows and files were copied.
    datasets_lost
        Ids of datasets whose files are in the damaged store's folder but whose rows were
        lost: their files stay there.
    dataset_files_missing
        Ids of datasets whose rows were copied but whose files are missing or unreadable
        in the damaged store's folder (loading them fails).
    annotation_files_missing
        Ids of annotation sets whose rows were copied but whose label file is missing.
    production_files_missing
        Ids of production samples whose rows were copied but whose file is missing.
    warnings
        Other things to act on, e.g. that the new store is open to every user.
    """

    source: Path
    target: Path
    schema_version: int
    tables: dict[str, TableRecovery]
    datasets_copied: list[int] = field(default_factory=list)
    datasets_lost: list[int] = field(default_factory=list)
    dataset_files_missing: list[int] = field(default_factory=list)
    annotation_files_missing: list[int] = field(default_factory=list)
    production_files_missing: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def lost_tables(self) -> list[str]:
        """The tables some of whose rows did not reach the new store."""
        return [name for name, t in self.tables.items() if t.lost]

    @property
    def complete(self) -> bool:
        """Whether every row and every dataset's files reached the new store."""
        return not (
            self.lost_tables
            or self.datasets_lost
            or self.dataset_files_missing
            or self.annotation_files_missing
            or self.production_files_missing
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values (paths as text)."""
        out = asdict(self)
        out["source"], out["target"] = str(self.source), str(self.target)
        out["lost_tables"], out["complete"] = self.lost_tables, self.complete
        return out
