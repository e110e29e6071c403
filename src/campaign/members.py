"""One congress-legislators row as one recipients row, or the reasons it would not make a letter."""

from __future__ import annotations

import re
import unicodedata

from campaign.safety import describe, header_problem, quoted

# The columns an import writes, in this order; a merge keeps any other column after them.
OUTPUT_COLUMNS = (
    "email",
    "audience",
    "title",
    "first_name",
    "last_name",
    "full_name",
    "chamber",
    "state",
    "district",
    "party",
    "office",
    "city_line",
    "phone",
    "contact_form",
    "bioguide_id",
    "committees",
    "committee_title",
    "salutation_title",
)
CHAMBERS = {"sen": "senate", "rep": "house"}
# Members the dataset lists as type 'rep' who are not Representatives: the House's own
# directory and letters address them as Delegate or Resident Commissioner.
DELEGATE_STATES = frozenset({"AS", "DC", "GU", "MP", "VI"})
RESIDENT_COMMISSIONER_STATES = frozenset({"PR"})
_ADDRESS = re.compile(
    r"^(?P<office>.+?)[\s,;]+Washington,?\s+D\.?\s?C\.?,?\s+(?P<zip>\d{5}(?:-\d{4})?)$",
    re.IGNORECASE | re.ASCII,
)
_ZIP = {"senate": "20510", "house": "20515"}
_NAME_FIELDS = ("full_name", "first_name", "last_name", "middle_name", "suffix")
_STATE = re.compile(r"[A-Z]{2}")
_DISTRICT = re.compile(r"[0-9]{1,3}")
# What a spreadsheet runs as a formula when a cell starts with it, after any spaces it trims:
# = + - @ and their full-width forms (tab, CR and LF are refused as control characters).
_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A telephone number the way people write one: '+1 202-224-3441', '(202) 224-3441 x12'. A cell
# of only these characters is a number or an arithmetic expression to a spreadsheet, never a
# call of a function, so '+1 202 ...' is kept as written.
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?", re.ASCII)
# Generational suffixes are written without a comma ('John Smith III'), the others with one
# ('Henry C. Johnson, Jr.'), as the House and Senate print them.
_ROMAN_SUFFIX = re.compile(r"(?:I{1,3}|IV|V|VI{1,3}|IX|X)")


def text_problem(column: str, value: str) -> str | None:
    """A line break, a control character or a formula: never written, never cleaned silently.

    A value that a spreadsheet would run (``=HYPERLINK(...)``, ``@SUM(...)``, `` -1+1``) is
    refused rather than prefixed with ``'``: recipients.csv is the campaign's input, and the
    prefix would reach the letter ("Dear Senator 'Smith"). No member's name, state, district,
    party, address, contact form or id starts that way; a phone number may start with ``+``.
    """
    reason = header_problem(value) if column in _NAME_FIELDS else None
    if reason:
        return f"{column} {reason}"
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"{column} contains {describe(char)}"
    start = value.lstrip()
    if start.startswith(_FORMULA_START) and not (column == "phone" and _PHONE.fullmatch(start)):
        return (
            f"{column} {quoted(value)} starts with {quoted(start[0])}, which a spreadsheet opening "
            "recipients.csv would run as a formula"
        )
    return None


def split_address(address: str) -> tuple[str, str] | None:
    """'511 Hart Senate Office Building Washington DC 20510' -> (office, 'Washington, DC 20510')."""
    match = _ADDRESS.match(" ".join(address.split()))
    if match is None:
        return None
    office = match.group("office").rstrip(" ,;")
    return office, f"Washington, DC {match.group('zip')}"


def member_title(chamber: str, state: str) -> str:
    if chamber == "senate":
        return "Senator"
    if state in DELEGATE_STATES:
        return "Delegate"
    if state in RESIDENT_COMMISSIONER_STATES:
        return "Resident Commissioner"
    return "Representative"


def built_name(first: str, middle: str, last: str, suffix: str) -> str:
    """The formal name from its parts, when the dataset has no official full name.

    First, middle and last name as the dataset spells them, then the suffix: 'Henry C.
    Johnson, Jr.', 'John Smith III'. The nickname is left out: some members use it in their
    official name ('Chuck Grassley'), others do not ('Charles E. Schumer'), and only the member
    decides; the formal name is correct in an address either way.
    """
    name = " ".join(part for part in (first, middle, last) if part)
    if suffix:
        joiner = " " if _ROMAN_SUFFIX.fullmatch(suffix) else ", "
        name += joiner + suffix
    return name


def member_row(values: dict[str, str], audience: str) -> tuple[dict[str, str], list[str]]:
    """One recipients row from one dataset row, or the reasons it would not make a letter."""
    reasons = []
    for column, value in values.items():
        if reason := text_problem(column, value):
            reasons.append(reason)
    if reasons:
        return {}, reasons
    v = {k: value.strip() for k, value in values.items()}
    full_name = v["full_name"] or (
        built_name(v["first_name"], v["middle_name"], v["last_name"], v["suffix"])
        if v["first_name"] and v["last_name"]
        else ""
    )
    if not full_name:
        reasons.append("full_name and first_name are empty: no name to address the letter to")
    for column in ("last_name", "bioguide_id", "state", "address"):
        if not v[column]:
            reasons.append(f"{column} is empty")
    state = v["state"].upper()
    if state and not (v["state"].isascii() and _STATE.fullmatch(state)):
        reasons.append(f"state {quoted(v['state'])} is not a two-letter code such as 'WA'")
    chamber = CHAMBERS.get(v["type"])
    if chamber is None:
        reasons.append(f"type {quoted(v['type'])} is neither 'sen' nor 'rep'")
    district = v["district"]
    if chamber == "house":
        if not _DISTRICT.fullmatch(district):
            reasons.append(
                f"district {quoted(district)} is not a number written in the digits 0-9 "
                "(0 means at large)"
            )
        else:
            district = str(int(district))
    else:
        district = ""
    office = city_line = ""
    if v["address"]:
        parts = split_address(v["address"])
        if parts is None:
            reasons.append(
                f"address {quoted(v['address'])} does not read as 'OFFICE Washington DC ZIP'"
            )
        else:
            office, city_line = parts
            expected = _ZIP.get(chamber or "")
            zip_code = city_line.rsplit(" ", 1)[-1]
            if expected and zip_code[:5] != expected:
                reasons.append(
                    f"address {quoted(v['address'])} has ZIP {zip_code}, "
                    f"not the {chamber}'s {expected}"
                )
    if reasons or chamber is None:
        return {}, reasons
    row = dict.fromkeys(OUTPUT_COLUMNS, "")
    row.update(
        audience=audience,
        title=member_title(chamber, state),
        first_name=v["first_name"],
        last_name=v["last_name"],
        full_name=full_name,
        chamber=chamber,
        state=state,
        district=district,
        party=v["party"],
        office=office,
        city_line=city_line,
        phone=v["phone"],
        contact_form=v["contact_form"],
        bioguide_id=v["bioguide_id"],
    )
    return row, []
