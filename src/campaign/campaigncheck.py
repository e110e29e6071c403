"""The checks on a campaign as a whole, run once before any row: its templates, citations,
quotes and settings, and the recipients file's columns against what the templates print."""

from __future__ import annotations

import os

from email_validator import EmailNotValidError, validate_email
from jinja2.exceptions import TemplateError

from campaign.errors import Problems, did_you_mean
from campaign.letterhead import print_problems
from campaign.recipients import REQUIRED_COLUMNS, RecipientsFile
from campaign.render import Renderer
from campaign.safety import body_problem, display_name_problem, header_problem
from campaign.settings import Campaign, Citation, Quote
from campaign.signatories import Signatories, unlisted_uses
from campaign.sources import quote_problem
from campaign.templates import COMPUTED_FIELDS, TemplateChecker, Uses

# Settings that go into a mail header, held to the header rules (which include the body's).
HEADER_SETTINGS = ("sender_name", "sender_email", "reply_to", "name")


def check_campaign(
    c: Campaign, renderer: Renderer, signatories: Signatories
) -> tuple[dict[str, Uses], Problems]:
    """What each audience's templates use, and every problem with the campaign's own files.

    Each audience's templates are compiled into ``renderer`` once they pass their checks.
    """
    problems = Problems()
    all_uses: dict[str, Uses] = {}
    settings = c.settings_file.display
    checker = TemplateChecker(c, renderer)
    cited: set[str] = set()
    for name in c.audiences:
        uses = checker.audience(name)
        all_uses[name] = uses
        cited.update(uses.cites)
        if uses.ok:
            try:
                renderer.compile(name)
            except TemplateError as exc:
                if uses.names_ok:  # else already reported where the template names it
                    problems.error(settings, c.audiences[name].line, str(exc))
    problems.extend(checker.problems)
    problems.extend(unlisted_uses(signatories, checker.parsed, c.display))
    problems.extend(print_problems(c))
    for key, citation in c.citations.items():
        if key not in cited:
            problems.warning(
                c.citations_display,
                citation.line,
                f"citation '{key}' is never cited by any template",
            )
    for key, quote in c.quotes.items():
        if quote.source_file:
            path = c.letters / quote.source_file
            if not os.path.lexists(path):
                problems.warning(
                    c.quotes_display,
                    quote.line,
                    f"quote '{key}': source_file {quote.source_file} not found "
                    f"(looked for {path.absolute()}); "
                    "the quote was not verified against its source",
                )
                continue
            reason = quote_problem(quote.text, path)
            if reason:
                line = quote.text_line or quote.line
                problems.error(c.quotes_display, line, f"quote '{key}': {reason}")
    problems.extend(_check_campaign_text(c))
    for setting in HEADER_SETTINGS:
        value = c.settings.get(setting)
        if isinstance(value, str) and (
            (reason := header_problem(value))
            or (setting == "sender_name" and (reason := display_name_problem(value)))
        ):
            problems.error(
                settings, c.settings_file.key_line(setting, "campaign"), f"{setting} {reason}"
            )
    for setting in ("sender_email", "reply_to"):
        value = c.settings.get(setting)
        if isinstance(value, str) and value:
            try:
                validate_email(value, check_deliverability=False, allow_smtputf8=False)
            except EmailNotValidError as exc:
                problems.error(
                    settings,
                    c.settings_file.key_line(setting, "campaign"),
                    f"{setting} {value!r} is not a valid address: {exc}",
                )
    return all_uses, problems


def _check_campaign_text(c: Campaign) -> Problems:
    """The campaign's own text that reaches letters: held to the rules for row values."""
    problems = Problems()
    for setting, value in c.settings.items():
        if (
            setting not in HEADER_SETTINGS
            and isinstance(value, str)
            and (reason := body_problem(value))
        ):
            line = c.settings_file.key_line(setting, "campaign")
            problems.error(c.settings_file.display, line, f"{setting} {reason}")
    tables: list[tuple[str, str, dict[str, Citation] | dict[str, Quote]]] = [
        (c.citations_display, "citation", c.citations),
        (c.quotes_display, "quote", c.quotes),
    ]
    for display, kind, entries in tables:
        for key, entry in entries.items():
            for name, value in vars(entry).items():
                if isinstance(value, str) and (reason := body_problem(value)):
                    problems.error(display, entry.line, f"{kind} '{key}': {name} {reason}")
    return problems


def check_columns(f: RecipientsFile, uses: dict[str, Uses], needs_email: bool) -> Problems:
    """The recipients file's header against the required columns and those the templates print."""
    problems = Problems()
    required = tuple(c for c in REQUIRED_COLUMNS if needs_email or c != "email")
    missing = f.missing_columns(required)
    if missing:
        problems.error(
            f.display,
            f.header_line,
            f"missing required column{'s' if len(missing) > 1 else ''}: "
            + ", ".join(missing)
            + f" (the header has: {', '.join(f.header)})",
        )
    available = set(f.header) | set(COMPUTED_FIELDS)
    for used in uses.values():
        for column, (path, line) in {**used.fields, **used.subject_fields}.items():
            if column not in available:
                problems.error(
                    path,
                    line,
                    f"recipient.{column}: {f.display} has no column '{column}'"
                    + did_you_mean(column, available),
                )
                available.add(column)  # one report per column is enough
    return problems
