"""The output folder's transaction: staging, the manifest, conflicts, commit and clean-up.

Everything is written into a staging folder inside the output folder first and moved into
place only when the whole run succeeded, so a failed or interrupted export leaves no partial
file where a finished one belongs. A manifest (one file name a line) records which files
exports wrote, so a later export replaces its own files but never a file somebody else put
there. Nothing here knows a format: names and bytes come from the caller.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import hashlib
import os
import re
import shutil
import stat
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from campaign import movelog
from campaign.errors import CampaignError
from campaign.folderlock import FolderLock
from campaign.inputs import Inputs

MANIFEST = movelog.MANIFEST
STAGING_PREFIX = ".campaign-tmp-"
NAMES_PREFIX = ".names-"


def names_file(first: int) -> str:
    """The staging file listing, in row order, the letters of the worker starting at ``first``."""
    return f"{NAMES_PREFIX}{first:09d}"


_NAMES_FILE = re.compile(re.escape(NAMES_PREFIX) + "[0-9]{9}")


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

    def __init__(
        self,
        folder: Path,
        overwrite: bool,
        *,
        manifest: bool = True,
        own: Callable[[Path], bool] | None = None,
        inputs: Inputs | None = None,
        lock_wait: float = 60.0,
    ) -> None:
        """``manifest``: record the files written in the folder's manifest (a one-file export
        leaves only its file: it passes False and tells its own earlier file by ``own``).
        The folder's lock is held from here to commit() or discard()."""
        self.folder = folder
        self.overwrite = overwrite
        self.keeps_manifest = manifest
        self.own = own
        self.inputs = inputs or Inputs(())
        # The folders this run creates, deepest first: a failed run removes them all again.
        self.created = [p for p in (folder, *folder.parents) if not p.exists()]
        self.lock = FolderLock(folder, lock_wait)
        self.decided = False  # True once the journal says the commit is to be carried out
        self._make_home()  # the lock file goes beside the folder: its parent must exist
        try:
            self.lock.acquire()
            home = self._make_home()  # again: the folder may have appeared meanwhile
            self._start(home)
        except BaseException:
            self.lock.release()
            self._remove_created()
            raise

    def _make_home(self) -> Path:
        """Create the folder the staging folder goes in; decide whether the output is new."""
        folder = self.folder
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
        return home

    def _start(self, home: Path) -> None:
        if not self.fresh:
            movelog.recover(self.folder)  # a killed run's commit first: it was decided
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
        """Undo a failed run; after the journal is written, leave its plan to the next run."""
        if not self.decided:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.lock.release()
        if not self.decided:
            self._remove_created()

    def _remove_created(self) -> None:
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
                self.inputs.check(self.folder / name)
                if (
                    self.overwrite
                    or self.ours(name)
                    or (self.own is not None and self.own(self.folder / name))
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

    def commit(
        self, stale: tuple[str, ...] = (), old_letter: Callable[[str], bool] | None = None
    ) -> int:
        """Record, then move every staged file into place; remove our own stale files.

        ``stale``: files an earlier export wrote here that this one replaces by nothing (its
        rejects file, say): removed when the manifest lists them and this run did not write
        them. ``old_letter`` tells this export's kind of letter by name: the letters of that
        kind an earlier export wrote here for recipients no longer in the list are removed, so
        the folder holds one letter per current recipient. Returns how many were removed.
        """
        if self.fresh:
            self._commit_fresh()
            self.lock.release()
            return 0
        count = self._plan(stale, old_letter)
        movelog.begin(self.folder, self.staging)  # the export is decided from here
        self.decided = True
        movelog.carry_out(self.folder, self.staging)
        self.lock.release()
        return count

    def _plan(self, stale: tuple[str, ...], old_letter: Callable[[str], bool] | None) -> int:
        """Write the commit's plan into the staging folder; how many old letters it removes."""
        with open(self.staging / ".extra", "w", encoding="utf-8") as handle:
            handle.writelines(f"{name}\n" for name in self.extra)
        removed: list[int] = []
        count = 0
        with open(self.staging / movelog.REMOVE_LIST, "w", encoding="utf-8") as handle:

            def remove(name: str) -> None:
                if os.path.lexists(self.folder / name) and not self.inputs.holds(
                    self.folder / name
                ):
                    handle.write(f"{name}\n")
                    removed.append(_name_hash(name))

            for name in stale:
                if (self.ours(name) or self.own is not None) and name not in self.extra:
                    remove(name)
            if old_letter is not None and len(self.manifest):
                current = array("Q", sorted(_name_hash(name) for name in self.staged()))
                for name in self._manifest_lines():
                    if old_letter(name) and not _has(current, _name_hash(name)):
                        before = len(removed)
                        remove(name)
                        count += len(removed) - before
        if self.keeps_manifest:
            gone = array("Q", sorted(removed))
            with open(self.staging / movelog.NEW_MANIFEST, "w", encoding="utf-8") as handle:
                for name in self._manifest_lines():
                    if not _has(gone, _name_hash(name)):
                        handle.write(f"{name}\n")
                for name in self.staged():
                    if not self.ours(name):
                        handle.write(f"{name}\n")
        return count

    def _commit_fresh(self) -> None:
        """Give the staging folder the output folder's name: every file appears at once."""
        if self.keeps_manifest:
            with open(self.staging / MANIFEST, "w", encoding="utf-8") as handle:
                for name in self.staged():
                    handle.write(f"{name}\n")
        with os.scandir(self.staging) as entries:
            internal = [e.path for e in entries if _NAMES_FILE.fullmatch(e.name)]
        for path in internal:
            os.unlink(path)
        movelog.test_pause()
        try:
            os.rename(self.staging, self.folder)  # fails if the folder appeared meanwhile
        except OSError:
            raise CampaignError(
                f"{self.folder} was created by something else during the export, so nothing "
                "was written: run the export again"
            ) from None
        movelog.fsync_dir(self.folder.parent)


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
