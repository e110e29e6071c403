"""The export formats, one module each, behind one interface (formats.base.Format).

How to add a format
-------------------
1. Write ``formats/NAME.py`` with a ``Format`` subclass. Set ``name``, ``per_letter`` (one file
   per recipient, or one file for all), ``extension``, and for a one-file format the
   ``suffixes`` --out may end in; ``needs_email`` (False when a row without an address still
   makes a letter) and ``html`` (True when the letter's HTML version is wanted).
2. Implement ``letter(job, recipient, letter) -> bytes``: a per-letter format's file, or a
   one-file format's record for that letter. It runs in the ``--jobs`` worker processes, so
   slow work (rendering a PDF) belongs here. Anything it needs comes from the recipient (its
   row, fields, address, subject) and the rendered Letter (text, html, cited).
3. One-file formats: ``header()`` and ``footer()`` frame the records; or override
   ``assemble(records, target)``, which is given every letter's record in recipient order
   once all are made, to build the one file from the whole set (a combined document with an
   outline). Records are staged on disk, never held all at once in memory by the exporter.
4. Add an instance to ``_BUILTIN`` below. A format whose library is an optional extra imports
   it inside ``letter()`` and raises CampaignError naming the extra when it is missing.

Nothing else changes: the output folder's transaction (campaign.outbox), the processes of
--jobs (campaign.parallel) and the rejects file know no format.
"""

from __future__ import annotations

from campaign.errors import CampaignError
from campaign.formats.base import Format, file_name
from campaign.formats.eml import Eml
from campaign.formats.jsonl import Jsonl
from campaign.formats.pdf import Pdf, PdfCombined
from campaign.formats.spreadsheet import Csv
from campaign.formats.txt import Txt

_BUILTIN: tuple[Format, ...] = (Eml(), Csv(), Jsonl(), Txt(), Pdf(), PdfCombined())
REGISTRY: dict[str, Format] = {f.name: f for f in _BUILTIN}
FORMATS = tuple(REGISTRY)


def get(name: str) -> Format:
    """The format called ``name``; CampaignError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise CampaignError(
            f"unknown format {name!r}: choose one of {', '.join(FORMATS)}"
        ) from None


def needs_email(name: str) -> bool:
    """Whether a row needs an email address to make a letter of this format."""
    return name not in REGISTRY or REGISTRY[name].needs_email


__all__ = ["FORMATS", "REGISTRY", "Format", "file_name", "get", "needs_email"]
