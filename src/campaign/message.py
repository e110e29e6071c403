"""Building one RFC 5322 message as bytes, fast, and proving its headers are what we meant."""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass
from email.charset import Charset
from email.header import Header
from email.utils import formataddr
from typing import cast

from campaign.safety import display_name_problem, invisible_problem

# Files on disk use LF, as Python's email package and mail clients' .eml files do; SMTP
# clients (smtplib included) turn them into CRLF on the wire.
NL = "\n"


class InternalError(Exception):
    """A message came out different from what was intended: a bug, never the user's data."""


@dataclass(frozen=True)
class Envelope:
    """The headers every message of a campaign shares, encoded once."""

    from_header: str
    reply_to_header: str | None
    date_header: str
    id_domain: str
    id_seed: str


def encode_header(name: str, value: str) -> str:
    """``Name: value`` folded to 78 columns, RFC 2047-encoded when not ASCII."""
    if value.isascii():
        if len(name) + 2 + len(value) <= 78:
            return f"{name}: {value}"
        if "  " not in value and value == value.strip():
            return f"{name}: " + _fold(value, len(name) + 2)
        return f"{name}: " + Header(value, "us-ascii", header_name=name).encode(linesep=NL)
    return f"{name}: " + _q_words(value, len(name) + 2)


# RFC 2047 'Q' encoding, byte by byte: letters, digits and the specials allowed in every kind
# of header (RFC 2047, 5 (3)) stay as they are, a space becomes '_', the rest '=XX'.
_Q_BYTE = [
    chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "!*+-/") else f"={b:02X}"
    for b in range(256)
]
_Q_BYTE[0x20] = "_"
_Q_WORD_ROOM = 75 - len("=?utf-8?q??=")  # an encoded-word is at most 75 characters


def _q_words(value: str, used: int) -> str:
    """Unstructured text (a Subject) as RFC 2047 'Q' encoded-words, one per line.

    Each word holds whole characters, so each decodes on its own; readers join adjacent words
    and drop the folding between them (RFC 2047, 6.2), giving back the text exactly. The first
    line also holds ``used`` columns ('Subject: '), and no line is longer than 78 columns.
    """
    words: list[str] = []
    current: list[str] = []
    size = 0
    room = min(_Q_WORD_ROOM, 78 - used - len("=?utf-8?q??="))
    for char in value:
        encoded = "".join([_Q_BYTE[b] for b in char.encode("utf-8")])
        if current and size + len(encoded) > room:
            words.append("".join(current))
            current, size, room = [], 0, _Q_WORD_ROOM
        current.append(encoded)
        size += len(encoded)
    words.append("".join(current))
    return (NL + " ").join([f"=?utf-8?q?{word}?=" for word in words])


# RFC 5322's limit for one header line, less room for the field name.
HEADER_LINE = 990


def mailbox_header(name: str, display: str, email: str) -> str:
    """``To: Name <address>`` (or From), folded at spaces to 78 columns where it can be."""
    return encode_header(name, address(display, email))


def _fold(value: str, used: int) -> str:
    """Fold an ASCII value at spaces so lines stay within 78 columns where words allow."""
    lines: list[str] = []
    current = ""
    for word in value.split(" "):
        if current and used + len(current) + 1 + len(word) > 78:
            lines.append(current)
            current, used = word, 1
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return (NL + " ").join(lines)


_UTF8 = Charset("utf-8")
# formataddr()'s own: a name with any of these is quoted, and these are escaped inside quotes.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_ESCAPES = re.compile(r'[\\"]')


def address(name: str, email: str) -> str:
    """A mailbox for From or To: display name quoted or RFC 2047-encoded as needed.

    A non-ASCII name is one encoded-word, whatever its length: Python's email package reads
    a display name split into several encoded-words back with extra spaces, so splitting
    would change the name. Callers keep the whole line within 998 octets (HEADER_LINE).
    """
    if reason := invisible_problem(name):
        # Header() would quietly fold a line break away: the caller skipped the checks.
        raise InternalError(f"display name {reason}")
    if name and name.isascii() and email.isascii():
        # What formataddr() does with an ASCII name, without its detours.
        if _SPECIALS.search(name):
            return '"' + _ESCAPES.sub(r"\\\g<0>", name) + f'" <{email}>'
        return f"{name} <{email}>"
    return formataddr((name, email), charset=_UTF8)


def make_envelope(
    sender_name: str,
    sender_email: str,
    reply_to: str | None,
    date_header: str,
    id_domain: str,
    id_seed: str,
) -> Envelope:
    return Envelope(
        from_header=mailbox_header("From", sender_name, sender_email),
        reply_to_header=encode_header("Reply-To", reply_to) if reply_to else None,
        date_header=f"Date: {date_header}",
        id_domain=id_domain,
        id_seed=id_seed,
    )


def message_id(envelope: Envelope, recipient_key: str) -> str:
    digest = hashlib.sha256(f"{envelope.id_seed}\0{recipient_key}".encode()).hexdigest()[:32]
    return f"<{digest}@{envelope.id_domain}>"


class _LineCache(dict[str, bytes]):
    """Lines already encoded, up to ``room`` characters of them in all (a dict: fast to ask)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def keep(self, line: str, encoded: bytes) -> None:
        if len(line) <= self.room:
            self[line] = encoded
            self.room -= len(line)


# Quoted-printable works line by line, and most lines of a letter are the same in every copy:
# each distinct line is encoded once. The first letters' lines fill it; bounded by characters,
# so neither unique lines nor very long ones can grow it past about a megabyte.
_QP_LINES = _LineCache(room=200_000)
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
# A line that starts "From " (after any number of ">") is a message boundary to an mbox
# reader, which quotes it with one more ">" or splits the message there. Its first character
# goes out encoded (=46, =3E): the same text once decoded, and nothing along the way (an mbox
# file, a mail program, a transfer agent) has a reason to touch the line.
_FROM_LINE = re.compile(rb"^(?=>*From )(.)", re.MULTILINE)


def _quote_from(match: re.Match[bytes]) -> bytes:
    return b"=%02X" % match.group(1)[0]


def _qp(text: str) -> bytes:
    """The text as quoted-printable; a part ends with a line break, as set_content() ensures."""
    # Line breaks as EmailMessage.set_content() reads them: LF, CRLF, and a CR alone, which
    # quoted-printable may not carry bare (RFC 2045, 6.7).
    lines = _LINE_ENDS.split(text) if "\r" in text else text.split("\n")
    if lines[-1] == "" and len(lines) > 1:
        lines.pop()
    cache = _QP_LINES
    found = list(map(cache.get, lines))  # in C: most lines are in every copy of the letter
    if None in found:
        for index, line in enumerate(lines):
            if found[index] is None:
                if (
                    len(line) <= 76
                    and line.isascii()
                    and line.isprintable()
                    and "=" not in line
                    and not line.endswith(" ")
                    and line != "."
                    and not line.lstrip(">").startswith("From ")
                ):
                    qp = line.encode("ascii")  # what b2a_qp() gives: the line itself
                else:
                    qp = binascii.b2a_qp(line.encode("utf-8"), quotetabs=False, istext=True)
                    if b"From " in qp:  # also where b2a_qp's soft line breaks begin a line
                        qp = _FROM_LINE.sub(_quote_from, qp)
                cache.keep(line, qp)
                found[index] = qp
    encoded = cast(list[bytes], found)
    encoded.append(b"")
    return b"\n".join(encoded)


_TEXT_HEADERS = (
    'Content-Type: text/plain; charset="utf-8"' + NL + "Content-Transfer-Encoding: quoted-printable"
)
_HTML_HEADERS = (
    'Content-Type: text/html; charset="utf-8"' + NL + "Content-Transfer-Encoding: quoted-printable"
)


def build(
    envelope: Envelope,
    to_name: str,
    to_email: str,
    subject: str,
    text: str,
    html: str | None,
    recipient_key: str,
) -> bytes:
    """The whole message. Values must already have passed safety.header_problem()."""
    mid = message_id(envelope, recipient_key)
    head = [envelope.from_header, mailbox_header("To", to_name, to_email)]
    if envelope.reply_to_header:
        head.append(envelope.reply_to_header)
    head += [
        encode_header("Subject", subject),
        envelope.date_header,
        f"Message-ID: {mid}",
        "MIME-Version: 1.0",
    ]
    if html is None:
        head.append(_TEXT_HEADERS)
        body = _qp(text)
    else:
        # '=' never appears unescaped in quoted-printable text, so this boundary cannot clash.
        boundary = f"=_{mid[1:33]}"
        head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        parts = [
            f"--{boundary}{NL}{_TEXT_HEADERS}{NL}{NL}".encode("ascii"),
            _qp(text),
            f"{NL}--{boundary}{NL}{_HTML_HEADERS}{NL}{NL}".encode("ascii"),
            _qp(html),
            f"{NL}--{boundary}--{NL}".encode("ascii"),
        ]
        body = b"".join(parts)
    header_bytes = (NL.join(head) + NL + NL).encode("ascii")
    verify(header_bytes, to_email, envelope.reply_to_header is not None)
    return header_bytes + body


_EXPECTED = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]
# The field names, in order, for each (has Reply-To, is multipart) combination.
_EXPECTED_NAMES = {
    (reply_to, multipart): [
        *_EXPECTED[:2],
        *(["Reply-To"] if reply_to else []),
        *_EXPECTED[2:],
        *([] if multipart else ["Content-Transfer-Encoding"]),
    ]
    for reply_to in (False, True)
    for multipart in (False, True)
}


# A header line's name (RFC 5322 ftext), and the only shapes our To header can take: a display
# name (encoded-words, a quoted-string or plain atoms) and one angle-bracketed address.
_FIELD_NAME = re.compile(rb"([!-9;-~]+):")
_TO = re.compile(
    r"(?:=\?utf-8\?[bq]\?[!->@-~]*\?=(?: =\?utf-8\?[bq]\?[!->@-~]*\?=)*"
    r'|"(?:[^"\\]|\\.)*"'
    r"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*)"
    r' ?<([^<>@\s",;:()\\]+@[^<>@\s",;:()\\]+)>'
)


# One field's value as we write it: its first line, then any folded continuation lines.
_VALUE = rb"[^\r\n]*\n(?:[ \t][^\r\n]*\n)*"


def _block(names: list[str]) -> re.Pattern[bytes]:
    """The whole header block with exactly these fields in this order; group 1 is To's value."""
    fields = [
        rb"To: (" + _VALUE + rb")" if name == "To" else re.escape(name.encode()) + rb": " + _VALUE
        for name in names
    ]
    return re.compile(b"".join(fields) + rb"\n")


_BLOCKS = {shape: _block(names) for shape, names in _EXPECTED_NAMES.items()}


def verify(header_bytes: bytes, to_email: str, reply_to: bool) -> None:
    """Read the header block back: its field names and single To address must be ours.

    Defence in depth against header injection: the values were checked before, so any
    difference here is a bug in this program, and the export stops. The check is strict
    on purpose (a whitelist of what this module writes) and cheap enough for every message:
    one regular expression matches the whole block, and only a mismatch is looked at closer.
    """
    multipart = b"\nContent-Type: multipart/" in header_bytes
    block = _BLOCKS[reply_to, multipart].fullmatch(header_bytes)
    if block is None:
        _explain(header_bytes, reply_to)
        raise InternalError("message header block is not in the form this program writes")
    to_value = block.group(1).replace(b"\n", b"").decode("ascii")  # unfolded
    to = _TO.fullmatch(to_value)
    if to is None or to.group(1) != to_email:
        raise InternalError(f"message To came out as {to_value!r}, expected one: {to_email}")
    if b"=?" in header_bytes:
        _check_encoded_words(header_bytes.split(b"\n")[:-2])


def _explain(header_bytes: bytes, reply_to: bool) -> None:
    """Raise InternalError saying how a header block differs from what we write."""
    names: list[str] = []
    lines = header_bytes.split(b"\n")
    if lines[-2:] != [b"", b""]:
        raise InternalError("message header block does not end with one blank line")
    for line in lines[:-2]:
        if line[:1] in (b" ", b"\t") and names:
            continue
        match = _FIELD_NAME.match(line)
        if match is None:
            raise InternalError(f"message header line is not a field: {line[:60]!r}")
        names.append(match.group(1).decode("ascii"))
    expected = _EXPECTED_NAMES[reply_to, b"\nContent-Type: multipart/" in header_bytes]
    if names != expected:
        raise InternalError(f"message headers came out as {names}, expected {expected}")


# The only encoded-words this module writes (Header() and formataddr() with utf-8), matched
# wherever '=?' appears: any other kind in a header block is a bug, whatever it decodes to.
_ENCODED_WORD = re.compile(r"=\?(utf-8|us-ascii)\?([bq])\?([!->@-~]*)\?=", re.IGNORECASE)


def _decode_word(word: re.Match[str]) -> str:
    charset, encoding, data = word.groups()
    raw = data.encode("ascii")
    decoded = binascii.a2b_base64(raw) if encoding in "bB" else binascii.a2b_qp(raw, header=True)
    return decoded.decode(charset)


def _check_encoded_words(lines: list[bytes]) -> None:
    """No RFC 2047 encoded-word may decode to a line break or control (CVE-2024-6923).

    An encoded-word hides its text from the field-name check above, and a Python without the
    fix turns a decoded line break into a real header line (a Bcc) when it re-sends the message.
    """
    fields: list[tuple[bytes, bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    for name, raw in fields:
        if b"=?" not in raw:
            continue
        text = raw.decode("ascii").strip()
        if "=?" in _ENCODED_WORD.sub(" ", text):
            raise InternalError(
                f"message header has an encoded-word of a kind we never write: {text[:60]!r}"
            )
        try:
            text = _ENCODED_WORD.sub(_decode_word, text)
        except (ValueError, LookupError) as exc:  # binascii.Error and UnicodeError included
            raise InternalError(f"message header has an unreadable encoded-word: {exc}") from None
        if reason := invisible_problem(text):
            raise InternalError(f"message header decodes to text that {reason}: {text[:60]!r}")
        if name in (b"From", b"To") and (
            reason := display_name_problem(text.rpartition("<")[0].strip())
        ):
            raise InternalError(f"message {name.decode()} header's encoded name {reason}")


__all__ = ["Envelope", "InternalError", "build", "mailbox_header", "make_envelope"]
