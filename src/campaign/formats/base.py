"""What every export format provides: the small interface the exporter drives."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from campaign.safety import slug

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter


def file_name(recipient: Recipient, extension: str) -> str:
    """``000012-padilla-alex.eml``: the row number keeps names unique, the slug readable."""
    who = (
        f"{recipient.row.values.get('last_name', '')} {recipient.row.values.get('first_name', '')}"
    )
    return f"{recipient.row.number:06d}-{slug(who)}.{extension}"


class Format:
    """One export format. Subclasses set the class attributes and implement ``letter()``.

    A per-letter format writes ``letter()``'s bytes to ``letter_name()`` in the output folder,
    one file per recipient. A one-file format writes one file: ``assemble()`` gets every
    letter's ``letter()`` bytes (its record), in recipient order, once every row is rendered;
    by default it writes ``header()``, the records and ``footer()``.

    ``letter()`` runs in the worker processes of ``--jobs``: the slow work belongs there.
    ``assemble()`` runs once, in the main process, after every worker is done.
    """

    name: ClassVar[str]
    per_letter: ClassVar[bool]
    # A letter's file extension, or the one file's (its default name is ``letters.EXT``).
    extension: ClassVar[str]
    # For one-file formats: the suffixes --out may end in to name the file.
    suffixes: ClassVar[tuple[str, ...]] = ()
    # Whether every row needs an email address (eml does; a spreadsheet does not).
    needs_email: ClassVar[bool] = True
    # Whether letters need their HTML version rendered too.
    html: ClassVar[bool] = False
    # The rejects file of --skip-invalid, beside this format's letters.
    rejects: ClassVar[str] = "rejects.csv"

    def letter_name(self, recipient: Recipient) -> str:
        """The file name of a recipient's letter (per-letter formats)."""
        return file_name(recipient, self.extension)

    def is_letter_name(self, name: str) -> bool:
        """Whether ``name`` is a name ``letter_name()`` gives (an earlier run's letter)."""
        return _LETTER.fullmatch(name) is not None and name.endswith(f".{self.extension}")

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        """The bytes of one letter: its file, or its record in the one file."""
        raise NotImplementedError

    def header(self) -> bytes:
        """What the one file starts with (one-file formats)."""
        return b""

    def footer(self) -> bytes:
        """What the one file ends with (one-file formats)."""
        return b""

    def assemble(self, records: Iterable[bytes], target: BinaryIO) -> None:
        """Write the one file from every letter's record, in recipient order.

        Override to build the file from the whole set at the end (a combined document).
        """
        target.write(self.header())
        for record in records:
            target.write(record)
        target.write(self.footer())


_LETTER = re.compile(r"[0-9]{6,}-[a-z0-9-]+\.[a-z0-9]+")
