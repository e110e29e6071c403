"""mbox: every message in one mailbox file (mboxrd), for mail programs to open or import.

Each message is exactly its .eml file's bytes, after a ``From `` line (the sender and the
export's date) and with mboxrd's quoting: a line starting ``From ``, or ``>From `` after any
number of ``>``, gets one more ``>``, which a mboxrd reader takes off again. A blank line ends
each message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from campaign.formats.base import Format

if TYPE_CHECKING:
    from campaign.pipeline import Job, Recipient
    from campaign.render import Letter

_FROM_LINE = re.compile(rb"^>*From ", re.MULTILINE)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# An envelope sender goes on the From line only when it is one printable ASCII word.
_PLAIN = re.compile(r"[!-~]+")


def from_line(sender: str, moment: datetime) -> bytes:
    """``From sender Fri Nov 27 14:00:00 2026``: asctime() in UTC, whatever the locale."""
    t = moment.astimezone(UTC) if moment.tzinfo else moment
    when = (
        f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:2d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} {t.year}"
    )
    who = sender if _PLAIN.fullmatch(sender) else "MAILER-DAEMON"
    return f"From {who} {when}\n".encode("ascii")


def quote(message: bytes) -> bytes:
    """mboxrd quoting: one more ``>`` before every line matching ``>*From ``."""
    return _FROM_LINE.sub(lambda m: b">" + m.group(0), message)


class Mbox(Format):
    name = "mbox"
    per_letter = False
    extension = "mbox"
    suffixes = (".mbox",)
    html = True
    # Our From line, then the header block campaign.message writes, in its order.
    signature = re.compile(
        rb"From [!-~]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}\n"
        + b"".join(
            name + rb": [^\n]*(?:\n[ \t][^\n]*)*\n" + optional
            for name, optional in (
                (b"From", b""),
                (b"To", b""),
                (b"(?:Reply-To", b")?"),
                (b"Subject", b""),
                (b"Date", b""),
            )
        )
        + rb"Message-ID: <[^>\n]+>\nMIME-Version: 1\.0\nContent-Type: "
    )

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        message = job.message(recipient, letter)
        if b"From " in message:
            message = quote(message)
        if not message.endswith(b"\n"):
            message += b"\n"
        return from_line(job.campaign.sender_email, job.now) + message + b"\n"
