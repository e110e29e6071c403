"""What untrusted text may contain before it goes into a mail header, a file name or a cell."""

from __future__ import annotations

import re
import unicodedata

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
# C0 controls other than tab and line ends, DEL, and unpaired surrogates (which only a lax
# codec such as unicode_escape can produce, and which no file can be written with).
_BODY_SUSPECT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def describe(char: str) -> str:
    """A readable name for a character a user cannot see."""
    if char in _LINE_BREAKS:
        return _LINE_BREAKS[char]
    name = unicodedata.name(char, "")
    label = f"U+{ord(char):04X}"
    if unicodedata.category(char) == "Cs":
        return f"an unpaired surrogate ({label}), which is not a character"
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


def headers_safe(values: list[str]) -> bool:
    """Whether header_problem() finds nothing in any of ``values``: decided at once, in C."""
    joined = " ".join(values)  # a space: no '=?' can form across two values
    if joined.isprintable() and "=?" not in joined:
        return max(map(len, values), default=0) <= HEADER_LIMIT
    return not any(header_problem(value) for value in values)


def invisible_problem(value: str) -> str | None:
    """Why ``value`` holds a character a reader cannot see or that breaks the line, or None.

    Line breaks, controls, invisible formatting characters (zero-width, bidi overrides) and
    special spaces: what a column name or a header value must not contain.
    """
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


def display_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a To or From display name (beyond header_problem), or None."""
    if name.isascii():
        return None
    special = _ADDRESS_SPECIALS.search(name)
    if special is None:
        return None
    return (
        f"mixes non-ASCII letters with {special.group()!r} in the name shown in the To or From "
        "header: when the message is re-sent, Python's email package can turn that into a "
        f"second address; remove the {special.group()!r} from the name"
    )


def body_problem(value: str) -> str | None:
    """Why ``value`` may not go into a letter body (NUL and other C0 controls), or None."""
    match = _BODY_SUSPECT.search(value)
    if match is None:
        return None
    return f"contains {describe(match.group())}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_cell(value: str) -> str:
    """Make a spreadsheet read a cell as text, never as a formula (OWASP CSV injection advice)."""
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def slug(value: str, limit: int = 60) -> str:
    """An ASCII file-name fragment: letters, digits and single dashes, never empty."""
    if value.isascii():
        folded = value  # NFKD leaves ASCII as it is
    else:
        folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    text = _SLUG_DROP.sub("-", folded.lower()).strip("-")
    return text[:limit].rstrip("-") or "recipient"
