"""Hostile input, 7: broken campaign data, and odd command lines: an error with file:line,
never a traceback."""

from __future__ import annotations

import pytest
from conftest import DATE, Campaign, listing
from hostile_kit import OTHER, assert_refused, mini, row

SETTINGS = "letters/campaign.toml"


def edit(sample: Campaign, name: str, old: str, new: str) -> None:
    path = sample.letters / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


class TestToml:
    """Syntax errors and wrong types, each on its own file and line."""

    @pytest.mark.parametrize(
        ("name", "old", "new", "error"),
        [
            (
                "campaign.toml",
                'sender_name = "Sender"',
                'sender_name = "Sender',
                "letters/campaign.toml:3: error: TOML syntax: Illegal character '\\n'",
            ),
            (
                "campaign.toml",
                "[audiences.a]",
                "[audiences.a",
                "letters/campaign.toml:6: error: TOML syntax: Expected ']' at the end of a "
                "table declaration",
            ),
            (
                "citations.toml",
                "",
                "[oig]\npublisher = \n",
                "letters/citations.toml:2: error: TOML syntax: Invalid value",
            ),
            (
                "quotes.toml",
                "",
                '[q]\nspeaker = "A"\nspeaker = "B"\n',
                "letters/quotes.toml:3: error: TOML syntax: Cannot overwrite a value",
            ),
        ],
    )
    def test_syntax_error(
        self, sample: Campaign, name: str, old: str, new: str, error: str
    ) -> None:
        mini(sample, [row()])
        path = sample.letters / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(old, new, 1) if old else new, encoding="utf-8")
        assert_refused(sample, error)

    @pytest.mark.parametrize(
        ("old", "new", "error"),
        [
            (
                'sender_email = "sender@example.org"\n',
                "",
                "letters/campaign.toml:1: error: [campaign] is missing required setting "
                "'sender_email'",
            ),
            (
                'name = "Hostile"',
                "name = 5",
                "letters/campaign.toml:2: error: [campaign] setting 'name' must be a string",
            ),
            (
                'name = "Hostile"',
                'name = "Hostile"\nreply_to = 5',
                "letters/campaign.toml:3: error: [campaign] setting 'reply_to' must be a string",
            ),
            (
                'name = "Hostile"',
                'name = "Hostile"\nid = { a = 1 }',
                "letters/campaign.toml:3: error: [campaign] setting 'id' must be a string",
            ),
            (
                'template = "a.txt.j2"',
                "template = 3",
                "letters/campaign.toml:7: error: audience 'a': 'template' must be a string",
            ),
            (
                'template = "a.txt.j2"\n',
                "",
                "letters/campaign.toml:6: error: audience 'a' is missing required field 'template'",
            ),
            (
                "[audiences.a]",
                "audiences = 3\n[elsewhere]",
                "letters/campaign.toml:1: error: no audiences defined: add an [audiences.NAME] "
                "table with 'template' and 'subject'",
            ),
            (
                "[audiences.a]",
                "[audiences]\nb = 3\n[audiences.a]",
                "letters/campaign.toml:7: error: audiences.b must be a table: [audiences.b]",
            ),
            (
                'name = "Hostile"',
                'name = "Hostile"\nmessage_id_domain = "evil.example>\\nBcc: x@y.org"',
                "letters/campaign.toml:3: error: message_id_domain 'evil.example>\\nBcc: "
                "x@y.org' is not a domain name (letters, digits, hyphens and dots, e.g. "
                "coalition.example.org)",
            ),
            (
                'sender_email = "sender@example.org"',
                'sender_email = "Sender <sender@example.org>"',
                "letters/campaign.toml:4: error: sender_email 'Sender <sender@example.org>' is "
                "not a valid address: A display name and angle brackets around the email "
                "address are not permitted here.",
            ),
        ],
    )
    def test_settings(self, sample: Campaign, old: str, new: str, error: str) -> None:
        mini(sample, [row()])
        edit(sample, "campaign.toml", old, new)
        assert_refused(sample, error)

    def test_citation_and_quote_missing_fields(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "citations.toml").write_text(
            '[oig]\npublisher = "P"\ntitle = "T"\nnumber = "N"\nurl = "U"\npage = true\n'
        )
        (sample.letters / "quotes.toml").write_text(
            '[musa]\nspeaker = "S"\ntitle = "T"\norganization = "O"\ntext = "X"\n'
            'source_date = "D"\n\n[bare]\ntext = 3\n'
        )
        assert_refused(
            sample,
            "letters/citations.toml:1: error: citation 'oig' is missing required field 'date'",
            "letters/citations.toml:6: error: citation 'oig': 'page' must be a string",
            "letters/quotes.toml:1: error: quote 'musa' is missing required field 'source_title'",
            "letters/quotes.toml:8: error: quote 'bare' is missing required field 'speaker'",
            "letters/quotes.toml:8: error: quote 'bare' is missing required field 'title'",
            "letters/quotes.toml:8: error: quote 'bare' is missing required field 'organization'",
            "letters/quotes.toml:8: error: quote 'bare' is missing required field 'source_title'",
            "letters/quotes.toml:8: error: quote 'bare' is missing required field 'source_date'",
            "letters/quotes.toml:9: error: quote 'bare': 'text' must be a string",
        )

    def test_a_sub_table_points_at_its_line(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "citations.toml").write_text('\n\n[report.part]\nx = "y"\n')
        result = sample.run("check")
        assert result.exit_code == 1
        assert result.output.splitlines()[0] == (
            "letters/citations.toml:3: error: citation 'report' is missing required field "
            "'publisher'"
        )

    @pytest.mark.parametrize("name", ["campaign.toml", "citations.toml"])
    def test_data_file_is_a_folder(self, sample: Campaign, name: str) -> None:
        mini(sample, [row()])
        (sample.letters / name).unlink()
        (sample.letters / name).mkdir()
        assert_refused(sample, f"letters/{name}: error: is a folder, not a file")

    def test_data_file_not_utf8(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "quotes.toml").write_bytes(b'[q]\nspeaker = "Jos\xe9"\n')
        assert_refused(
            sample, "letters/quotes.toml:2: error: not valid UTF-8 (invalid continuation byte)"
        )


class TestTemplates:
    """Missing, unreadable, cyclic or failing templates."""

    def test_missing_template(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "a.html.j2").unlink()
        assert_refused(
            sample,
            "letters/campaign.toml:6: error: template 'a.html.j2' not found in letters/ "
            "(templates must be files inside letters/)",
        )

    def test_template_is_a_folder(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "a.txt.j2").unlink()
        (sample.letters / "a.txt.j2").mkdir()
        assert_refused(
            sample,
            "letters/campaign.toml:6: error: template 'a.txt.j2' not found in letters/ "
            "(templates must be files inside letters/)",
        )

    def test_binary_template(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "a.txt.j2").write_bytes(b"Hello\n\x89PNG\r\n\x1a\n\x00\x00")
        assert_refused(
            sample,
            "letters/a.txt.j2:2: error: not valid UTF-8 (invalid start byte): is it a template?",
        )

    def test_include_cycle(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "a.txt.j2").write_text('Hi\n{% include "b.j2" %}\n')
        (sample.letters / "a.html.j2").write_text('<p>{% include "b.j2" %}</p>\n')
        (sample.letters / "b.j2").write_text('{% include "c.j2" %}\n')
        (sample.letters / "c.j2").write_text('x\n{% include "b.j2" %}\n')
        assert_refused(
            sample, "letters/c.j2:2: error: templates include each other: b.j2 -> c.j2 -> b.j2"
        )

    def test_nested_too_deeply_to_parse(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "a.txt.j2").write_text("{{ " + "(" * 400 + "1" + ")" * 400 + " }}\n")
        assert_refused(sample, "letters/a.txt.j2:1: error: syntax: nested too deeply to read")

    @pytest.mark.parametrize(
        ("code", "message"),
        [
            # The immutable sandbox: a template may not change what it is given (check finds
            # the plain calls; these hide the call from it).
            (
                "{% set f = {}.pop %}{{ f('x') }}",
                "access to attribute 'pop' of 'dict' object is unsafe.",
            ),
            (
                "{% set f = [1].append %}{{ f(2) }}",
                "access to attribute 'append' of 'list' object is unsafe.",
            ),
            ("{{ 'abc'.index('z') }}", "substring not found"),
            ("{{ 'x'.encode('klingon') }}", "LookupError: unknown encoding: klingon"),
            ("{{ 1 / 0 }}", "division by zero"),
            (
                "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
                "RecursionError: maximum recursion depth exceeded",
            ),
        ],
    )
    def test_runtime_error_in_a_template(self, sample: Campaign, code: str, message: str) -> None:
        """A template that fails while rendering: the row's line, then the template's."""
        mini(sample, [row()])
        (sample.letters / "a.txt.j2").write_text(f"Hello\n{code}\n")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first.startswith(f"recipients.csv:2: error: letters/a.txt.j2:2: {message}")
        assert listing(sample.root / "out") == []
        result = sample.run("preview", "--date", DATE)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: letters/a.txt.j2:2: error: {message}")


class TestCommandLine:
    """Odd options and selectors: a usage error or an Error: line, never a traceback."""

    def test_date_garbage(self, sample: Campaign) -> None:
        mini(sample, [row()])
        for command in ("export", "preview"):
            result = sample.run(command, "--date", "next Tuesday")
            assert result.exit_code == 2
            assert result.output.splitlines()[-1] == (
                "Error: Invalid value for --date: 'next Tuesday' is not an ISO date: use e.g. "
                "2026-11-27 or 2026-11-27T09:00:00-05:00"
            )
        assert listing(sample.root / "out") == []

    @pytest.mark.parametrize(
        "date",
        [
            "9999-12-31T23:59:59-12:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:00-00:01",
            "0001-01-01T00:00:00+00:01",
        ],
    )
    def test_date_at_the_end_of_the_calendar(self, sample: Campaign, date: str) -> None:
        mini(sample, [row()])
        for command in (
            ["export", "--format", "mbox"],
            ["export", "--format", "eml"],
            ["export", "--format", "txt"],
            ["preview"],
        ):
            result = sample.run(*command, "--date", date)
            assert result.exit_code == 2, result.output
            assert "Traceback" not in result.output
            assert result.output.splitlines()[-1] == (
                f"Error: Invalid value for --date: {date!r} is too close to the end of the "
                "calendar: in UTC it falls outside the years 1 to 9999; use a date inside "
                "that range"
            )
        assert listing(sample.root / "out") == []

    def test_date_near_the_end_of_the_calendar_works(self, sample: Campaign) -> None:
        mini(sample, [row()])
        for date in ("9999-12-31T11:59:59-12:00", "0001-01-01T14:00:00+14:00", "9999-12-31"):
            result = sample.run("export", "--format", "mbox", "--date", date, "--out", date[:4])
            assert result.exit_code == 0, result.output

    def test_recipients_option_names_a_folder(self, sample: Campaign) -> None:
        mini(sample, [row()])
        result = sample.run("check", "--recipients", "letters")
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == (
            "Error: Invalid value for '--recipients': File 'letters' is a directory."
        )

    def test_recipients_file_is_a_folder(self, sample: Campaign) -> None:
        mini(sample, [row()])
        sample.recipients.unlink()
        sample.recipients.mkdir()
        assert_refused(
            sample,
            "recipients.csv: error: not a file: pass the recipients CSV as --recipients FILE",
        )

    def test_preview_of_a_rejected_row(self, sample: Campaign) -> None:
        mini(sample, [OTHER, row(email="alex@", last_name="Rivera\nBcc: x@evil.example")])
        result = sample.run("preview", "2", "--date", DATE)
        assert result.exit_code == 1
        assert result.output.splitlines() == [
            "recipients.csv:3: error: column 'last_name' contains a line break (LF); it would "
            "go into a mail header",
            "recipients.csv:3: error: column 'email' 'alex@' is not a valid address: There must "
            "be something after the @-sign.",
            "2 errors, 0 warnings",
        ]

    @pytest.mark.parametrize("selector", ["²", "١", "9" * 5000, "0"])
    def test_preview_selector_that_is_no_row(self, sample: Campaign, selector: str) -> None:
        mini(sample, [row()])
        result = sample.run("preview", selector)
        assert result.exit_code == 1
        what = f"row {selector}" if selector.isascii() else f"recipient with email {selector}"
        assert result.output == (
            f"Error: recipients.csv has no {what}: give a data row number (1 is the first) or "
            "an email; it has 1 data row\n"
        )

    @pytest.mark.parametrize("target", ["missing/page.html", "recipients.csv/page.html"])
    def test_preview_html_that_cannot_be_written(self, sample: Campaign, target: str) -> None:
        mini(sample, [row()])
        result = sample.run("preview", "--date", DATE, "--html", target)
        assert result.exit_code == 1
        reason = "No such file or directory" if target.startswith("missing") else "Not a directory"
        assert result.output.splitlines()[-1] == f"Error: cannot write --html {target}: {reason}"

    def test_manifest_that_is_not_text(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.root / "out").mkdir()
        (sample.root / "out" / ".campaign-manifest").write_bytes(b"\xff\xfe\x00")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        assert result.output == (
            "Error: cannot read out/.campaign-manifest (not UTF-8 text): it lists the files "
            "earlier exports wrote; move it away (and pass --overwrite) or choose another --out\n"
        )
        assert listing(sample.root / "out") == [".campaign-manifest"]
