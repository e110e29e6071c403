"""Exporting: check and render every row, have its format make the bytes, commit the folder.

The jobs are elsewhere: campaign.formats makes a letter's bytes, campaign.outbox owns the
output folder (staging, manifest, conflicts, the final moves), campaign.parallel runs --jobs.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import signal
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from campaign import parallel
from campaign.errors import CampaignError, CampaignInvalid, LetterProblem, Problems
from campaign.exportseal import SEAL, write_seal
from campaign.formats import FORMATS, REGISTRY, Format, file_name, get
from campaign.formats.spreadsheet import csv_record
from campaign.inputs import Inputs
from campaign.outbox import Output, names_file
from campaign.pipeline import Job, Recipient, Seen
from campaign.recipients import Row
from campaign.rejects import is_rejects_file, rejects_rows
from campaign.render import Letter, RenderError

__all__ = ["FORMATS", "Result", "csv_record", "export", "file_name"]


@dataclass
class Result:
    written: int = 0
    rejected: int = 0
    targets: list[Path] = field(default_factory=list)
    rejects: Path | None = None
    problems: Problems = field(default_factory=Problems)
    removed: int = 0  # earlier exports' letters for recipients no longer in the list


def _destination(fmt: Format, out: Path) -> tuple[Path, str | None]:
    """The output folder and, for a one-file format, the file's name in it."""
    if fmt.per_letter:
        suffixes = {s for f in REGISTRY.values() for s in f.suffixes}
        suffixes |= {f".{f.extension}" for f in REGISTRY.values() if f.per_letter}
        if out.suffix.lower() in suffixes:
            raise CampaignError(
                f"--out {out} looks like a file name, but {fmt.name} writes one file per letter "
                "into a folder: give a folder"
            )
        folder, single = out, None
    elif out.suffix:
        if out.suffix.lower() not in fmt.suffixes:
            wanted = " or ".join(fmt.suffixes)
            raise CampaignError(
                f"--out {out}: a {fmt.name} export is a {wanted} file; give a name ending "
                f"{wanted}, or a folder"
            )
        folder, single = out.parent, out.name
    else:
        folder, single = out, f"letters.{fmt.extension}"
    if folder.exists() and not folder.is_dir():
        raise CampaignError(f"--out {folder} exists and is not a folder")
    if single is not None and (folder / single).is_dir():
        raise CampaignError(
            f"--out {folder / single} is a folder: give a file name, or a folder without a suffix"
        )
    return folder, single


def export(
    job: Job,
    fmt_name: str,
    out: Path,
    *,
    skip_invalid: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> Result:
    """Check and write every letter; raise CampaignInvalid (writing nothing) on any error.

    With ``jobs`` > 1 the rows are split into ranges rendered by that many processes; the
    files are the same, byte for byte, as with one.
    """
    fmt = get(fmt_name)
    if not job.usable:
        raise CampaignInvalid(job.problems)
    folder, single = _destination(fmt, out)
    inputs = campaign_inputs(job)
    inputs.check_folder(folder)
    if single is not None:
        inputs.check(folder / single, shown=out)
    _fail_writes_instead_of_dying()
    try:
        if single is None:
            output = Output(folder, overwrite, inputs=inputs, lock_wait=_lock_wait())
        else:
            output = Output(
                folder,
                overwrite,
                manifest=False,
                own=fmt.is_own_file,
                inputs=inputs,
                lock_wait=_lock_wait(),
            )
    except OSError as exc:
        raise _write_error(folder, exc, decided=False) from None
    rejects_name = fmt.rejects if single is None else f"{Path(single).stem}.rejects.csv"
    try:
        ranges = parallel.bounds(job.file.estimate_rows(), jobs)
        chunks = parallel.run(functools.partial(work, job, fmt, output.staging), ranges, progress)
        rejected = _merge(job, fmt, output, single, chunks)
        # Rows rejected only when the chunks were joined (duplicates) had been written.
        moved = sum(len(c.rejected) for c in chunks) - len(rejected)
        result = Result(written=sum(c.written for c in chunks) + moved, rejected=len(rejected))
        for recipient in rejected:
            result.problems.extend(job.row_problems(recipient))
        if result.problems.errors and not skip_invalid:
            everything = Problems()
            everything.extend(job.problems)
            everything.extend(result.problems)
            raise CampaignInvalid(everything)
        if rejected:
            output.write(rejects_name, rejects_rows(job, rejected))
            result.rejects = folder / rejects_name
        if fmt.name == "eml":
            with output.open_binary(SEAL) as handle:
                write_seal(handle, output.staging, output.staged(), job.now.isoformat())
        conflicts, count = output.conflicts()
        if conflicts:
            shown = ", ".join(str(folder / n) for n in conflicts)
            more = f" and {count - len(conflicts)} more" if count > len(conflicts) else ""
            one = count == 1
            raise CampaignError(
                f"{shown}{more} {'exists and was' if one else 'already exist and were'} not "
                f"written by campaign export: move {'it' if one else 'them'} away, choose another "
                f"--out, or pass --overwrite to replace {'it' if one else 'them'}"
            )
        stale = tuple(n for n in (rejects_name,) if is_rejects_file(folder / n))
        result.removed = output.commit(
            stale=stale, old_letter=fmt.is_letter_name if single is None else None
        )
    except OSError as exc:
        output.discard()
        raise _write_error(folder, exc, output.decided) from None
    except BaseException:
        output.discard()
        raise
    if single is not None:
        result.targets = [folder / single]
    return result


def _fail_writes_instead_of_dying() -> None:
    """A file-size limit (ulimit -f) makes a write fail with EFBIG instead of killing us."""
    with contextlib.suppress(ValueError, AttributeError):  # not the main thread; not POSIX
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _write_error(folder: Path, exc: OSError, decided: bool) -> CampaignError:
    """What to tell when the disk refuses a write: which folder, why, and what was left."""
    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why += " (the disk, or your share of it, is full)"
    elif exc.errno == errno.EFBIG:
        why += " (a file reached the size limit set for this process: see ulimit -f)"
    if decided:
        left = (
            "the export was interrupted while moving its files into place: the next export "
            f"to {folder} completes the move"
        )
    else:
        left = (
            f"nothing in {folder} was changed; make room or choose another --out, then export again"
        )
    return CampaignError(f"cannot write to {folder}: {why}: {left}")


def _lock_wait() -> float:
    """How long an export waits for another one writing to the same folder: a minute, or
    CAMPAIGN_LOCK_WAIT seconds."""
    try:
        return max(0.0, float(os.environ.get("CAMPAIGN_LOCK_WAIT", "60")))
    except ValueError:
        raise CampaignError("CAMPAIGN_LOCK_WAIT must be a number of seconds") from None


def campaign_inputs(job: Job) -> Inputs:
    """The recipients file, everything under letters/, and every quote's source file."""
    campaign = job.campaign
    sources = [campaign.letters / q.source_file for q in campaign.quotes.values() if q.source_file]
    return Inputs([job.options.recipients, *sources], [campaign.letters])


@dataclass
class Chunk:
    """What one process did with its range of rows."""

    first: int
    written: int = 0
    rejected: list[Recipient] = field(default_factory=list)
    seen: Seen = field(default_factory=Seen)
    # For one-file formats: the part file and where each record starts in it, by line.
    part: str | None = None
    lines: array[int] = field(default_factory=lambda: array("q"))
    offsets: array[int] = field(default_factory=lambda: array("q"))


def _part_name(first: int) -> str:
    return f"part-{first:09d}"


def work(
    job: Job,
    fmt: Format,
    staging: Path,
    first: int,
    last: int | None,
    progress: Callable[[int], None] | None,
) -> Chunk:
    """Check, render and write rows ``first``..``last`` into ``staging``."""
    chunk = Chunk(first)
    handle = None
    if not fmt.per_letter:
        chunk.part = _part_name(first)
        handle = open(staging / chunk.part, "wb")  # noqa: SIM115 (closed below)
    offset = 0
    pending: list[tuple[str, bytes]] = []  # letters made but not yet written
    folder_fd = os.open(staging, os.O_RDONLY)
    # The names of the letters staged, in row order: Output.staged() reads them back.
    names = open(staging / names_file(first), "w", encoding="utf-8")  # noqa: SIM115
    try:
        for batch in _batches(job, first, last):
            # Phase by phase over a batch: each phase's code stays in the CPU's caches.
            recipients = [job.check_row(row, chunk.seen) for row in batch]
            letters: list[Letter | None] = []
            for recipient in recipients:
                letter = None
                if not recipient.problems:
                    try:
                        letter = job.render(recipient, html=fmt.html)
                    except RenderError as exc:
                        recipient.problems.append(f"{exc.where}: {exc.message}")
                letters.append(letter)
            for recipient, letter in zip(recipients, letters, strict=True):
                made = None
                if letter is not None:
                    try:
                        made = fmt.letter(job, recipient, letter)
                    except LetterProblem as exc:  # this letter cannot be made (pdf: a glyph)
                        recipient.problems.append(str(exc))
                if made is None:
                    chunk.rejected.append(recipient)
                    continue
                chunk.written += 1
                if handle is None:
                    pending.append((fmt.letter_name(recipient), made))
                else:
                    handle.write(made)
                    chunk.lines.append(recipient.row.line)
                    chunk.offsets.append(offset)
                    offset += len(made)
            _write_batch(folder_fd, names, pending)
            if progress is not None:
                progress(len(batch))
    finally:
        names.close()
        os.close(folder_fd)
        if handle is not None:
            handle.close()
    chunk.offsets.append(offset)
    return chunk


# Rows are taken a few dozen at a time, and each step (check, render, build, write) runs over
# the whole batch before the next: the Python code of one step and the kernel's file creation
# each run with their caches warm, instead of evicting each other at every letter.
_BATCH = 64
_BATCH_CHARACTERS = 1_000_000  # and fewer rows when they are long: memory stays flat


def _batches(job: Job, first: int, last: int | None) -> Iterator[list[Row]]:
    """Rows ``first``..``last``, _BATCH at a time, or as many as hold _BATCH_CHARACTERS."""
    batch: list[Row] = []
    size = 0
    for row in job.rows():
        if row.number < first:
            continue
        if last is not None and row.number > last:
            break
        batch.append(row)
        size += sum(map(len, row.values.values()))
        if len(batch) == _BATCH or size > _BATCH_CHARACTERS:
            yield batch
            batch = []
            size = 0
    if batch:
        yield batch


def _write_batch(folder_fd: int, names: TextIO, pending: list[tuple[str, bytes]]) -> None:
    """Create the pending letters' files in the staging folder, note their names, forget them."""
    for name, data in pending:
        _write_new(folder_fd, name, data)
    names.write("".join([f"{name}\n" for name, _ in pending]))
    pending.clear()


def _write_new(folder_fd: int, name: str, data: bytes) -> None:
    """Create ``name`` in the staging folder (by descriptor: no path joins per letter)."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=folder_fd)
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write: go on from where it stopped
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _merge(
    job: Job, fmt: Format, output: Output, single: str | None, chunks: list[Chunk]
) -> list[Recipient]:
    """Join the chunks: reject repeated addresses, assemble a one-file format's file."""
    rejected = [r for chunk in chunks for r in chunk.rejected]
    if fmt.per_letter:
        output.name_files = [names_file(chunk.first) for chunk in chunks]
    seen = Seen()
    for chunk in chunks:
        seen.extend(chunk.seen)
    duplicates = job.duplicates(seen)
    if duplicates:
        by_line = {r.row.line: r for r in rejected}
        for line, duplicate in sorted(duplicates.items()):
            recipient = by_line.get(line)
            if recipient is None:
                recipient = job.prepare(duplicate.row)
                rejected.append(recipient)
                if fmt.per_letter:
                    name = fmt.letter_name(recipient)
                    (output.staging / name).unlink()
                    output.removed.add(name)
            recipient.problems.append(duplicate.message)
    rejected.sort(key=lambda r: r.row.line)
    if single is not None:
        with output.open_binary(single) as target:
            if not duplicates and type(fmt).assemble is Format.assemble:
                # The common case: the parts, whole, between header and footer.
                target.write(fmt.header())
                for chunk in chunks:
                    assert chunk.part is not None
                    with open(output.staging / chunk.part, "rb") as source:
                        shutil.copyfileobj(source, target)
                    (output.staging / chunk.part).unlink()
                target.write(fmt.footer())
            else:
                fmt.assemble(_records(output.staging, chunks, set(duplicates)), target)
    return rejected


def _records(staging: Path, chunks: list[Chunk], dropped: set[int]) -> Iterator[bytes]:
    """Every letter's record from the part files, in row order, but the dropped lines'."""
    for chunk in chunks:
        assert chunk.part is not None
        part = staging / chunk.part
        with open(part, "rb") as source:
            for i, line in enumerate(chunk.lines):
                record = source.read(chunk.offsets[i + 1] - chunk.offsets[i])
                if line not in dropped:
                    yield record
        part.unlink()
