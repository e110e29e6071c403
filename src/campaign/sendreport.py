"""What `campaign send` tells: the plan before a run, the summary after, the journal's status
and the per-letter report CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from campaign.errors import CampaignError
from campaign.exportseal import SealedLetter, load_seal
from campaign.journal import Entry, Journal
from campaign.safety import neutralise_cell
from campaign.send import Plan, Result, names
from campaign.smtpconfig import SmtpConfig

REPORT_COLUMNS = ("file", "recipient", "message_id", "state", "time", "attempts", "reply")


def status(
    folder: Path, journal: Journal
) -> tuple[dict[str, int], list[tuple[SealedLetter, Entry | None]]]:
    """The journal's counts for the export's letters, and each letter with its journal row."""
    letters = load_seal(folder)
    entries = journal.entries()
    counts = dict.fromkeys(("sent", "failed", "deferred", "unknown", "pending"), 0)
    rows = []
    for letter in letters:
        entry = entries.get(letter.message_id)
        state = entry.state if entry else "pending"
        counts["unknown" if state == "sending" else state] += 1
        rows.append((letter, entry))
    return counts, rows


def write_report(path: Path, rows: list[tuple[SealedLetter, Entry | None]]) -> None:
    """One CSV row per letter: recipient, state, time and the server's last reply."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for letter, entry in rows:
        state = entry.state if entry else "pending"
        cells = [
            letter.file,
            letter.to,
            letter.message_id,
            "unknown" if state == "sending" else state,
            entry.updated if entry else "",
            str(entry.attempts if entry else 0),
            entry.reply if entry else "",
        ]
        writer.writerow([neutralise_cell(c) for c in cells])
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8", newline="")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise CampaignError(f"cannot write the report {path}: {exc.strerror}") from None


def describe_counts(counts: dict[str, int]) -> str:
    order = ("sent", "failed", "deferred", "unknown", "pending")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def plan_text(plan: Plan, config: SmtpConfig, limit: int | None, retry_unknown: bool) -> str:
    """The plan shown before anything is sent."""
    count = len(plan.to_send) if limit is None else min(limit, len(plan.to_send))
    server = f"{config.host or '(no host)'}:{config.real_port} ({config.security})"
    who = f" as {config.username}" if config.username else ""
    lines = [
        f"Server:  {server}{who}, {config.connections} connection"
        f"{'s' * (config.connections != 1)}"
        + (f", at most {config.rate} letters a minute" if config.rate else ""),
        f"Sender:  {config.envelope_sender or '(none)'}",
        f"Letters: {len(plan.letters)} in {plan.folder}: {describe_counts(plan.counts)}",
        f"To send: {count}",
    ]
    if plan.edited:
        lines.append(f"Edited since the export (sent as edited): {names(plan.edited)}")
    if plan.unknown:
        what = "resent (--retry-unknown)" if retry_unknown else "not resent without --retry-unknown"
        lines.append(
            f"Unknown (a run stopped after DATA; may have been delivered), {what}: "
            f"{names([f'{u.file} <{u.to}>' for u in plan.unknown])}"
        )
    return "\n".join(lines)


def summary_text(result: Result, counts: dict[str, int]) -> list[str]:
    """The lines ending a run: this run's outcome, each letter not sent, the journal's total."""
    lines = [f"{path.file} <{path.to}>: {state}: {reply}" for path, state, reply in result.problems]
    if result.stopped:
        lines.append(f"Stopped: {result.stopped}")
    lines.append(
        f"This run: {describe_counts(result.counts) or 'nothing sent'}. "
        f"Journal: {describe_counts(counts)}."
    )
    return lines
