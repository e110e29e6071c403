"""Exporting one letter per recipient: .eml or .txt files, or one CSV or JSON Lines file.

Everything is written into a staging folder inside the output folder first and moved into
place only when the whole run succeeded, so a failed or interrupted export leaves no partial
file where a finished one belongs. A manifest records which files exports wrote, so a later
export replaces its own files but never a file somebody else put there.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from campaign.errors import CampaignError, CampaignInvalid, Problems
from campaign.message import build
from campaign.pipeline import Job, Recipient
from campaign.render import RenderError
from campaign.safety import neutralise_cell, slug

FORMATS = ("eml", "csv", "jsonl", "txt")
PER_FILE = ("eml", "txt")
MANIFEST = ".campaign-manifest"
STAGING_PREFIX = ".campaign-tmp-"
CSV_COLUMNS = (
    "line",
    "row",
    "audience",
    "recipient",
    "to",
    "salutation",
    "subject",
    "text",
    "cited",
    "contact_form",
    "phone",
)


@dataclass
class Result:
    written: int = 0
    rejected: int = 0
    targets: list[Path] = field(default_factory=list)
    rejects: Path | None = None
    problems: Problems = field(default_factory=Problems)


def file_name(recipient: Recipient, extension: str) -> str:
    """``000012-padilla-alex.eml``: the row number keeps names unique, the slug readable."""
    who = (
        f"{recipient.row.values.get('last_name', '')} {recipient.row.values.get('first_name', '')}"
    )
    return f"{recipient.row.number:06d}-{slug(who)}.{extension}"


class Output:
    """The output folder: staging, the manifest, and the final moves."""

    def __init__(self, folder: Path, overwrite: bool) -> None:
        self.folder = folder
        self.overwrite = overwrite
        self.created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CampaignError(f"cannot create output folder {folder}: {exc.strerror}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CampaignError(f"cannot write to output folder {folder}: permission denied")
        for stale in folder.glob(STAGING_PREFIX + "*"):
            # Left by an export that was killed; nothing in it was ever moved into place.
            shutil.rmtree(stale, ignore_errors=True)
        self.manifest = self._read_manifest()
        try:
            self.staging = folder / f"{STAGING_PREFIX}{os.getpid()}"
            self.staging.mkdir()
        except OSError as exc:
            raise CampaignError(f"cannot write to output folder {folder}: {exc.strerror}") from None
        self.names: list[str] = []

    def _read_manifest(self) -> set[str]:
        try:
            text = (self.folder / MANIFEST).read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        return {line for line in text.splitlines() if line}

    def write(self, name: str, data: bytes) -> None:
        with open(self.staging / name, "wb") as handle:
            handle.write(data)
        self.names.append(name)

    def open_text(self, name: str) -> io.TextIOWrapper:
        self.names.append(name)
        return open(self.staging / name, "w", encoding="utf-8", newline="")

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.created:
            # The folder is ours and holds nothing: leave no trace of a failed run.
            with contextlib.suppress(OSError):
                self.folder.rmdir()

    def conflicts(self) -> list[str]:
        """Files we would replace that no export of ours wrote (and that differ)."""
        if self.overwrite:
            return []
        found = []
        for name in self.names:
            target = self.folder / name
            if target.exists() and name not in self.manifest:
                if target.is_file() and _same_bytes(target, self.staging / name):
                    continue
                found.append(name)
        return found

    def commit(self, stale: tuple[str, ...] = ()) -> None:
        """Record, then move every staged file into place; remove our own stale files."""
        manifest = sorted(self.manifest | set(self.names))
        manifest_tmp = self.staging / MANIFEST
        manifest_tmp.write_text("".join(f"{n}\n" for n in manifest), encoding="utf-8")
        os.replace(manifest_tmp, self.folder / MANIFEST)
        for name in self.names:
            os.replace(self.staging / name, self.folder / name)
        for name in stale:
            if name in self.manifest and name not in self.names:
                (self.folder / name).unlink(missing_ok=True)
        self.staging.rmdir()
        _fsync_dir(self.folder)


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _rejects_rows(job: Job, rejected: list[Recipient]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["line", "row", "reasons", *job.file.header])
    for r in rejected:
        values = [r.row.values.get(c, "") for c in job.file.header]
        cells = [str(r.row.line), str(r.row.number), "; ".join(r.problems), *values]
        writer.writerow([neutralise_cell(c) for c in cells])
    return buffer.getvalue().encode("utf-8")


def export(
    job: Job,
    fmt: str,
    out: Path,
    *,
    skip_invalid: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Check and write every letter; raise CampaignInvalid (writing nothing) on any error."""
    if fmt not in FORMATS:
        raise CampaignError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not job.usable:
        raise CampaignInvalid(job.problems)
    if fmt in PER_FILE:
        folder, single = out, None
    elif out.suffix:
        folder, single = out.parent, out.name
    else:
        folder, single = out, f"letters.{fmt}"
    if folder.exists() and not folder.is_dir():
        raise CampaignError(f"--out {folder} exists and is not a folder")
    output = Output(folder, overwrite)
    try:
        result, problems, rejected = _write_all(job, fmt, output, single, progress)
        result.problems = problems
        if problems.errors and not skip_invalid:
            output.discard()
            everything = Problems()
            everything.extend(job.problems)
            everything.extend(problems)
            raise CampaignInvalid(everything)
        rejects_name = "rejects.csv" if single is None else f"{Path(single).stem}.rejects.csv"
        if rejected:
            output.write(rejects_name, _rejects_rows(job, rejected))
            result.rejects = folder / rejects_name
        conflicts = output.conflicts()
        if conflicts:
            output.discard()
            shown = ", ".join(str(folder / n) for n in conflicts[:5])
            more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            raise CampaignError(
                f"{shown}{more} already exist and were not written by campaign export: "
                "move them away, choose another --out, or pass --overwrite to replace them"
            )
        output.commit(stale=(rejects_name,))
    except BaseException:
        output.discard()
        raise
    result.targets = [folder / n for n in output.names if n != rejects_name]
    return result


def _write_all(
    job: Job,
    fmt: str,
    output: Output,
    single: str | None,
    progress: Callable[[int], None] | None,
) -> tuple[Result, Problems, list[Recipient]]:
    result = Result()
    problems = Problems()
    rejected: list[Recipient] = []
    handle: io.TextIOWrapper | None = None
    writer: csv.DictWriter[str] | None = None
    if single is not None:
        handle = output.open_text(single)
        if fmt == "csv":
            writer = csv.DictWriter(handle, CSV_COLUMNS, lineterminator="\r\n")
            writer.writeheader()
    try:
        for row in job.rows():
            recipient = job.prepare(row)
            if not recipient.problems:
                try:
                    letter = job.render(recipient)
                except RenderError as exc:
                    recipient.problems.append(f"{exc.where}: {exc.message}")
            if recipient.problems:
                problems.extend(job.row_problems(recipient))
                rejected.append(recipient)
                result.rejected += 1
            elif fmt == "eml":
                data = build(
                    job.envelope,
                    recipient.display_name,
                    recipient.email,
                    recipient.subject,
                    letter.text,
                    letter.html,
                    recipient.key,
                )
                output.write(file_name(recipient, "eml"), data)
                result.written += 1
            elif fmt == "txt":
                text = f"Subject: {recipient.subject}\n\n{letter.text}"
                output.write(file_name(recipient, "txt"), text.encode("utf-8"))
                result.written += 1
            elif writer is not None:
                fields = recipient.fields
                cells = {
                    "line": str(row.line),
                    "row": str(row.number),
                    "audience": recipient.audience,
                    "recipient": recipient.display_name,
                    "to": recipient.email,
                    "salutation": fields["salutation"],
                    "subject": recipient.subject,
                    "text": letter.text,
                    "cited": " ".join(letter.cited),
                    "contact_form": fields.get("contact_form", ""),
                    "phone": fields.get("phone", ""),
                }
                writer.writerow({k: neutralise_cell(v) for k, v in cells.items()})
                result.written += 1
            elif handle is not None:
                record = {
                    "line": row.line,
                    "row": row.number,
                    "audience": recipient.audience,
                    "recipient": recipient.display_name,
                    "to": recipient.email,
                    "salutation": recipient.fields["salutation"],
                    "subject": recipient.subject,
                    "text": letter.text,
                    "html": letter.html,
                    "cited": list(letter.cited),
                    "fields": row.values,
                }
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                result.written += 1
            if progress is not None:
                progress(1)
    finally:
        if handle is not None:
            handle.close()
    return result, problems, rejected
