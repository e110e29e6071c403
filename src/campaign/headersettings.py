"""The settings that reach every message's headers (sender, reply-to, Message-ID domain):
checked where campaign.toml is read, and the ASCII forms a header needs."""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email

from campaign.errors import Problems
from campaign.safety import header_problem
from campaign.tomlfile import TomlFile

_HOSTNAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def header_settings(problems: Problems, toml: TomlFile, settings: dict[str, Any]) -> dict[str, str]:
    """Check the settings that go into every message's headers; their ASCII forms.

    An IDN domain is encoded (punycode) the way the recipients' domains are; a header can hold
    nothing else. A value that cannot be encoded is an error here, not a traceback later.
    """
    found: dict[str, str] = {}
    for name in ("sender_email", "reply_to"):
        value = settings.get(name)
        if not isinstance(value, str) or not value:
            continue
        line = toml.key_line(name, "campaign")
        if reason := header_problem(value):
            problems.error(toml.display, line, f"{name} {reason}")
            continue
        try:
            checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as exc:
            problems.error(toml.display, line, f"{name} {value!r} is not a valid address: {exc}")
            continue
        if not value.isascii():  # an ASCII address is kept exactly as written
            found[name] = checked.ascii_email or value
    domain = settings.get("message_id_domain")
    if isinstance(domain, str) and domain:
        line = toml.key_line("message_id_domain", "campaign")
        try:
            encoded = domain.encode("idna").decode("ascii")
        except UnicodeError:
            encoded = ""
        if not _HOSTNAME.match(encoded) or len(encoded) > 253:
            problems.error(
                toml.display,
                line,
                f"message_id_domain {domain!r} is not a domain name (letters, digits, hyphens "
                "and dots, e.g. coalition.example.org)",
            )
        else:
            found["message_id_domain"] = encoded
    return found
