"""jsonl: one JSON object per letter, lossless, for programs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from campaign.formats.base import Format

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter


class Jsonl(Format):
    name = "jsonl"
    per_letter = False
    extension = "jsonl"
    suffixes = (".jsonl", ".ndjson")
    needs_email = False
    html = True

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        record = {
            "line": recipient.row.line,
            "row": recipient.row.number,
            "audience": recipient.audience,
            "recipient": recipient.display_name,
            "to": recipient.email,
            "salutation": recipient.fields["salutation"],
            "subject": recipient.subject,
            "text": letter.text,
            "html": letter.html,
            "cited": list(letter.cited),
            "fields": recipient.row.values,
        }
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
