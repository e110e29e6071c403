"""Problems a user can fix: one exception type and the compiler-style problem list."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


def did_you_mean(wrong: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss among ``known``, else ''."""
    close = difflib.get_close_matches(wrong, list(known), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


# How many further lines a grouped problem names.
GROUP_SHOWN = 10


class CampaignError(Exception):
    """A problem the user can fix; its text is shown as is."""


class LetterProblem(CampaignError):
    """One recipient's letter cannot be made in this format (a PDF needs a missing glyph):
    that row is refused, like a row that fails its checks; the others go on."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, reported as ``PATH:LINE: severity: message``."""

    path: str
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity.value}: {self.message}"


class Problems:
    """Collects every problem before anything is reported, the way a compiler does."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, path: str, line: int, message: str) -> None:
        self.items.append(Problem(path, line, Severity.ERROR, message))

    def warning(self, path: str, line: int, message: str) -> None:
        self.items.append(Problem(path, line, Severity.WARNING, message))

    def extend(self, other: Problems) -> None:
        self.items.extend(other.items)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.WARNING]

    def __bool__(self) -> bool:
        return bool(self.items)

    def report(self) -> list[str]:
        """The problems as lines to print, by file and line, repeated ones grouped.

        A message repeated word for word in one file (say ``column 'email' is empty`` on every
        imported member) is one line: the first, in ``PATH:LINE: severity: message`` form, with
        how many more there are and their first lines.
        """
        ordered = sorted(self.items, key=lambda p: (p.path, p.line))
        groups: dict[tuple[str, Severity, str], list[Problem]] = {}
        for problem in ordered:
            groups.setdefault((problem.path, problem.severity, problem.message), []).append(problem)
        lines = []
        for group in groups.values():
            first, rest = group[0], group[1:]
            if not rest:
                lines.append(str(first))
                continue
            plural = "s" * (len(rest) != 1)
            what = "line" if rest[0].line else "time"
            shown = ", ".join(str(p.line) for p in rest[:GROUP_SHOWN] if p.line)
            more = ", ..." if len(rest) > GROUP_SHOWN else ""
            where = f": line{plural} {shown}{more}" if shown else ""
            lines.append(f"{first} (and {len(rest)} more {what}{plural} like it{where})")
        return lines


class CampaignInvalid(CampaignError):
    """Raised with every problem found when the work cannot go on; nothing was written."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems.items))


class LocatedError(CampaignInvalid):
    """One error at a known ``path:line`` that stops everything (an unreadable file)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        problems = Problems()
        problems.error(path, line, message)
        super().__init__(problems)
