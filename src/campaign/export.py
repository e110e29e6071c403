"""Exporting one letter per recipient: .eml or .txt files, or one CSV or JSON Lines file.

Everything is written into a staging folder inside the output folder first and moved into
place only when the whole run succeeded, so a failed or interrupted export leaves no partial
file where a finished one belongs. A manifest records which files exports wrote, so a later
export replaces its own files but never a file somebody else put there.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import errno
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from campaign.errors import CampaignError, CampaignInvalid, Problems
from campaign.exportseal import stage_seal
from campaign.message import InternalError
from campaign.pipeline import Job, Recipient, Seen
from campaign.recipients import Row
from campaign.render import Letter, RenderError
from campaign.safety import neutralise_cell, slug

FORMATS = ("eml", "csv", "jsonl", "txt")
# The file names --out may end in for the one-file formats.
FILE_SUFFIXES = {"csv": (".csv",), "jsonl": (".jsonl", ".ndjson")}
PER_FILE = ("eml", "txt")
MANIFEST = ".campaign-manifest"
STAGING_PREFIX = ".campaign-tmp-"
NAMES_PREFIX = ".names-"
_LETTER = re.compile(r"[0-9]{6,}-[a-z0-9-]+\.(?:eml|txt)")
REJECTS_COLUMNS = ("line", "row", "reasons")
# Spreadsheets (Excel above all) read a CSV as UTF-8 only when it starts with a byte-order mark.
BOM = "\ufeff".encode()
REJECTS_HEADER = BOM + ",".join(REJECTS_COLUMNS).encode("ascii") + b","
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
    removed: int = 0  # earlier exports' letters for recipients no longer in the list


def file_name(recipient: Recipient, extension: str) -> str:
    """``000012-padilla-alex.eml``: the row number keeps names unique, the slug readable."""
    who = (
        f"{recipient.row.values.get('last_name', '')} {recipient.row.values.get('first_name', '')}"
    )
    return f"{recipient.row.number:06d}-{slug(who)}.{extension}"


def _name_hash(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def _has(hashes: array[int], wanted: int) -> bool:
    """Whether sorted ``hashes`` holds ``wanted``."""
    index = bisect.bisect_left(hashes, wanted)
    return index < len(hashes) and hashes[index] == wanted


class Output:
    """The output folder: staging, the manifest, and the final moves.

    Nothing here grows with the number of letters: staged names are kept in files in the
    staging folder, and the manifest is held as sorted 64-bit hashes of the names it lists.
    """

    def __init__(self, folder: Path, overwrite: bool) -> None:
        self.folder = folder
        self.overwrite = overwrite
        # The folders this run creates, deepest first: a failed run removes them all again.
        self.created = [p for p in (folder, *folder.parents) if not p.exists()]
        # A folder that does not exist yet is staged beside it under a hidden name and
        # appears, whole, with one rename when the export succeeds: no move per letter.
        self.fresh = (
            not os.path.lexists(folder)
            and folder.name not in ("", ".", "..")
            and (".." not in folder.parts)
        )
        home = folder.parent if self.fresh else folder
        try:
            if home.exists() and not home.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CampaignError(f"cannot create output folder {folder}: {exc.strerror}") from None
        if not os.access(home, os.W_OK | os.X_OK):
            raise CampaignError(f"cannot write to output folder {home}: permission denied")
        self._remove_stale()
        self.manifest = array("Q") if self.fresh else self._read_manifest()
        try:
            prefix = self._sibling_prefix if self.fresh else STAGING_PREFIX
            self.staging = home / f"{prefix}{os.getpid()}"
            self.staging.mkdir()
        except OSError as exc:
            raise CampaignError(f"cannot write to output folder {home}: {exc.strerror}") from None
        self.extra: list[str] = []  # files written through write() and open_binary()
        self.removed: set[str] = set()  # staged letters taken back (duplicates)
        self.name_files: list[str] = []  # per process, in row order: the letters it staged

    @property
    def _sibling_prefix(self) -> str:
        return f".{self.folder.name}{STAGING_PREFIX}"

    def _remove_stale(self) -> None:
        """Remove staging folders left by exports that were killed: inside the output folder,
        and beside it (a new folder's). Nothing in them was ever moved into place."""
        stale = []
        if not self.fresh:
            with os.scandir(self.folder) as entries:  # a scan, not a list: it may be large
                stale += [e.path for e in entries if e.name.startswith(STAGING_PREFIX)]
        if self.folder.name:
            mine = re.compile(re.escape(self._sibling_prefix) + "[0-9]+")
            try:
                with os.scandir(self.folder.parent) as entries:
                    stale += [e.path for e in entries if mine.fullmatch(e.name)]
            except OSError:
                pass  # a parent we may not list holds none of ours worth the error
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)

    def _manifest_lines(self) -> Iterator[str]:
        path = self.folder / MANIFEST
        try:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip("\n"):
                        yield line.rstrip("\n")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CampaignError(
                f"cannot read {path} ({reason}): it lists the files earlier exports wrote; "
                "move it away (and pass --overwrite) or choose another --out"
            ) from None

    def _read_manifest(self) -> array[int]:
        return array("Q", sorted(_name_hash(name) for name in self._manifest_lines()))

    def ours(self, name: str) -> bool:
        """Whether an earlier export wrote ``name`` (it is in the manifest)."""
        return bool(self.manifest) and _has(self.manifest, _name_hash(name))

    def staged(self) -> Iterator[str]:
        """Every staged file's name, letters in row order, then the others."""
        for names in self.name_files:
            with open(self.staging / names, encoding="utf-8") as handle:
                for line in handle:
                    name = line.rstrip("\n")
                    if name not in self.removed:
                        yield name
        yield from self.extra

    def write(self, name: str, data: bytes) -> None:
        with open(self.staging / name, "wb") as handle:
            handle.write(data)
        self.extra.append(name)

    def open_binary(self, name: str) -> BinaryIO:
        self.extra.append(name)
        return open(self.staging / name, "wb")

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        for created in self.created:
            # The folder is ours and holds nothing: leave no trace of a failed run.
            with contextlib.suppress(OSError):
                created.rmdir()

    def conflicts(self) -> tuple[list[str], int]:
        """Files we would replace that no export of ours wrote (and that differ): the first
        few names and how many in all."""
        shown: list[str] = []
        count = 0
        if self.fresh:
            return shown, count  # no folder yet, so nothing in the way
        present = self._present()
        if not present:
            return shown, count  # a new or empty folder: nothing can be in the way
        folder_fd = os.open(self.folder, os.O_RDONLY)
        try:
            for name in self.staged():
                if not _has(present, _name_hash(name.casefold())):
                    continue  # not in the folder: one lookup instead of a stat() per letter
                try:
                    found = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(found.st_mode):
                    # Not even --overwrite replaces a folder or a link with a letter.
                    raise CampaignError(
                        f"{self.folder / name} is in the way: it is not a regular file, so no "
                        "letter can be written there; move it away or choose another --out"
                    )
                if (
                    self.overwrite
                    or self.ours(name)
                    or _same_bytes(self.folder / name, self.staging / name)
                ):
                    continue
                count += 1
                if len(shown) < 5:
                    shown.append(name)
        finally:
            os.close(folder_fd)
        return shown, count

    def _present(self) -> array[int]:
        """The names already in the output folder (but our staging), as sorted hashes.

        Case-folded: on a folder that ignores case (macOS, Windows), 'Rejects.csv' is in the
        way of 'rejects.csv', and the stat() that follows a match tells.
        """
        with os.scandir(self.folder) as entries:
            return array(
                "Q",
                sorted(
                    _name_hash(e.name.casefold())
                    for e in entries
                    if not e.name.startswith(STAGING_PREFIX)
                ),
            )

    def commit(self, stale: tuple[str, ...] = (), letters: str | None = None) -> int:
        """Record, then move every staged file into place; remove our own stale files.

        ``letters`` is the extension of this export's letters: the letters of that kind an
        earlier export wrote here for recipients no longer in the list are removed, so the
        folder holds one letter per current recipient. Returns how many were removed.
        """
        if self.fresh:
            self._commit_fresh()
            return 0
        manifest_tmp = self.staging / MANIFEST
        with open(manifest_tmp, "w", encoding="utf-8") as handle:
            for name in self._manifest_lines():
                handle.write(f"{name}\n")
            for name in self.staged():
                if not self.ours(name):
                    handle.write(f"{name}\n")
        os.replace(manifest_tmp, self.folder / MANIFEST)
        source = os.open(self.staging, os.O_RDONLY)
        target = os.open(self.folder, os.O_RDONLY)
        try:
            for name in self.staged():
                os.replace(name, name, src_dir_fd=source, dst_dir_fd=target)
        finally:
            os.close(source)
            os.close(target)
        for name in stale:
            if self.ours(name) and name not in self.extra and _is_rejects_file(self.folder / name):
                (self.folder / name).unlink()
        removed = self._remove_old_letters(letters) if letters and len(self.manifest) else 0
        shutil.rmtree(self.staging)
        _fsync_dir(self.folder)
        return removed

    def _commit_fresh(self) -> None:
        """Give the staging folder the output folder's name: every file appears at once."""
        with open(self.staging / MANIFEST, "w", encoding="utf-8") as handle:
            for name in self.staged():
                handle.write(f"{name}\n")
        with os.scandir(self.staging) as entries:
            internal = [e.path for e in entries if _NAMES_FILE.fullmatch(e.name)]
        for path in internal:
            os.unlink(path)
        try:
            os.rename(self.staging, self.folder)  # fails if the folder appeared meanwhile
        except OSError:
            raise CampaignError(
                f"{self.folder} was created by something else during the export, so nothing "
                "was written: run the export again"
            ) from None
        _fsync_dir(self.folder.parent)

    def _remove_old_letters(self, extension: str) -> int:
        """Delete earlier exports' letters that this one did not write; drop them from the
        manifest. A crash part way leaves the manifest naming files already gone: harmless."""
        current = array("Q", sorted(_name_hash(name) for name in self.staged()))

        def is_current(name: str) -> bool:
            return _has(current, _name_hash(name))

        removed = 0
        manifest_tmp = self.staging / MANIFEST
        with open(manifest_tmp, "w", encoding="utf-8") as handle:
            for name in self._manifest_lines():
                old = _LETTER.fullmatch(name) and name.endswith(f".{extension}")
                if old and not is_current(name):
                    with contextlib.suppress(FileNotFoundError):
                        (self.folder / name).unlink()
                        removed += 1
                    continue
                handle.write(f"{name}\n")
        os.replace(manifest_tmp, self.folder / MANIFEST)
        return removed


def _is_rejects_file(path: Path) -> bool:
    """A rejects file an export wrote, by its first line: never delete somebody's own file."""
    try:
        with open(path, "rb") as handle:
            return handle.readline().startswith(REJECTS_HEADER)
    except OSError:
        return False


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
    writer.writerow([neutralise_cell(c) for c in (*REJECTS_COLUMNS, *job.file.header)])
    for r in rejected:
        values = [r.row.values.get(c, "") for c in job.file.header]
        cells = [str(r.row.line), str(r.row.number), "; ".join(r.problems), *values]
        writer.writerow([neutralise_cell(c) for c in cells])
    # A rejected row may hold what no UTF-8 file can (a lone surrogate): shown escaped.
    return BOM + buffer.getvalue().encode("utf-8", "backslashreplace")


def _bounds(total: int, jobs: int) -> list[tuple[int, int | None]]:
    """Row-number ranges, one per process; the last is open-ended (the total is an estimate)."""
    if jobs <= 1:
        return [(1, None)]
    size = max(1, -(-total // jobs))
    ranges: list[tuple[int, int | None]] = [
        (k * size + 1, (k + 1) * size) for k in range(jobs - 1) if k * size < total
    ]
    ranges.append((len(ranges) * size + 1, None))
    return ranges


def export(
    job: Job,
    fmt: str,
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
    if fmt not in FORMATS:
        raise CampaignError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not job.usable:
        raise CampaignInvalid(job.problems)
    if fmt in PER_FILE:
        if out.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".eml", ".txt"):
            raise CampaignError(
                f"--out {out} looks like a file name, but {fmt} writes one file per letter "
                "into a folder: give a folder"
            )
        folder, single = out, None
    elif out.suffix:
        if out.suffix.lower() not in FILE_SUFFIXES[fmt]:
            wanted = " or ".join(FILE_SUFFIXES[fmt])
            raise CampaignError(
                f"--out {out}: a {fmt} export is a {wanted} file; give a name ending {wanted}, "
                "or a folder"
            )
        folder, single = out.parent, out.name
    else:
        folder, single = out, f"letters.{fmt}"
    if folder.exists() and not folder.is_dir():
        raise CampaignError(f"--out {folder} exists and is not a folder")
    if single is not None and (folder / single).is_dir():
        raise CampaignError(
            f"--out {folder / single} is a folder: give a file name, or a folder without a suffix"
        )
    output = Output(folder, overwrite)
    rejects_name = "rejects.csv" if single is None else f"{Path(single).stem}.rejects.csv"
    try:
        ranges = _bounds(job.file.estimate_rows(), jobs)
        chunks = run_chunks(job, fmt, output.staging, ranges, progress)
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
            output.write(rejects_name, _rejects_rows(job, rejected))
            result.rejects = folder / rejects_name
        if fmt == "eml":
            output.write(*stage_seal(output.staging, output.staged(), job.now.isoformat()))
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
        result.removed = output.commit(
            stale=(rejects_name,), letters=fmt if single is None else None
        )
    except BaseException:
        output.discard()
        raise
    if single is not None:
        result.targets = [folder / single]
    return result


@dataclass
class Chunk:
    """What one process did with its range of rows."""

    first: int
    written: int = 0
    rejected: list[Recipient] = field(default_factory=list)
    seen: Seen = field(default_factory=Seen)
    # For csv/jsonl: the part file and where each record starts in it, by line.
    part: str | None = None
    lines: array[int] = field(default_factory=lambda: array("q"))
    offsets: array[int] = field(default_factory=lambda: array("q"))


def _names_file(first: int) -> str:
    return f"{NAMES_PREFIX}{first:09d}"


_NAMES_FILE = re.compile(re.escape(NAMES_PREFIX) + "[0-9]{9}")


def _part_name(first: int) -> str:
    return f"part-{first:09d}"


def work(
    job: Job,
    fmt: str,
    staging: Path,
    first: int,
    last: int | None,
    progress: Callable[[int], None] | None,
) -> Chunk:
    """Check, render and write rows ``first``..``last`` into ``staging``."""
    chunk = Chunk(first)
    handle = None
    if fmt not in PER_FILE:
        chunk.part = _part_name(first)
        handle = open(staging / chunk.part, "wb")  # noqa: SIM115 (closed below)
    offset = 0
    pending: list[tuple[str, bytes]] = []  # letters made but not yet written
    folder_fd = os.open(staging, os.O_RDONLY)
    # The names of the letters staged, in row order: Output.staged() reads them back.
    names = open(staging / _names_file(first), "w", encoding="utf-8")  # noqa: SIM115
    try:
        for batch in _batches(job, first, last):
            # Phase by phase over a batch: each phase's code stays in the CPU's caches.
            recipients = [job.check_row(row, chunk.seen) for row in batch]
            letters: list[Letter | None] = []
            for recipient in recipients:
                letter = None
                if not recipient.problems:
                    try:
                        letter = job.render(recipient, html=fmt in ("eml", "jsonl"))
                    except RenderError as exc:
                        recipient.problems.append(f"{exc.where}: {exc.message}")
                letters.append(letter)
            for recipient, letter in zip(recipients, letters, strict=True):
                if letter is None:
                    chunk.rejected.append(recipient)
                    continue
                chunk.written += 1
                if fmt == "eml":
                    pending.append((file_name(recipient, "eml"), job.message(recipient, letter)))
                elif fmt == "txt":
                    text = f"Subject: {recipient.subject}\n\n{letter.text}"
                    pending.append((file_name(recipient, "txt"), text.encode("utf-8")))
                else:
                    assert handle is not None
                    if fmt == "csv":
                        record = csv_record(map(neutralise_cell, _csv_cells(recipient, letter)))
                    else:
                        record = (_json_record(recipient, letter) + "\n").encode("utf-8")
                    handle.write(record)
                    chunk.lines.append(recipient.row.line)
                    chunk.offsets.append(offset)
                    offset += len(record)
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


def csv_record(cells: Iterable[str]) -> bytes:
    """One CSV record, as csv.writer writes it (minimal quoting, CRLF), in UTF-8.

    csv.writer copies a field character by character to decide on quotes; a letter is a few
    thousand characters, so this asks str's own searches instead (tested against csv.writer).
    """
    quoted = []
    for cell in cells:
        if '"' in cell:
            cell = '"' + cell.replace('"', '""') + '"'
        elif "," in cell or "\n" in cell or "\r" in cell:
            cell = '"' + cell + '"'
        quoted.append(cell)
    return (",".join(quoted) + "\r\n").encode("utf-8")


def _csv_cells(recipient: Recipient, letter: Letter) -> list[str]:
    fields = recipient.fields
    return [
        str(recipient.row.line),
        str(recipient.row.number),
        recipient.audience,
        recipient.display_name,
        recipient.email,
        fields["salutation"],
        recipient.subject,
        letter.text,
        " ".join(letter.cited),
        fields.get("contact_form", ""),
        fields.get("phone", ""),
    ]


def _json_record(recipient: Recipient, letter: Letter) -> str:
    record = {
        "line": recipient.row.line,
        "row": recipient.row.number,
        "audience": recipient.audience,
        "recipient": recipient.display_name,
        "to": recipient.email,
        "salutation": recipient.fields["salutation"],
        "subject": recipient.subject,
        "text": letter.text,
        "html": letter.html,
        "cited": list(letter.cited),
        "fields": recipient.row.values,
    }
    import json  # only jsonl needs it

    return json.dumps(record, ensure_ascii=False)


def _merge(
    job: Job, fmt: str, output: Output, single: str | None, chunks: list[Chunk]
) -> list[Recipient]:
    """Join the chunks: reject repeated addresses, assemble the one file of csv/jsonl."""
    rejected = [r for chunk in chunks for r in chunk.rejected]
    if fmt in PER_FILE:
        output.name_files = [_names_file(chunk.first) for chunk in chunks]
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
                if fmt in PER_FILE:
                    name = file_name(recipient, fmt)
                    (output.staging / name).unlink()
                    output.removed.add(name)
            recipient.problems.append(duplicate.message)
    rejected.sort(key=lambda r: r.row.line)
    if single is not None:
        with output.open_binary(single) as target:
            if fmt == "csv":
                target.write(_csv_header())
            for chunk in chunks:
                assert chunk.part is not None
                part = output.staging / chunk.part
                with open(part, "rb") as source:
                    if not duplicates:
                        shutil.copyfileobj(source, target)
                    else:
                        data = source.read()
                        for i, line in enumerate(chunk.lines):
                            if line not in duplicates:
                                target.write(data[chunk.offsets[i] : chunk.offsets[i + 1]])
                part.unlink()
    return rejected


def _csv_header() -> bytes:
    return BOM + (",".join(CSV_COLUMNS) + "\r\n").encode("ascii")


def run_chunks(
    job: Job,
    fmt: str,
    staging: Path,
    ranges: list[tuple[int, int | None]],
    progress: Callable[[int], None] | None,
) -> list[Chunk]:
    """Run work() for each range: in this process for one, in forked processes for more."""
    if len(ranges) == 1:
        first, last = ranges[0]
        return [work(job, fmt, staging, first, last, progress)]
    from multiprocessing import get_context  # only --jobs needs it: no cost to one process

    context = get_context("fork")
    done = context.Value("q", 0)
    pipes = []
    processes = []
    for first, last in ranges:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(sender, done, job, fmt, staging, first, last), daemon=True
        )
        process.start()
        sender.close()
        pipes.append(receiver)
        processes.append(process)
    chunks: list[Chunk] = []
    reported = 0
    try:
        for receiver in pipes:
            while not receiver.poll(0.1):
                if progress is not None and done.value > reported:
                    progress(done.value - reported)
                    reported = done.value
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise RuntimeError("an export process died without a result") from None
            if kind == "invalid":
                raise CampaignInvalid(payload)
            if kind == "error":
                raise CampaignError(payload)
            if kind == "internal":
                raise InternalError(payload)
            chunks.append(payload)
        if progress is not None and done.value > reported:
            progress(done.value - reported)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join()
    return chunks


def _die_with_parent() -> None:
    """A worker ends with the export that started it, even one killed with SIGKILL.

    Otherwise it would go on writing into a staging folder the next run is removing.
    """
    import ctypes
    import multiprocessing

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent was gone before the line above took effect


def _child(
    sender: Any,
    done: Any,
    job: Job,
    fmt: str,
    staging: Path,
    first: int,
    last: int | None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent()
    pending = 0

    def tick(count: int) -> None:
        nonlocal pending
        pending += count
        if pending >= 256:
            with done.get_lock():
                done.value += pending
            pending = 0

    try:
        chunk = work(job, fmt, staging, first, last, tick)
        tick(0)
        with done.get_lock():
            done.value += pending
        sender.send(("ok", chunk))
    except CampaignInvalid as exc:
        sender.send(("invalid", exc.problems))
    except CampaignError as exc:
        sender.send(("error", str(exc)))
    except InternalError as exc:
        sender.send(("internal", str(exc)))
    finally:
        sender.close()
