"""The committee membership file: who sits on the committees asked for, with which title."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from campaign.datasetcsv import read_csv
from campaign.errors import CampaignError, CampaignInvalid, Problems
from campaign.members import text_problem
from campaign.safety import shown

COMMITTEE_COLUMNS = ("committee_id", "committee_name", "bioguide_id", "title")
# Committee titles that, by congressional convention, replace Senator/Representative in the
# salutation ("Dear Chairman Grassley:"). Ex Officio and Cochairman are not used that way.
SALUTATION_TITLES = (
    "Chairman",
    "Chairwoman",
    "Chair",
    "Ranking Member",
    "Vice Chairman",
    "Vice Chairwoman",
    "Vice Chair",
)


@dataclass
class Committee:
    ident: str
    name: str
    titles: dict[str, str] = field(default_factory=dict)  # bioguide_id -> title ('' if none)


def read_committees(path: Path, display: str, wanted: Iterable[str]) -> list[Committee]:
    """The wanted committees, in the order asked; an id matches that committee exactly.

    A subcommittee (the parent's id plus two digits, e.g. SSJU01) is a committee of its own:
    asking for SSJU does not bring in its subcommittees' members.
    """
    problems = Problems()
    found: dict[str, Committee] = {}
    asked = {w.strip().upper() for w in wanted}
    for record in read_csv(path, display, COMMITTEE_COLUMNS, problems):
        v = record.values
        ident = v["committee_id"].strip().upper()
        if ident in asked:
            # These two reach recipients.csv (committees, committee_title): checked as the
            # dataset's own values are; a bad one stops the import, as the committee is wanted.
            for column in ("committee_name", "title"):
                if reason := text_problem(column, v[column]):
                    problems.error(display, record.line, reason)
        committee = found.setdefault(ident, Committee(ident, " ".join(v["committee_name"].split())))
        committee.titles.setdefault(v["bioguide_id"].strip(), " ".join(v["title"].split()))
    committees = []
    unknown = []
    for ident in dict.fromkeys(w.strip().upper() for w in wanted):
        if ident in found:
            committees.append(found[ident])
        else:
            close = difflib.get_close_matches(ident, sorted(found), n=3)
            hint = f" (did you mean {', '.join(map(shown, close))}?)" if close else ""
            unknown.append(f"{shown(ident)}{hint}")
    if unknown:
        raise CampaignError(f"{display} has no committee {'; '.join(unknown)}")
    if problems.errors:
        raise CampaignInvalid(problems)
    return committees


def committee_columns(row: dict[str, str], committees: list[Committee]) -> None:
    """committees, committee_title and salutation_title for the selected committees."""
    bioguide = row["bioguide_id"]
    sits = [c for c in committees if bioguide in c.titles]
    titles = [c.titles[bioguide] for c in sits if c.titles[bioguide]]
    leading = [t for t in titles if t in SALUTATION_TITLES]
    row["committees"] = "; ".join(c.name for c in sits)
    row["committee_title"] = (leading or titles or [""])[0]
    row["salutation_title"] = leading[0] if leading else ""
