"""The import-legislators command: members of Congress written as recipients."""

from __future__ import annotations

from pathlib import Path

import click

from campaign.cli.common import campaign_dir_option, echo_problems, plural
from campaign.inputs import Inputs
from campaign.safety import shown


@click.command(name="import-legislators", short_help="Write members of Congress as recipients.")
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
    Inputs([], [campaign_dir / "letters"]).refuse(target, "--out")
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
    echo_problems(result.problems)
    shown_target = shown(str(target))
    message = f"Imported {plural(result.imported, 'member')} into {shown_target}"
    if result.updated or result.kept:
        message += f" ({result.added} added, {result.updated} updated, {result.kept} kept)"
    message += f"; {result.skipped} skipped"
    if result.skipped:
        message += ", listed above with their line and reason"
    if not result.changed:
        message += f"; {shown_target} was already up to date"
    click.echo(message, err=True)
