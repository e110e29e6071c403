"""Email address validation: email-validator, with each domain validated once per run."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    CASE_INSENSITIVE_MAILBOX_NAMES,
    EMAIL_MAX_LENGTH,
    LOCAL_PART_MAX_LENGTH,
)

# A plain ASCII dot-atom local part and an ASCII domain: by far the most common shape. For it,
# the local part needs no more checks than this pattern and the length limits, and the domain's
# verdict (the costly IDNA and special-use checks) is the same for every address that uses it.
_SIMPLE = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


_MAILBOX_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


class Checked(NamedTuple):  # a tuple: made once per recipient, it must be cheap
    ascii_email: str
    normalized: str


def _full(address: str, dns: bool) -> Checked:
    result = validate_email(
        address, check_deliverability=dns, allow_smtputf8=False, allow_display_name=False
    )
    return Checked(result.ascii_email or result.normalized, result.normalized)


@lru_cache(maxsize=8192)
def _domain(domain: str, dns: bool) -> tuple[str, str] | None:
    """The domain as ASCII and as normalized, or None when email-validator rejects it."""
    try:
        checked = _full(f"x@{domain}", dns)
    except EmailNotValidError:
        return None
    return checked.ascii_email.partition("@")[2], checked.normalized.partition("@")[2]


def check_address(address: str, dns: bool = False) -> Checked:
    """Validate one address as email-validator does; raise EmailNotValidError with its reason."""
    match = _SIMPLE.fullmatch(address)
    if match is not None and len(match.group(1)) <= LOCAL_PART_MAX_LENGTH:
        domain = _domain(match.group(2), dns)
        if domain is not None:
            local = match.group(1)
            if local.lower() in _MAILBOX_NAMES:
                local = local.lower()  # RFC 2142 names are case-insensitive: the library's form
            ascii_email = f"{local}@{domain[0]}"
            if domain[0] == domain[1]:  # an ASCII domain: one form, as long as the address
                if len(address) <= EMAIL_MAX_LENGTH:
                    return Checked(ascii_email, ascii_email)
            else:
                # The library's length rule: the address as given, as normalized (an IDN
                # domain in Unicode, counted in UTF-8 bytes) and in ASCII, each at most 254
                # octets. Anything longer is left to the library, for its verdict and words.
                normalized = f"{local}@{domain[1]}"
                longest = max(len(address), len(ascii_email), len(normalized.encode()))
                if longest <= EMAIL_MAX_LENGTH:
                    return Checked(ascii_email, normalized)
    return _full(address, dns)


def duplicate_key(checked: Checked) -> str:
    """What two addresses share when they reach the same mailbox, as far as a list can tell.

    The domain as email-validator normalized it, in its ASCII (IDNA 2008, UTS 46
    non-transitional) form, so ``ß.example`` and ``ss.example`` stay different domains; the
    local part (always ASCII here) without case, as mailbox providers treat it in practice.
    """
    local, _, domain = checked.ascii_email.rpartition("@")
    return f"{local.lower()}@{domain}"
