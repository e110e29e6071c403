"""Hostile input, 1: nothing a row holds can add a header line or a recipient to a message."""

from __future__ import annotations

import base64
import unicodedata

import pytest
from conftest import DATE, Campaign, listing, parse
from hostile_kit import OTHER, assert_refused, assert_row_rejected, mini, row

from campaign.message import InternalError, build, make_envelope, verify
from campaign.safety import header_problem, headers_safe

BREAKS = [
    ("\r", "a carriage return (CR)"),
    ("\n", "a line break (LF)"),
    ("\r\n", "a carriage return (CR)"),
    ("\x85", "a next-line character (U+0085)"),
    ("\u2028", "a line separator (U+2028)"),
    ("\u2029", "a paragraph separator (U+2029)"),
    ("\x0b", "a vertical tab"),
    ("\x0c", "a form feed"),
    ("\x00", "a control character (U+0000)"),
    ("\x1b", "a control character (U+001B)"),
    ("\x7f", "a control character (U+007F)"),
    ("\t", "a control character (U+0009)"),
]
# The columns the To header (names) and the Subject ("Letter for {{ title }} {{ last_name }}")
# are made from.
NAME_COLUMNS = ["first_name", "last_name", "full_name", "title"]
Q_WORD = "=?UTF-8?Q?Support_HR_1=0ABcc:_attacker@evil.example?="
B_WORD = "=?UTF-8?B?" + base64.b64encode(b"x\nBcc: attacker@evil.example").decode() + "?="
ENCODED = "contains '=?', which mail readers may decode as an RFC 2047 encoded-word"


class TestLineBreaksAndControls:
    """A line break or control in any value bound for a header rejects the row, naming both."""

    @pytest.mark.parametrize("column", NAME_COLUMNS)
    @pytest.mark.parametrize(("char", "name"), BREAKS, ids=[repr(c) for c, _ in BREAKS])
    def test_in_name_and_subject_columns(
        self, sample: Campaign, column: str, char: str, name: str
    ) -> None:
        value = f"X{char}Bcc: attacker@evil.example"
        mini(sample, [OTHER, row(**{column: value})])
        assert_row_rejected(
            sample, 3, f"column '{column}' contains {name}; it would go into a mail header"
        )

    @pytest.mark.parametrize(("char", "name"), BREAKS, ids=[repr(c) for c, _ in BREAKS])
    def test_in_email(self, sample: Campaign, char: str, name: str) -> None:
        mini(sample, [OTHER, row(email=f"alex@example.org{char}Bcc: attacker@evil.example")])
        assert_row_rejected(sample, 3, f"column 'email' contains {name}")

    @pytest.mark.parametrize("column", ["last_name", "email"])
    def test_value_ending_in_newline(self, sample: Campaign, column: str) -> None:
        """A trailing newline (a cell typed with Alt+Enter) is refused, never trimmed away."""
        mini(sample, [OTHER, row(**{column: row()[column] + "\n"})])
        suffix = "; it would go into a mail header" if column != "email" else ""
        assert_row_rejected(sample, 3, f"column '{column}' contains a line break (LF){suffix}")

    def test_each_bad_column_is_named_once(self, sample: Campaign) -> None:
        """Two bad columns give two errors on the row's line; a NUL is not reported twice."""
        mini(sample, [row(first_name="A\x00", last_name="B\n")])
        assert_refused(
            sample,
            "recipients.csv:2: error: column 'first_name' contains a control character "
            "(U+0000); it would go into a mail header",
            "recipients.csv:2: error: column 'last_name' contains a line break (LF); "
            "it would go into a mail header",
        )

    def test_body_only_column_may_hold_line_breaks(self, sample: Campaign) -> None:
        """A column only the letter body uses may be multi-line (LF): that is not a header.

        (U+2028 and the other separators some readers do not break at are refused: see
        test_hostile_rows.)"""
        mini(sample, [row(note="Line one\nLine two\nthree")])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        message = parse((sample.root / "out" / "000001-rivera-alex.eml").read_bytes())
        assert "note=[Line one\nLine two\nthree]" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    def test_column_a_subject_uses_is_header_bound(self, sample: Campaign) -> None:
        """The same multi-line note is refused once the subject template prints it."""
        mini(sample, [OTHER, row(note="Thanks\nBcc: attacker@evil.example")])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("{{ recipient.last_name }}", "{{ recipient.note }}"))
        assert_row_rejected(
            sample, 3, "column 'note' contains a line break (LF); it would go into a mail header"
        )

    def test_computed_salutation_in_subject_checks_its_columns(self, sample: Campaign) -> None:
        """A subject using the computed salutation holds salutation_title to the header rules."""
        header = ["email", "audience", "title", "first_name", "last_name", "salutation_title"]
        rows = [
            {**{k: OTHER[k] for k in header[:5]}, "salutation_title": "Chair"},
            {**{k: row()[k] for k in header[:5]}, "salutation_title": "Chair\u2028Bcc: x@y.org"},
        ]
        from hostile_kit import csv_text

        mini(sample)
        sample.write_recipients(csv_text(rows, header))
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(
            text.replace('html_template = "a.html.j2"\n', "").replace(
                "Letter for {{ recipient.title }} {{ recipient.last_name }}",
                "{{ recipient.salutation }}",
            )
        )
        (sample.letters / "a.txt.j2").write_text("{{ recipient.salutation }}\n")
        assert_row_rejected(
            sample,
            3,
            "column 'salutation_title' contains a line separator (U+2028); "
            "it would go into a mail header",
        )


INVISIBLE_PRINTABLE = [
    "\ufe0f",
    "\ufe00",
    "\ufe0e",
    "\U000e0100",
    "\U000e01ef",
    "\u034f",
    "\u180b",
    "\u180c",
    "\u180d",
    "\u180f",
    "\u17b4",
    "\u17b5",
    "\u115f",
    "\u1160",
    "\u3164",
    "\uffa0",
    "\u2800",
]


class TestInvisibleLetters:
    """Characters Python calls printable that show as nothing are refused in a header too."""

    @pytest.mark.parametrize("char", INVISIBLE_PRINTABLE, ids=lambda c: f"U+{ord(c):04X}")
    @pytest.mark.parametrize("column", ["last_name", "first_name", "full_name"])
    def test_in_a_name(self, sample: Campaign, char: str, column: str) -> None:
        mini(sample, [OTHER, row(**{column: f"Riv{char}era"})])
        name = unicodedata.name(char)
        assert_row_rejected(
            sample,
            3,
            f"column '{column}' contains an invisible formatting character "
            f"(U+{ord(char):04X} {name}); it would go into a mail header",
        )

    @pytest.mark.parametrize("char", INVISIBLE_PRINTABLE, ids=lambda c: f"U+{ord(c):04X}")
    def test_in_the_rendered_subject(self, sample: Campaign, char: str) -> None:
        mini(sample, [OTHER, row()])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(
            text.replace("Letter for {{", f"Letter{char} for {{{{"), encoding="utf-8"
        )
        result = sample.run("check")
        assert result.exit_code == 1
        assert f"(U+{ord(char):04X} {unicodedata.name(char)})" in result.output
        assert sample.run("export", "--date", DATE).exit_code == 1
        assert listing(sample.root / "out") == []

    @pytest.mark.parametrize("char", INVISIBLE_PRINTABLE, ids=lambda c: f"U+{ord(c):04X}")
    def test_header_problem(self, char: str) -> None:
        for value in (char, f"A{char}", f"\u2764{char}", f"e\u0301{char}x"):
            assert header_problem(value) == (
                f"contains an invisible formatting character "
                f"(U+{ord(char):04X} {unicodedata.name(char)})"
            )
            assert not headers_safe(["ok", value])

    @pytest.mark.parametrize(
        "name", ["José Núñez", "Rene\u0301e", "中村", "김민준", "Ⅻ", "Ali \u2764", "Zoë 😀"]
    )
    def test_visible_text_still_passes(self, sample: Campaign, name: str) -> None:
        assert header_problem(name) is None
        assert headers_safe([name])
        mini(sample, [row(last_name=name)])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output


# (Jinja reads a CR in a string literal as a line break, LF.)
SUBJECT_BREAKS = [
    ("\\n", "a line break (LF)"),
    ("\\x0b", "a vertical tab"),
    ("\\x0c", "a form feed"),
    ("\\x1c", "a file separator"),
    ("\\x1e", "a record separator"),
    ("\\x85", "a next-line character (U+0085)"),
    ("\\u2028", "a line separator (U+2028)"),
    ("\\u2029", "a paragraph separator (U+2029)"),
]


def set_subject(sample: Campaign, subject: str) -> None:
    settings = sample.letters / "campaign.toml"
    text = settings.read_text(encoding="utf-8")
    old = 'subject = "Letter for {{ recipient.title }} {{ recipient.last_name }}"'
    assert old in text
    settings.write_text(text.replace(old, f"subject = {subject}"), encoding="utf-8")


class TestLineBreakInTheRenderedSubject:
    """A subject that renders with a line break is an error for its row: never cleaned."""

    @pytest.mark.parametrize(("escape", "name"), SUBJECT_BREAKS, ids=[e for e, _ in SUBJECT_BREAKS])
    @pytest.mark.parametrize("end", ["Bcc: x@y.org", ""])
    def test_refused_in_check_and_export(
        self, sample: Campaign, escape: str, name: str, end: str
    ) -> None:
        mini(sample, [OTHER, row()])
        set_subject(
            sample,
            f'\'Adopt{{% if recipient.last_name == "Rivera" %}}{{{{ "{escape}" }}}}{{% endif %}}'
            f"{end}'",
        )
        rendered = "Adopt" + escape.encode().decode("unicode_escape") + end
        assert_row_rejected(
            sample,
            3,
            f"subject: letters/campaign.toml:9: the subject of audience 'a' renders with {name} "
            f"(as {rendered!r}): a subject is one line; remove the line break",
        )

    def test_refused_from_a_filter(self, sample: Campaign) -> None:
        mini(sample, [row()])
        set_subject(sample, '\'{{ recipient.last_name | replace("i", "\\n") }}\'')
        result = sample.run("check")
        assert result.exit_code == 1
        assert "recipients.csv:2: error: subject: letters/campaign.toml:9:" in result.output

    def test_an_included_subject_ending_in_a_line_break(self, sample: Campaign) -> None:
        mini(sample, [row()])
        (sample.letters / "subject.txt").write_text("Letter for {{ recipient.last_name }}\n")
        set_subject(sample, "\"{% include 'subject.txt' %}\"")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "renders with a line break (LF) (as 'Letter for Rivera\\n')" in result.output

    def test_a_subject_on_lines_of_its_own_still_works(self, sample: Campaign) -> None:
        """A multi-line TOML string: the subject's own line breaks are layout, read as spaces."""
        mini(sample, [row()])
        set_subject(sample, '"""\nLetter\nfor  {{ recipient.last_name }}\n"""')
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        [path] = (sample.root / "out").glob("*.eml")
        assert parse(path.read_bytes())["Subject"] == "Letter for Rivera"


class TestEncodedWords:
    """RFC 2047 encoded-words (the CVE-2024-6923 vector) are refused, never decoded."""

    @pytest.mark.parametrize("column", [*NAME_COLUMNS, "email"])
    @pytest.mark.parametrize("word", [Q_WORD, B_WORD], ids=["Q", "B"])
    def test_in_header_columns(self, sample: Campaign, column: str, word: str) -> None:
        mini(sample, [OTHER, row(**{column: word})])
        suffix = "; it would go into a mail header" if column != "email" else ""
        assert_row_rejected(sample, 3, f"column '{column}' {ENCODED}{suffix}")

    def test_in_the_subject_template_itself(self, sample: Campaign) -> None:
        """An encoded-word written into the subject setting is caught on every row."""
        mini(sample, [row()])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("Letter for", Q_WORD), encoding="utf-8")
        assert_refused(sample, f"recipients.csv:2: error: the rendered subject {ENCODED}")

    def test_in_sender_settings(self, sample: Campaign) -> None:
        mini(sample)
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace('sender_name = "Sender"', f'sender_name = "{Q_WORD}"'))
        assert_refused(sample, f"letters/campaign.toml:3: error: sender_name {ENCODED}")

    def test_line_break_in_sender_name(self, sample: Campaign) -> None:
        mini(sample)
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace('"Sender"', '"Sender\\nBcc: attacker@evil.example"'))
        assert_refused(
            sample, "letters/campaign.toml:3: error: sender_name contains a line break (LF)"
        )


ENVELOPE = make_envelope(
    "Sender", "sender@example.org", None, "Fri, 27 Nov 2026 09:00:00 -0500", "example.org", "s"
)


class TestParseBack:
    """Defence in depth: were the checks bypassed, the built message is read back and stopped."""

    def test_injected_subject_line(self) -> None:
        with pytest.raises(InternalError, match="Bcc"):
            build(ENVELOPE, "Alex", "alex@example.org", "Hi\nBcc: x@evil.example", "t", None, "k")

    def test_injected_name_line(self) -> None:
        """The builder refuses a name with a line break before any header is written."""
        with pytest.raises(InternalError, match=r"display name contains a carriage return"):
            build(ENVELOPE, "Alex\r\nBcc: x@evil.example", "alex@example.org", "s", "t", None, "k")

    def test_line_break_hidden_in_an_encoded_word(self) -> None:
        """A non-ASCII name is encoded; the newline inside is found after decoding."""
        with pytest.raises(InternalError, match=r"contains a line break \(LF\)"):
            build(ENVELOPE, "Zoë\nBcc: x@evil.example", "zoe@example.org", "s", "t", None, "k")

    def test_second_address_in_to(self) -> None:
        with pytest.raises(InternalError, match="expected one"):
            build(ENVELOPE, "A", "a@example.org, b@evil.example", "s", "t", None, "k")

    def test_encoded_word_subject_in_raw_headers(self) -> None:
        """The encoded-word from the issue, as a Python before the CVE fix would read it."""
        head = (
            "From: s@example.org\nTo: <a@example.org>\nSubject: " + Q_WORD + "\n"
            "Date: d\nMessage-ID: <m@x>\nMIME-Version: 1.0\nContent-Type: text/plain\n"
            "Content-Transfer-Encoding: 7bit\n\n"
        ).encode("ascii")
        with pytest.raises(InternalError, match=r"decodes to text that contains a line break"):
            verify(head, "a@example.org", reply_to=False)

    def test_export_stops_with_exit_3_when_checks_are_bypassed(
        self, sample: Campaign, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With the row checks switched off, the parse-back still stops the whole export.

        The name's encoded-word sits in a quoted display name, where Python's email package
        decodes it all the same: the decoded line break is what the parse-back finds.
        """
        import campaign.pipeline

        monkeypatch.setattr(campaign.pipeline, "header_problem", lambda value: None)
        mini(sample, [OTHER, row(full_name=f"Alex {Q_WORD}")])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 3
        assert result.output == (
            "Internal error (nothing was written): message header decodes to text that "
            'contains a line break (LF): \'"Alex Support HR 1\\nBcc: attacker@evil.example" '
            "<alex@example'\n"
        )
        assert listing(sample.root / "out") == []
