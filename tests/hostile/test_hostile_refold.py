"""Hostile input: no re-fold of an exported message (smtplib.send_message) changes To or From.

Each exported message is parsed and re-serialised with every header re-folded, under the SMTP
and default policies and the way smtplib.send_message writes it, then parsed again: the To
address and name, the From name and the Reply-To must come back exactly.
"""

from __future__ import annotations

import shutil
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

import pytest
from conftest import DATE, Campaign
from hostile_kit import OTHER, mini, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

POLICIES = {
    "SMTP": policy.SMTP,
    "default": policy.default,
    "SMTP-998": policy.SMTP.clone(max_line_length=998),
    "unlimited": policy.default.clone(max_line_length=None),
}


def _mailboxes(message: EmailMessage) -> dict[str, list[tuple[str, str]]]:
    found = {}
    for field in ("To", "From", "Reply-To"):
        header = message[field]
        if header is not None:
            found[field] = [(a.display_name, a.addr_spec) for a in header.addresses]
    return found


def resent_forms(data: bytes) -> dict[str, bytes]:
    """The message as each re-sender would write it, every header re-folded."""
    forms = {}
    for label, chosen in POLICIES.items():
        refold = chosen.clone(refold_source="all")
        forms[label] = message_from_bytes(data, policy=refold).as_bytes(policy=refold)
    # What smtplib.send_message does: a BytesGenerator with the message's policy, CRLF.
    parsed = message_from_bytes(data, policy=policy.default.clone(refold_source="all"))
    buffer = BytesIO()
    BytesGenerator(buffer, policy=parsed.policy.clone(linesep="\r\n")).flatten(parsed)
    forms["smtplib"] = buffer.getvalue()
    forms["as_bytes(SMTP)"] = parsed.as_bytes(policy=policy.SMTP)
    return forms


def assert_survives(data: bytes) -> dict[str, list[tuple[str, str]]]:
    original = _mailboxes(message_from_bytes(data, policy=policy.default))  # type: ignore[arg-type]
    assert len(original["To"]) == 1
    for label, form in resent_forms(data).items():
        again = message_from_bytes(form, policy=policy.default)
        assert _mailboxes(again) == original, label  # type: ignore[arg-type]
    return original


def exported(campaign: Campaign, *args: str) -> list[Path]:
    shutil.rmtree(campaign.root / "out", ignore_errors=True)
    result = campaign.run("export", "--date", DATE, *args)
    assert result.exit_code == 0, result.output
    return sorted((campaign.root / "out").glob("*.eml"))


class TestSample:
    def test_every_sample_message(self, sample: Campaign) -> None:
        paths = exported(sample)
        assert len(paths) == 12
        for path in paths:
            assert_survives(path.read_bytes())


ACCEPTED = [
    'Jesús G. "Chuy" García',
    "Nydia M. Velázquez",
    "Linda T. Sánchez",
    "J. Pérez",
    "José [x] Pérez",
    "Pé.rez",
    "Zoë",
    "O'Brien Núñez",
    "Ñ a.b",
]
REFUSED = [
    "Élan (Staff)",
    "Pérez (ret.)",
    "Zoë \\ a",
    'Zoë "a b',
    'Ana "Chu y" Pé',
    "Ñ a]b",
    "Ñ [a",
    'Ñ "a"b',
]


class TestHostileNames:
    @pytest.mark.parametrize("name", ACCEPTED)
    def test_accepted_names_survive(self, sample: Campaign, name: str) -> None:
        mini(sample, [row(full_name=name)])
        [path] = exported(sample)
        mailboxes = assert_survives(path.read_bytes())
        assert mailboxes["To"] == [(name, "alex@example.org")]

    @pytest.mark.parametrize("name", REFUSED)
    def test_names_a_refold_changes_are_refused(self, sample: Campaign, name: str) -> None:
        mini(sample, [OTHER, row(full_name=name)])
        result = sample.run("check")
        assert result.exit_code == 1
        assert f"recipients.csv:3: error: the name {name!r} mixes non-ASCII letters with" in (
            result.output
        )
        assert "does not survive re-sending" in result.output
        for path in exported(sample, "--skip-invalid"):
            assert_survives(path.read_bytes())

    @pytest.mark.parametrize("name", ["Coalición (Norte)", 'Coalición "Norte'])
    def test_sender_name_refused(self, sample: Campaign, name: str) -> None:
        mini(sample)
        path = sample.letters / "campaign.toml"
        text = path.read_text(encoding="utf-8").replace(
            'sender_name = "Sender"', f"sender_name = {name!r}"
        )
        path.write_text(text, encoding="utf-8")  # a TOML literal string, in single quotes
        result = sample.run("check")
        assert result.exit_code == 1
        assert "letters/campaign.toml:3: error: sender_name mixes non-ASCII" in result.output

    def test_sender_name_accepted_survives(self, sample: Campaign) -> None:
        mini(sample)
        path = sample.letters / "campaign.toml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"Sender"', '"Coalición M. Núñez"'), encoding="utf-8")
        paths = exported(sample)
        for item in paths:
            assert assert_survives(item.read_bytes())["From"][0][0] == "Coalición M. Núñez"


NAME_CHARS = st.sampled_from(list("aZéñÜ中ß ().[]\"\\'-_"))


class TestGeneratedNames:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        names=st.lists(
            st.lists(NAME_CHARS, min_size=1, max_size=70).map("".join), min_size=1, max_size=4
        )
    )
    def test_every_exported_message_survives(self, sample: Campaign, names: list[str]) -> None:
        rows = [
            row(email=f"r{i}@example.org", full_name=name, last_name=f"Last{i}")
            for i, name in enumerate(names)
        ]
        mini(sample, rows)
        for path in exported(sample, "--skip-invalid"):
            assert_survives(path.read_bytes())


class TestRefoldShape:
    """The re-fold check decides a shape of name once: the shape decides as the name would."""

    @settings(max_examples=150, deadline=None)
    @given(
        st.text(
            alphabet=st.sampled_from(list("aZ9 .()[]\"\\éñ€中😀-'")), min_size=1, max_size=90
        ).filter(lambda s: not s.isascii() and s.strip() == s and "  " not in s)
    )
    def test_shape_decides_as_the_name(self, name: str) -> None:
        from campaign.safety import _shape, _survives_refold

        assert _survives_refold.__wrapped__(_shape(name)) == _survives_refold.__wrapped__(name)
