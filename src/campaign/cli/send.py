"""The send command: an eml export sent over SMTP, each letter at most once, with a journal."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from campaign.cli.common import campaign_dir_option
from campaign.errors import CampaignError
from campaign.inputs import Inputs
from campaign.journal import Journal
from campaign.send import Sender, make_plan
from campaign.sendreport import describe_counts, plan_text, summary_text, write_report
from campaign.sendreport import status as send_status
from campaign.smtpconfig import SECURITY, load_smtp


def _check_report(report: Path, folder: Path, campaign_dir: Path) -> None:
    """The report goes beside the campaign's files and the export, never over one of them."""
    Inputs.of_folder(campaign_dir).refuse(report, "--report")
    real = Path(os.path.realpath(report))
    if real.parent == Path(os.path.realpath(folder)):
        raise CampaignError(
            f"--report {report} is inside the export folder {folder}, which holds the letters, "
            "their seal and the send journal: write the report elsewhere"
        )


@click.command(name="send", short_help="Send an eml export over SMTP, with a journal.")
@click.argument("out", required=False, type=click.Path(file_okay=False, path_type=Path))
@campaign_dir_option("Campaign folder: its letters/campaign.toml holds the [smtp] settings.")
@click.option("--yes", is_flag=True, help="Send without asking.")
@click.option("--dry-run", is_flag=True, help="Check and show the plan; connect to nothing.")
@click.option("--limit", type=click.IntRange(min=0), help="Send at most N letters.")
@click.option("--connections", type=click.IntRange(1, 64), help="Sessions in parallel.")
@click.option(
    "--rate", type=click.IntRange(min=0), help="At most N letters a minute (0: no limit)."
)
@click.option("--host", help="SMTP server.")
@click.option("--port", type=click.IntRange(1, 65535), help="SMTP port.")
@click.option("--security", type=click.Choice(SECURITY), help="TLS: starttls, ssl or none.")
@click.option(
    "--username",
    help="Log in as this user; the password comes from $CAMPAIGN_SMTP_PASSWORD or a prompt.",
)
@click.option("--cafile", type=click.Path(dir_okay=False), help="Trust the CAs in this PEM file.")
@click.option("--timeout", type=click.FloatRange(0.01, 3600), help="Seconds to wait for a reply.")
@click.option("--retry-unknown", is_flag=True, help="Also resend letters whose outcome is unknown.")
@click.option("--allow-edited", is_flag=True, help="Send letters edited since the export.")
@click.option("--status", is_flag=True, help="Show the journal's counts; send nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one CSV row per letter.",
)
def send_command(
    out: Path | None,
    campaign_dir: Path,
    yes: bool,
    dry_run: bool,
    limit: int | None,
    retry_unknown: bool,
    allow_edited: bool,
    status: bool,
    report: Path | None,
    **options: Any,
) -> None:
    """Send the letters of an eml export (default DIR/out), each at most once.

    A journal in the folder records every letter's state; a rerun sends only what is left.

    \b
    Example:
      campaign send --dry-run
      campaign send --yes --connections 4 --rate 60
      campaign send --status --report sent.csv
    """
    folder = out if out is not None else campaign_dir / "out"
    if report is not None:
        _check_report(report, folder, campaign_dir)
    if status:
        journal = Journal(folder, read_only=True)
        try:
            counts, rows = send_status(folder, journal)
        finally:
            journal.close()
        if report is not None:
            write_report(report, rows)
        click.echo(f"{folder}: {describe_counts(counts) or 'no letters'}", err=True)
        return
    config = load_smtp(campaign_dir, str(campaign_dir)).with_options(**options)
    journal = Journal(folder, read_only=dry_run)
    try:
        plan = make_plan(folder, journal, allow_edited=allow_edited, retry_unknown=retry_unknown)
        click.echo(plan_text(plan, config, limit, retry_unknown), err=True)
        if problems := config.problems():
            raise CampaignError("; ".join(problems))
        if not plan.to_send or limit == 0:
            click.echo(f"Nothing to send: {describe_counts(plan.counts)}.", err=True)
            sys.exit(0 if plan.counts["sent"] == len(plan.letters) else 1)
        if dry_run:
            click.echo("Dry run: nothing was sent.", err=True)
            return
        if not yes:
            if not sys.stdin.isatty():
                raise CampaignError("not sending without confirmation: pass --yes")
            click.confirm("Send?", abort=True, err=True)
        password = config.password_from_env()
        if config.username and password is None:
            if not sys.stdin.isatty():
                raise CampaignError(
                    f"no password: set the environment variable {config.password_env}"
                )
            password = click.prompt(f"Password for {config.username}", hide_input=True, err=True)
        count = len(plan.to_send) if limit is None else min(limit, len(plan.to_send))
        bar: Any = None
        progress: Callable[[int], None] | None = None
        if sys.stderr.isatty():
            bar = click.progressbar(
                length=count, label="Sending", file=sys.stderr, show_pos=True, show_eta=True,
                item_show_func=lambda rate: rate,
            )  # fmt: skip
            started = time.monotonic()

            def progress(n: int) -> None:
                rate = (bar.pos + n) / max(time.monotonic() - started, 0.001)
                bar.update(n, f"{rate * 60:.0f} letters/min")

        with bar or contextlib.nullcontext():
            sender = Sender(
                plan,
                config,
                password,
                journal,
                limit=limit,
                allow_edited=allow_edited,
                progress=progress,
            )
            result = sender.run()
        counts, rows = send_status(folder, journal)
    finally:
        journal.close()
    for line in summary_text(result, counts):
        click.echo(line, err=True)
    if report is not None:
        write_report(report, rows)
    if result.stopped or any(counts[k] for k in ("failed", "deferred", "unknown", "pending")):
        sys.exit(1)
