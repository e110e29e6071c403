"""Hostile input, rows: what reaches a letter's body, names that look blank, cells, duplicates."""

from __future__ import annotations

import csv
import json
import re

import pytest
from conftest import DATE, Campaign, parse
from hostile_kit import OTHER, assert_row_rejected, mini, row
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.safety import describe, is_blank, neutralise_cell

# Characters that may not reach a letter's body: C1 controls, line/paragraph separators, bidi
# embeddings, overrides and isolates, interlinear annotations and tag characters.
BODY_REFUSED = [
    "\x80",
    "\x85",
    "\x9b",
    "\x9f",
    "\u2028",
    "\u2029",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\ufff9",
    "\U000e0041",
]


class TestBodyOnlyColumns:
    """A column only the body prints is held to what a reader can see, at the row's line."""

    @pytest.mark.parametrize("char", BODY_REFUSED, ids=lambda c: f"U+{ord(c):04X}")
    def test_refused_in_a_body_column(self, sample: Campaign, char: str) -> None:
        mini(sample, [OTHER, row(note=f"Thank you{char} for this")])
        assert_row_rejected(sample, 3, f"column 'note' contains {describe(char)}")

    @pytest.mark.parametrize("char", BODY_REFUSED[:6], ids=lambda c: f"U+{ord(c):04X}")
    def test_check_says_so_too(self, sample: Campaign, char: str) -> None:
        mini(sample, [row(phone=f"202{char}224")])
        result = sample.run("check")
        assert result.exit_code == 1
        assert f"recipients.csv:2: error: column 'phone' contains {describe(char)}" in result.output

    def test_bidi_named_as_such(self) -> None:
        assert "bidirectional" in describe("\u202e")

    def test_ordinary_text_passes(self, sample: Campaign) -> None:
        """Accents, RTL letters, ZWJ emoji, a soft hyphen and LF line breaks are all text."""
        mini(sample, [row(note="Merci, شكرا, 👩\u200d👩\u200d👧, co\xadoperation\nand more")])
        result = sample.run("check")
        assert result.exit_code == 0, result.output


class TestCampaignText:
    """The campaign's own settings, citations and quotes: the same rules, at their line."""

    def test_setting(self, sample: Campaign) -> None:
        path = sample.letters / "campaign.toml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('signer = "Maria', 'signer = "\u202eMaria'), encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "letters/campaign.toml:10: error: signer contains a bidirectional control "
            "(U+202E RIGHT-TO-LEFT OVERRIDE)" in result.output
        )

    def test_citation(self, sample: Campaign) -> None:
        path = sample.letters / "citations.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        index = next(i for i, line in enumerate(lines) if line.startswith("title ="))
        lines[index] = lines[index].replace('= "', '= "\\u2028', 1)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert re.search(
            r"letters/citations\.toml:\d+: error: citation '[^']+': title contains "
            r"a line separator \(U\+2028\)",
            result.output,
        ), result.output


class TestJsonlLines:
    """A jsonl record is one line for every line-based reader, whatever the letter holds."""

    def test_separators_in_template_text_are_escaped(self, sample: Campaign) -> None:
        mini(sample)
        template = sample.letters / "a.txt.j2"
        template.write_text(
            template.read_text(encoding="utf-8") + "One\u2028two\u2029three\x85four\n",
            encoding="utf-8",
        )
        result = sample.run("export", "--format", "jsonl", "--out", "x.jsonl", "--date", DATE)
        assert result.exit_code == 0, result.output
        text = (sample.root / "x.jsonl").read_text(encoding="utf-8")
        lines = text.splitlines()  # str.splitlines splits at U+2028, U+2029 and NEL
        assert len(lines) == 2
        records = [json.loads(line) for line in lines]
        assert all("One\u2028two\u2029three\x85four" in r["text"] for r in records)


BLANK_LOOKING = [
    "\u3164",
    "\u2800",
    "\u115f",
    "\u1160",
    "\uffa0",
    "\u0301",
    "\u0301\u0308",
    "\u3164\u3164",
    "\u2800 \u2800",
]


class TestBlankLookingNames:
    """A name that shows as nothing is blank: an error where a name is required."""

    @pytest.mark.parametrize(
        "value", BLANK_LOOKING, ids=lambda v: "+".join(f"{ord(c):X}" for c in v)
    )
    def test_last_name(self, sample: Campaign, value: str) -> None:
        mini(sample, [OTHER, row(last_name=value)])
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "recipients.csv:3: error: column 'last_name' is empty (it holds only" in result.output
        )

    @pytest.mark.parametrize("value", BLANK_LOOKING[:5])
    def test_title(self, sample: Campaign, value: str) -> None:
        mini(sample, [row(title=value)])
        result = sample.run("check")
        assert "recipients.csv:2: error: column 'title' is empty" in result.output

    def test_full_name_falls_back_to_first_and_last(self, sample: Campaign) -> None:
        mini(sample, [row(full_name="\u3164", first_name="\u2800")])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        [path] = (sample.root / "out").glob("*.eml")
        message = parse(path.read_bytes())
        assert message["To"].addresses[0].display_name == "Rivera"

    @pytest.mark.parametrize(
        "value",
        ["\u2000", "\u200a", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u3000"],
        ids=lambda v: f"U+{ord(v):04X}",
    )
    def test_spaces_and_zero_width_are_blank(self, value: str) -> None:
        assert is_blank(value)
        assert is_blank(value * 3)

    @pytest.mark.parametrize("value", ["A", "é", "\u3164A", "한", "ㅏ", "\u0301a", "中"])
    def test_visible_is_not_blank(self, value: str) -> None:
        assert not is_blank(value)


# What a spreadsheet trims or ignores before it looks for a formula sign.
LEADING = [" ", "  ", "\t", "\r\n", "\n", "\xa0", "\u3000", "\u2003", "\u200b", "\ufeff", "\u3164"]
SIGNS = [
    "=",
    "+",
    "-",
    "@",
    "|",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
    "\uff5c",
    "\ufe66",
    "\u2212",
]


class TestFormulaCells:
    """Any leading whitespace or invisible characters before a formula sign: still neutralised."""

    @pytest.mark.parametrize("lead", LEADING, ids=repr)
    @pytest.mark.parametrize("sign", SIGNS, ids=repr)
    def test_neutralised(self, lead: str, sign: str) -> None:
        value = f"{lead}{sign}1+1"
        assert neutralise_cell(value) == "'" + value

    @given(
        lead=st.lists(st.sampled_from(LEADING), max_size=5).map("".join),
        sign=st.sampled_from(SIGNS),
        rest=st.text(max_size=20),
    )
    @settings(max_examples=300, deadline=None)
    def test_property(self, lead: str, sign: str, rest: str) -> None:
        assert neutralise_cell(lead + sign + rest).startswith("'")

    @pytest.mark.parametrize("value", ["Alex", " Alex", "202-224-3121", "a = b", "", "  ", "é=1"])
    def test_text_untouched(self, value: str) -> None:
        assert neutralise_cell(value) == value

    @pytest.mark.parametrize(
        "value", [" =1+1", "\xa0=cmd|' /C calc'!A0", "\uff1d1+1", " |x", "\u200b@SUM(1)"], ids=repr
    )
    def test_csv_export_and_rejects(self, sample: Campaign, value: str) -> None:
        mini(sample, [row(phone=value), row(email="bad", phone=value, note=value)])
        result = sample.run(
            "export", "--format", "csv", "--out", "x.csv", "--date", DATE, "--skip-invalid"
        )
        assert result.exit_code == 0, result.output
        with open("x.csv", encoding="utf-8-sig", newline="") as handle:
            [record] = list(csv.DictReader(handle))
        assert record["phone"] == "'" + value
        [rejects] = sample.root.glob("*rejects.csv")
        with rejects.open(encoding="utf-8-sig", newline="") as handle:
            [reject] = list(csv.DictReader(handle))
        assert reject["phone"] == "'" + value
        assert reject["note"] == "'" + value


class TestDuplicates:
    """Duplicates are addresses email-validator normalizes alike, never a casefolded domain."""

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("user@ß.example.org", "user@ss.example.org"),
            ("user@faß.example.org", "user@fass.example.org"),
        ],
    )
    def test_different_domains(self, sample: Campaign, first: str, second: str) -> None:
        mini(sample, [row(email=first), {**OTHER, "email": second}])
        result = sample.run("check")
        assert result.exit_code == 0, result.output

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("user@ß.example.org", "user@xn--zca.example.org"),
            ("User@SS.example.org", "user@ss.example.org"),
            ("user@ＥＸＡＭＰＬＥ.org", "user@example.org"),
            ("POSTMASTER@example.org", "postmaster@example.org"),
        ],
    )
    def test_same_mailbox(self, sample: Campaign, first: str, second: str) -> None:
        mini(sample, [row(email=first), {**OTHER, "email": second}])
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            f"recipients.csv:3: error: column 'email' {second!r} duplicates the address on line 2"
            in result.output
        )

    def test_rfc2142_name_reaches_to_lowercased(self, sample: Campaign) -> None:
        mini(sample, [row(email="POSTMASTER@Example.org")])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        [path] = (sample.root / "out").glob("*.eml")
        assert parse(path.read_bytes())["To"].addresses[0].addr_spec == "postmaster@example.org"
