"""Shared fixtures: a copy of the sample campaign in tmp_path, and a way to run the CLI in it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from campaign.cli import main

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, or wherever CAMPAIGN_SHARED says (a checkout kept elsewhere).
SHARED = Path(os.environ.get("CAMPAIGN_SHARED") or ROOT.parent / "shared")
SHARED_ARTICLE = SHARED / "sources" / "article-287g-ig-report.txt"
DATE = "2026-11-27T09:00:00-05:00"
SHARED_DATA = SHARED / "data" / "legislators-current.csv"

# Tests on the real article and dataset skip in a checkout without ../shared; CI has it and
# sets this, so those tests can never be skipped there unnoticed.
if os.environ.get("CAMPAIGN_REQUIRE_SHARED") and not (
    SHARED_ARTICLE.is_file() and SHARED_DATA.is_file()
):
    raise RuntimeError(f"CAMPAIGN_REQUIRE_SHARED is set but {SHARED} is missing")


@dataclass
class Campaign:
    """A campaign folder under tmp_path; commands run with it as the current directory."""

    root: Path

    @property
    def recipients(self) -> Path:
        return self.root / "recipients.csv"

    @property
    def letters(self) -> Path:
        return self.root / "letters"

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    def write_recipients(self, text: str, encoding: str = "utf-8") -> None:
        self.recipients.write_bytes(text.encode(encoding))

    def header(self) -> str:
        return self.recipients.read_text(encoding="utf-8").splitlines()[0]

    def rows(self) -> list[str]:
        return self.recipients.read_text(encoding="utf-8").splitlines()[1:]


def copy_sample(target: Path) -> None:
    shutil.copytree(ROOT / "letters", target / "letters")
    shutil.copy(ROOT / "recipients.csv", target / "recipients.csv")
    quotes = target / "letters" / "quotes.toml"
    text = quotes.read_text(encoding="utf-8")
    if SHARED_ARTICLE.is_file():
        # The copy lives elsewhere: point source_file at the article wherever it really is.
        text = text.replace(
            "../../shared/sources/article-287g-ig-report.txt", SHARED_ARTICLE.as_posix()
        )
    else:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("source_file"))
    quotes.write_text(text, encoding="utf-8")


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Campaign]:
    """The bundled sample campaign, copied, with the working directory inside it."""
    copy_sample(tmp_path)
    monkeypatch.chdir(tmp_path)
    yield Campaign(tmp_path)


def listing(folder: Path) -> list[str]:
    """Every file under folder (hidden ones too), relative, sorted."""
    if not folder.exists():
        return []
    found = []
    for dirpath, _, files in os.walk(folder):
        for name in files:
            found.append(str((Path(dirpath) / name).relative_to(folder)))
    return sorted(found)


def parse(source: bytes | Path) -> EmailMessage:
    """A message as a mail reader parses it (policy ``default``), from bytes or a file."""
    data = source.read_bytes() if isinstance(source, Path) else source
    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    """The decoded plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
