"""eml: one RFC 5322 message file per letter, built by campaign.message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from campaign.formats.base import Format

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter


class Eml(Format):
    name = "eml"
    per_letter = True
    extension = "eml"
    html = True

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return job.message(recipient, letter)
