"""What untrusted text may contain before it goes into a mail header, a file name or a cell."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Characters that end a line for some reader: CR, LF, VT, FF, the C1 NEL, the file/group/record
# separators str.splitlines() honours, and the Unicode line and paragraph separators.
_LINE_BREAKS = {
    "\r": "a carriage return (CR)",
    "\n": "a line break (LF)",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\x1c": "a file separator",
    "\x1d": "a group separator",
    "\x1e": "a record separator",
    "\x85": "a next-line character (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}
# What may not reach a letter's body: C0 controls other than tab and line ends, DEL, the C1
# controls (U+0080-U+009F, NEL included), the Unicode line and paragraph separators (a line
# break for some readers and not others), the bidirectional embeddings, overrides and isolates
# that reorder what a reader sees (Trojan Source), the interlinear annotation controls and the
# invisible tag characters (which carry hidden ASCII), and unpaired surrogates (which only a lax
# codec such as unicode_escape can produce, and which no file can be written with).
_BODY_SUSPECT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]"
)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def describe(char: str) -> str:
    """A readable name for a character a user cannot see."""
    if char in _LINE_BREAKS:
        return _LINE_BREAKS[char]
    name = unicodedata.name(char, "")
    label = f"U+{ord(char):04X}"
    if unicodedata.category(char) == "Cs":
        return f"an unpaired surrogate ({label}), which is not a character"
    if char in _BIDI:
        return f"a bidirectional control ({label} {name}), which reorders the text a reader sees"
    if unicodedata.category(char) == "Cf":
        return f"an invisible formatting character ({label}{' ' + name if name else ''})"
    return f"a control character ({label}{' ' + name if name else ''})"


# Names and subjects are folded into lines of 78 columns, so this is not about line length
# (RFC 5322's 998 octets) but sense: no honest name or subject is longer.
HEADER_LIMIT = 600
# The specials that delimit addresses: in a non-ASCII display name, Python's email package
# re-encodes only the non-ASCII words when it re-folds the header (as smtplib.send_message
# does), leaving these bare, so that "Élan, Staff <evil@example>" would become a second, real
# address. (Quotes and parentheses are kept: 'Jesús G. "Chuy" García' is a member's name.)
_ADDRESS_SPECIALS = re.compile(r"[,;:<>@]")


def header_problem(value: str) -> str | None:
    """Why ``value`` may not go into a mail header, or None when it may.

    Line breaks would start a new header (a hidden Bcc); other control and invisible formatting
    characters hide or reorder text; an RFC 2047 encoded-word (``=?``) would be decoded into a
    line break by some readers and by Python's own email package before CVE-2024-6923 was fixed.
    Nothing is cleaned silently: the user is told and fixes the data.
    """
    if len(value) > HEADER_LIMIT:
        return (
            f"is {len(value)} characters long: a mail header line holds at most 998, "
            f"so keep it under {HEADER_LIMIT}"
        )
    if value.isascii() and value.isprintable() and "=?" not in value:
        return None  # the common case, decided in C
    if reason := invisible_problem(value):
        return reason
    if "=?" in value:
        return "contains '=?', which mail readers may decode as an RFC 2047 encoded-word"
    return None


# Printable to Python but shown as nothing: variation selectors (U+FE00-U+FE0F, U+E0100-U+E01EF,
# U+FE0F the emoji one among them), the combining grapheme joiner, the Mongolian free variation
# selectors, the Khmer inherent vowels, the Hangul fillers and the Braille blank. They hide text
# (or smuggle it, one selector per byte) as the zero-width characters do.
_INVISIBLE_PRINTABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]+"
)


def only_fillers(value: str) -> bool:
    """Whether ``value`` is only spaces and the printable invisible characters below.

    Such a cell of a row (U+3164 HANGUL FILLER) is blank, and the rules for blanks decide it (a
    blank full_name falls back to first and last; a blank last_name is an error).
    """
    return not value.isascii() and bool(_INVISIBLE_PRINTABLE.fullmatch(value.replace(" ", "")))


def shown(value: str) -> str:
    """``value`` as a message may show it on a terminal: itself when every character is plainly
    visible, else quoted with escapes as repr() writes them (``'Bob \\x1b[31m'``, ``'\\u202e'``),
    the invisible printable characters above escaped too. No dataset value reaches a terminal
    as the escape sequence, bidi override or hidden text it holds."""
    if value.isprintable() and (value.isascii() or not _INVISIBLE_PRINTABLE.search(value)):
        return value
    return quoted(value)


def quoted(value: str) -> str:
    """repr(value), with the invisible characters Python calls printable escaped as well."""
    return _INVISIBLE_PRINTABLE.sub(
        lambda m: "".join(
            f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in m.group()
        ),
        repr(value),
    )


def headers_safe(values: list[str]) -> bool:
    """Whether header_problem() finds nothing in any of ``values``: decided at once, in C."""
    joined = " ".join(values)  # a space: no '=?' can form across two values
    if (
        joined.isprintable()
        and "=?" not in joined
        and (joined.isascii() or not _INVISIBLE_PRINTABLE.search(joined))
    ):
        return max(map(len, values), default=0) <= HEADER_LIMIT
    return not any(header_problem(value) for value in values)


def invisible_problem(value: str) -> str | None:
    """Why ``value`` holds a character a reader cannot see or that breaks the line, or None.

    Line breaks, controls, invisible formatting characters (zero-width, bidi overrides) and
    special spaces: what a column name or a header value must not contain.
    """
    if value.isascii() and value.isprintable():
        return None  # decided in C: the common case
    if found := _INVISIBLE_PRINTABLE.search(value):
        char = found.group()[0]
        name = unicodedata.name(char, f"U+{ord(char):04X}")
        return f"contains an invisible formatting character (U+{ord(char):04X} {name})"
    if value.isprintable():
        # Everything refused below is 'Other' or 'Separator' in Unicode (but the ASCII space),
        # which is what str.isprintable() rejects: decided in C for any name.
        return None
    for char in value:
        if char in _LINE_BREAKS:
            return f"contains {describe(char)}"
        category = unicodedata.category(char)
        if category == "Cc":
            return f"contains {describe(char)}"
        if category == "Cs":
            return f"contains {describe(char)}"
        if category == "Cf":
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            return f"contains an invisible formatting character (U+{ord(char):04X} {name})"
        if category == "Zs" and char != " ":
            # Mail parsers split names on these, but not consistently: the name would change.
            name = unicodedata.name(char, "")
            return f"contains a special space (U+{ord(char):04X} {name}): use a plain space"
    return None


# The characters that end a line for some reader, by name (for other modules).
LINE_BREAKS = tuple(_LINE_BREAKS)


def display_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a To or From display name (beyond header_problem), or None."""
    if name.isascii():
        return None
    special = _ADDRESS_SPECIALS.search(name)
    if special is not None:
        return (
            f"mixes non-ASCII letters with {special.group()!r} in the name shown in the To or "
            "From header: when the message is re-sent, Python's email package can turn that "
            f"into a second address; remove the {special.group()!r} from the name"
        )
    if _REFOLD_SPECIALS.search(name) and not _survives_refold(_shape(name)):
        found = "".join(dict.fromkeys(_REFOLD_SPECIALS.findall(name)))
        return (
            f"mixes non-ASCII letters with {' '.join(found)} in the name shown in the To or From "
            "header in a way that does not survive re-sending: Python's email package (as "
            "smtplib.send_message does) re-folds the header and reads back a different name or "
            f"address (a comment, or a quote swallowing the address); remove the {found[0]!r}"
        )
    return None


# ASCII specials other than the address delimiters: harmless inside the one encoded-word we
# write, but a re-fold decodes the name and writes its ASCII words bare, where these are syntax.
_REFOLD_SPECIALS = re.compile(r'[()\[\]"\\.]')


def _shape(name: str) -> str:
    """``name`` with every letter and digit replaced by one of its kind: what a re-fold sees.

    The email package's parser treats all ASCII letters and digits alike, and all non-ASCII
    characters alike but for their UTF-8 length, which sets where encoded-words fold. So
    whether a name survives a re-fold depends only on this shape, and names of one shape
    ("José A. Núñez", "Rubén M. Díaz") are decided once: re-folding costs milliseconds.
    """
    return _SHAPE_ASCII.sub("a", name).translate(_SHAPE_WIDE)


_SHAPE_ASCII = re.compile(r"[A-Za-z0-9]")


class _ByUtf8Length(dict[int, str]):
    """str.translate table: each non-ASCII character to one of the same UTF-8 length."""

    def __missing__(self, code: int) -> str:
        if code < 0x80:
            return chr(code)
        if 0xD800 <= code <= 0xDFFF:
            return chr(code)  # a lone surrogate stays itself (header_problem refuses it)
        return "é" if code < 0x800 else "€" if code < 0x10000 else "😀"


_SHAPE_WIDE = _ByUtf8Length()


@lru_cache(maxsize=4096)
def _survives_refold(name: str) -> bool:
    """Whether the To and From headers with ``name`` read back the same after any re-fold.

    The header is written as message.address() writes it (one RFC 2047 encoded-word), parsed
    and re-serialised with every header re-folded under the SMTP and default policies (78
    columns, 998 and unlimited), then parsed again: the one address and the name must come back
    exactly. Decided by Python's own email package, the one a re-sender uses.
    """
    from email import message_from_bytes, policy
    from email.charset import Charset
    from email.utils import formataddr

    mailbox = formataddr((name, _PROBE_ADDRESS), charset=Charset("utf-8"))
    # policy.default folds as policy.SMTP does (only the line ending differs): not tried twice.
    policies = (
        policy.SMTP,
        policy.SMTP.clone(max_line_length=998),
        policy.default.clone(max_line_length=None),
    )
    for field in ("To", "From"):
        raw = f"{field}: {mailbox}\n\n".encode("ascii")
        for chosen in policies:
            refold = chosen.clone(refold_source="all")
            try:
                again = message_from_bytes(
                    message_from_bytes(raw, policy=refold).as_bytes(policy=refold),
                    policy=policy.default,
                )
                addresses = again[field].addresses
            except Exception:  # the email package failing on it: a name that cannot be re-sent
                return False
            if [(a.display_name, a.addr_spec) for a in addresses] != [(name, _PROBE_ADDRESS)]:
                return False
    return True


_PROBE_ADDRESS = "recipient.name@example.org"


# Letters that show as nothing: Hangul fillers, the Braille blank, and similar.
_BLANK_LOOKING = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e\u2061\u2062\u2063\u2064"
)
# Categories of characters that show as nothing on their own: spaces, line and paragraph
# separators, controls, invisible formatting, and combining marks with no letter to sit on.
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Co", "Cs", "Mn", "Me"})


def is_blank(value: str) -> bool:
    """Whether ``value`` shows as nothing: empty, spaces, or only invisible or filler characters.

    A name made of U+3164 HANGUL FILLER, U+2800 BRAILLE PATTERN BLANK, zero-width characters or
    lone combining marks looks blank to a reader, so it is blank wherever a name is required.
    """
    if value.isascii():
        return not value.strip()
    return all(
        char.isspace() or char in _BLANK_LOOKING or unicodedata.category(char) in _BLANK_CATEGORIES
        for char in value
    )


def body_problem(value: str) -> str | None:
    """Why ``value`` may not go into a letter body (controls, line separators, bidi), or None."""
    match = _BODY_SUSPECT.search(value)
    if match is None:
        return None
    return f"contains {describe(match.group())}"


# What a spreadsheet may run as a formula or a DDE call when a cell starts with it, once it has
# trimmed what it trims (spaces, tabs, line ends, and invisible characters it may ignore).
_FORMULA_SIGNS = frozenset("=+-@|\u2212")


def _formula_sign(char: str) -> bool:
    """Whether ``char`` reads as = + - @ or | (full-width, small and super/subscript forms too)."""
    if char in _FORMULA_SIGNS:
        return True
    return not char.isascii() and unicodedata.normalize("NFKC", char)[:1] in _FORMULA_SIGNS


def _ignorable(char: str) -> bool:
    """Whitespace, controls, invisible formatting and blank-looking characters before a sign."""
    return char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES or is_blank(char)


_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def neutralise_cell(value: str) -> str:
    """Make a spreadsheet read a cell as text, never as a formula (OWASP CSV injection advice).

    A cell is prefixed with ``'`` when, after any leading whitespace, control, invisible or
    blank-looking characters (which a spreadsheet may trim), it starts with a formula sign:
    ``= + - @ |``, a tab, CR or LF, or a full-width or other compatibility form of the signs.
    """
    if not value or (value[0].isascii() and value[0].isalnum()):
        return value  # the common case: a letter or digit first
    if value[0] in "\t\r\n":
        return "'" + value
    for char in value:
        if _formula_sign(char):
            return "'" + value
        if not _ignorable(char):
            return value
    return value


_SLUG_DROP = re.compile(r"[^a-z0-9]+")


# Characters str.splitlines() (and so many a line-based reader) ends a line at, which
# json.dumps(ensure_ascii=False) leaves raw: a jsonl record must stay one line for all of them.
_JSON_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def one_json_line(text: str) -> str:
    """A JSON text with NEL, U+2028 and U+2029 escaped, so no reader splits the line there."""
    if text.isascii():
        return text
    return _JSON_LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def slug(value: str, limit: int = 60) -> str:
    """An ASCII file-name fragment: letters, digits and single dashes, never empty."""
    if value.isascii():
        folded = value  # NFKD leaves ASCII as it is
    else:
        folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    text = _SLUG_DROP.sub("-", folded.lower()).strip("-")
    return text[:limit].rstrip("-") or "recipient"
