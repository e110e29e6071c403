"""The seal of an eml export: which letters it wrote, their hashes, To addresses and Message-IDs.

The export writes it into its staging folder after every letter, so it is moved into place
last (or appears with the whole folder): a folder whose seal lists every letter with the bytes
it holds is a complete, unedited export. ``campaign send`` reads it before anything goes out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from campaign.errors import CampaignError
from campaign.message import InternalError, verify
from campaign.movelog import JOURNAL

SEAL = ".campaign-export.json"
FORMAT = "campaign-eml-export"
VERSION = 1
_LETTER = re.compile(r"[0-9]{6,}-[a-z0-9-]+\.eml")
# What export writes: an ASCII address (IDN domains punycoded) and a Message-ID in brackets.
_ADDRESS = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.-]+")
_ID = re.compile(r"<[!-;=?-~]+>")
_MESSAGE_ID = re.compile(rb"^Message-ID: (<[!-~]+>)\n", re.MULTILINE)
_TO_ADDRESS = re.compile(rb"<([^<>\s]+)>\s*$")
_TO_FIELD = re.compile(rb"^To: ((?:[^\n]*\n)(?:[ \t][^\n]*\n)*)", re.MULTILINE)


@dataclass(frozen=True)
class SealedLetter:
    file: str
    sha256: str
    to: str
    message_id: str


def header_block(data: bytes) -> bytes:
    """The header block of an exported letter, up to and including the blank line."""
    end = data.find(b"\n\n")
    if end < 0:
        raise InternalError("no blank line after the headers")
    return data[: end + 2]


def read_back(data: bytes) -> tuple[str, str]:
    """(To address, Message-ID) of a letter in the form export writes; InternalError if not.

    The same header read-back the export does (``message.verify``): only the fields this
    program writes, in its order, and exactly one address in To.
    """
    head = header_block(data)
    to_field = _TO_FIELD.search(head)
    address = _TO_ADDRESS.search(to_field.group(1).replace(b"\n", b"")) if to_field else None
    message_id = _MESSAGE_ID.search(head)
    if address is None or message_id is None:
        raise InternalError("no To address or no Message-ID")
    to = address.group(1).decode("ascii", "replace")
    verify(head, to, b"\nReply-To: " in head)
    return to, message_id.group(1).decode("ascii")


def seal_letter(folder: Path, name: str) -> SealedLetter:
    data = (folder / name).read_bytes()
    to, message_id = read_back(data)
    return SealedLetter(name, hashlib.sha256(data).hexdigest(), to, message_id)


def write_seal(handle: BinaryIO, folder: Path, names: Iterable[str], date: str) -> None:
    """Write the seal for the ``.eml`` letters among ``names`` in ``folder``: one JSON object,
    a line per letter, streamed, so that it costs no memory per letter.

    ``date`` is the export's --date, so the same export gives the same seal byte for byte.
    """
    head = json.dumps({"format": FORMAT, "version": VERSION, "date": date})[:-1]
    handle.write((head + ', "letters": [').encode("ascii"))
    separator = b"\n"
    for name in names:
        if not name.endswith(".eml"):
            continue
        sealed = seal_letter(folder, name)
        record = {
            "file": sealed.file,
            "sha256": sealed.sha256,
            "to": sealed.to,
            "message_id": sealed.message_id,
        }
        handle.write(separator + json.dumps(record, ensure_ascii=True).encode("ascii"))
        separator = b",\n"
    handle.write(b"\n]}\n")


def load_seal(folder: Path) -> list[SealedLetter]:
    """The letters the eml export in ``folder`` wrote; CampaignError if it is not one."""
    path = folder / SEAL
    if not folder.is_dir():
        raise CampaignError(f"{folder} is not a folder: give the folder an eml export wrote")
    if (folder / JOURNAL).exists():
        # An export was stopped while it moved its letters in: old and new side by side.
        raise CampaignError(
            f"{folder}: an export into this folder was stopped before it finished moving its "
            f"letters into place; run `campaign export --format eml --out {folder}` again first"
        )
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CampaignError(
            f"{folder} holds no finished eml export ({SEAL} is missing): run "
            f"`campaign export --format eml --out {folder}` first"
        ) from None
    except (OSError, ValueError) as exc:
        raise CampaignError(f"{path}: cannot read the export's seal ({exc})") from None
    try:
        if data["format"] != FORMAT or data["version"] != VERSION:
            raise CampaignError(f"{path}: not a seal this version of campaign writes")
        letters = [
            SealedLetter(str(e["file"]), str(e["sha256"]), str(e["to"]), str(e["message_id"]))
            for e in data["letters"]
        ]
    except (KeyError, TypeError) as exc:
        raise CampaignError(f"{path}: the export's seal is damaged ({exc!r})") from None
    for letter in letters:
        if not _LETTER.fullmatch(letter.file):
            raise CampaignError(f"{path}: the export's seal names an odd file {letter.file!r}")
        if not _ADDRESS.fullmatch(letter.to) or not _ID.fullmatch(letter.message_id):
            raise CampaignError(f"{path}: the export's seal is damaged at {letter.file}")
    return letters
