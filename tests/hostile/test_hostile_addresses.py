"""Hostile input, 2: the email column holds one plain address, and every message has one To."""

from __future__ import annotations

import pytest
from conftest import DATE, Campaign, listing, parse
from hostile_kit import OTHER, assert_row_rejected, mini, row

INVALID = "is not a valid address:"
SPECIAL = (
    "The part after the @-sign is a special-use or reserved name that cannot be used with email."
)


class TestOneAddressOnly:
    """Anything that could name a second mailbox, or hide one, is refused on its line."""

    @pytest.mark.parametrize(
        ("email", "reason"),
        [
            (
                "alex@example.org,bob@evil.example",
                "The part after the @-sign contains invalid characters: ',', '@'.",
            ),
            (
                "alex@example.org;bob@evil.example",
                "The part after the @-sign contains invalid characters: ';', '@'.",
            ),
            (
                "<alex@example.org>",
                "A display name and angle brackets around the email address are not "
                "permitted here.",
            ),
            (
                "Alex <alex@example.org>",
                "A display name and angle brackets around the email address are not "
                "permitted here.",
            ),
            (
                '"Bob" <bob@evil.example>',
                "A display name and angle brackets around the email address are not "
                "permitted here.",
            ),
            (
                "alice@example.org)<bob@example.org>",
                "The part after the @-sign contains invalid characters: ')', '<', '>', '@'.",
            ),
            (
                "alice@example.org (Alice)",
                "The part after the @-sign contains invalid characters: '(', ')', SPACE.",
            ),
            ("a@b@example.org", "The part after the @-sign contains invalid characters: '@'."),
            ('"a b"@example.org', "Quoting the part before the @-sign is not allowed here."),
            ("alex@[127.0.0.1]", "A bracketed IP address after the @-sign is not allowed here."),
        ],
    )
    def test_refused(self, sample: Campaign, email: str, reason: str) -> None:
        mini(sample, [OTHER, row(email=email)])
        assert_row_rejected(sample, 3, f"column 'email' {email!r} {INVALID} {reason}")

    @pytest.mark.parametrize(
        ("char", "described"),
        [
            ("\u200b", "an invisible formatting character (U+200B ZERO WIDTH SPACE)"),
            ("\u2060", "an invisible formatting character (U+2060 WORD JOINER)"),
            ("\u202e", "an invisible formatting character (U+202E RIGHT-TO-LEFT OVERRIDE)"),
            ("\u2066", "an invisible formatting character (U+2066 LEFT-TO-RIGHT ISOLATE)"),
            ("\u00ad", "an invisible formatting character (U+00AD SOFT HYPHEN)"),
            ("\u00a0", "a special space (U+00A0 NO-BREAK SPACE): use a plain space"),
        ],
    )
    def test_invisible_and_bidi_characters(
        self, sample: Campaign, char: str, described: str
    ) -> None:
        mini(sample, [OTHER, row(email=f"alex{char}@example.org")])
        assert_row_rejected(sample, 3, f"column 'email' contains {described}")

    @pytest.mark.parametrize(
        "email",
        [
            "alex@example.test",
            "alex@printer.local",
            "alex@example.invalid",
            "alex@hidden.onion",
            "alex@home.arpa",
        ],
    )
    def test_special_use_domains(self, sample: Campaign, email: str) -> None:
        mini(sample, [OTHER, row(email=email)])
        assert_row_rejected(sample, 3, f"column 'email' {email!r} {INVALID} {SPECIAL}")

    def test_non_ascii_local_part_needs_smtputf8(self, sample: Campaign) -> None:
        mini(sample, [OTHER, row(email="zoë@example.org")])
        assert_row_rejected(
            sample,
            3,
            "column 'email' 'zoë@example.org' is not a valid address: Internationalized "
            "characters before the @-sign are not supported: 'ë'.",
        )

    def test_display_name_that_looks_like_an_address(self, sample: Campaign) -> None:
        """A name holding '<bob@evil.example>' stays a name: still one recipient."""
        mini(sample, [row(full_name='Mallory "Bob" <bob@evil.example>, carol@evil.example')])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        message = parse((sample.root / "out" / "000001-rivera-alex.eml").read_bytes())
        [to] = message["To"].addresses
        assert to.addr_spec == "alex@example.org"
        assert to.display_name == 'Mallory "Bob" <bob@evil.example>, carol@evil.example'
        assert message.get_all("Cc") is None and message.get_all("Bcc") is None


class TestInternationalDomains:
    """IDN domains are accepted and go into To as punycode."""

    @pytest.mark.parametrize(
        ("email", "ascii"),
        [
            ("alex@münchen.example", "alex@xn--mnchen-3ya.example"),
            ("alex@xn--mnchen-3ya.example", "alex@xn--mnchen-3ya.example"),
            ("alex@bücher.example.org", "alex@xn--bcher-kva.example.org"),
        ],
    )
    def test_punycoded_in_to(self, sample: Campaign, email: str, ascii: str) -> None:
        mini(sample, [row(email=email)])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        data = (sample.root / "out" / "000001-rivera-alex.eml").read_bytes()
        assert data.isascii()
        assert f"To: Alex Rivera <{ascii}>\n".encode() in data
        [to] = parse(data)["To"].addresses
        assert to.addr_spec == ascii

    def test_invalid_a_label(self, sample: Campaign) -> None:
        mini(sample, [OTHER, row(email="alex@xn--zz.example")])
        assert_row_rejected(
            sample,
            3,
            "column 'email' 'alex@xn--zz.example' is not a valid address: The part after the "
            "@-sign is not valid IDNA (Invalid A-label).",
        )


class TestDuplicates:
    """One person, one letter: variants of an address are duplicates of its first line."""

    @pytest.mark.parametrize(
        "variant",
        [
            "ALEX@EXAMPLE.ORG",
            "Alex@Example.Org",
            "alex@ｅｘａｍｐｌｅ.org",  # full-width letters: the same domain after normalization
        ],
    )
    def test_case_and_normalization(self, sample: Campaign, variant: str) -> None:
        mini(sample, [row(), row(email=variant, first_name="Twin")])
        assert_row_rejected(
            sample, 3, f"column 'email' {variant!r} duplicates the address on line 2"
        )

    def test_unicode_and_punycode_spellings_of_one_domain(self, sample: Campaign) -> None:
        mini(
            sample,
            [row(email="alex@münchen.example"), row(email="alex@xn--mnchen-3ya.example")],
        )
        assert_row_rejected(
            sample,
            3,
            "column 'email' 'alex@xn--mnchen-3ya.example' duplicates the address on line 2",
        )

    def test_every_message_has_exactly_one_recipient(self, sample: Campaign) -> None:
        mini(sample, [row(), OTHER])
        assert sample.run("export", "--date", DATE).exit_code == 0
        out = sample.root / "out"
        for name in listing(out):
            if name.endswith(".eml"):
                message = parse((out / name).read_bytes())
                assert len(message["To"].addresses) == 1
                assert message.get_all("To") and len(message.get_all("To")) == 1
                for header in ("Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"):
                    assert message.get_all(header) is None
