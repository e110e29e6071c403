"""The export command: check everything, then write one letter per recipient."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campaign import formats
from campaign.cli.common import campaign_options, format_option, job_options, parse_date, plural
from campaign.errors import Problems


@click.command(
    name="export", short_help="Write one letter per recipient (eml, mbox, csv, jsonl, txt, pdf)."
)
@campaign_options
@format_option(
    "eml: one message file each; mbox: every message in one mailbox file; csv: one "
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
    options = job_options(campaign_dir, recipients, encoding, formats.needs_email(fmt), check_dns)
    if out is None:
        out = campaign_dir / "out"
    from campaign.export import export
    from campaign.pipeline import Job

    job = Job(options, parse_date(date))
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
    message = f"Exported {plural(result.written, 'letter')} ({fmt}) to {where}"
    if result.rejected:
        message += f"; {result.rejected} rejected, listed with reasons in {result.rejects}"
    if result.removed:
        message += (
            f"; removed {plural(result.removed, 'letter')} an earlier export wrote for recipients "
            "no longer in the list"
        )
    click.echo(message, err=True)
