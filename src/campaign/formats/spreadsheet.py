"""csv: one spreadsheet row per letter, every cell safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from campaign.formats.base import Format
from campaign.safety import neutralise_cell

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter

# Spreadsheets (Excel above all) read a CSV as UTF-8 only when it starts with a byte-order mark.
BOM = "\ufeff".encode()
CSV_COLUMNS = (
    "line",
    "row",
    "audience",
    "recipient",
    "to",
    "salutation",
    "subject",
    "text",
    "cited",
    "contact_form",
    "phone",
)


def csv_record(cells: Iterable[str]) -> bytes:
    """One CSV record, as csv.writer writes it (minimal quoting, CRLF), in UTF-8.

    csv.writer copies a field character by character to decide on quotes; a letter is a few
    thousand characters, so this asks str's own searches instead (tested against csv.writer).
    """
    quoted = []
    for cell in cells:
        if '"' in cell:
            cell = '"' + cell.replace('"', '""') + '"'
        elif "," in cell or "\n" in cell or "\r" in cell:
            cell = '"' + cell + '"'
        quoted.append(cell)
    return (",".join(quoted) + "\r\n").encode("utf-8")


def csv_cells(recipient: Recipient, letter: Letter) -> list[str]:
    """The cells of a letter's row, in CSV_COLUMNS order, before neutralising."""
    fields = recipient.fields
    return [
        str(recipient.row.line),
        str(recipient.row.number),
        recipient.audience,
        recipient.display_name,
        recipient.email,
        fields["salutation"],
        recipient.subject,
        letter.text,
        " ".join(letter.cited),
        fields.get("contact_form", ""),
        fields.get("phone", ""),
    ]


class Csv(Format):
    name = "csv"
    per_letter = False
    extension = "csv"
    suffixes = (".csv",)
    needs_email = False

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return csv_record(map(neutralise_cell, csv_cells(recipient, letter)))

    def header(self) -> bytes:
        return BOM + (",".join(CSV_COLUMNS) + "\r\n").encode("ascii")
