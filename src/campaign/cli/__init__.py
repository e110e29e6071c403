"""The command line: parse options, call the core, print. Only this package imports click.

The group and its error handling live here; each command family has a module of its own
(check and preview, export, import-legislators, send) and common.py holds what they share.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from campaign import __version__
from campaign.cli.check import check, preview
from campaign.cli.common import echo_problems, summary
from campaign.cli.export import export_command
from campaign.cli.importing import import_legislators_command
from campaign.cli.send import send_command
from campaign.errors import CampaignError, CampaignInvalid
from campaign.message import InternalError


class CampaignGroup(click.Group):
    """Turns a CampaignError into 'Error: ...' and exit status 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CampaignInvalid as exc:
            echo_problems(exc.problems)
            summary(exc.problems, None)
            sys.exit(1)
        except CampaignError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except InternalError as exc:
            click.echo(f"Internal error (nothing was written): {exc}", err=True)
            sys.exit(3)


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


main.add_command(check)
main.add_command(preview)
main.add_command(export_command)
main.add_command(import_legislators_command)
main.add_command(send_command)
