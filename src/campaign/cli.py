"""The command line: parse options, call the core, print. The only module that imports click."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from campaign import __version__, formats
from campaign.errors import CampaignError, CampaignInvalid, Problems
from campaign.formats import FORMATS
from campaign.journal import Journal
from campaign.message import InternalError
from campaign.send import Sender, make_plan
from campaign.sendreport import describe_counts, plan_text, summary_text, write_report
from campaign.sendreport import status as send_status
from campaign.smtpconfig import SECURITY, load_smtp

if TYPE_CHECKING:
    from campaign.pipeline import Options

# The rendering pipeline (Jinja2, email-validator) is imported by the commands that render, so
# `send` and `--help` start without it.


class CampaignGroup(click.Group):
    """Turns a CampaignError into 'Error: ...' and exit status 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CampaignInvalid as exc:
            _print_problems(exc.problems)
            _summary(exc.problems, None)
            sys.exit(1)
        except CampaignError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except InternalError as exc:
            click.echo(f"Internal error (nothing was written): {exc}", err=True)
            sys.exit(3)


def _print_problems(problems: Problems) -> None:
    for line in problems.report():
        click.echo(line, err=True)


def _count(count: int, noun: str) -> str:
    """'1 letter', '2 letters', '0 letters'."""
    return f"{count} {noun}{'s' * (count != 1)}"


def _summary(problems: Problems, recipients: int | None) -> None:
    errors, warnings = len(problems.errors), len(problems.warnings)
    who = f"{_count(recipients, 'recipient')}, " if recipients is not None else ""
    click.echo(
        f"{who}{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}",
        err=True,
    )


def _parse_date(value: str | None) -> datetime:
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
    return moment


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


def _options(
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


@click.group(cls=CampaignGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campaign")
def main() -> None:
    """Check, preview and export cited, quoted advocacy letters.

    \b
    Example:
      campaign check
      campaign preview 3
      campaign export --format eml --out out/
    """


@main.command(short_help="Check settings, templates, citations, quotes and recipients.")
@campaign_options
@click.option("--check-dns", is_flag=True, help="Also look up each email domain in DNS.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="eml",
    show_default=True,
    help="The export format to check for (all but eml accept recipients without email).",
)
def check(
    campaign_dir: Path, recipients: Path | None, encoding: str, check_dns: bool, fmt: str
) -> None:
    """Check settings, templates, citations, quotes and every recipient.

    Prints each problem as PATH:LINE: error|warning: message, then a summary.
    Exits 1 when there is any error.

    \b
    Example:
      campaign check --campaign my-campaign
    """
    from campaign.pipeline import Job, Seen

    options = _options(campaign_dir, recipients, encoding, formats.needs_email(fmt), check_dns)
    job = Job(options, _parse_date(None))
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
    _print_problems(problems)
    _summary(problems, count)
    if problems.errors:
        sys.exit(1)


@main.command(short_help="Show one recipient's message as it will be sent.")
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
            _options(campaign_dir, recipients, encoding, True),
            _parse_date(date),
            port,
            open_browser,
        )
        return
    if open_browser:
        raise click.UsageError("--open goes with --serve")
    from campaign.pipeline import Job, selector_row

    job = Job(_options(campaign_dir, recipients, encoding, needs_email=False), _parse_date(date))
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
        from campaign.preview import html_page  # only preview needs it

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


@main.command(
    name="export", short_help="Write one letter per recipient (eml, mbox, csv, jsonl, txt, pdf)."
)
@campaign_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="eml",
    show_default=True,
    help="eml: one message file each; mbox: every message in one mailbox file; csv: one "
    "spreadsheet; jsonl: lossless; txt: plain letters; pdf: one printed letter each; "
    "pdf-combined: every letter in one PDF.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (or, for csv, jsonl and mbox, a file name ending .csv, .jsonl or .mbox).  "
    "[default: DIR/out]",
)
@click.option(
    "--date", "date", help="Date for the Date header and letters (ISO 8601).  [default: now]"
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Export the valid recipients; list the others with reasons in a rejects file.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace files in --out that an earlier export did not write.",
)
@click.option("--check-dns", is_flag=True, help="Also look up each email domain in DNS.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes to render with; the output is the same for any number.",
)
def export_command(
    campaign_dir: Path,
    recipients: Path | None,
    encoding: str,
    fmt: str,
    out: Path | None,
    date: str | None,
    skip_invalid: bool,
    overwrite: bool,
    check_dns: bool,
    jobs: int,
) -> None:
    """Check everything, then write one letter per recipient.

    Nothing is written when any check fails (unless --skip-invalid). The same inputs and
    --date give byte-identical files.

    \b
    Example:
      campaign export --format eml --out out/ --date 2026-11-27
      campaign export --format csv --out letters.csv
    """
    from campaign.export import export
    from campaign.pipeline import Job

    options = _options(campaign_dir, recipients, encoding, formats.needs_email(fmt), check_dns)
    if out is None:
        out = campaign_dir / "out"
    job = Job(options, _parse_date(date))
    if sys.stderr.isatty():
        total = job.file.estimate_rows()
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            result = export(
                job,
                fmt,
                out,
                skip_invalid=skip_invalid,
                overwrite=overwrite,
                progress=bar.update,
                jobs=jobs,
            )
    else:
        result = export(job, fmt, out, skip_invalid=skip_invalid, overwrite=overwrite, jobs=jobs)
    shown = Problems()
    shown.extend(job.problems)
    shown.extend(result.problems)
    # Each rejected row on its own line, as in the rejects file: --skip-invalid's log.
    for problem in sorted(shown.items, key=lambda p: (p.path, p.line)):
        click.echo(str(problem), err=True)
    where = result.targets[0] if result.targets else out
    message = f"Exported {_count(result.written, 'letter')} ({fmt}) to {where}"
    if result.rejected:
        message += f"; {result.rejected} rejected, listed with reasons in {result.rejects}"
    if result.removed:
        message += (
            f"; removed {_count(result.removed, 'letter')} an earlier export wrote for recipients "
            "no longer in the list"
        )
    click.echo(message, err=True)


@main.command(name="import-legislators", short_help="Write members of Congress as recipients.")
@click.argument("legislators", type=click.Path(dir_okay=False, path_type=Path))
@campaign_dir_option("Campaign folder whose recipients.csv is written.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Recipients CSV to write.  [default: DIR/recipients.csv]",
)
@click.option(
    "--chamber", type=click.Choice(["senate", "house"]), help="Only Senators or only the House."
)
@click.option("--state", "states", multiple=True, help="Only this state, e.g. TX (repeatable).")
@click.option(
    "--party", "parties", multiple=True, help="Only this party, e.g. Democrat (repeatable)."
)
@click.option(
    "--committee",
    "committee_ids",
    multiple=True,
    help="Only members of this committee id, e.g. SSJU; exactly that id, not its "
    "subcommittees (repeatable).",
)
@click.option(
    "--committees",
    "committees_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Committee membership CSV (committee-membership-current.csv), for --committee.",
)
@click.option(
    "--audience", default="congress", show_default=True, help="Value of the audience column."
)
@click.option(
    "--merge", is_flag=True, help="Update an existing file's rows by bioguide_id; keep the rest."
)
@click.option("--replace", is_flag=True, help="Overwrite an existing file.")
def import_legislators_command(
    legislators: Path,
    campaign_dir: Path,
    out: Path | None,
    chamber: str | None,
    states: tuple[str, ...],
    parties: tuple[str, ...],
    committee_ids: tuple[str, ...],
    committees_file: Path | None,
    audience: str,
    merge: bool,
    replace: bool,
) -> None:
    """Write members of Congress from legislators-current.csv as recipients.

    LEGISLATORS is the congress-legislators dataset's CSV. Rows that would not make a
    correct letter (a blank name or address) are listed as warnings and left out.

    \b
    Example:
      campaign import-legislators legislators-current.csv --chamber senate
      campaign import-legislators legislators-current.csv --merge \\
        --committees committee-membership-current.csv --committee SSJU --committee HSJU
    """
    if merge and replace:
        raise click.UsageError("--merge and --replace exclude each other: choose one")
    target = out if out is not None else campaign_dir / "recipients.csv"
    from campaign.legislators import Filters, import_legislators  # this command's own

    result = import_legislators(
        legislators,
        target,
        audience=audience,
        filters=Filters(chamber, states, parties, committee_ids),
        committees_file=committees_file,
        merge=merge,
        replace=replace,
    )
    _print_problems(result.problems)
    message = f"Imported {_count(result.imported, 'member')} into {target}"
    if result.updated or result.kept:
        message += f" ({result.added} added, {result.updated} updated, {result.kept} kept)"
    message += f"; {result.skipped} skipped"
    if result.skipped:
        message += ", listed above with their line and reason"
    if not result.changed:
        message += f"; {target} was already up to date"
    click.echo(message, err=True)


@main.command(name="send", short_help="Send an eml export over SMTP, with a journal.")
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
