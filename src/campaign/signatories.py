"""Sign-on letters: letters/signatories.csv, its checks, and the signatory block templates use."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import nodes
from markupsafe import Markup

from campaign.addressing import STATES
from campaign.errors import CampaignError, CampaignInvalid, Problems, did_you_mean
from campaign.recipients import RecipientsFile
from campaign.safety import body_problem, invisible_problem

SIGNATORIES_FILE = "signatories.csv"
LEVELS = ("national", "state", "local", "individual")
# Printed columns; any other column (email, phone, contact, notes) is read and never printed.
PRINTED = ("name", "level", "city", "state", "title", "affiliation")
HEADINGS = {
    "national": "National Organizations",
    "state_and_local": "State and Local Organizations",
    "individuals": "Individuals",
}
IDENTIFICATION = "* Affiliations are listed for identification purposes only."
# Words an acronym usually leaves out: "National Council of La Raza" is NCLR.
_SMALL_WORDS = frozenset(("of", "the", "and", "for", "on", "in", "at", "to", "a", "an"))
_NOT_WORD = re.compile(r"[^\w]+")


def normalised(name: str) -> str:
    """What makes two names the same organization: case, spacing, punctuation, '&' or 'and'
    and a leading 'The' aside."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    words = _NOT_WORD.sub(" ", text.replace("'", "").replace("\u2019", "")).split()
    if words[:1] == ["the"] and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def sort_key(name: str) -> tuple[str, str]:
    """As people sort names: a leading 'The' and case ignored."""
    return (normalised(name), name)


def _acronyms(name: str) -> set[str]:
    """The initials of a name of three or more words, with and without its small words."""
    words = normalised(name).split()
    if len(words) < 3:
        return set()
    found = {"".join(w[0] for w in words)}
    found.add("".join(w[0] for w in words if w not in _SMALL_WORDS))
    return {a for a in found if len(a) >= 2}


@dataclass(frozen=True)
class Signatory:
    """One signing organization or person; contact columns are not kept, so never printed."""

    name: str
    level: str
    city: str
    state: str
    title: str
    affiliation: str
    line: int

    @property
    def is_individual(self) -> bool:
        return self.level == "individual"

    @property
    def place(self) -> str:
        return ", ".join(p for p in (self.city, self.state) if p)

    @property
    def text(self) -> str:
        """The line as printed: 'Name', 'Name, City, ST', 'Name, Title, Affiliation*'."""
        if self.is_individual:
            parts = [self.name, self.title, self.affiliation + ("*" if self.affiliation else "")]
            return ", ".join(p for p in parts if p)
        if self.level == "national":
            return self.name
        return ", ".join(p for p in (self.name, self.place) if p)


@dataclass(frozen=True)
class Signatories:
    """Every signatory, grouped and sorted; what templates see as ``signatories``."""

    national: tuple[Signatory, ...] = ()
    state: tuple[Signatory, ...] = ()
    local: tuple[Signatory, ...] = ()
    individuals: tuple[Signatory, ...] = ()
    found: bool = False  # whether letters/signatories.csv exists
    display: str = f"letters/{SIGNATORIES_FILE}"
    _blocks: dict[bool, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def state_and_local(self) -> tuple[Signatory, ...]:
        return tuple(sorted((*self.state, *self.local), key=lambda s: sort_key(s.name)))

    @property
    def organizations(self) -> tuple[Signatory, ...]:
        return (*self.national, *self.state_and_local)

    @property
    def count(self) -> int:
        """Organizations and individuals: 'On behalf of the undersigned N ...'."""
        return len(self.national) + len(self.state) + len(self.local) + len(self.individuals)

    def __len__(self) -> int:
        return self.count

    def groups(self) -> list[tuple[str, tuple[Signatory, ...]]]:
        """The conventional block's headings, each with its signatories; empty ones left out."""
        found = [
            (HEADINGS["national"], self.national),
            (HEADINGS["state_and_local"], self.state_and_local),
            (HEADINGS["individuals"], self.individuals),
        ]
        return [(heading, people) for heading, people in found if people]

    def block(self, html: bool) -> str:
        """signatory_list(): plain lines, or (HTML) two columns under each heading."""
        found = self._blocks.get(html)
        if found is not None:
            return found
        if not self.found:
            raise CampaignError(
                f"signatory_list(): {self.display} not found: add it, one row per signatory"
            )
        if html:
            found = block_html(self)
        else:
            parts = [
                "\n".join([heading, *(s.text for s in people)]) for heading, people in self.groups()
            ]
            if self.individuals and any(s.affiliation for s in self.individuals):
                parts.append(IDENTIFICATION)
            found = "\n\n".join(parts)
        self._blocks[html] = found
        return found

    def text_block(self) -> str:
        return self.block(False)

    def html_block(self) -> str:
        return Markup(self.block(True))


# Names per column in a block of two: a block is kept on one page, and read down the first
# column, then the second. (CSS columns would do, but balancing them costs print a second a page.)
COLUMN_LENGTH = 10


def _two_columns(people: tuple[Signatory, ...]) -> list[Markup]:
    out = []
    for start in range(0, len(people), 2 * COLUMN_LENGTH):
        block = people[start : start + 2 * COLUMN_LENGTH]
        half = -(-len(block) // 2)
        cells = [
            Markup("").join(Markup("<div>{}</div>").format(s.text) for s in column)
            for column in (block[:half], block[half:])
        ]
        out.append(
            Markup(
                '<table class="signatory-list" style="width: 100%; table-layout: fixed; '
                'border-collapse: collapse">'
                '<tr><td style="width: 50%; vertical-align: top">{}</td>'
                '<td style="width: 50%; vertical-align: top">{}</td></tr></table>'
            ).format(*cells)
        )
    return out


def block_html(signatories: Signatories) -> str:
    """The signatory block as HTML: each heading, then its names in two columns."""
    out = [Markup('<section class="signatories">')]
    for heading, people in signatories.groups():
        out.append(Markup('<h3 class="signatory-heading">{}</h3>').format(heading))
        out.extend(_two_columns(people))
    if any(s.affiliation for s in signatories.individuals):
        out.append(Markup('<p class="signatory-note">{}</p>').format(IDENTIFICATION))
    out.append(Markup("</section>"))
    return Markup("\n").join(out)


def load_signatories(letters: Path, display: str) -> tuple[Signatories, Problems]:
    """Read ``letters/signatories.csv`` when there is one; every problem at its file:line."""
    path = letters / SIGNATORIES_FILE
    shown = f"{display}/{SIGNATORIES_FILE}"
    problems = Problems()
    if not path.exists():
        return Signatories(display=shown), problems
    if not path.is_file():
        problems.error(shown, 0, "is not a file")
        return Signatories(display=shown), problems
    try:
        table = RecipientsFile(path, shown)
    except CampaignInvalid as exc:
        return Signatories(display=shown), exc.problems
    problems.extend(table.problems)
    if "name" not in table.header or "level" not in table.header:
        missing = [c for c in ("name", "level") if c not in table.header]
        problems.error(
            shown,
            table.header_line,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns: name, level, city, state, title, affiliation; the header has: "
            f"{', '.join(table.header)})",
        )
        return Signatories(display=shown), problems
    people: list[Signatory] = []
    for row in table.rows():
        errors = list(row.errors)
        values = {c: row.values.get(c, "").strip() for c in PRINTED}
        for column in PRINTED:
            raw = row.values.get(column, "")
            if reason := body_problem(raw) or (invisible_problem(raw) if raw.strip() else None):
                errors.append(f"column '{column}' {reason}")
            elif "\n" in raw or "\r" in raw:
                errors.append(f"column '{column}' has a line break: a signatory is one line")
        level = values["level"].casefold()
        if not values["name"]:
            errors.append("column 'name' is empty")
        if level not in LEVELS:
            errors.append(
                f"column 'level': unknown level {values['level']!r} "
                f"(known: {', '.join(LEVELS)})" + did_you_mean(level, LEVELS)
            )
        state = values["state"].upper()
        if level in ("state", "local") and not state:
            errors.append(f"column 'state' is empty: a {level} organization needs its state")
        elif state and state not in STATES:
            errors.append(f"column 'state': {values['state']!r} is not a two-letter state code")
        if level in ("national", "state", "local") and (values["title"] or values["affiliation"]):
            errors.append("title and affiliation are for individuals (level individual)")
        for message in errors:
            problems.error(shown, row.line, message)
        if not errors:
            people.append(
                Signatory(
                    values["name"],
                    level,
                    values["city"],
                    state,
                    values["title"],
                    values["affiliation"],
                    row.line,
                )
            )
    problems.extend(duplicate_problems(people, shown))
    by_level: dict[str, list[Signatory]] = {level: [] for level in LEVELS}
    for person in people:
        by_level[person.level].append(person)
    for level, found in by_level.items():
        found.sort(
            key=(lambda s: _person_key(s.name))
            if level == "individual"
            else (lambda s: sort_key(s.name))
        )
    if not people and not problems.errors:
        problems.warning(shown, table.header_line, "lists no signatories")
    return (
        Signatories(
            tuple(by_level["national"]),
            tuple(by_level["state"]),
            tuple(by_level["local"]),
            tuple(by_level["individual"]),
            found=True,
            display=shown,
        ),
        problems,
    )


def _person_key(name: str) -> tuple[str, str, str]:
    """People by family name (the last word, before any ', Jr.'), then given names."""
    words = name.split(",")[0].split()
    return (normalised(words[-1]) if words else "", normalised(name), name)


def duplicate_problems(people: Iterable[Signatory], shown: str) -> Problems:
    """Exact duplicates (errors, at both lines) and likely ones (warnings naming both lines)."""
    problems = Problems()
    first: dict[str, Signatory] = {}
    kept: list[Signatory] = []
    for person in people:
        key = normalised(person.name)
        earlier = first.get(key)
        if earlier is None:
            first[key] = person
            kept.append(person)
            continue
        same = "the same name" if earlier.name == person.name else "the same name once case, "
        if earlier.name != person.name:
            same += "spacing, punctuation, '&' or 'and' and a leading 'The' are ignored"
        hint = " (if they are different organizations, put the city in the name)"
        problems.error(
            shown, person.line, f"{person.name!r} duplicates line {earlier.line}: {same}{hint}"
        )
        problems.error(
            shown, earlier.line, f"{earlier.name!r} is repeated on line {person.line}: {same}"
        )
    by_acronym: dict[str, list[Signatory]] = {}
    for person in kept:
        for acronym in _acronyms(person.name):
            by_acronym.setdefault(acronym, []).append(person)
    warned: set[tuple[int, int]] = set()

    def warn(a: Signatory, b: Signatory, why: str) -> None:
        pair = (min(a.line, b.line), max(a.line, b.line))
        if pair not in warned:
            warned.add(pair)
            problems.warning(
                shown,
                a.line,
                f"{a.name!r} may be the same signatory as {b.name!r} on line {b.line} ({why}): "
                "keep one",
            )

    for person in kept:
        key = normalised(person.name)
        words = key.split()
        # "ACLU" beside "American Civil Liberties Union"; "A.C.L.U." too.
        squeezed = key.replace(" ", "") if all(len(w) == 1 for w in words) else key
        if " " not in squeezed:
            for other in by_acronym.get(squeezed, ()):
                if other is not person:
                    warn(person, other, f"{person.name.strip()!r} is its acronym")
        # One name inside another, as whole words: "Border Rights Project" in
        # "Border Rights Project of Arizona". Every run of words is looked up once.
        for size in range(1, len(words)):
            for start in range(len(words) - size + 1):
                inner = first.get(" ".join(words[start : start + size]))
                if inner is not None and inner is not person:
                    warn(inner, person, "one name is inside the other")
    return problems


def unlisted_uses(
    signatories: Signatories, trees: dict[str, nodes.Template], display: str
) -> Problems:
    """A template that names ``signatories`` or ``signatory_list`` when there is no list."""
    problems = Problems()
    if signatories.found:
        return problems
    for name, tree in trees.items():
        for node in tree.find_all(nodes.Name):
            if node.name in ("signatories", "signatory_list") and node.ctx == "load":
                problems.error(
                    f"{display}/{name}",
                    node.lineno,
                    f"{node.name}: {signatories.display} not found; a sign-on letter needs one "
                    "row per signatory (columns name, level, city, state, title, affiliation)",
                )
                break
    return problems


__all__ = [
    "LEVELS",
    "SIGNATORIES_FILE",
    "Signatories",
    "Signatory",
    "duplicate_problems",
    "load_signatories",
    "normalised",
    "sort_key",
    "unlisted_uses",
]
