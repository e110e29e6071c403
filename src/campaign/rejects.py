"""The rejects file of --skip-invalid: every refused row with its reasons, as a spreadsheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from campaign.formats.spreadsheet import BOM
from campaign.safety import neutralise_cell

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient

REJECTS_COLUMNS = ("line", "row", "reasons")
REJECTS_HEADER = BOM + ",".join(REJECTS_COLUMNS).encode("ascii") + b","


def rejects_rows(job: Job, rejected: list[Recipient]) -> bytes:
    """The rejects file: the input's columns after line, row and reasons."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_cell(c) for c in (*REJECTS_COLUMNS, *job.file.header)])
    for r in rejected:
        values = [r.row.values.get(c, "") for c in job.file.header]
        cells = [str(r.row.line), str(r.row.number), "; ".join(r.problems), *values]
        writer.writerow([neutralise_cell(c) for c in cells])
    # A rejected row may hold what no UTF-8 file can (a lone surrogate): shown escaped.
    return BOM + buffer.getvalue().encode("utf-8", "backslashreplace")


def is_rejects_file(path: Path) -> bool:
    """A rejects file an export wrote, by its first line: never delete somebody's own file."""
    try:
        with open(path, "rb") as handle:
            return handle.readline().startswith(REJECTS_HEADER)
    except OSError:
        return False
