"""What the preview server shows of one version of a campaign's files: every row's status
from the row checks (no letter rendered), the kinds of letter, and one example of each."""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from campaign.errors import CampaignError, CampaignInvalid, Problems
from campaign.marks import MarkedRenderer, QuoteState
from campaign.pipeline import Job, Options, Recipient, Seen
from campaign.settings import Campaign
from campaign.sources import quote_problem

STATUSES = ("ok", "warning", "error")
PAGE_ROWS = 50  # rows on a page of the index
_MAX_FILES = 2_000  # files under letters/ looked at for changes
_MAX_KINDS = 200


def watched_files(options: Options, campaign: Campaign | None) -> list[Path]:
    """The files whose change changes what the server shows."""
    found = [options.recipients]
    letters = options.campaign_dir / "letters"
    for dirpath, dirnames, files in os.walk(letters):
        dirnames.sort()
        found.extend(Path(dirpath) / name for name in sorted(files))
        if len(found) > _MAX_FILES:
            break
    if campaign is not None:
        found.extend(
            campaign.letters / q.source_file for q in campaign.quotes.values() if q.source_file
        )
    return found


def version_of(paths: list[Path]) -> str:
    """A hash of each file's size and modification time: it changes when any file does."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
        except (OSError, ValueError):
            digest.update(f"{path}\0missing\n".encode(errors="replace"))
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Kind:
    """A distinct kind of letter: audience, title and variant (at large, a salutation title)."""

    audience: str
    title: str
    variant: str

    @property
    def label(self) -> str:
        return " · ".join(part for part in (self.audience, self.title, self.variant) if part)


_KIND_COLUMNS = ("audience", "title", "district", "salutation_title", "salutation")


def kind_of(values: dict[str, str]) -> Kind:
    variant = []
    if values.get("district", "").strip() in ("0", "00"):
        variant.append("at large")
    if given := values.get("salutation_title", "").strip():
        variant.append(f"salutation title {given}")
    if values.get("salutation", "").strip():
        variant.append("own salutation")
    audience = values.get("audience", "").strip()
    return Kind(audience, values.get("title", "").strip(), ", ".join(variant))


class Entry(NamedTuple):
    """One row of the index: a tuple of strings and numbers, which the garbage collector
    stops tracking, so that 100,000 of them do not slow every collection down."""

    number: int
    line: int
    name: str
    email: str
    audience: str
    title: str
    state: str
    kind: int
    status: str
    reasons: tuple[str, ...]

    def matches(self, audience: str, title: str, status: str, words: list[str]) -> bool:
        if (audience and self.audience != audience) or (title and self.title != title):
            return False
        if status and self.status != status:
            return False
        if words:
            text = f"{self.number} {self.name} {self.email} {self.state} {self.title}".casefold()
            return all(word in text for word in words)
        return True


@dataclass
class KindInfo:
    kind: Kind
    count: int
    example: int  # row number: the first row of the kind without errors, else the first
    example_ok: bool


@dataclass
class Page:
    entries: list[Entry]
    matches: int
    complete: bool  # every row was checked: the counts are final


def quote_states(campaign: Campaign) -> dict[str, QuoteState]:
    """Each quote checked against its source_file, as check does."""
    states = {}
    for key, quote in campaign.quotes.items():
        if not quote.source_file:
            states[key] = QuoteState("unchecked", "no source_file given")
            continue
        path = campaign.letters / quote.source_file
        if not path.is_file():
            states[key] = QuoteState("unchecked", f"source_file {quote.source_file} not found")
        elif reason := quote_problem(quote.text, path):
            states[key] = QuoteState("differs", reason)
        else:
            states[key] = QuoteState("verified", f"word for word in {quote.source_file}")
    return states


class Snapshot:
    """The campaign as loaded at one version of its files, and the survey of its rows."""

    def __init__(self, options: Options, now: datetime, version: str) -> None:
        self.options = options
        self.now = now
        self.version = version
        self.lock = threading.Lock()  # a Job and its renderers serve one request at a time
        self.problems = Problems()
        self.failure = ""  # the campaign could not be loaded at all
        self.job: Job | None = None
        self.marked: MarkedRenderer | None = None
        self.quotes: dict[str, QuoteState] = {}
        try:
            self.job = Job(options, now)
        except CampaignInvalid as exc:
            self.problems.extend(exc.problems)
        except CampaignError as exc:
            self.failure = str(exc)
        if self.job is not None:
            job = self.job
            self.problems.extend(job.problems)
            self.quotes = quote_states(job.campaign)
            # Letters are shown whenever their templates compiled, even when other parts of
            # the campaign (a quote, a setting) have errors: the page lists those above them.
            ready = [a for a in job.campaign.audiences if job.renderer.ready(a)]
            if ready:
                self.marked = MarkedRenderer(job.campaign, tuple(job.file.header))
                for audience in ready:
                    self.marked.compile(audience)
        self.survey = Survey(self)

    @property
    def campaign(self) -> Campaign | None:
        return self.job.campaign if self.job is not None else None

    def audience_warnings(self, audience: str) -> tuple[str, ...]:
        """What a row's letter would carry unverified: its audience's quotes not in a source."""
        if self.job is None or audience not in self.job.uses:
            return ()
        found = []
        for key in self.job.uses[audience].quotes:
            state = self.quotes.get(key)
            if state is not None and state.state != "verified":
                found.append(f"quote '{key}' not verified: {state.note}")
        return tuple(found)

    def close(self) -> None:
        self.survey.stop()


class Survey:
    """Every row checked in a thread of its own, row by row; pages wait only for their rows."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.entries: list[Entry] = []
        self.kinds: list[KindInfo] = []
        self.more_kinds = 0
        self.counts = dict.fromkeys(STATUSES, 0)
        self.complete = False
        self.failure = ""
        self._kind_index: dict[Kind, int] = {}
        self._kinds: dict[tuple[str, ...], Kind] = {}  # by the values kind_of() reads
        self._warnings: dict[str, tuple[str, ...]] = {}
        self._changed = threading.Condition()
        self._stopped = False
        self._revision = 0  # entries replaced in place (duplicates found at the end)
        self.total_estimate = 0
        if snapshot.job is None:
            self.complete = True
            return
        self._thread = threading.Thread(target=self._run, name="campaign-survey", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True

    def _run(self) -> None:
        snapshot = self.snapshot
        try:
            job = snapshot.job
            assert job is not None
            seen = Seen()
            batch: list[Entry] = []
            size = PAGE_ROWS  # the first page's worth first: it is the one waited for
            rows = job.rows()
            while not self._stopped:
                # The snapshot's Job serves the pages too: it is lent a batch at a time.
                with snapshot.lock:
                    for row in itertools.islice(rows, size):
                        batch.append(self._entry(job.check_letter(row, seen)))
                if not batch:
                    break
                self._add(batch)
                if not self.total_estimate:
                    self.total_estimate = job.file.estimate_rows()
                batch, size = [], 256
            if self._stopped:
                return
            with snapshot.lock:
                duplicates = job.duplicates(seen)
            with self._changed:
                if duplicates:
                    self._revision += 1
                    for i, entry in enumerate(self.entries):
                        found = duplicates.get(entry.line)
                        if found is not None:
                            self.counts[entry.status] -= 1
                            self.entries[i] = _with_error(entry, found.message)
                            self.counts["error"] += 1
        except CampaignError as exc:
            self.failure = str(exc)
        finally:
            with self._changed:
                self.complete = True
                self._changed.notify_all()

    def _entry(self, recipient: Recipient) -> Entry:
        values = recipient.row.values
        key = tuple(values.get(c, "") for c in _KIND_COLUMNS)
        kind = self._kinds.get(key)
        if kind is None:
            kind = kind_of(values)
            if len(self._kinds) < 4_096:
                self._kinds[key] = kind
        reasons = tuple(recipient.problems)
        warnings = self._warnings.get(recipient.audience)
        if warnings is None:
            warnings = self._warnings[recipient.audience] = self.snapshot.audience_warnings(
                recipient.audience
            )
        status = "error" if reasons else "warning" if warnings else "ok"
        index = self._kind_index.get(kind)
        if index is None and len(self.kinds) < _MAX_KINDS:
            index = self._kind_index[kind] = len(self.kinds)
            self.kinds.append(KindInfo(kind, 0, recipient.row.number, not reasons))
        if index is None:
            self.more_kinds += 1
            index = -1
        else:
            info = self.kinds[index]
            info.count += 1
            if not info.example_ok and not reasons:
                info.example, info.example_ok = recipient.row.number, True
        name = recipient.display_name or " ".join(
            " ".join(values.get(c, "") for c in ("first_name", "last_name")).split()
        )
        return Entry(
            recipient.row.number,
            recipient.row.line,
            name,
            values.get("email", ""),
            recipient.audience,
            values.get("title", "").strip(),
            values.get("state", "").strip(),
            index,
            status,
            reasons + warnings,
        )

    def _add(self, batch: list[Entry]) -> None:
        with self._changed:
            self.entries.extend(batch)
            for entry in batch:
                self.counts[entry.status] += 1
            self._changed.notify_all()

    def page(
        self, keep: Callable[[Entry], bool], start: int, size: int, timeout: float = 30.0
    ) -> Page:
        """The matching entries from ``start``: waits until they are checked (or all rows are)."""
        matched: list[Entry] = []
        scanned = revision = 0
        with self._changed:
            while True:
                if revision != self._revision:
                    matched, scanned, revision = [], 0, self._revision
                for entry in self.entries[scanned:]:
                    if keep(entry):
                        matched.append(entry)
                scanned = len(self.entries)
                if self.complete or len(matched) >= start + size:
                    break
                if not self._changed.wait(timeout):
                    break
            return Page(matched[start : start + size], len(matched), self.complete)

    def entry(self, number: int) -> Entry | None:
        with self._changed:
            if 0 < number <= len(self.entries) and self.entries[number - 1].number == number:
                return self.entries[number - 1]
        return None


def _with_error(entry: Entry, message: str) -> Entry:
    return entry._replace(status="error", reasons=(message, *entry.reasons))


__all__ = ["STATUSES", "Entry", "Kind", "KindInfo", "Page", "Snapshot", "Survey", "version_of"]
