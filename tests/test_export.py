"""campaign export and preview: what organizers send, parsed back as a mail reader would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import DATE, SHARED_ARTICLE, Campaign, listing, parse, text_of
from test_check import replace_row

QUOTES = {
    "musa": (
        "ICE’s response to this particular recommendation is revealing. They insist that racial "
        "profiling is not occurring, but they then refuse to track the data that would give "
        "evidence to their claim"
    ),
    "martinez-de-castro-reform": (
        "It is time for Congress, DHS, and the president to deliver real solutions. The answer is "
        "comprehensive immigration reform."
    ),
}


class TestEml:
    """One RFC 5322 message per recipient."""

    def test_one_message_per_recipient(self, sample: Campaign) -> None:
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        assert "Exported 12 letters (eml) to out" in result.output
        files = [f for f in listing(sample.root / "out") if f.endswith(".eml")]
        assert len(files) == 12
        assert files[0] == "000001-rivera-alex.eml"

    def test_messages_parse_with_expected_content(self, sample: Campaign) -> None:
        """Acceptance 4: To, numbered markers, references, verbatim quotes, salutation."""
        sample.run("export", "--date", DATE)
        with sample.recipients.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        salutations = {
            "Senator": "Dear Senator {}:",
            "Representative": "Dear Representative {}:",
            "Secretary of Homeland Security": "Dear Secretary {}:",
            "Acting Director": "Dear Acting Director {}:",
            "Inspector General": "Dear Inspector General {}:",
        }
        for number, row in enumerate(rows, 1):
            [path] = (sample.root / "out").glob(f"{number:06d}-*.eml")
            message = parse(path)
            assert message["To"].addresses[0].addr_spec == row["email"]
            assert message["To"].addresses[0].display_name == row["full_name"]
            assert len(message["To"].addresses) == 1
            assert message["From"].addresses[0].addr_spec == "letters@coalition.example.org"
            assert message["Date"] == "Fri, 27 Nov 2026 09:00:00 -0500"
            assert message["Message-ID"].endswith("@coalition.example.org>")
            text = text_of(message)
            assert "[1]" in text
            assert (
                "References\n[1] U.S. Department of Homeland Security, Office of Inspector "
                "General, The Performance of 287(g) Agreements, OIG-10-63, March 2010. "
                "https://www.oig.dhs.gov/reports/audits-inspections-and-evaluations\n" in text
            )
            assert f"\u201c{QUOTES['musa']}\u201d \u2014 Jumana Musa, policy director, " in text
            assert "Clarissa Martínez De Castro" in text
            assert salutations[row["title"]].format(row["last_name"]) in text

    def test_quotes_match_the_article(self, sample: Campaign) -> None:
        """The stored quotes are word for word in the source article."""
        if not SHARED_ARTICLE.is_file():
            pytest.skip("the source article is not beside this checkout")
        article = SHARED_ARTICLE.read_text(encoding="utf-8")
        for text in QUOTES.values():
            assert text in article

    def test_dhs_letters_are_multipart_with_escaped_html(self, sample: Campaign) -> None:
        sample.run("export", "--date", DATE)
        message = parse(next((sample.root / "out").glob("000010-*.eml")))
        assert message.get_content_type() == "multipart/alternative"
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        content = html.get_content()
        assert "<blockquote><p>\u201cICE\u2019s response" in content
        assert "The Honorable Jordan M. Ellison<br>" in content

    def test_non_ascii_display_name_is_encoded(self, sample: Campaign) -> None:
        sample.run("export", "--date", DATE)
        raw = next((sample.root / "out").glob("000004-*.eml")).read_bytes()
        assert raw.isascii()
        assert b"To: =?utf-8?" in raw
        assert parse(next((sample.root / "out").glob("000004-*.eml")))["To"].addresses[
            0
        ].display_name == ("Inés Núñez")

    def test_same_date_gives_identical_bytes(self, sample: Campaign, tmp_path: Path) -> None:
        """Acceptance 5: two exports with the same --date are byte-identical."""
        sample.run("export", "--date", DATE, "--out", "a")
        sample.run("export", "--date", DATE, "--out", "b")
        a, b = sample.root / "a", sample.root / "b"
        assert listing(a) == listing(b)
        for name in listing(a):
            assert (a / name).read_bytes() == (b / name).read_bytes()

    def test_error_writes_nothing(self, sample: Campaign) -> None:
        """Acceptance 3: export on a bad row exits 1 and writes nothing."""
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        assert "recipients.csv:4: error: column 'email' 'jane.doe@'" in result.output
        assert not (sample.root / "out").exists()

    def test_skip_invalid_writes_rejects(self, sample: Campaign) -> None:
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        result = sample.run("export", "--date", DATE, "--skip-invalid")
        assert result.exit_code == 0
        assert "Exported 11 letters (eml) to out; 1 rejected" in result.output
        with (sample.root / "out" / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
            [reject] = list(csv.DictReader(handle))
        assert reject["line"] == "4"
        assert reject["email"] == "jane.doe@"
        assert "not a valid address" in reject["reasons"]
        assert not list((sample.root / "out").glob("000003-*"))

    def test_refuses_to_replace_foreign_files(self, sample: Campaign) -> None:
        out = sample.root / "out"
        out.mkdir()
        (out / "000001-rivera-alex.eml").write_text("mine", encoding="utf-8")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        assert (
            "Error: out/000001-rivera-alex.eml exists and was not written by campaign export: "
            "move it away, choose another --out, or pass --overwrite to replace it"
        ) in result.output
        assert (out / "000001-rivera-alex.eml").read_text(encoding="utf-8") == "mine"
        assert listing(out) == ["000001-rivera-alex.eml"]
        assert sample.run("export", "--date", DATE, "--overwrite").exit_code == 0

    def test_rerun_replaces_own_files(self, sample: Campaign) -> None:
        assert sample.run("export", "--date", DATE).exit_code == 0
        assert sample.run("export", "--date", "2027-01-01").exit_code == 0
        message = parse(sample.root / "out" / "000001-rivera-alex.eml")
        assert message["Date"] == "Fri, 01 Jan 2027 00:00:00 +0000"
        assert not [f for f in listing(sample.root / "out") if "campaign-tmp" in f]


class TestCsv:
    """One spreadsheet row per letter."""

    def test_columns_and_rows(self, sample: Campaign) -> None:
        result = sample.run("export", "--format", "csv", "--date", DATE)
        assert result.exit_code == 0, result.output
        with (sample.root / "out" / "letters.csv").open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 12
        assert rows[0]["to"] == "alex.rivera@senate.example.org"
        assert rows[0]["salutation"] == "Dear Senator Rivera:"
        assert rows[0]["cited"] == "oig-10-63"
        assert rows[5]["text"].startswith("Coalition for Fair Enforcement\nNovember 27, 2026\n")

    def test_formula_is_neutralised(self, sample: Campaign) -> None:
        """Acceptance 6: a formula-like last name exports as text."""
        replace_row(
            sample,
            1,
            "Senator,Alex,Rivera,Alex J. Rivera",
            'Senator,Alex,"=HYPERLINK(""http://x.example"",""y"")",',
        )
        result = sample.run("export", "--format", "csv", "--out", "x.csv", "--date", DATE)
        assert result.exit_code == 0, result.output
        with (sample.root / "x.csv").open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows[0]["recipient"] == 'Alex =HYPERLINK("http://x.example","y")'
        assert rows[0]["salutation"] == '\'Dear Senator =HYPERLINK("http://x.example","y"):'[1:]
        replace_row(sample, 2, ",Whitfield,", ",=1+2,")
        sample.run("export", "--format", "csv", "--out", "y.csv", "--date", DATE)
        with (sample.root / "y.csv").open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows[1]["salutation"] == "Dear Senator =1+2:"

    def test_jsonl_is_lossless(self, sample: Campaign) -> None:
        replace_row(sample, 2, ",Whitfield,Dana Whitfield,", ",=1+2,=1+2,")
        result = sample.run("export", "--format", "jsonl", "--date", DATE)
        assert result.exit_code == 0, result.output
        lines = (sample.root / "out" / "letters.jsonl").read_text(encoding="utf-8").splitlines()
        record = json.loads(lines[1])
        assert record["recipient"] == "=1+2"
        assert record["fields"]["last_name"] == "=1+2"


class TestPreview:
    """One recipient's message in the terminal, or as a page."""

    def test_default_is_first_row(self, sample: Campaign) -> None:
        result = sample.run("preview", "--date", DATE)
        assert result.exit_code == 0, result.output
        assert 'To: "Alex J. Rivera" <alex.rivera@senate.example.org>' in result.output
        assert "Dear Senator Rivera:" in result.output

    def test_by_email_and_html_page(self, sample: Campaign) -> None:
        result = sample.run(
            "preview", "director.office@ice.example.com", "--date", DATE, "--html", "p.html"
        )
        assert result.exit_code == 0, result.output
        assert "Dear Acting Director Holloway:" in result.output
        page = (sample.root / "p.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")
        assert "Dear Acting Director Holloway:" in page

    def test_unknown_selector(self, sample: Campaign) -> None:
        result = sample.run("preview", "99")
        assert result.exit_code == 1
        assert "Error: recipients.csv has no row 99" in result.output


class TestHelp:
    """Every command explains itself with an example."""

    @pytest.mark.parametrize("command", ["check", "preview", "export"])
    def test_help_has_example(self, sample: Campaign, command: str) -> None:
        result = sample.run(command, "--help")
        assert result.exit_code == 0
        assert "Example:" in result.output
        assert f"campaign {command}" in result.output

    def test_every_command_has_help(self) -> None:
        from campaign.cli import main

        for name, command in main.commands.items():
            assert command.help and "Example:" in command.help, name

    def test_version(self, sample: Campaign) -> None:
        from campaign import __version__

        assert sample.run("--version").output.strip() == f"campaign, version {__version__}"


class TestOutputEdges:
    """Output paths and earlier files are handled without surprises."""

    def test_csv_out_that_is_a_folder(self, sample: Campaign) -> None:
        (sample.root / "d.csv").mkdir()
        result = sample.run("export", "--format", "csv", "--out", "d.csv")
        assert result.exit_code == 1
        assert "Error: --out d.csv is a folder: give a file name" in result.output

    def test_own_stale_rejects_removed_but_not_a_users_file(self, sample: Campaign) -> None:
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        assert sample.run("export", "--date", DATE, "--skip-invalid").exit_code == 0
        rejects = sample.root / "out" / "rejects.csv"
        assert rejects.exists()
        replace_row(sample, 3, "jane.doe@", "samuel.okafor@senate.example.org")
        assert sample.run("export", "--date", DATE).exit_code == 0
        assert not rejects.exists()
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        assert sample.run("export", "--date", DATE, "--skip-invalid").exit_code == 0
        rejects.write_text("my own notes\n", encoding="utf-8")
        replace_row(sample, 3, "jane.doe@", "samuel.okafor@senate.example.org")
        assert sample.run("export", "--date", DATE).exit_code == 0
        assert rejects.read_text(encoding="utf-8") == "my own notes\n"

    def test_overlong_header_value(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",Rivera,", "," + "R" * 700 + ",")
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "recipients.csv:2: error: column 'last_name' is 700 characters long: a mail header "
            "line holds at most 998, so keep it under 600" in result.output
        )


class TestReexport:
    """A second export leaves one letter per current recipient."""

    def test_removed_and_shifted_rows_leave_no_old_letters(self, sample: Campaign) -> None:
        assert sample.run("export", "--date", DATE).exit_code == 0
        (sample.root / "out" / "notes.eml").write_text("mine", encoding="utf-8")
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        del lines[1]  # the first recipient leaves; every later row number shifts
        sample.recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        assert "removed 12 letters an earlier export wrote" in result.output
        letters = [f for f in listing(sample.root / "out") if f.endswith(".eml")]
        assert len(letters) == 12  # eleven letters and the user's own file
        assert "notes.eml" in letters
        assert "000001-whitfield-dana.eml" in letters
        assert not any("rivera" in f for f in letters)

    def test_other_formats_are_left_alone(self, sample: Campaign) -> None:
        assert sample.run("export", "--format", "txt", "--date", DATE).exit_code == 0
        assert sample.run("export", "--date", DATE).exit_code == 0
        files = listing(sample.root / "out")
        assert len([f for f in files if f.endswith(".txt")]) == 12
        assert len([f for f in files if f.endswith(".eml")]) == 12


class TestOutputFiles:
    """What an export leaves in its folder, and what it says."""

    def test_each_format_keeps_its_own_rejects(self, sample: Campaign) -> None:
        """eml's rejects.csv is eml's: a txt export beside it writes and removes its own."""
        out = sample.root / "out"
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        assert sample.run("export", "--date", DATE, "--skip-invalid").exit_code == 0
        eml_rejects = (out / "rejects.csv").read_bytes()
        result = sample.run("export", "--format", "txt", "--date", DATE, "--skip-invalid")
        assert result.exit_code == 0, result.output
        assert "1 rejected, listed with reasons in out/rejects-txt.csv" in result.output
        assert (out / "rejects.csv").read_bytes() == eml_rejects
        assert b"jane.doe@" in (out / "rejects-txt.csv").read_bytes()
        replace_row(sample, 3, "jane.doe@", "samuel.okafor@senate.example.org")
        assert sample.run("export", "--format", "txt", "--date", DATE).exit_code == 0
        assert not (out / "rejects-txt.csv").exists()
        assert (out / "rejects.csv").read_bytes() == eml_rejects  # not txt's to remove
        assert sample.run("export", "--date", DATE).exit_code == 0
        assert not (out / "rejects.csv").exists()

    @pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".mbox"])
    def test_one_file_export_leaves_only_its_file(
        self, sample: Campaign, suffix: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--out ../x.jsonl: the file, its rejects file, and nothing else beside them."""
        before = set(listing(sample.root))
        (sample.root / "work").mkdir()
        monkeypatch.chdir(sample.root / "work")
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        fmt = suffix[1:]
        for date in (DATE, "2027-01-01"):  # the rerun replaces its own file
            result = sample.run(
                "export", "--campaign", "..", "--format", fmt, "--date", date,
                "--out", f"../x{suffix}", "--skip-invalid",
            )  # fmt: skip
            assert result.exit_code == 0, result.output
            assert f"\nExported 11 letters ({fmt}) to ../x{suffix}; 1 " in result.output
            assert set(listing(sample.root)) - before == {f"x{suffix}", "x.rejects.csv"}
        replace_row(sample, 3, "jane.doe@", "samuel.okafor@senate.example.org")
        result = sample.run("export", "--campaign", "..", "--format", fmt, "--out", f"../x{suffix}")
        assert result.exit_code == 0, result.output
        assert set(listing(sample.root)) - before == {f"x{suffix}"}

    def test_jsonl_has_every_csv_key(self, sample: Campaign) -> None:
        head, *rows = sample.recipients.read_text(encoding="utf-8").splitlines()
        lines = [
            f"{head},contact_form,phone",
            *(f"{r},https://example.org/form/{n},202-555-01{n:02d}" for n, r in enumerate(rows, 1)),
        ]
        sample.recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert sample.run("export", "--format", "csv", "--date", DATE).exit_code == 0
        assert sample.run("export", "--format", "jsonl", "--date", DATE).exit_code == 0
        with (sample.root / "out" / "letters.csv").open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        text = (sample.root / "out" / "letters.jsonl").read_text(encoding="utf-8")
        records = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == len(records) == 12
        for row, record in zip(rows, records, strict=True):
            assert set(row) <= set(record)
            assert {
                k: str(v) if k != "cited" else " ".join(v) for k, v in record.items() if k in row
            } == row
        assert records[2]["contact_form"] == "https://example.org/form/3"
        assert records[2]["phone"] == "202-555-0103"

    def test_one_letter_is_singular(self, sample: Campaign) -> None:
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        sample.recipients.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
        result = sample.run("export", "--date", DATE)
        assert (result.exit_code, result.output) == (0, "Exported 1 letter (eml) to out\n")
        check = sample.run("check")
        assert check.output.splitlines()[-1] == "1 recipient, 0 errors, 0 warnings"
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        sample.recipients.write_text(lines[0] + "\n", encoding="utf-8")
        result = sample.run("export", "--date", DATE)
        assert result.output.startswith("Exported 0 letters (eml) to out; removed 1 letter an ")
