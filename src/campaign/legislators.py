"""Turning the congress-legislators dataset (and its committee lists) into recipients.csv rows."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from campaign.committees import (
    SALUTATION_TITLES,
    Committee,
    committee_columns,
    read_committees,
)
from campaign.datasetcsv import read_csv
from campaign.errors import CampaignError, CampaignInvalid, Problems
from campaign.members import (
    CHAMBERS,
    OUTPUT_COLUMNS,
    member_row,
    member_title,
    split_address,
    text_problem,
)
from campaign.recipients import RecipientsFile
from campaign.safety import shown

LEGISLATOR_COLUMNS = (
    "last_name",
    "first_name",
    "full_name",
    "type",
    "state",
    "district",
    "party",
    "address",
    "phone",
    "contact_form",
    "bioguide_id",
)
# Read when present, to build a name the dataset leaves blank (a newly seated member).
LEGISLATOR_OPTIONAL = ("middle_name", "suffix")


@dataclass(frozen=True)
class Filters:
    """Which members to import: within one option any value matches, across options all must."""

    chamber: str | None = None
    states: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    committees: tuple[str, ...] = ()


@dataclass
class ImportResult:
    """What an import did: counts for the summary, and every row it had to leave out."""

    out: Path
    imported: int = 0
    skipped: int = 0
    added: int = 0
    updated: int = 0
    kept: int = 0
    changed: bool = False
    problems: Problems = field(default_factory=Problems)


def _selected(values: dict[str, str], filters: Filters, members: set[str] | None) -> bool:
    if filters.chamber and CHAMBERS.get(values["type"].strip()) != filters.chamber:
        return False
    if filters.states and values["state"].strip().upper() not in filters.states:
        return False
    if filters.parties and values["party"].strip().casefold() not in filters.parties:
        return False
    return members is None or values["bioguide_id"].strip() in members


def read_legislators(
    path: Path,
    display: str,
    *,
    audience: str = "congress",
    filters: Filters = Filters(),
    committees: list[Committee] | None = None,
) -> tuple[list[dict[str, str]], Problems]:
    """The selected members as recipients rows, and a warning for each row left out."""
    problems = Problems()
    if filters.committees and committees is None:
        raise CampaignError("a committee filter needs the committees: see read_committees()")
    members: set[str] | None = None
    if committees is not None:
        members = {bioguide for c in committees for bioguide in c.titles}
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    records = list(read_csv(path, display, LEGISLATOR_COLUMNS, problems, LEGISLATOR_OPTIONAL))
    for field_name, wanted, actual in (
        ("state", filters.states, {r.values["state"].strip().upper() for r in records}),
        ("party", filters.parties, {r.values["party"].strip().casefold() for r in records}),
    ):
        unknown = sorted(set(wanted) - actual)
        if unknown:
            known = ", ".join(shown(a) for a in sorted(a for a in actual if a))
            asked = ", ".join(shown(u) for u in unknown)
            raise CampaignError(f"no member in {display} has {field_name} {asked} (known: {known})")
    for record in records:
        if not _selected(record.values, filters, members):
            continue
        row, reasons = member_row(record.values, audience)
        bioguide = row.get("bioguide_id", "")
        if bioguide in seen:
            reasons.append(f"bioguide_id {shown(bioguide)} repeats line {seen[bioguide]}")
        if reasons:
            who = " ".join(record.values["full_name"].split()) or " ".join(
                f"{record.values['first_name']} {record.values['last_name']}".split()
            )
            ident = record.values["bioguide_id"].strip()
            label = f"{shown(who) if who else 'a member'}{f' ({shown(ident)})' if ident else ''}"
            problems.warning(display, record.line, f"skipped {label}: {'; '.join(reasons)}")
            continue
        seen[bioguide] = record.line
        if committees is not None:
            committee_columns(row, committees)
        rows.append(row)
    return rows, problems


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKD", value).casefold()


def sort_key(row: dict[str, str]) -> tuple[int, str, int, str, str, str]:
    """Senate, then House; by state, district, last and first name (then bioguide id)."""
    chamber = {"senate": 0, "house": 1}.get(row.get("chamber", ""), 2)
    district = row.get("district", "")
    return (
        chamber,
        row.get("state", ""),
        int(district) if district.isascii() and district.isdigit() else -1,
        _fold(row.get("last_name", "")),
        _fold(row.get("first_name", "")),
        row.get("bioguide_id", ""),
    )


def _existing(path: Path, display: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a recipients file we are about to merge into."""
    file = RecipientsFile(path, display)
    problems = Problems()
    problems.extend(file.problems)
    rows = []
    seen: dict[str, int] = {}
    for row in file.rows():
        for message in row.errors:
            problems.error(display, row.line, message)
        bioguide = row.values.get("bioguide_id", "").strip()
        if bioguide in seen:
            problems.error(
                display, row.line, f"bioguide_id {shown(bioguide)} repeats line {seen[bioguide]}"
            )
        elif bioguide:
            seen[bioguide] = row.line
        rows.append(row.values)
    if problems.errors:
        raise CampaignInvalid(problems)
    return file.header, rows


def _encode(header: list[str], rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return buffer.getvalue().encode("utf-8")


def write_atomically(path: Path, data: bytes, display: str | None = None) -> None:
    """Write a sibling temporary file, then rename it over ``path``: never a half-written file.

    A full disk (ENOSPC), a file-size limit (EFBIG, with SIGXFSZ ignored), a quota or any other
    failure to write leaves ``path`` as it was, removes the temporary file, and is reported as
    a CampaignError naming the file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # left by a killed run of this same process id
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise CampaignError(
                f"cannot write {display or path}: {reason} ({len(data):,} bytes to write); "
                f"nothing was changed: free some space or raise the limit, then run again"
            ) from None
        raise


def import_legislators(
    source: Path,
    out: Path,
    *,
    source_display: str | None = None,
    out_display: str | None = None,
    audience: str = "congress",
    filters: Filters = Filters(),
    committees_file: Path | None = None,
    merge: bool = False,
    replace: bool = False,
) -> ImportResult:
    """Read, select and write members to ``out``; rows that would not make a letter are reported.

    ``merge`` updates rows by bioguide_id and keeps every other row and column (and a row's
    email, which the dataset never has); ``replace`` writes only this import's rows. Without
    either, an existing ``out`` is an error. Output that would not change is not rewritten.
    """
    source_display = source_display or str(source)
    out_display = out_display or str(out)
    if merge and replace:
        raise CampaignError("choose one of --merge and --replace")
    audience = audience.strip()
    if not audience or (reason := text_problem("audience", audience)):
        raise CampaignError(f"--audience {reason or 'is empty'}")
    if filters.committees and committees_file is None:
        raise CampaignError(
            "--committee needs the committee membership file: pass --committees FILE "
            "(committee-membership-current.csv)"
        )
    if out.is_dir():
        raise CampaignError(f"{out_display} is a folder: give --out a file name")
    if not out.parent.is_dir():
        raise CampaignError(f"cannot write {out_display}: folder {out.parent} does not exist")
    exists = out.exists()
    if exists and not (merge or replace):
        raise CampaignError(
            f"{out_display} already exists: pass --merge to update its rows by bioguide_id "
            "(keeping the others), or --replace to overwrite it"
        )
    committees = None
    if committees_file is not None and filters.committees:
        committees = read_committees(committees_file, str(committees_file), filters.committees)
    wanted = Filters(
        filters.chamber,
        tuple(s.strip().upper() for s in filters.states),
        tuple(p.strip().casefold() for p in filters.parties),
        filters.committees,
    )
    rows, problems = read_legislators(
        source, source_display, audience=audience, filters=wanted, committees=committees
    )
    result = ImportResult(out, imported=len(rows), skipped=len(problems.items), problems=problems)
    header = list(OUTPUT_COLUMNS)
    if merge and exists:
        old_header, old_rows = _existing(out, out_display)
        header += [name for name in old_header if name not in OUTPUT_COLUMNS]
        new = {row["bioguide_id"]: row for row in rows}
        members: list[dict[str, str]] = []
        others: list[dict[str, str]] = []
        for old in old_rows:
            bioguide = old.get("bioguide_id", "").strip()
            if bioguide in new:
                merged = {**old, **new.pop(bioguide)}
                merged["email"] = old.get("email", "")
                members.append(merged)
                result.updated += 1
            else:
                (members if bioguide else others).append(old)
                result.kept += 1
        members += new.values()
        result.added = len(new)
        output = sorted(members, key=sort_key) + others
    else:
        result.added = len(rows)
        output = sorted(rows, key=sort_key)
    data = _encode(header, output)
    if not (exists and out.read_bytes() == data):
        write_atomically(out, data, out_display)
        result.changed = True
    return result


__all__ = [
    "OUTPUT_COLUMNS",
    "SALUTATION_TITLES",
    "Committee",
    "Filters",
    "ImportResult",
    "import_legislators",
    "member_title",
    "read_committees",
    "read_legislators",
    "sort_key",
    "split_address",
    "write_atomically",
]
