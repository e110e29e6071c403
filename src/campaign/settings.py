"""The campaign folder's data: settings, audiences, report citations and attributed quotes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaign.errors import CampaignInvalid, Problems
from campaign.headersettings import header_settings
from campaign.safety import invisible_problem
from campaign.tomlfile import TomlFile
from campaign.weburls import check_url, settings_links

SETTINGS_FILE = "campaign.toml"
CITATIONS_FILE = "citations.toml"
QUOTES_FILE = "quotes.toml"

CITATION_FIELDS = ("publisher", "title", "number", "date", "url")
CITATION_OPTIONAL = ("page", "excerpt")
QUOTE_FIELDS = (
    "speaker",
    "title",
    "organization",
    "text",
    "source_title",
    "source_date",
)
QUOTE_OPTIONAL = ("source_url", "source_file")
AUDIENCE_FIELDS = ("template", "subject")
AUDIENCE_OPTIONAL = ("html_template",)
CAMPAIGN_REQUIRED = ("name", "sender_name", "sender_email")
CAMPAIGN_OPTIONAL = ("id", "reply_to", "message_id_domain")


@dataclass(frozen=True)
class Audience:
    name: str
    template: str
    subject: str
    html_template: str | None
    line: int
    subject_line: int


@dataclass(frozen=True)
class Citation:
    key: str
    publisher: str
    title: str
    number: str
    date: str
    url: str
    page: str | None
    excerpt: str | None
    line: int


@dataclass(frozen=True)
class Quote:
    key: str
    speaker: str
    title: str
    organization: str
    text: str
    source_title: str
    source_date: str
    source_url: str | None
    source_file: str | None
    line: int
    text_line: int = 0  # the line of its text key, where a misquote is reported

    @property
    def attribution(self) -> str:
        return f"{self.speaker}, {self.title}, {self.organization}"


@dataclass
class Campaign:
    """Everything in ``letters/`` except the templates' text."""

    letters: Path
    display: str
    settings: dict[str, Any]
    audiences: dict[str, Audience]
    citations: dict[str, Citation]
    quotes: dict[str, Quote]
    settings_file: TomlFile
    citations_display: str
    quotes_display: str
    warnings: Problems = field(default_factory=Problems)
    # sender_email, reply_to and message_id_domain as they go into headers: IDN domains in
    # their ASCII (punycode) form, which is all a header may hold.
    ascii: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.settings["name"])

    @property
    def ident(self) -> str:
        """A stable identifier used in Message-IDs."""
        given = self.settings.get("id")
        if given:
            return str(given)
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "campaign"

    @property
    def sender_email(self) -> str:
        return self.ascii.get("sender_email") or str(self.settings["sender_email"])

    @property
    def sender_name(self) -> str:
        return str(self.settings["sender_name"])

    @property
    def reply_to(self) -> str | None:
        value = self.ascii.get("reply_to") or self.settings.get("reply_to")
        return str(value) if value else None

    @property
    def message_id_domain(self) -> str:
        given = self.ascii.get("message_id_domain") or self.settings.get("message_id_domain")
        if given:
            return str(given)
        return self.sender_email.rpartition("@")[2] or "localhost"


def _text_fields(
    problems: Problems,
    toml: TomlFile,
    table: dict[str, Any],
    where: tuple[str, ...],
    required: tuple[str, ...],
    optional: tuple[str, ...],
    what: str,
) -> dict[str, str | None] | None:
    """Pull one table's string fields, reporting missing, empty, unknown or wrong-typed ones."""
    line = toml.table_line(*where)
    values: dict[str, str | None] = {}
    ok = True
    for name in required:
        value = table.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.error(toml.display, line, f"{what} is missing required field '{name}'")
            ok = False
        elif not isinstance(value, str):
            problems.error(
                toml.display, toml.key_line(name, *where), f"{what}: '{name}' must be a string"
            )
            ok = False
        else:
            values[name] = value
    for name in optional:
        value = table.get(name)
        if value is not None and (not isinstance(value, str | int) or isinstance(value, bool)):
            problems.error(
                toml.display, toml.key_line(name, *where), f"{what}: '{name}' must be a string"
            )
            ok = False
        values[name] = str(value) if value is not None else None
    for name in table:
        if name not in required and name not in optional:
            known = ", ".join(required + optional)
            problems.error(
                toml.display,
                toml.key_line(name, *where),
                f"{what}: unknown field '{name}' (known fields: {known})",
            )
            ok = False
    return values if ok else None


def load_campaign(campaign_dir: Path, display_dir: str) -> Campaign:
    """Read ``letters/`` under ``campaign_dir``; raise CampaignInvalid listing every problem."""
    letters = campaign_dir / "letters"
    shown = f"{display_dir}/letters" if display_dir not in ("", ".") else "letters"
    problems = Problems()
    if not campaign_dir.is_dir():
        problems.error(
            display_dir or ".",
            0,
            "campaign folder not found: pass --campaign DIR, the folder "
            "that holds letters/ and recipients.csv",
        )
        raise CampaignInvalid(problems)
    if not letters.is_dir():
        problems.error(
            shown, 0, "campaign folder has no letters/ directory (pass --campaign DIR to pick one)"
        )
        raise CampaignInvalid(problems)

    settings_toml = TomlFile(letters / SETTINGS_FILE, f"{shown}/{SETTINGS_FILE}")
    settings = settings_toml.data.get("campaign")
    if not isinstance(settings, dict):
        problems.error(settings_toml.display, 1, "missing [campaign] table")
        settings = {}
    for name in (*CAMPAIGN_REQUIRED, *CAMPAIGN_OPTIONAL):
        value = settings.get(name)
        if value is not None and not isinstance(value, str):
            problems.error(
                settings_toml.display,
                settings_toml.key_line(name, "campaign"),
                f"[campaign] setting '{name}' must be a string",
            )
        elif name in CAMPAIGN_REQUIRED and (value is None or not value.strip()):
            problems.error(
                settings_toml.display,
                settings_toml.table_line("campaign") or 1,
                f"[campaign] is missing required setting '{name}'",
            )
    ascii_forms = header_settings(problems, settings_toml, settings)
    settings_links(problems, settings_toml, settings)

    audiences: dict[str, Audience] = {}
    raw_audiences = settings_toml.data.get("audiences")
    if not isinstance(raw_audiences, dict) or not raw_audiences:
        problems.error(
            settings_toml.display,
            1,
            "no audiences defined: add an [audiences.NAME] table with 'template' and 'subject'",
        )
        raw_audiences = {}
    for name, table in raw_audiences.items():
        where = ("audiences", name)
        if not isinstance(table, dict):
            problems.error(
                settings_toml.display,
                settings_toml.key_line(name, "audiences"),
                f"audiences.{name} must be a table: [audiences.{name}]",
            )
            continue
        if reason := invisible_problem(name):
            problems.error(
                settings_toml.display,
                settings_toml.table_line(*where) or 1,
                f"audience name {name!r} {reason}",
            )
            continue
        fields = _text_fields(
            problems,
            settings_toml,
            table,
            where,
            AUDIENCE_FIELDS,
            AUDIENCE_OPTIONAL,
            f"audience '{name}'",
        )
        if fields is None:
            continue
        audiences[name] = Audience(
            name=name,
            template=str(fields["template"]),
            subject=str(fields["subject"]),
            html_template=fields["html_template"],
            line=settings_toml.table_line(*where),
            subject_line=settings_toml.key_line("subject", *where),
        )

    citations: dict[str, Citation] = {}
    citations_toml = TomlFile(letters / CITATIONS_FILE, f"{shown}/{CITATIONS_FILE}")
    for key, table in citations_toml.data.items():
        if _bad_key(problems, citations_toml, key, "citation"):
            continue
        if not isinstance(table, dict):
            problems.error(
                citations_toml.display,
                citations_toml.key_line(key),
                f"citation '{key}' must be a table: [{key}]",
            )
            continue
        fields = _text_fields(
            problems,
            citations_toml,
            table,
            (key,),
            CITATION_FIELDS,
            CITATION_OPTIONAL,
            f"citation '{key}'",
        )
        if fields is None:
            continue
        check_url(problems, citations_toml, fields["url"], "url", key, f"citation '{key}'")
        citations[key] = Citation(
            key=key,
            publisher=str(fields["publisher"]),
            title=str(fields["title"]),
            number=str(fields["number"]),
            date=str(fields["date"]),
            url=str(fields["url"]),
            page=fields["page"],
            excerpt=fields["excerpt"],
            line=citations_toml.table_line(key),
        )

    quotes: dict[str, Quote] = {}
    quotes_toml = TomlFile(letters / QUOTES_FILE, f"{shown}/{QUOTES_FILE}")
    for key, table in quotes_toml.data.items():
        if _bad_key(problems, quotes_toml, key, "quote"):
            continue
        if not isinstance(table, dict):
            problems.error(
                quotes_toml.display,
                quotes_toml.key_line(key),
                f"quote '{key}' must be a table: [{key}]",
            )
            continue
        fields = _text_fields(
            problems, quotes_toml, table, (key,), QUOTE_FIELDS, QUOTE_OPTIONAL, f"quote '{key}'"
        )
        if fields is None:
            continue
        url = fields["source_url"]
        check_url(problems, quotes_toml, url, "source_url", key, f"quote '{key}'")
        quotes[key] = Quote(
            key=key,
            speaker=str(fields["speaker"]),
            title=str(fields["title"]),
            organization=str(fields["organization"]),
            text=str(fields["text"]),
            source_title=str(fields["source_title"]),
            source_date=str(fields["source_date"]),
            source_url=fields["source_url"],
            source_file=fields["source_file"],
            line=quotes_toml.table_line(key),
            text_line=quotes_toml.key_line("text", key),
        )

    if problems.errors:
        raise CampaignInvalid(problems)
    return Campaign(
        letters=letters,
        display=shown,
        settings=dict(settings),
        audiences=audiences,
        citations=citations,
        quotes=quotes,
        settings_file=settings_toml,
        citations_display=citations_toml.display,
        quotes_display=quotes_toml.display,
        ascii=ascii_forms,
    )


def _bad_key(problems: Problems, toml: TomlFile, key: str, what: str) -> bool:
    """A citation or quote key holding a control or invisible character: reported, skipped.

    Keys are printed in messages and named in templates; an escape sequence in one would
    reach the terminal.
    """
    reason = invisible_problem(key) or ("is empty" if not key.strip() else None)
    if reason:
        problems.error(toml.display, toml.table_line(key) or 1, f"{what} key {key!r} {reason}")
    return reason is not None
