"""One export at a time per output folder: an advisory lock (flock) held for the whole run.

The lock file sits beside the output folder (``.out.campaign-lock`` for ``out``), so it can be
taken before the folder exists, and it is removed when the run ends: a finished export leaves
no trace of it. A run killed with SIGKILL leaves the file, unlocked; the next run takes it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path

from campaign.errors import CampaignError

SUFFIX = ".campaign-lock"


def lock_path(folder: Path) -> Path:
    """Where the lock of ``folder`` lives: beside it, by its real name."""
    real = Path(os.path.realpath(folder))
    if not real.name:
        return real / SUFFIX  # the root folder has no beside
    return real.parent / f".{real.name}{SUFFIX}"


class FolderLock:
    """The advisory lock of an output folder; ``wait`` seconds at most to get it."""

    def __init__(self, folder: Path, wait: float) -> None:
        self.folder = folder
        self.path = lock_path(folder)
        self.wait = wait
        self.fd: int | None = None
        self.is_file = True

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            fd = self._open()
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise CampaignError(
                                f"another export is writing to {self.folder}: it has held the "
                                f"folder's lock ({self.path}) for over {self.wait:g} seconds; let "
                                "it finish, then run this export again"
                            ) from None
                        time.sleep(0.05)
                if not self.is_file or self._still_ours(fd):
                    self.fd, fd = fd, -1
                    return
                # The holder removed the lock file as it ended: take the new one instead.
            finally:
                if fd != -1:
                    os.close(fd)

    def _open(self) -> int:
        try:
            self.is_file = True
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise CampaignError(
                    f"cannot lock output folder {self.folder}: {exc.strerror}"
                ) from None
        # No file may be made beside the folder: lock the folder itself (it must exist then).
        try:
            self.is_file = False
            return os.open(self.folder, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise CampaignError(
                f"cannot write to output folder {self.folder}: {exc.strerror}"
            ) from None

    def _still_ours(self, fd: int) -> bool:
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)

    def release(self) -> None:
        """Remove the lock file, then let the lock go (a waiter then sees the file is gone)."""
        if self.fd is None:
            return
        if self.is_file:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self.fd)
        self.fd = None
