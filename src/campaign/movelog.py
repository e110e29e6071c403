"""The commit of an export into an existing folder, as a journal any later run completes.

Once every letter is staged, the plan is written into the staging folder (what to move, what
to remove, the new manifest), then the journal ``.campaign-journal`` (naming that staging
folder) is written into the output folder, atomically. From that moment the export is
decided: the moves, removals and the manifest follow, then the staging folder and the
journal go. A run killed in between leaves the journal; the next export to the folder, under
the folder's lock, carries the plan out before anything else. Every step can be repeated.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from campaign.errors import CampaignError

JOURNAL = ".campaign-journal"
MANIFEST = ".campaign-manifest"  # the files exports wrote here, one name a line
MOVE_LISTS = re.compile(r"\.names-[0-9]{9}|\.extra")  # names to move, one a line
REMOVE_LIST = ".remove"  # names to remove from the output folder, one a line
NEW_MANIFEST = ".manifest-new"
_HEADER = "campaign export journal 1\n"


def begin(folder: Path, staging: Path) -> None:
    """Write the journal: from now on the staged plan is carried out, by this run or the next."""
    temporary = staging / JOURNAL
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(f"{_HEADER}staging {staging.name}\n")
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(staging)
    os.replace(temporary, folder / JOURNAL)
    fsync_dir(folder)


def recover(folder: Path) -> bool:
    """Complete the commit a killed run left half done, if it did; whether there was one."""
    path = folder / JOURNAL
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(f"cannot read {path}: {exc}; move it away and export again") from None
    lines = text.splitlines()
    name = lines[1].removeprefix("staging ") if len(lines) == 2 and text.startswith(_HEADER) else ""
    if not name.startswith(".") or "/" in name or name in (".", ".."):
        raise CampaignError(
            f"{path} is not a journal this program wrote: move it away and export again"
        )
    staging = folder / name
    if staging.is_dir():
        carry_out(folder, staging)
    else:  # the run had finished but for removing the journal
        path.unlink()
    return True


def carry_out(folder: Path, staging: Path) -> None:
    """Move every staged file into place, remove what the plan says, write the manifest."""
    pause = _pause_after()
    source = os.open(staging, os.O_RDONLY)
    target = os.open(folder, os.O_RDONLY)
    try:
        moved = 0
        for name in _names(staging):
            try:
                os.replace(name, name, src_dir_fd=source, dst_dir_fd=target)
            except FileNotFoundError:
                continue  # moved already (by the killed run), or taken back
            moved += 1
            if moved == pause:
                _wait_here()
        with contextlib.suppress(FileNotFoundError):
            for name in _lines(staging / REMOVE_LIST):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=target)
        with contextlib.suppress(FileNotFoundError):
            os.replace(NEW_MANIFEST, MANIFEST, src_dir_fd=source, dst_dir_fd=target)
        # Here every letter is in place and the folder is complete; work that needs the whole
        # export (an index of the letters) is staged as a file beside them instead, so that it
        # moves in with them and a recovering run needs nothing this run knew.
        os.fsync(target)
    finally:
        os.close(source)
        os.close(target)
    shutil.rmtree(staging)
    os.unlink(folder / JOURNAL)
    fsync_dir(folder)


def _names(staging: Path) -> Iterator[str]:
    with os.scandir(staging) as entries:
        # The letters first, in row order, then the other files (a rejects file, the seal
        # `campaign send` trusts): the seal is in place only once every letter it names is.
        lists = sorted(
            (e.name for e in entries if MOVE_LISTS.fullmatch(e.name)),
            key=lambda name: (name == ".extra", name),
        )
    for listed in lists:
        yield from _lines(staging / listed)


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip("\n"):
                yield line.rstrip("\n")


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries durable (where the system lets a folder be synced)."""
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


# A test hook: CAMPAIGN_TEST_PAUSE_MOVE=N stops the commit after N files are moved, until the
# file CAMPAIGN_TEST_PAUSE_FILE exists (it first writes that name + ".reached"): a test kills
# the export there, or starts another one, and lets it go on.
def test_pause() -> None:
    """The hook for a commit with no moves (a new folder's one rename): before it."""
    if _pause_after() > 0:
        _wait_here()


def _pause_after() -> int:
    try:
        return int(os.environ.get("CAMPAIGN_TEST_PAUSE_MOVE", "0"))
    except ValueError:
        return 0


def _wait_here() -> None:
    flag = os.environ.get("CAMPAIGN_TEST_PAUSE_FILE")
    if not flag:
        return
    Path(flag + ".reached").write_text(str(os.getpid()), encoding="utf-8")
    while not os.path.exists(flag):
        time.sleep(0.01)
