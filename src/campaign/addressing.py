"""How Congress and federal agencies expect a letter to be addressed and opened."""

from __future__ import annotations

import re
from functools import lru_cache

from campaign.safety import is_blank

SENATE = ("United States Senate", "Washington, DC 20510")
HOUSE = ("United States House of Representatives", "Washington, DC 20515")
HOUSE_TITLES = ("Representative", "Delegate", "Resident Commissioner")
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "DC": "the District of Columbia",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "the U.S. Virgin Islands",
    "AS": "American Samoa", "MP": "the Northern Mariana Islands",
}  # fmt: skip
_SHORT_TITLE = re.compile(r"\s+(?:of|for)\s+|\s*,\s*")
MEMBER_TITLES = ("Senator", *HOUSE_TITLES)
AT_LARGE = ("0", "AL", "at-large", "at large")


def chamber(title: str) -> str | None:
    """'senate', 'house' or None (an executive official) from the row's title."""
    if title == "Senator":
        return "senate"
    if title in HOUSE_TITLES:
        return "house"
    return None


def full_name(values: dict[str, str]) -> str:
    given = values.get("full_name", "").strip()
    if given and (given.isascii() or not is_blank(given)):
        return given
    parts = (values.get("first_name", ""), values.get("last_name", ""))
    return " ".join(
        part.strip() for part in parts if part.strip() and (part.isascii() or not is_blank(part))
    )


# Titles, states, districts and offices repeat from one recipient to the next, so what is made
# of them is cached; callers pass ``cached=False`` for a row longer than this (characters, all
# cells together), so the caches stay small whatever the list holds.
CACHED_ROW = 1_000


def salutation_title(title: str, cached: bool = True) -> str:
    """'Secretary of Homeland Security' -> 'Secretary'; 'Director, ICE' -> 'Director'."""
    return (_salutation_title if cached else _salutation_title.__wrapped__)(title)


@lru_cache(maxsize=1024)  # a campaign has a few dozen titles
def _salutation_title(title: str) -> str:
    return _SHORT_TITLE.split(title.strip(), maxsplit=1)[0]


def salutation(values: dict[str, str], cached: bool = True) -> str:
    """'Dear Senator Padilla:'; a ``salutation_title`` column (e.g. Chairman) takes precedence."""
    title = values.get("salutation_title", "").strip()
    if not title or (not title.isascii() and is_blank(title)):
        title = salutation_title(values["title"], cached)
    return f"Dear {title} {values['last_name'].strip()}:"


def address_block(values: dict[str, str], cached: bool = True) -> str:
    """The inside address, one line each, without a trailing newline."""
    office = (_address_tail if cached else _address_tail.__wrapped__)(
        values["title"],
        values.get("office", ""),
        values.get("city_line", ""),
        values.get("zip", ""),
        values.get("agency", ""),
    )
    return f"The Honorable {full_name(values)}\n{office}"


@lru_cache(maxsize=4096)
def _address_tail(title: str, office: str, city_line: str, zip_code: str, agency: str) -> str:
    title = title.strip()
    office = office.strip()
    city_line = city_line.strip()
    lines = []
    house = chamber(title)
    if house is not None:
        body, default_city = SENATE if house == "senate" else HOUSE
        if office:
            lines.append(office)
        lines.append(body)
        zip_code = zip_code.strip()
        lines.append(city_line or (f"Washington, DC {zip_code}" if zip_code else default_city))
    else:
        lines.append(title)
        agency = agency.strip()
        if agency:
            lines.append(agency)
        if office:
            lines.append(office)
        if city_line:
            lines.append(city_line)
    return "\n".join(lines)


def address_problem(values: dict[str, str]) -> str | None:
    """Why the computed address would be incomplete, or None (only when it is computed)."""
    if chamber(values["title"].strip()) is not None:
        return None
    missing = [c for c in ("agency", "office", "city_line") if not values.get(c, "").strip()]
    if not missing:
        return None
    return (
        f"an official's address needs {', '.join(repr(c) for c in missing)} "
        "(agency, street and city line), or give the whole address in an 'address_block' column"
    )


def _is_district(value: str) -> bool:
    """0 to 99 in ASCII digits (the largest state has 52), or an at-large spelling."""
    return value in AT_LARGE or (value.isascii() and value.isdigit() and len(value) <= 2)


def member_problems(
    values: dict[str, str], names_constituency: bool, cached: bool = True
) -> list[str]:
    """What would make a wrong letter to a member of Congress: title, state, district."""
    check = _member_problems if cached else _member_problems.__wrapped__
    return list(
        check(
            values["title"], values.get("state", ""), values.get("district", ""), names_constituency
        )
    )


@lru_cache(maxsize=4096)
def _member_problems(
    title: str, state: str, district: str, names_constituency: bool
) -> tuple[str, ...]:
    title = title.strip()
    for known in MEMBER_TITLES:
        if title != known and title.lower() == known.lower():
            return (f"column 'title': write {title!r} as {known!r} (titles are matched exactly)",)
    if chamber(title) is None:
        return ()
    found = []
    state = state.strip()
    if state and state.upper() not in STATES:
        found.append(f"column 'state': {state!r} is not a two-letter state or territory code")
    elif not state and names_constituency:
        found.append("column 'state' is empty, and the letter names the member's state")
    district = district.strip()
    if title == "Representative" and district and not _is_district(district):
        found.append(f"column 'district': {district!r} is not a district number (0 means at large)")
    return tuple(found)


def constituency(values: dict[str, str], cached: bool = True) -> str:
    """'California', 'Wyoming (at large)', "Texas's 18th congressional district"; '' otherwise."""
    return (_constituency if cached else _constituency.__wrapped__)(
        values.get("state", ""), values.get("district", ""), values.get("title", "")
    )


@lru_cache(maxsize=4096)
def _constituency(code: str, district: str, title: str) -> str:
    code = code.strip()
    state = STATES.get(code.upper(), code)
    district = district.strip()
    if not state or title.strip() != "Representative" or not district:
        return state
    if district in AT_LARGE:
        return f"{state} (at large)"
    if not (district.isascii() and district.isdigit()) or len(district) > 2:
        return f"{state}, district {district}"
    number = int(district)
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{state}'s {number}{suffix} congressional district"
