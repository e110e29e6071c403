"""Inputs found in review: each gives a clear error or a correct message, never a traceback."""

from __future__ import annotations

import csv
from email import message_from_bytes
from email.policy import SMTP, default
from pathlib import Path

import pytest
from conftest import DATE, Campaign, listing, parse
from test_check import replace_row


class TestResentMessages:
    """A message re-sent through Python's email package keeps its one recipient."""

    def test_name_with_address_specials_is_refused(self, sample: Campaign) -> None:
        name = "Élan, Office of the Honorable Senator Alex J. Rivera and Staff <evil@x.example>"
        replace_row(sample, 1, ",Alex J. Rivera,", f',"{name}",')
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "recipients.csv:2: error: the name 'Élan, Office of the Honorable Senator Alex J. "
            "Rivera and Staff <evil@x.example>' mixes non-ASCII letters with ',' in the name "
            "shown in the To or From header" in result.output
        )

    def test_resent_long_non_ascii_name_keeps_one_recipient(self, sample: Campaign) -> None:
        name = "Élan Office of the Honorable Senator Alex J. Rivera and the Staff Team"
        replace_row(sample, 1, ",Alex J. Rivera,", f",{name},")
        assert sample.run("export", "--date", DATE).exit_code == 0
        message = parse(sample.root / "out" / "000001-rivera-alex.eml")
        resent = message_from_bytes(message.as_bytes(policy=SMTP), policy=default)
        assert [a.addr_spec for a in resent["To"].addresses] == ["alex.rivera@senate.example.org"]
        assert resent["To"].addresses[0].display_name == name

    def test_overlong_encoded_name(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",Alex J. Rivera,", "," + "名" * 400 + ",")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "is too long for the To header once encoded" in result.output


class TestOddCells:
    """Cells that once slipped through or crashed."""

    @pytest.mark.parametrize("district", ["²", "7" * 5000, "13th"])
    def test_district_that_is_not_a_number(self, sample: Campaign, district: str) -> None:
        replace_row(sample, 5, ",AZ,7,", f",AZ,{district},")
        for command in (("check",), ("export", "--jobs", "2")):
            result = sample.run(*command)
            assert result.exit_code == 1
            assert "recipients.csv:6: error: column 'district':" in result.output
        assert not (sample.root / "out").exists()

    def test_lone_cr_in_a_value_is_a_line_break_in_the_message(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",331 Hart Senate Office Building,", ',"331 Hart\rSenate",')
        assert sample.run("export", "--date", DATE).exit_code == 0
        raw = (sample.root / "out" / "000001-rivera-alex.eml").read_bytes()
        assert b"\r" not in raw
        text = parse(raw).get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "331 Hart\nSenate\nUnited States Senate" in text

    def test_lone_surrogate_in_a_rejected_row(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",331 Hart Senate Office Building,", r",331 Hart \ud800,")
        replace_row(sample, 2, "dana.whitfield@senate.example.org", "broken@")
        result = sample.run(
            "export", "--encoding", "unicode_escape", "--skip-invalid", "--date", DATE
        )
        assert result.exit_code == 0, result.output
        rejects = (sample.root / "out" / "rejects.csv").read_bytes()
        assert b"331 Hart \\ud800" in rejects

    def test_formula_in_a_column_name_is_neutralised_in_rejects(self, sample: Campaign) -> None:
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        lines[0] += ',"=HYPERLINK(""http://x.example"",""y"")"'
        lines[1:] = [line + ",x" for line in lines[1:]]
        lines[1] = lines[1].replace("alex.rivera@senate.example.org", "broken@")
        sample.recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert sample.run("export", "--skip-invalid", "--date", DATE).exit_code == 0
        with (sample.root / "out" / "rejects.csv").open(encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle))
        assert header[-1] == '\'=HYPERLINK("http://x.example","y")'


class TestOutputAndDates:
    """Dates a header cannot carry, and things in the way of a letter."""

    def test_offset_in_seconds(self, sample: Campaign) -> None:
        result = sample.run("export", "--date", "2026-11-27T09:00:00+05:30:15")
        assert result.exit_code == 2
        assert "has a time zone offset in seconds" in result.output

    def test_folder_where_a_letter_goes(self, sample: Campaign) -> None:
        assert sample.run("export", "--date", DATE).exit_code == 0
        out: Path = sample.root / "out"
        before = {name: (out / name).read_bytes() for name in listing(out)}
        (out / "000005-lindqvist-grace.eml").unlink()
        (out / "000005-lindqvist-grace.eml").mkdir()
        result = sample.run("export", "--date", "2027-01-01", "--overwrite")
        assert result.exit_code == 1
        assert (
            "out/000005-lindqvist-grace.eml is in the way: it is not a regular file"
            in result.output
        )
        for name in listing(out):
            assert (out / name).read_bytes() == before[name]
