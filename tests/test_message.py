"""The fast message builder against the standard library's EmailMessage, as the reference."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from campaign.message import InternalError, build, make_envelope, message_id, verify
from campaign.safety import display_name_problem, header_problem

NOW = format_datetime(datetime(2026, 11, 27, 14, 0, tzinfo=UTC))
ENVELOPE = make_envelope(
    "Coalition for Fair Enforcement",
    "letters@coalition.example.org",
    "organizers@coalition.example.org",
    NOW,
    "coalition.example.org",
    "seed",
)


def reference(name: str, email: str, subject: str, text: str, html: str | None, key: str) -> bytes:
    message = EmailMessage()
    message["From"] = Address(
        "Coalition for Fair Enforcement", addr_spec="letters@coalition.example.org"
    )
    message["To"] = Address(name, addr_spec=email)
    message["Reply-To"] = "organizers@coalition.example.org"
    message["Subject"] = subject
    message["Date"] = NOW
    message["Message-ID"] = message_id(ENVELOPE, key)
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message.as_bytes()


def parsed(data: bytes) -> dict[str, object]:
    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "headers": {
            name: str(message[name])
            for name in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")
        },
        "to": [(a.display_name, a.addr_spec) for a in message["To"].addresses],
        "type": message.get_content_type(),
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
        "defects": [type(d).__name__ for d in message.defects],
    }


def ours(name: str, email: str, subject: str, text: str, html: str | None, key: str) -> bytes:
    return build(ENVELOPE, name, email, subject, text, html, key)


CASES = [
    ("Alex J. Rivera", "alex@example.org", "287(g) oversight", "Dear Senator Rivera:\n", None),
    ("Inés Núñez", "ines@example.org", "Señora Núñez, 287(g)", "Estimada Señora Núñez:\n", None),
    ("O'Brien, Pat", "pat@example.org", "A subject " * 12, "x" * 300 + "\n=3D\n", "<p>Hi</p>"),
    ("Zoë", "zoe@xn--bcher-kva.example", "Ünïcödé " * 10, "line \n\ttab\n", "<b>&amp;</b>"),
]


class TestEquivalence:
    """The fast path parses back exactly as a message built with EmailMessage."""

    @pytest.mark.parametrize(("name", "email", "subject", "text", "html"), CASES)
    def test_cases(self, name: str, email: str, subject: str, text: str, html: str | None) -> None:
        assert parsed(ours(name, email, subject, text, html, email)) == parsed(
            reference(name, email, subject, text, html, email)
        )

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        name=st.text(min_size=1, max_size=60).filter(
            # As the pipeline passes names: no run of spaces (mail readers collapse them).
            lambda s: (
                header_problem(s) is None
                and display_name_problem(s.strip()) is None
                and "  " not in s
            )
        ),
        subject=st.text(min_size=1, max_size=200).filter(
            lambda s: header_problem(s) is None and s.strip() == s and "  " not in s
        ),
        text=st.text(max_size=400).map(lambda s: s + "\n"),
        html=st.one_of(st.none(), st.text(max_size=100).map(lambda s: s + "\n")),
    )
    def test_fuzzed(self, name: str, subject: str, text: str, html: str | None) -> None:
        """Ours always round-trips; where EmailMessage also does, both parse identically.

        (EmailMessage's own folding can change a long non-ASCII name: it then differs from
        the intent, and only the intent is asserted.)
        """
        name = name.strip() or "x"
        email = "someone@example.org"
        mine = parsed(ours(name, email, subject, text, html, email))
        assert mine["to"] == [(name, email)]
        assert mine["headers"]["Subject"] == subject  # type: ignore[index]

        def lines(value: str) -> str:  # line breaks as mail readers read them
            return value.replace("\r\n", "\n").replace("\r", "\n")

        assert mine["text"] == lines(text)
        assert mine["html"] == (lines(html) if html is not None else None)
        assert mine["defects"] == []
        theirs = parsed(reference(name, email, subject, text, html, email))
        if theirs["to"] == [(name, email)] and theirs["headers"]["Subject"] == subject:  # type: ignore[index]
            assert mine == theirs


class TestVerify:
    """The parse-back guard stops a message whose headers differ from the intent."""

    def test_injected_header_is_caught(self) -> None:
        head = (
            b"From: a@example.org\nTo: b@example.org\nBcc: evil@example.org\nSubject: s\n"
            b"Date: d\nMessage-ID: <m@x>\nMIME-Version: 1.0\nContent-Type: text/plain\n"
            b"Content-Transfer-Encoding: 7bit\n\n"
        )
        with pytest.raises(InternalError, match="Bcc"):
            verify(head, "b@example.org", reply_to=False)

    def test_second_recipient_is_caught(self) -> None:
        head = (
            b"From: a@example.org\nTo: b@example.org, c@example.org\nSubject: s\n"
            b"Date: d\nMessage-ID: <m@x>\nMIME-Version: 1.0\nContent-Type: text/plain\n"
            b"Content-Transfer-Encoding: 7bit\n\n"
        )
        with pytest.raises(InternalError, match="expected one"):
            verify(head, "b@example.org", reply_to=False)


class TestEncodings:
    """The per-line quoted-printable cache and hand folding change no byte of meaning."""

    @settings(max_examples=300, deadline=None)
    @given(
        st.text(
            alphabet=st.sampled_from("ab =\t\r\nü€.") | st.characters(exclude_categories=["Cs"]),
            max_size=300,
        )
    )
    @example("From here on\n" + "x" * 75 + "From the start\nFrom\n>From a\n")
    @example(".\n. \n..\n" + "a" * 76 + "\n" + "b" * 77 + "\na=b\n~!\n\n" + "c " * 38)
    def test_qp_decodes_to_the_text(self, text: str) -> None:
        """Line by line, the encoding decodes to the text and keeps lines within 76 columns."""
        import binascii

        from campaign.message import _qp

        whole = text.replace("\r\n", "\n").replace("\r", "\n")
        if not whole.endswith("\n"):
            whole += "\n"
        encoded = _qp(text)
        assert b"\r" not in encoded
        assert binascii.a2b_qp(encoded) == whole.encode("utf-8")
        assert all(len(line) <= 76 for line in encoded.split(b"\n"))
        assert _qp(text) == encoded
        lines = whole.split("\n")[:-1]
        expected = [binascii.b2a_qp(x.encode(), quotetabs=False, istext=True) for x in lines]
        # Byte for byte what b2a_qp() gives, but for the first character of a line starting
        # "From " after any number of ">": encoded, so that no mbox reader quotes the line.
        expected = [
            re.sub(rb"(?m)^(?=>*From )(.)", lambda m: b"=%02X" % m.group(1)[0], x) for x in expected
        ]
        assert not any(re.match(rb">*From ", x) for x in encoded.split(b"\n"))
        assert encoded == b"\n".join([*expected, b""])

    @settings(max_examples=300, deadline=None)
    @given(
        st.text(
            alphabet=st.sampled_from("aé€😀 _=?!*+-/()<>,:;'\"") | st.characters(codec="utf-8"),
            min_size=1,
            max_size=300,
        ).filter(lambda s: not s.isascii() and header_problem(s) is None)
    )
    def test_non_ascii_subject_parses_back(self, subject: str) -> None:
        """The hand-made encoded-words: whole characters, at most 75 columns, lines of 78."""
        data = ours("A", "a@example.org", subject, "x\n", None, "k")
        assert parsed(data)["headers"]["Subject"] == subject  # type: ignore[index]
        head = data.split(b"\n\n", 1)[0].decode("ascii")
        field = head[head.index("\nSubject: ") + 1 : head.index("\nDate: ")]
        assert all(len(line) <= 78 for line in field.split("\n"))
        words = field.removeprefix("Subject: ").split("\n ")
        assert all(len(word) <= 75 and word.startswith("=?utf-8?q?") for word in words)

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet=st.sampled_from("abc ()<>,:;'\"-"), min_size=79, max_size=300))
    def test_folded_subject_parses_back(self, subject: str) -> None:
        subject = " ".join(subject.split())
        if header_problem(subject) is not None or not subject:
            return
        data = ours("A", "a@example.org", subject, "x\n", None, "k")
        assert parsed(data)["headers"]["Subject"] == subject  # type: ignore[index]
        head = data.split(b"\n\n", 1)[0]
        for line in head.split(b"\n"):
            assert len(line) <= 78 or b" " not in line.split(b": ", 1)[-1].strip()
