"""jsonl: one JSON object per letter, lossless, for programs."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from campaign.formats.base import Format
from campaign.safety import one_json_line

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
    signature = re.compile(rb'\{"line": [0-9]+, "row": [0-9]+, "audience": ')

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
            "contact_form": recipient.fields.get("contact_form", ""),
            "phone": recipient.fields.get("phone", ""),
            "fields": recipient.row.values,
        }
        return (one_json_line(json.dumps(record, ensure_ascii=False)) + "\n").encode("utf-8")
