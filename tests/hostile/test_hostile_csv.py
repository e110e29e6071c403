"""Hostile input, 6: the recipients file's structure, encoding and size."""

from __future__ import annotations

import pytest
from conftest import DATE, Campaign, listing
from hostile_kit import GOOD, HEADER, OTHER, assert_refused, assert_row_rejected, mini

HEAD = ",".join(HEADER)
# The rows as plain lines: no cell needs quotes (the address block has no comma here).
ALEX = ",".join({**GOOD, "address_block": "Office 1"}[c] for c in HEADER)
DANA = ",".join({**OTHER, "address_block": "Office 2"}[c] for c in HEADER)
DECODE_HINT = "save it as UTF-8, or pass the encoding it was saved in, e.g. --encoding cp1252"


def exported(sample: Campaign, *args: str) -> list[str]:
    result = sample.run("export", "--date", DATE, *args)
    assert result.exit_code == 0, result.output
    return [n for n in listing(sample.root / "out") if n.endswith(".eml")]


class TestEncodings:
    """A file in another encoding is an error that names --encoding; with it, it reads right."""

    def test_utf8_bom(self, sample: Campaign) -> None:
        mini(sample)
        sample.recipients.write_bytes(b"\xef\xbb\xbf" + f"{HEAD}\r\n{ALEX}\r\n".encode())
        assert exported(sample) == ["000001-rivera-alex.eml"]

    def test_cp1252(self, sample: Campaign) -> None:
        mini(sample)
        text = f"{HEAD}\r\n{DANA}\r\n{ALEX.replace('Alex,Rivera', 'Inés,Núñez')}\r\n"
        sample.recipients.write_bytes(text.encode("cp1252"))
        assert_refused(
            sample,
            "recipients.csv:3: error: cannot decode the file as utf-8 (invalid continuation "
            f"byte): {DECODE_HINT}",
        )
        assert exported(sample, "--encoding", "cp1252")[1] == "000002-nunez-ines.eml"

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
    def test_utf16(self, sample: Campaign, encoding: str) -> None:
        mini(sample)
        sample.recipients.write_bytes(f"{HEAD}\r\n{ALEX}\r\n".encode(encoding))
        if encoding == "utf-16":
            error = (
                "the file is UTF-16 encoded, not UTF-8: save it as UTF-8 or pass --encoding utf-16"
            )
        else:
            error = (
                "the file looks UTF-16 encoded (without a byte-order mark), not UTF-8: save it "
                f"as UTF-8 or pass --encoding {encoding}"
            )
        assert_refused(sample, f"recipients.csv:1: error: {error}")
        assert exported(sample, "--encoding", encoding) == ["000001-rivera-alex.eml"]

    def test_utf8_read_as_utf16(self, sample: Campaign) -> None:
        mini(sample)
        assert_refused(
            sample,
            "recipients.csv:1: error: cannot decode the file as utf-16 (UTF-16 stream does not "
            f"start with BOM): {DECODE_HINT}",
            args=("--encoding", "utf-16"),
        )

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("klingon", "Error: unknown encoding 'klingon' given to --encoding"),
            ("", "Error: unknown encoding '' given to --encoding"),
            (
                "rot13",
                "Error: 'rot13' given to --encoding is not a text encoding: give the one the "
                "file was saved in, e.g. utf-8, cp1252 or utf-16",
            ),
            (
                "base64",
                "Error: 'base64' given to --encoding is not a text encoding: give the one the "
                "file was saved in, e.g. utf-8, cp1252 or utf-16",
            ),
        ],
    )
    def test_unusable_encoding_names(self, sample: Campaign, name: str, message: str) -> None:
        mini(sample)
        for command in ("check", "export"):
            result = sample.run(command, "--encoding", name)
            assert (result.exit_code, result.output) == (1, message + "\n")
        assert listing(sample.root / "out") == []


class TestShape:
    """Field counts, header names, quoting, blank lines."""

    def test_too_many_fields(self, sample: Campaign) -> None:
        mini(sample)
        sample.write_recipients(f"{HEAD}\n{DANA}\n{ALEX},extra\n")
        assert_row_rejected(sample, 3, "has 10 fields but the header has 9 (an unquoted comma?)")

    def test_too_few_fields(self, sample: Campaign) -> None:
        mini(sample)
        sample.write_recipients(f"{HEAD}\n{DANA}\n{ALEX.rsplit(',', 2)[0]}\n")
        assert_row_rejected(sample, 3, "has 7 fields but the header has 9")

    def test_duplicate_header(self, sample: Campaign) -> None:
        mini(sample)
        sample.write_recipients(f"{HEAD},email\n{ALEX},bob@evil.example\n")
        assert_refused(
            sample, "recipients.csv:1: error: column 'email' appears twice: rename or remove one"
        )

    def test_header_names_with_stray_spaces(self, sample: Campaign) -> None:
        """A warning, and the columns are read by their trimmed names."""
        mini(sample)
        sample.write_recipients(f"{HEAD.replace('email,', ' email ,')}\n{ALEX}\n")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0
        assert result.output.splitlines() == [
            "recipients.csv:1: warning: column name ' email ' has surrounding spaces; "
            "read as 'email'",
            "Exported 1 letter (eml) to out",
        ]

    def test_invisible_character_in_a_header_name(self, sample: Campaign) -> None:
        mini(sample)
        head = HEAD.replace("note", "no\u200bte")
        sample.write_recipients(f"{head}\n{ALEX}\n")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        assert result.output.splitlines()[0] == (
            "letters/a.txt.j2:8: error: recipient.note: recipients.csv has no column 'note' "
            "(did you mean 'no\u200bte'?)"
        )
        assert (
            "recipients.csv:1: error: column 8's name 'no\\u200bte' contains an invisible "
            "formatting character (U+200B ZERO WIDTH SPACE): retype it" in result.output
        )
        assert listing(sample.root / "out") == []

    def test_unclosed_quote_is_not_merged_silently(self, sample: Campaign) -> None:
        """The quote opened on line 3 runs to the end: one error naming the lines it swallowed."""
        mini(sample)
        broken = ALEX.replace(",Alex,", ',"Alex,')
        sample.write_recipients(f"{HEAD}\n{DANA}\n{broken}\n{DANA.replace('dana', 'x')}\n")
        assert_row_rejected(
            sample,
            3,
            "unreadable record: a quoted field opened on line 3 is never closed (a '\"' is "
            "missing); lines 3-4 were read as this one record",
        )

    def test_stray_quotes_that_pair_up_across_rows(self, sample: Campaign) -> None:
        """Two stray quotes make two rows one record with the right field count: refused."""
        mini(sample)
        first = ALEX.replace(",Thank you.,", ',"Thank you.,')
        second = DANA.replace(",Thank you.,", ',Thank you.",')
        sample.write_recipients(f"{HEAD}\n{first}\n{second}\n")
        assert_refused(
            sample,
            "recipients.csv:2: error: unreadable record: a quoted field runs from line 2 to "
            "line 3 and holds 8 ',' characters: it looks like a '\"' is missing or stray, "
            "joining rows into one; check the quotes",
        )

    def test_field_over_128_kib(self, sample: Campaign) -> None:
        mini(sample)
        huge = ALEX.replace("Thank you.", "x" * (128 * 1024 + 1))
        sample.write_recipients(f"{HEAD}\n{DANA}\n{huge}\n{ALEX.replace('alex', 'al')}\n")
        assert_row_rejected(
            sample, 3, "unreadable record: a field is longer than 131072 characters"
        )

    def test_nul_byte(self, sample: Campaign) -> None:
        mini(sample)
        nul = ALEX.replace("Thank", "Th\x00ank")
        sample.write_recipients(f"{HEAD}\n{DANA}\n{nul}\n")
        assert_row_rejected(sample, 3, "column 'note' contains a control character (U+0000)")

    def test_excel_sep_line(self, sample: Campaign) -> None:
        mini(sample)
        text = "sep=;\r\n" + ";".join(HEADER) + "\r\n"
        text += "\r\n".join(r.replace(",", ";") for r in (ALEX, DANA)) + "\r\n"
        sample.write_recipients(text)
        assert exported(sample) == ["000001-rivera-alex.eml", "000002-whitfield-dana.eml"]

    def test_sep_line_with_an_impossible_separator(self, sample: Campaign) -> None:
        mini(sample)
        sample.write_recipients(f'sep="\n{HEAD}\n{ALEX}\n')
        assert_refused(
            sample,
            "recipients.csv:1: error: 'sep=\"' names a character that cannot separate columns",
        )

    @pytest.mark.parametrize("content", ["", "\n\n", "\ufeff", "   \r\n"])
    def test_empty_file(self, sample: Campaign, content: str) -> None:
        mini(sample)
        sample.write_recipients(content)
        assert_refused(
            sample,
            "recipients.csv:1: error: the file is empty: the first line must name the columns "
            "(email, audience, title, first_name, last_name)",
        )

    def test_header_only(self, sample: Campaign) -> None:
        mini(sample)
        sample.write_recipients(HEAD)
        result = sample.run("check")
        assert (result.exit_code, result.output) == (0, "0 recipients, 0 errors, 0 warnings\n")
        assert exported(sample) == []

    def test_blank_lines_are_skipped_and_lines_still_counted(self, sample: Campaign) -> None:
        mini(sample)
        bad = DANA.replace("dana@example.org", "dana@")
        sample.write_recipients(f"\n{HEAD}\n\n{ALEX}\n   \n\r\n{bad}\n\n")
        assert_row_rejected(
            sample,
            7,
            "column 'email' 'dana@' is not a valid address: There must be something after the "
            "@-sign.",
        )
        assert exported(sample, "--skip-invalid") == ["000001-rivera-alex.eml"]
