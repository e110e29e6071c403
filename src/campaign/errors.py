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
