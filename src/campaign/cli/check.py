"""The commands that read a campaign without writing it: check, and preview (one letter or all)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from campaign import formats
from campaign.cli.common import (
    campaign_options,
    echo_problems,
    format_option,
    job_options,
    parse_date,
    summary,
)
from campaign.errors import CampaignError, CampaignInvalid, Problems

if TYPE_CHECKING:
    from campaign.pipeline import Options

# The rendering pipeline (Jinja2, email-validator) is imported by the commands that render, so
# `send` and `--help` start without it.


@click.command(short_help="Check settings, templates, citations, quotes and recipients.")
@campaign_options
@click.option("--check-dns", is_flag=True, help="Also look up each email domain in DNS.")
@format_option("The export format to check for (all but eml accept recipients without email).")
@click.option(
    "--date",
    "date",
    help="Letter date (ISO 8601), as export's: a template may depend on it.  [default: now]",
)
def check(
    campaign_dir: Path,
    recipients: Path | None,
    encoding: str,
    check_dns: bool,
    fmt: str,
    date: str | None,
) -> None:
    """Check settings, templates, citations, quotes and every recipient.

    Prints each problem as PATH:LINE: error|warning: message, then a summary.
    Exits 1 when there is any error.

    \b
    Example:
      campaign check --campaign my-campaign --date 2026-11-27
    """
    options = job_options(campaign_dir, recipients, encoding, formats.needs_email(fmt), check_dns)
    from campaign.pipeline import Job, Seen

    job = Job(options, parse_date(date))
    if not job.usable:
        raise CampaignInvalid(job.problems)  # as export: no row can be checked against it
    html = formats.get(fmt).html  # every letter is rendered, as export would render it
    problems = Problems()
    problems.extend(job.problems)
    count = 0
    seen = Seen()
    printable = fmt in ("pdf", "pdf-combined")
    if printable:
        from campaign.printing import print_problem  # only pdf needs WeasyPrint
    for row in job.rows():
        count += 1
        recipient = job.check_letter(row, seen, html)
        # What export would refuse: a letter that fails to render, or cannot print.
        if printable and not recipient.problems and (r := print_problem(job, recipient)):
            recipient.problems.append(r)
        problems.extend(job.row_problems(recipient))
    for duplicate in job.duplicates(seen).values():
        problems.error(job.file.display, duplicate.row.line, duplicate.message)
    echo_problems(problems)
    summary(problems, count)
    if problems.errors:
        sys.exit(1)


@click.command(short_help="Show one recipient's message as it will be sent.")
@campaign_options
@click.argument("selector", required=False)
@click.option("--date", "date", help="Letter date (ISO 8601).  [default: now]")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the letter as an HTML page to FILE.",
)
@click.option(
    "--serve", is_flag=True, help="Serve every letter in the browser, live as the files change."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port for --serve, on 127.0.0.1 (0: any free port).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the --serve page in a browser.")
def preview(
    campaign_dir: Path,
    recipients: Path | None,
    encoding: str,
    selector: str | None,
    date: str | None,
    html_file: Path | None,
    serve: bool,
    port: int,
    open_browser: bool,
) -> None:
    """Show one recipient's message as it will be sent.

    SELECTOR is a data row number (1 is the first row) or an email address.

    \b
    Example:
      campaign preview 2
      campaign preview jane.doe@example.org --html letter.html
      campaign preview --serve --port 8000 --open
    """
    if serve:
        if selector is not None or html_file is not None:
            raise click.UsageError("--serve shows every recipient: give no SELECTOR or --html")
        _serve(
            job_options(campaign_dir, recipients, encoding, True),
            parse_date(date),
            port,
            open_browser,
        )
        return
    if open_browser:
        raise click.UsageError("--open goes with --serve")
    from campaign.pipeline import Job, selector_row

    job = Job(job_options(campaign_dir, recipients, encoding, needs_email=False), parse_date(date))
    if not job.usable:
        raise CampaignInvalid(job.problems)
    row = selector_row(job, selector)
    recipient = job.prepare(row)
    if recipient.problems:
        raise CampaignInvalid(job.row_problems(recipient))
    letter = job.render(recipient)
    if recipient.email:
        data = job.message(recipient, letter)
        from campaign.preview import terminal_view  # only preview needs it

        click.echo(terminal_view(data))
    else:
        click.echo(f"Subject: {recipient.subject}\n\n{letter.text}")
    if html_file is not None:
        from campaign.export import campaign_inputs
        from campaign.preview import html_page  # only preview needs it

        campaign_inputs(job).refuse(html_file, "--html")
        page = html_page(recipient.subject, letter)
        try:
            html_file.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise CampaignError(f"cannot write --html {html_file}: {exc.strerror}") from None
        click.echo(f"Wrote {html_file}", err=True)


def _serve(options: Options, now: datetime, port: int, open_browser: bool) -> None:
    from campaign.serve import PreviewServer  # only --serve needs it

    server = PreviewServer(options, now, port)
    click.echo(f"Serving the preview at {server.url} (Ctrl-C stops it)", err=True)
    if open_browser:
        import threading
        import webbrowser

        # In a thread: a terminal browser webbrowser may pick must not hold up the server.
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        server.server_close()
