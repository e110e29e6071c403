"""email-validator's own published test addresses, run through `campaign check` and export.

The addresses and the verdicts its tests expect are copied in tests/data/email_validator_cases.json
(with their source); "expect" is the verdict under the options the campaign uses.
"""

from __future__ import annotations

import csv
import json
import re
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DATE, Campaign, copy_sample
from hostile_kit import csv_text, mini, row

from campaign.cli import main

DATA = Path(__file__).parents[1] / "data" / "email_validator_cases.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
_BREAKS = re.compile(r"\r\n|\r|\n")


class Outcome:
    def __init__(self, errors: dict[int, list[str]], to: dict[str, str], lines: list[int]) -> None:
        self.errors = errors
        self.to = to
        self.lines = lines


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One recipients file holding every case; check once, export once."""
    root = tmp_path_factory.mktemp("ev")
    copy_sample(root)
    campaign = mini(Campaign(root), [])
    rows = [
        row(email=case["input"], last_name=f"Case{i}", full_name=f"Alex Case{i}")
        for i, case in enumerate(CASES)
    ]
    text = csv_text(rows)
    records = text.split("\r\n", 1)[1]
    # The line each record starts on: the header is line 1, and a cell may hold line breaks.
    lines = []
    line = 2
    for single in rows:
        lines.append(line)
        line += len(_BREAKS.split(csv_text([single]).split("\r\n", 1)[1])) - 1
    assert records  # every case is in the file
    campaign.write_recipients(text)
    runner = CliRunner()
    checked = runner.invoke(main, ["check", "--campaign", str(root)], catch_exceptions=False)
    out = root / "out"
    exported = runner.invoke(
        main,
        ["export", "--campaign", str(root), "--out", str(out), "--date", DATE, "--skip-invalid"],
        catch_exceptions=False,
    )
    assert exported.exit_code == 0, exported.output
    # Every refused row, with its reasons, is in the rejects file; check counts the same errors.
    errors: dict[int, list[str]] = {}
    with (out / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        for reject in csv.DictReader(handle):
            errors[int(reject["line"])] = reject["reasons"].split("; ")
    summary = checked.output.splitlines()[-1]
    assert (
        summary == f"{len(CASES)} recipients, {sum(map(len, errors.values()))} errors, 0 warnings"
    )
    to: dict[str, str] = {}
    for path in out.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=default)
        [address] = message["To"].addresses
        to[address.display_name.split()[-1]] = address.addr_spec
    return Outcome(errors, to, lines)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[repr(c["input"])[:60] for c in CASES])
def test_library_case(outcome: Outcome, index: int) -> None:
    case = CASES[index]
    line = outcome.lines[index]
    found = outcome.errors.get(line, [])
    email_errors = [e for e in found if e.startswith("column 'email'")]
    if case["expect"] == "valid":
        assert found == [], found
        assert outcome.to[f"Case{index}"] == case["ascii_email"]
    else:
        assert email_errors, f"line {line}: accepted, but email-validator says {case['library']}"
        assert f"Case{index}" not in outcome.to
        message = case.get("message")
        # The library's tests word their errors for their own options; with ASCII input the
        # first problem found is the same one under ours.
        if message and case["input"].isascii() and "is not a valid address" in email_errors[0]:
            assert message in email_errors[0]
