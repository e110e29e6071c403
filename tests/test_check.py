"""campaign check: every problem as PATH:LINE, a summary, exit status."""

from __future__ import annotations

import pytest
from conftest import Campaign


def replace_row(sample: Campaign, number: int, old: str, new: str) -> None:
    """Edit the data row ``number`` (1-based) of the sample recipients."""
    lines = sample.recipients.read_text(encoding="utf-8").splitlines()
    assert old in lines[number], lines[number]
    lines[number] = lines[number].replace(old, new)
    sample.recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")


class TestSample:
    """The bundled sample campaign is clean."""

    def test_sample_has_no_errors(self, sample: Campaign) -> None:
        """check exits 0 and reports 12 recipients with no errors or warnings."""
        result = sample.run("check")
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1] == "12 recipients, 0 errors, 0 warnings"

    def test_campaign_option_points_elsewhere(self, sample: Campaign, tmp_path_factory) -> None:
        """--campaign DIR reads DIR/letters and DIR/recipients.csv and names them so."""
        elsewhere = tmp_path_factory.mktemp("cwd")
        import os

        os.chdir(elsewhere)
        result = sample.run("check", "--campaign", str(sample.root))
        assert result.exit_code == 0, result.output


class TestEmails:
    """Emails are validated offline, and duplicates found."""

    def test_incomplete_address_names_line_and_value(self, sample: Campaign) -> None:
        """Acceptance: the 3rd data row's 'jane.doe@' is reported at recipients.csv:4."""
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "recipients.csv:4: error: column 'email' 'jane.doe@' is not a valid address: "
            "There must be something after the @-sign." in result.output
        )
        assert result.output.strip().splitlines()[-1] == "12 recipients, 1 error, 0 warnings"

    @pytest.mark.parametrize(
        "address",
        ["no-at-sign.example.org", "a@@example.org", "a b@example.org", "x@example.test"],
    )
    def test_invalid_addresses(self, sample: Campaign, address: str) -> None:
        """Malformed addresses and special-use domains are errors on their line."""
        replace_row(sample, 1, "alex.rivera@senate.example.org", address)
        result = sample.run("check")
        assert result.exit_code == 1
        assert f"recipients.csv:2: error: column 'email' '{address}'" in result.output

    def test_duplicate_by_normalized_address(self, sample: Campaign) -> None:
        """An address differing only in case duplicates the earlier line."""
        replace_row(
            sample, 2, "dana.whitfield@senate.example.org", "Alex.Rivera@SENATE.example.org"
        )
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "recipients.csv:3: error: column 'email' 'Alex.Rivera@SENATE.example.org' "
            "duplicates the address on line 2" in result.output
        )

    def test_blank_email_allowed_only_for_formats_without_address(self, sample: Campaign) -> None:
        """A blank email is an error for eml and accepted for txt."""
        replace_row(sample, 1, "alex.rivera@senate.example.org", "")
        assert sample.run("check").exit_code == 1
        assert sample.run("check", "--format", "txt").exit_code == 0


class TestHeaders:
    """Values bound for a mail header cannot carry line breaks or encoded-words."""

    def test_line_break_in_last_name(self, sample: Campaign) -> None:
        """A quoted multi-line last name is an error naming the row and column."""
        replace_row(sample, 1, ",Rivera,", ',"Rivera\nBcc: x@evil.example",')
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "recipients.csv:2: error: column 'last_name' contains a line break (LF); "
            "it would go into a mail header" in result.output
        )

    def test_encoded_word_in_name(self, sample: Campaign) -> None:
        """An RFC 2047 encoded-word in a name is refused, not decoded."""
        replace_row(sample, 1, ",Alex,", ",=?UTF-8?Q?A=0ABcc:_x@evil.example?=,")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:2: error: column 'first_name' contains '=?'" in result.output


class TestRecipientsFile:
    """Structural problems of the CSV itself."""

    def test_missing_file(self, sample: Campaign) -> None:
        sample.recipients.unlink()
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv: error: recipients file not found" in result.output

    def test_empty_file(self, sample: Campaign) -> None:
        sample.write_recipients("")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:1: error: the file is empty" in result.output

    def test_undecodable_bytes_name_encoding_option(self, sample: Campaign) -> None:
        """cp1252 bytes read as UTF-8: the line, the encoding tried and --encoding."""
        text = sample.recipients.read_text(encoding="utf-8")
        sample.write_recipients(text, encoding="cp1252")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:5: error: cannot decode the file as utf-8" in result.output
        assert "--encoding" in result.output
        assert sample.run("check", "--encoding", "cp1252").exit_code == 0

    def test_bom_is_accepted(self, sample: Campaign) -> None:
        text = sample.recipients.read_text(encoding="utf-8")
        sample.recipients.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        assert sample.run("check").exit_code == 0

    def test_missing_and_duplicate_columns(self, sample: Campaign) -> None:
        sample.write_recipients("email,audience,title,title,first_name\n")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:1: error: column 'title' appears twice" in result.output
        assert "recipients.csv:1: error: missing required column: last_name" in result.output

    def test_wrong_field_counts(self, sample: Campaign) -> None:
        """Too many and too few fields are reported on their own lines."""
        replace_row(sample, 1, "CA,,331 Hart", "CA,,331 Hart,extra")
        replace_row(sample, 2, "TX,,221 Russell Senate Office Building,,", "TX")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:2: error: has 12 fields but the header has 11" in result.output
        assert "recipients.csv:3: error: has 7 fields but the header has 11" in result.output


class TestCampaignData:
    """Settings, citations, quotes and templates."""

    def test_unknown_audience(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",congress,", ",senate,")
        result = sample.run("check")
        assert (
            "recipients.csv:2: error: column 'audience': unknown audience 'senate' "
            "(known: congress, dhs)" in result.output
        )

    def test_template_syntax_error(self, sample: Campaign) -> None:
        path = sample.letters / "dhs.txt.j2"
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[3] += " {% if %}"
        path.write_text("\n".join(lines), encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "letters/dhs.txt.j2:4: error: syntax:" in result.output

    def test_unknown_cite_and_quote_keys(self, sample: Campaign) -> None:
        path = sample.letters / "dhs.txt.j2"
        text = path.read_text(encoding="utf-8").replace('quote("musa")', 'quote("muza")', 1)
        text = text.replace('cite("oig-10-63")', 'cite("oig-10-36")', 1)
        path.write_text(text, encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "letters/dhs.txt.j2:2: error: cite('oig-10-36'): no such citation" in result.output
        assert "letters/dhs.txt.j2:6: error: quote('muza'): no such quote" in result.output

    def test_variable_the_csv_lacks(self, sample: Campaign) -> None:
        path = sample.letters / "dhs.txt.j2"
        path.write_text(
            path.read_text(encoding="utf-8") + "{{ recipient.nickname }}\n", encoding="utf-8"
        )
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv has no column 'nickname'" in result.output

    def test_citation_never_cited_is_a_warning(self, sample: Campaign) -> None:
        path = sample.letters / "citations.toml"
        line = len(path.read_text(encoding="utf-8").splitlines()) + 2
        with path.open("a", encoding="utf-8") as handle:
            handle.write(
                '\n[unused]\npublisher = "P"\ntitle = "T"\nnumber = "N"\ndate = "D"\nurl = "https://u.example"\n'
            )
        result = sample.run("check")
        assert result.exit_code == 0
        assert f"letters/citations.toml:{line}: warning: citation 'unused' is never cited" in (
            result.output
        )

    def test_misquote_names_closest_passage(self, sample: Campaign, tmp_path) -> None:
        source = tmp_path / "source.txt"
        source.write_text(
            "Intro. “They insist that racial profiling is not occurring,” she said.",
            encoding="utf-8",
        )
        quotes = sample.letters / "quotes.toml"
        text = quotes.read_text(encoding="utf-8")
        text += (
            '\n[altered]\nspeaker = "S"\ntitle = "T"\norganization = "O"\n'
            'text = "They insist that profiling is not happening"\nsource_title = "X"\n'
            f'source_date = "Y"\nsource_file = "{source.as_posix()}"\n'
        )
        quotes.write_text(text, encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "error: quote 'altered': text is not in source.txt as written; the closest passage "
            'is: "They insist that racial profiling is not"' in result.output
        )

    def test_toml_syntax_error_has_line(self, sample: Campaign) -> None:
        path = sample.letters / "campaign.toml"
        line = len(path.read_text(encoding="utf-8").splitlines()) + 2
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\nbroken = \n")
        result = sample.run("check")
        assert result.exit_code == 1
        assert f"letters/campaign.toml:{line}: error: TOML syntax: Invalid value" in result.output


class TestWrongLetters:
    """Values that would address a letter wrongly are errors, not odd letters."""

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                ",Representative,Grace,",
                ",representative,Grace,",
                "recipients.csv:6: error: column 'title': write 'representative' as "
                "'Representative' (titles are matched exactly)",
            ),
            (
                ",AZ,7,",
                ",XX,7,",
                "recipients.csv:6: error: column 'state': 'XX' is not a two-letter state or "
                "territory code",
            ),
            (
                ",AZ,7,",
                ",AZ,7th,",
                "recipients.csv:6: error: column 'district': '7th' is not a district number "
                "(0 means at large)",
            ),
            (
                ",AZ,7,",
                ",,7,",
                "recipients.csv:6: error: column 'state' is empty, and the letter names the "
                "member's state",
            ),
        ],
    )
    def test_member_rows(self, sample: Campaign, old: str, new: str, message: str) -> None:
        replace_row(sample, 5, old, new)
        result = sample.run("check")
        assert result.exit_code == 1
        assert message in result.output

    def test_official_without_agency(self, sample: Campaign) -> None:
        replace_row(sample, 11, ",U.S. Immigration and Customs Enforcement,", ",,")
        result = sample.run("check")
        assert (
            "recipients.csv:12: error: an official's address needs 'agency' (agency, street and "
            "city line), or give the whole address in an 'address_block' column"
        ) in result.output

    def test_near_miss_audience_is_named(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",congress,", ",congres,")
        result = sample.run("check")
        assert (
            "unknown audience 'congres' (known: congress, dhs) (did you mean 'congress'?)"
            in result.output
        )

    def test_missing_campaign_folder(self, sample: Campaign) -> None:
        result = sample.run("check", "--campaign", "nowhere")
        assert result.exit_code == 1
        assert "nowhere: error: campaign folder not found: pass --campaign DIR" in result.output
