"""Claims made a few letters ahead: fewer fsyncs, and a crash still tells sent from unsent."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DATE, Campaign
from smtp_servers import Recorder
from test_send import exported, journal_states, recorder  # noqa: F401 (fixtures)

import campaign.journal
import campaign.send
from campaign.exportseal import load_seal
from campaign.journal import JOURNAL, Journal


def test_one_connection_claims_letters_in_batches(
    exported: Campaign,  # noqa: F811
    recorder: Recorder,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claims: list[list[str]] = []
    claim = Journal.claim

    def spy(self: Journal, letters: list[tuple[str, str]], now: float) -> list[int]:
        claims.append([message_id for message_id, _ in letters])
        return claim(self, letters, now)

    monkeypatch.setattr(Journal, "claim", spy)
    result = exported.run("send", "--yes")
    assert result.exit_code == 0, result.output
    assert len(recorder.received) == 12
    claimed = [m for batch in claims for m in batch]
    assert sorted(claimed) == sorted(
        letter.message_id for letter in load_seal(exported.root / "out")
    )
    assert len(claims) == 2  # 8 + 4: two durable transactions for twelve letters, not twelve
    with sqlite3.connect((exported.root / "out") / JOURNAL) as db:
        states = db.execute("SELECT state, count(*) FROM attempts GROUP BY state").fetchall()
    assert states == [("sent", 12)]


KILLED_AFTER_CLAIM = """
import os, signal, sys
from pathlib import Path
from campaign.exportseal import load_seal
from campaign.journal import Journal

folder = Path(sys.argv[1])
letters = load_seal(folder)
journal = Journal(folder)
journal.begin_run(letters, 0.0)
attempts = journal.claim([(s.message_id, s.sha256) for s in letters[:3]], 1.0)
journal.start(attempts[0], 2.0)  # the first letter's message goes out, then the kill
os.kill(os.getpid(), signal.SIGKILL)
"""


def _claim_three_then_die(folder: Path) -> None:
    process = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_AFTER_CLAIM), folder])
    assert process.returncode == -9


def _states_after_rerun(folder: Path) -> list[str]:
    letters = load_seal(folder)
    journal = Journal(folder)
    try:
        journal.begin_run(letters, 3.0)
        entries = journal.entries()
    finally:
        journal.close()
    return [entries[s.message_id].state for s in letters[:4]]


@pytest.fixture
def exported_only(sample: Campaign) -> Path:
    assert sample.run("export", "--date", DATE).exit_code == 0
    return sample.root / "out"


def test_a_killed_run_sends_claimed_letters_that_never_started_again(
    exported_only: Path,
) -> None:
    if not campaign.journal.boot_id():
        pytest.skip("no boot id on this system: claims are one letter each, each fsynced")
    _claim_three_then_die(exported_only)
    # The started one may have been delivered; the two claimed behind it never went out.
    assert _states_after_rerun(exported_only) == ["unknown", "pending", "pending", "pending"]
    with sqlite3.connect(exported_only / JOURNAL) as db:
        attempts = dict(db.execute("SELECT message_id, attempts FROM letters").fetchall())
    letters = load_seal(exported_only)
    assert [attempts[s.message_id] for s in letters[:3]] == [1, 0, 0]


def test_after_a_reboot_every_claimed_letter_is_unknown(
    exported_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claim_three_then_die(exported_only)
    # A power loss may drop commits that were written but not synced: the start marks.
    other_boot = tmp_path / "boot_id"
    other_boot.write_text("another-boot\n")
    monkeypatch.setattr(campaign.journal, "BOOT_ID", other_boot)
    assert _states_after_rerun(exported_only) == ["unknown", "unknown", "unknown", "pending"]


def test_without_a_boot_id_each_claim_is_one_letter(
    exported: Campaign,  # noqa: F811
    recorder: Recorder,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(campaign.journal, "BOOT_ID", tmp_path / "missing")
    sizes: list[int] = []
    claim = Journal.claim

    def spy(self: Journal, letters: list[tuple[str, str]], now: float) -> list[int]:
        sizes.append(len(letters))
        return claim(self, letters, now)

    monkeypatch.setattr(Journal, "claim", spy)
    assert exported.run("send", "--yes").exit_code == 0
    assert sizes == [1] * 12 and len(recorder.received) == 12
    assert set(journal_states(exported.root / "out").values()) == {"sent"}


def test_only_edited_letters_are_read_back_again(
    exported: Campaign,  # noqa: F811
    recorder: Recorder,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []
    read_back = campaign.send.read_back

    def spy(data: bytes) -> tuple[str, str]:
        calls.append(data)
        return read_back(data)

    monkeypatch.setattr(campaign.send, "read_back", spy)
    first = load_seal(exported.root / "out")[0]
    path = (exported.root / "out") / first.file
    path.write_bytes(path.read_bytes().replace(b"\n\n", b"\n\nEdited by hand.\n", 1))
    result = exported.run("send", "--yes", "--allow-edited")
    assert result.exit_code == 0, result.output
    assert len(recorder.received) == 12
    assert calls and all(b"Edited by hand." in data for data in calls)


def test_send_starts_without_the_rendering_pipeline() -> None:
    code = (
        "import sys, campaign.cli; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('jinja2', 'email_validator') or m == 'campaign.pipeline'))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == "[]"
