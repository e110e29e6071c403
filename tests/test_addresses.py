"""The cached address check gives email-validator's verdict and normalization, always."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.addresses import Checked, _full, check_address

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
