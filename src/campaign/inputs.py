"""The campaign's inputs, which no export may write over, whatever --out and --overwrite say.

Files are told by identity (device and inode, after symbolic links), so a link, a hard link,
a path spelled with '..' or in another case on a folder that ignores case all name the file
they reach.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from campaign.errors import CampaignError

WHAT = "an input of the campaign (the recipients file, a file under letters/ or a quote's source)"


class Inputs:
    """Files an export must leave alone, and folders it must not write into."""

    def __init__(self, files: Iterable[Path], folders: Iterable[Path] = ()) -> None:
        self.files: dict[tuple[int, int], Path] = {}
        self.folders = [Path(os.path.realpath(f)) for f in folders]
        every = list(files)
        for folder in self.folders:
            for dirpath, _, names in os.walk(folder):
                every += [Path(dirpath) / name for name in names]
        for path in every:
            try:
                found = os.stat(path)
            except OSError:
                continue  # not there: nothing to protect
            self.files[found.st_dev, found.st_ino] = path

    def holds(self, path: Path) -> Path | None:
        """The input ``path`` reaches, if it reaches one."""
        if not self.files:
            return None
        try:
            found = os.stat(path)
        except OSError:
            return None
        return self.files.get((found.st_dev, found.st_ino))

    def check_folder(self, folder: Path) -> None:
        """Refuse an output folder inside (or being) an input folder such as letters/."""
        real = Path(os.path.realpath(folder))
        for inside in self.folders:
            if real == inside or inside in real.parents:
                raise CampaignError(
                    f"--out {folder} is inside the campaign's {inside.name}/ folder, which holds "
                    "its templates and data: an export never writes there; choose another --out"
                )

    @classmethod
    def of_folder(cls, campaign_dir: Path, recipients: Path | None = None) -> Inputs:
        """The recipients file and everything under letters/, without loading the campaign."""
        return cls([recipients or campaign_dir / "recipients.csv"], [campaign_dir / "letters"])

    def refuse(self, path: Path, option: str) -> None:
        """Refuse to write ``path``, given as ``option``, over an input or inside letters/."""
        real = Path(os.path.realpath(path))
        inside = next((f for f in self.folders if f in real.parents), None)
        if self.holds(path) is not None:
            where = f"is {WHAT}"
        elif inside is not None:
            where = f"is inside the campaign's {inside.name}/ folder (its templates and data)"
        else:
            return
        raise CampaignError(
            f"{option} {path} {where}: campaign never writes there; choose another file"
        )

    def check(self, path: Path, shown: Path | None = None) -> None:
        """Refuse to write ``path`` when it is one of the inputs."""
        found = self.holds(path)
        if found is not None:
            raise CampaignError(
                f"{shown or path} is {WHAT}: an export never writes over it, even with "
                "--overwrite; choose another --out"
            )
