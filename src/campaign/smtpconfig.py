"""The `[smtp]` table of letters/campaign.toml: which server `send` uses, and how hard it pushes.

The password is never a setting: it comes from an environment variable (named by
``password_env``) or a prompt, so it is neither in a file nor in the process's arguments.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from campaign.errors import CampaignInvalid, Problems
from campaign.tomlfile import TomlFile

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_PASSWORD_ENV = "CAMPAIGN_SMTP_PASSWORD"
_STRINGS = ("host", "security", "username", "password_env", "bounce_address", "cafile")
_NUMBERS = {
    "port": (1, 65535),
    "rate": (0, 1_000_000),
    "connections": (1, 64),
    "retries": (0, 100),
}
_FLOATS = {"timeout": (0.01, 3600.0), "retry_delay": (0.0, 3600.0)}
KNOWN = (*_STRINGS, *_NUMBERS, *_FLOATS)
_ADDRESS = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.-]+")


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 0  # 0: the usual port for ``security``
    security: str = "starttls"
    username: str = ""
    password_env: str = DEFAULT_PASSWORD_ENV
    bounce_address: str = ""
    cafile: str = ""
    rate: int = 0  # letters per minute, 0 for no limit
    connections: int = 1
    retries: int = 3  # further attempts within a run for a deferred letter
    retry_delay: float = 5.0  # seconds before the first retry; doubles each time
    timeout: float = 60.0
    sender: str = ""  # [campaign] sender_email

    @property
    def envelope_sender(self) -> str:
        return self.bounce_address or self.sender

    @property
    def real_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def loopback(self) -> bool:
        if self.host.lower() in ("localhost", "localhost."):
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    def with_options(self, **options: Any) -> SmtpConfig:
        """The settings with every option that was given (not None) put over them."""
        given = {k: v for k, v in options.items() if v is not None}
        return replace(self, **given)

    def password_from_env(self) -> str | None:
        return os.environ.get(self.password_env) or None

    def problems(self) -> list[str]:
        """What stops a connection with these settings (after the options are applied)."""
        found: list[str] = []
        if not self.host:
            found.append("no SMTP server: set host in the [smtp] table or pass --host")
        if self.security not in SECURITY:
            found.append(f"security must be one of {', '.join(SECURITY)}, not {self.security!r}")
        elif self.username and self.security == "none" and not self.loopback:
            found.append(
                f"refusing to send the password to {self.host} without TLS: set security to "
                "starttls or ssl (only a loopback server may be used without TLS)"
            )
        if not self.envelope_sender:
            found.append("no envelope sender: [campaign] sender_email or [smtp] bounce_address")
        elif not _ADDRESS.fullmatch(self.envelope_sender):
            found.append(
                f"the envelope sender {self.envelope_sender!r} is not a plain ASCII address"
            )
        return found


def load_smtp(campaign_dir: Path, display_dir: str) -> SmtpConfig:
    """Read ``[smtp]`` (and the sender) from letters/campaign.toml; every problem at its line."""
    shown = f"{display_dir}/letters" if display_dir not in ("", ".") else "letters"
    settings = TomlFile(campaign_dir / "letters" / "campaign.toml", f"{shown}/campaign.toml")
    problems = Problems()
    table = settings.data.get("smtp", {})
    campaign = settings.data.get("campaign", {})
    sender = campaign.get("sender_email", "") if isinstance(campaign, dict) else ""
    values: dict[str, Any] = {"sender": sender if isinstance(sender, str) else ""}
    if not isinstance(table, dict):
        problems.error(settings.display, settings.key_line("smtp"), "smtp must be a [smtp] table")
        raise CampaignInvalid(problems)
    for key, value in table.items():
        line = settings.key_line(key, "smtp")
        if key in _STRINGS:
            if not isinstance(value, str):
                problems.error(settings.display, line, f"[smtp] {key} must be a string")
                continue
            if key == "password_env" and not value.isidentifier():
                problems.error(
                    settings.display, line, "[smtp] password_env names an environment variable"
                )
                continue
            values[key] = value
        elif key in _NUMBERS or key in _FLOATS:
            low, high = _NUMBERS.get(key) or _FLOATS[key]
            number_ok = isinstance(value, int | float) and not isinstance(value, bool)
            if key in _NUMBERS and not isinstance(value, int):
                number_ok = False
            if not number_ok or not low <= value <= high:
                kind = "a whole number" if key in _NUMBERS else "a number"
                problems.error(
                    settings.display, line, f"[smtp] {key} must be {kind} from {low} to {high}"
                )
                continue
            values[key] = value
        elif key == "password":
            problems.error(
                settings.display,
                line,
                "[smtp] password must not be in a file: remove it and set the environment "
                f"variable {table.get('password_env', DEFAULT_PASSWORD_ENV)} instead "
                "(or type it when asked)",
            )
        else:
            problems.error(
                settings.display,
                line,
                f"[smtp] unknown setting '{key}' (known: {', '.join(sorted(KNOWN))})",
            )
    if problems:
        raise CampaignInvalid(problems)
    return SmtpConfig(**values)
