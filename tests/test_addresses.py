"""The cached address check gives email-validator's verdict and normalization, always."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.addresses import Checked, _full, check_address, duplicate_key

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-."
LABEL = st.text("abcxyz019-", min_size=0, max_size=70)


def verdict(check: object, address: str) -> Checked | str:
    try:
        return check(address, False)  # type: ignore[operator]
    except EmailNotValidError as exc:
        return f"invalid: {exc}"


@settings(max_examples=400, deadline=None)
@given(
    local=st.text(ATEXT, min_size=0, max_size=70),
    labels=st.lists(LABEL, min_size=1, max_size=4),
    tld=st.sampled_from(["org", "com", "test", "local", "example", "c0m", "xn--p1ai", "1"]),
)
def test_same_verdict_as_email_validator(local: str, labels: list[str], tld: str) -> None:
    address = f"{local}@{'.'.join([*labels, tld])}"
    assert verdict(check_address, address) == verdict(_full, address)


@pytest.mark.parametrize(
    "address",
    [
        "Alex.Rivera@SENATE.example.org",
        "a@xn--bcher-kva.example",
        "a@bücher.example",
        "a..b@example.org",
        "x" * 65 + "@example.org",
        "a@-example.org",
        "a@example.invalid",
    ],
)
def test_examples(address: str) -> None:
    assert verdict(check_address, address) == verdict(_full, address)


# Labels in scripts whose UTF-8 form is two to four times their punycode's length, so that the
# Unicode (normalized) form of an address can pass 254 octets while its ASCII form does not.
UNICODE_LABEL = st.text("äößçéñ一二三四五六七八九十中文ءاب𝔸ǅ", min_size=1, max_size=25)


def _xn(label: str) -> str | None:
    """The label's IDNA ASCII form ('xn--...'), or None when IDNA refuses it."""
    import idna

    try:
        return idna.encode(label, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


@settings(max_examples=400, deadline=None)
@given(
    local=st.text(ATEXT, min_size=1, max_size=70),
    labels=st.lists(UNICODE_LABEL, min_size=1, max_size=5),
    ascii_form=st.booleans(),
    tld=st.sampled_from(["org", "example", "xn--p1ai"]),
)
def test_idn_domains_same_verdict(
    local: str, labels: list[str], ascii_form: bool, tld: str
) -> None:
    """xn-- and Unicode domains, with local parts up to past the 64-octet limit."""
    parts = [_xn(label) if ascii_form else label for label in labels]
    if None in parts:
        return
    address = f"{local}@{'.'.join([*map(str, parts), tld])}"
    assert verdict(check_address, address) == verdict(_full, address)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["postmaster", "abuse", "info", "webmaster", "noc", "security", "www"]),
    flips=st.lists(st.booleans(), min_size=10, max_size=10),
    domain=st.sampled_from(["example.org", "EXAMPLE.org", "xn--bcher-kva.example"]),
)
def test_rfc2142_names_lowercased_as_the_library_does(
    name: str, flips: list[bool], domain: str
) -> None:
    local = "".join(c.upper() if flip else c for c, flip in zip(name, flips, strict=False))
    address = f"{local}@{domain}"
    assert check_address(address) == _full(address, False)
    assert check_address(address).ascii_email.startswith(f"{name}@")


def test_unicode_form_past_254_octets_is_refused() -> None:
    """ASCII form 248 octets, Unicode form 306: email-validator refuses it, and so do we."""
    label = _xn("一二三四五六七八九十" * 2)
    address = "a" * 64 + "@" + ".".join([str(label)] * 4) + ".org"
    assert len(address) == 248
    with pytest.raises(EmailNotValidError, match="too long after normalization"):
        check_address(address)


class TestDuplicateKey:
    """Two addresses are one mailbox when email-validator normalizes them alike."""

    @pytest.mark.parametrize(
        ("a", "b", "same"),
        [
            ("user@ß.example", "user@ss.example", False),
            ("user@faß.example", "user@fass.example", False),
            ("user@ß.example", "user@xn--zca.example", True),
            ("user@SS.example", "user@ss.example", True),
            ("User@example.org", "user@EXAMPLE.org", True),
            ("user@ＥＸＡＭＰＬＥ.org", "user@example.org", True),
            ("Postmaster@example.org", "POSTMASTER@example.org", True),
            ("a.b@example.org", "ab@example.org", False),
            ("a+x@example.org", "a@example.org", False),
        ],
    )
    def test_pairs(self, a: str, b: str, same: bool) -> None:
        key_a, key_b = duplicate_key(check_address(a)), duplicate_key(check_address(b))
        assert (key_a == key_b) is same
