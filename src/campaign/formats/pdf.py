"""pdf: one printed letter per recipient; pdf-combined: every letter in one PDF, bookmarked.

The layout is campaign.printing's; WeasyPrint, the pdf extra, is imported only when a letter
is made, so the other formats never need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

from campaign.formats.base import Format

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter


class _Print(Format):
    needs_email = False
    html = True  # an audience's HTML letter is what it prints, when it has one

    def __init__(self) -> None:
        self._printer: Any = None  # one per process and run: fonts and stylesheet loaded once

    def printer(self, job: Job) -> Any:
        from campaign.printing import Printer

        if self._printer is None or self._printer.job is not job:
            self._printer = Printer(job)
        return self._printer


class Pdf(_Print):
    name = "pdf"
    per_letter = True
    extension = "pdf"

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return bytes(self.printer(job).pdf(recipient, letter))


class PdfCombined(_Print):
    """Each record is a letter's page as HTML, checked (every glyph printable) in the worker;
    the one PDF is laid out from them at the end, in recipient order."""

    name = "pdf-combined"
    per_letter = False
    extension = "pdf"
    suffixes = (".pdf",)

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return bytes(self.printer(job).checked_page(recipient, letter).encode("utf-8"))

    def assemble(self, records: Iterable[bytes], target: BinaryIO) -> None:
        from campaign.printing import combined_from_pages

        target.write(combined_from_pages(record.decode("utf-8") for record in records))
