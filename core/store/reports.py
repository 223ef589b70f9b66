"""Reports saved with a dataset (the file's bytes in the database)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slicewise.core.errors import (
    StoreValueError,
)
from slicewise.core.store.common import (
    _clean_name,
    _clean_user,
    _insert,
    _now,
    _row_by_id,
)


def _check_report(fmt: Any, filename: Any, content: Any) -> tuple[str, str, bytes]:
    """Return a report's format (lower-cased), file name and content as bytes, checked.

    Raises
    ------
    StoreValueError
        A blank format or file name, or content that is neither text nor bytes.
    InvalidValueError
        A format longer than a name may be (:func:`_clean_name`).
    """
    fmt = _clean_name(fmt, "report format").lower()
    filename = _clean_name(filename, "report file name", limit=None)
    if isinstance(content, str):
        content = content.encode("utf-8")
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise StoreValueError(f"report content must be text or bytes, got {type(content)}")
    return fmt, filename, bytes(content)


class ReportsMixin:
    """Save, list and read reports."""

    def save_report(
        self, dataset_id: int, fmt: str, filename: str, content: str | bytes, *, user: str
    ) -> int:
        """Store an exported report.

        Parameters
        ----------
        dataset_id
            The dataset it describes.
        fmt
            Its format, e.g. ``"html"``, ``"csv"``, ``"md"`` (lower-cased).
        filename
            The name to download it under (stored as given, never used as a path).
        content
            Text (stored as UTF-8) or bytes.
        user
            Who saves it.

        Returns
        -------
        int
            The report id.
        """
        user = _clean_user(user)
        fmt, filename, content = _check_report(fmt, filename, content)
        with self._write():
            row = self._dataset_for_write(dataset_id, user, "save_report")
            at = _now()
            record = {
                "dataset_id": row["id"],
                "fmt": fmt,
                "filename": filename,
                "size": len(content),
                "content": content,
                "created_at": at,
                "created_by": user,
            }
            rid = _insert(self, "reports", record)
            self._event(
                "report.save",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                report_id=rid,
                fmt=fmt,
                filename=filename,
                size=len(content),
            )
            return rid

    def list_reports(self, dataset_id: int | None = None) -> pd.DataFrame:
        """Return stored reports (without content), newest first.

        Parameters
        ----------
        dataset_id
            Only this dataset's reports; ``None`` lists all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``dataset_id``, ``fmt``, ``filename``, ``size``, ``created_at``,
            ``created_by``.
        """
        cols = ["id", "dataset_id", "fmt", "filename", "size", "created_at", "created_by"]
        where, params = "", []
        if dataset_id is not None:
            where, params = "WHERE dataset_id = ?", [self._dataset_row(dataset_id)["id"]]
        return self._frame(
            f"SELECT {', '.join(cols)} FROM reports {where} ORDER BY created_at DESC, id DESC",
            params,
            cols,
        )

    def report_content(self, report_id: int) -> bytes:
        """Return a report's bytes.

        Parameters
        ----------
        report_id
            The report.

        Returns
        -------
        bytes
        """
        return bytes(_row_by_id(self, "reports", report_id, "report", "content")["content"])
