"""txt: one plain-text letter per recipient, with its subject, for contact forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from campaign.formats.base import Format

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter


class Txt(Format):
    name = "txt"
    per_letter = True
    extension = "txt"
    needs_email = False

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return f"Subject: {recipient.subject}\n\n{letter.text}".encode()
