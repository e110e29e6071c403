"""What every command shares: the campaign options, the --date parser and the problem report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from campaign.errors import Problems
from campaign.formats import FORMATS

if TYPE_CHECKING:
    from campaign.pipeline import Options


def echo_problems(problems: Problems) -> None:
    for line in problems.report():
        click.echo(line, err=True)


def plural(number: int, noun: str) -> str:
    """'1 letter', '2 letters', '0 letters'."""
    return f"{number} {noun}{'s' * (number != 1)}"


def summary(problems: Problems, recipients: int | None) -> None:
    errors, warnings = len(problems.errors), len(problems.warnings)
    who = f"{plural(recipients, 'recipient')}, " if recipients is not None else ""
    click.echo(
        f"{who}{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}",
        err=True,
    )


def parse_date(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).astimezone().replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date: use e.g. 2026-11-27 or 2026-11-27T09:00:00-05:00",
            param_hint="--date",
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        raise click.BadParameter(
            f"{value!r} has a time zone offset in seconds, which a Date header cannot carry: "
            "use hours and minutes, e.g. -05:00",
            param_hint="--date",
        )
    try:
        # A format may show the moment in UTC (the mbox From line does): it must exist there.
        moment.astimezone(UTC)
    except OverflowError:
        raise click.BadParameter(
            f"{value!r} is too close to the end of the calendar: in UTC it falls outside "
            "the years 1 to 9999; use a date inside that range",
            param_hint="--date",
        ) from None
    return moment


def format_option(description: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--format, one of the registered formats, eml by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="eml",
        show_default=True,
        help=description,
    )


def campaign_dir_option(description: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--campaign DIR, said in each command's own words."""
    return click.option(
        "--campaign",
        "campaign_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=description,
    )


def campaign_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--campaign, --recipients and --encoding, shared by every command."""
    func = click.option(
        "--encoding",
        default="utf-8",
        show_default=True,
        help="Encoding of the recipients file (a UTF-8 BOM is accepted).",
    )(func)
    func = click.option(
        "--recipients",
        "recipients",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Recipients CSV.  [default: DIR/recipients.csv]",
    )(func)
    return campaign_dir_option("Campaign folder holding letters/ and recipients.csv.")(func)


def job_options(
    campaign_dir: Path, recipients: Path | None, encoding: str, needs_email: bool, dns: bool = False
) -> Options:
    from campaign.pipeline import Options

    path = recipients if recipients is not None else campaign_dir / "recipients.csv"
    return Options(
        campaign_dir=campaign_dir,
        campaign_display=str(campaign_dir),
        recipients=path,
        recipients_display=str(path),
        encoding=encoding,
        check_dns=dns,
        needs_email=needs_email,
    )
