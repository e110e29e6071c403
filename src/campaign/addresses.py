"""Email address validation: email-validator, with each domain validated once per run."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email

# A plain ASCII dot-atom local part and an ASCII domain: by far the most common shape. For it,
# the local part needs no more checks than this pattern and the length limits, and the domain's
# verdict (the costly IDNA and special-use checks) is the same for every address that uses it.
_SIMPLE = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


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
    if match is not None and len(match.group(1)) <= 64 and len(address) <= 254:
        domain = _domain(match.group(2), dns)
        if domain is not None:
            local = match.group(1)
            return Checked(f"{local}@{domain[0]}", f"{local}@{domain[1]}")
    return _full(address, dns)
