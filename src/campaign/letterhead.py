"""The [print] settings of letters/campaign.toml: letterhead, logo, paper and margins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from campaign.errors import Problems
from campaign.safety import body_problem, invisible_problem
from campaign.settings import Campaign

PAPERS = {"letter": "Letter", "a4": "A4"}
PRINT_KEYS = ("organization", "address", "logo", "paper", "margin")
# A CSS length a user can mean for a margin: 1in, 2.5cm, 25mm, 72pt.
_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(in|cm|mm|pt)$")
_POINTS = {"in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4, "pt": 1.0}
_MAX_MARGIN_PT = 2.5 * 72  # more leaves too little of a Letter page for the letter
# What a logo may be: the image formats every PDF viewer shows, known by their first bytes.
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}
LOGO_LIMIT = 5 * 1024 * 1024


@dataclass(frozen=True)
class Letterhead:
    organization: str
    address: tuple[str, ...] = ()
    logo: Path | None = None
    paper: str = "Letter"
    margin: str = "1in"


def letterhead(campaign: Campaign) -> Letterhead:
    """The print settings, with defaults; assumes print_problems() found no error."""
    table = campaign.settings_file.data.get("print")
    table = table if isinstance(table, dict) else {}
    organization = table.get("organization") or campaign.settings.get("organization")
    address = table.get("address") or ()
    logo = table.get("logo")
    return Letterhead(
        organization=str(organization or campaign.sender_name),
        address=tuple(address),
        logo=(campaign.letters / logo) if logo else None,
        paper=PAPERS[str(table.get("paper", "letter")).casefold()],
        margin=str(table.get("margin", "1in")),
    )


def print_problems(campaign: Campaign) -> Problems:
    """Everything wrong with [print], each at its line: checked whatever the format."""
    problems = Problems()
    toml = campaign.settings_file
    shown = toml.display
    table = toml.data.get("print")
    if table is None:
        return problems
    if not isinstance(table, dict):
        problems.error(shown, toml.key_line("print"), "print must be a table: [print]")
        return problems

    def line(key: str) -> int:
        return toml.key_line(key, "print")

    for key in table:
        if key not in PRINT_KEYS:
            problems.error(
                shown,
                line(key),
                f"[print]: unknown setting '{key}' (known: {', '.join(PRINT_KEYS)})",
            )
    texts: list[tuple[str, object]] = [("organization", table.get("organization"))]
    address = table.get("address")
    if address is not None:
        if not isinstance(address, list):
            problems.error(
                shown, line("address"), '[print] address must be a list of lines: ["...", ...]'
            )
        else:
            texts.extend(("address", a) for a in address)
    for key, value in texts:
        if value is None:
            continue
        if not isinstance(value, str):
            problems.error(shown, line(key), f"[print] {key} must be text")
        elif reason := body_problem(value) or invisible_problem(value):
            problems.error(shown, line(key), f"[print] {key} {reason}")
        elif "\n" in value or "\r" in value:
            problems.error(shown, line(key), f"[print] {key}: one line each, no line breaks")
    paper = table.get("paper")
    if paper is not None and (not isinstance(paper, str) or paper.casefold() not in PAPERS):
        problems.error(shown, line("paper"), f"[print] paper {paper!r}: choose letter or a4")
    margin = table.get("margin")
    if margin is not None:
        match = _LENGTH.match(margin) if isinstance(margin, str) else None
        points = float(match.group(1)) * _POINTS[match.group(2)] if match else -1.0
        if not match or not 0 < points <= _MAX_MARGIN_PT:
            problems.error(
                shown,
                line("margin"),
                f"[print] margin {margin!r}: give a length from above 0 to 2.5in, "
                'in in, cm, mm or pt (e.g. "1in" or "25mm")',
            )
    logo = table.get("logo")
    if logo is not None and (reason := _logo_problem(campaign, logo)):
        problems.error(shown, line("logo"), f"[print] logo {logo!r}: {reason}")
    return problems


def _logo_problem(campaign: Campaign, logo: object) -> str | None:
    if not isinstance(logo, str) or not logo.strip():
        return 'give a file name in letters/, e.g. "logo.png"'
    path = campaign.letters / logo
    root = campaign.letters.resolve()
    if not path.resolve().is_relative_to(root):
        return "the logo must be a file inside letters/"
    if not path.is_file():
        return f"no such file in {campaign.display}/"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    if size > LOGO_LIMIT:
        return f"is {size} bytes; a logo of at most {LOGO_LIMIT // (1024 * 1024)} MB will do"
    if not any(head.startswith(magic) for magic in _IMAGE_MAGIC):
        return "is not a PNG or JPEG image"
    return None


__all__ = ["PAPERS", "Letterhead", "letterhead", "print_problems"]
