"""Repeated problems are grouped; a column only some rows need is required only of those."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import DATE, SHARED_DATA, Campaign

from campaign.errors import Problems

COMMITTEES = SHARED_DATA.parent / "committee-membership-current.csv"


class TestGrouping:
    """One line per repeated message in a file, with the count and the first rows."""

    def test_report_groups_identical_messages(self) -> None:
        problems = Problems()
        for line in range(3, 48):
            problems.error("recipients.csv", line, "column 'email' is empty")
        problems.error("recipients.csv", 2, "column 'title' is empty")
        problems.warning("recipients.csv", 9, "column 'email' is empty")
        assert problems.report() == [
            "recipients.csv:2: error: column 'title' is empty",
            "recipients.csv:3: error: column 'email' is empty (and 44 more lines like it: "
            "lines 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, ...)",
            "recipients.csv:9: warning: column 'email' is empty",
        ]

    def test_one_more(self) -> None:
        problems = Problems()
        problems.error("letters/a.txt.j2", 4, "x")
        problems.error("letters/a.txt.j2", 7, "x")
        problems.error("letters/b.txt.j2", 7, "x")
        assert problems.report() == [
            "letters/a.txt.j2:4: error: x (and 1 more line like it: line 7)",
            "letters/b.txt.j2:7: error: x",
        ]

    def test_check_prints_one_line_and_counts_all(self, sample: Campaign) -> None:
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        blanked = [lines[0]] + [
            line.split(",", 1) and "," + line.split(",", 1)[1] for line in lines[1:]
        ]
        sample.recipients.write_text("\n".join(blanked) + "\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        empty = [line for line in result.output.splitlines() if "column 'email' is empty" in line]
        assert empty == [
            "recipients.csv:2: error: column 'email' is empty (formats csv, jsonl, txt and pdf "
            "need none) (and 11 more lines like it: lines 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, ...)"
        ]
        assert result.output.splitlines()[-1] == "12 recipients, 12 errors, 0 warnings"


def _append(campaign: Campaign, values: dict[str, str]) -> None:
    header = campaign.header().split(",")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([values.get(c, "") for c in header])
    with campaign.recipients.open("a", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())


OFFICIAL = {
    "email": "director.office@ice.example.com",
    "audience": "dhs",
    "title": "Acting Director",
    "first_name": "Patricia",
    "last_name": "Holloway",
    "office": "500 12th St SW",
    "city_line": "Washington, DC 20536",
    "agency": "U.S. Immigration and Customs Enforcement",
}


@pytest.mark.skipif(not COMMITTEES.is_file(), reason="needs ../shared/data")
class TestImportedMembersAndAnOfficial:
    """Imported committee members, and one official added by hand with an agency column."""

    @pytest.fixture
    def imported(self, sample: Campaign) -> Campaign:
        sample.recipients.unlink()
        result = sample.run(
            "import-legislators",
            str(SHARED_DATA),
            "--committees",
            str(COMMITTEES),
            "--committee",
            "SSJU",
        )
        assert result.exit_code == 0, result.output
        # Only the header and the new row gain the column: the members' rows are left alone.
        text = sample.recipients.read_text(encoding="utf-8")
        first, rest = text.split("\n", 1)
        sample.recipients.write_text(f"{first},agency\n{rest}", encoding="utf-8")
        return sample

    def test_check_and_export_pass(self, imported: Campaign) -> None:
        _append(imported, OFFICIAL)
        members = len(imported.rows()) - 1
        result = imported.run("check", "--format", "txt")
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1].startswith(f"{members + 1} recipients, 0 errors")
        result = imported.run("export", "--format", "txt", "--out", "t", "--date", DATE)
        assert result.exit_code == 0, result.output
        letter = (imported.root / "t" / f"{members + 1:06d}-holloway-patricia.txt").read_text()
        assert "U.S. Immigration and Customs Enforcement\n500 12th St SW" in letter

    def test_an_official_without_the_column_is_an_error_at_its_row(
        self, imported: Campaign
    ) -> None:
        """The official's row stops before agency: its address would be incomplete."""
        _append(imported, OFFICIAL)
        text = imported.recipients.read_text(encoding="utf-8").rstrip("\n")
        cut = text.rsplit(",", 1)[0]  # the official's last field (agency) left out
        imported.recipients.write_text(cut + "\n", encoding="utf-8")
        line = len(imported.rows()) + 1
        result = imported.run("check", "--format", "txt")
        assert result.exit_code == 1
        assert (
            f"recipients.csv:{line}: error: an official's address needs 'agency'" in result.output
        )
        width = len(imported.header().split(","))
        assert (
            f"recipients.csv:{line}: error: has {width - 1} fields but the header has {width}"
            in result.output
        )
        assert result.output.splitlines()[-1] == f"{line - 1} recipients, 2 errors, 0 warnings"


class TestShortRows:
    """A row may stop before trailing columns it does not need; not before one it needs."""

    def test_column_the_letter_prints_is_needed(self, sample: Campaign) -> None:
        path = sample.letters / "congress.txt.j2"
        path.write_text(path.read_text(encoding="utf-8") + "{{ recipient.city_line }}\n")
        header = sample.header()
        assert header.endswith(",city_line")
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        # Row 1 is a Senator (congress): cut its last field.
        lines[1] = (
            lines[1].rsplit(",", 1)[0]
            if not lines[1].endswith('"')
            else lines[1].rsplit(',"', 1)[0]
        )
        sample.recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:2: error: has 10 fields but the header has 11" in result.output


class TestPathsAndSelectors:
    """A relative --recipients is taken from the current directory; misses say where they looked."""

    def test_relative_recipients_from_the_current_directory(
        self, sample: Campaign, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(sample.root.parent)
        name = sample.root.name
        result = sample.run("check", "--campaign", name, "--recipients", f"{name}/recipients.csv")
        assert result.exit_code == 0, result.output

    def test_not_found_shows_the_path_tried_and_the_likely_one(
        self, sample: Campaign, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(sample.root.parent)
        name = sample.root.name
        result = sample.run("check", "--campaign", name, "--recipients", "recipients.csv")
        assert result.exit_code == 1
        tried = sample.root.parent / "recipients.csv"
        assert (
            f"recipients.csv: error: recipients file not found (looked for {tried}; pass "
            "--recipients FILE, a path from the current directory: did you mean --recipients "
            f"{name}/recipients.csv?)" in result.output
        )

    def test_missing_settings_file_shows_the_path_tried(self, sample: Campaign) -> None:
        (sample.letters / "citations.toml").unlink()
        result = sample.run("check")
        assert result.exit_code == 1
        path = sample.letters / "citations.toml"
        assert f"letters/citations.toml: error: file not found (looked for {path})" in result.output

    def test_preview_past_the_last_row_says_how_many(self, sample: Campaign) -> None:
        result = sample.run("preview", "99")
        assert result.exit_code == 1
        assert result.output == (
            "Error: recipients.csv has no row 99: give a data row number (1 is the first) or an "
            "email; it has 12 data rows, numbered 1 to 12\n"
        )

    def test_preview_unknown_email(self, sample: Campaign) -> None:
        result = sample.run("preview", "nobody@example.org")
        assert "; it has 12 data rows, numbered 1 to 12" in result.output
