"""Loading a campaign and taking its recipients through every check, one row at a time."""

from __future__ import annotations

import itertools
import unicodedata
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import cached_property
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from jinja2.exceptions import TemplateError

from campaign import addressing
from campaign.addresses import check_address
from campaign.errors import CampaignError, Problems, did_you_mean
from campaign.letterhead import print_problems
from campaign.message import HEADER_LINE, Envelope, address, build, make_envelope
from campaign.recipients import REQUIRED_COLUMNS, RecipientsFile, Row
from campaign.render import Letter, Renderer, RenderError
from campaign.safety import body_problem, display_name_problem, header_problem, headers_safe
from campaign.settings import Campaign, load_campaign
from campaign.signatories import load_signatories, unlisted_uses
from campaign.sources import quote_problem
from campaign.templates import COMPUTED_FIELDS, TemplateChecker, Uses

# Columns whose text goes into the To header (display name) besides the email itself.
NAME_COLUMNS = ("first_name", "last_name", "full_name")
FORMATS_WITHOUT_EMAIL = ("csv", "jsonl", "txt")


@dataclass(frozen=True)
class Options:
    campaign_dir: Path
    campaign_display: str
    recipients: Path
    recipients_display: str
    encoding: str = "utf-8"
    check_dns: bool = False
    needs_email: bool = True


@dataclass
class Recipient:
    """A row that passed every check, with what the headers need already worked out."""

    row: Row
    audience: str
    fields: dict[str, str]
    email: str
    dedupe_key: str
    display_name: str
    subject: str
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What identifies the recipient across runs (the Message-ID is derived from it)."""
        if self.dedupe_key:
            return self.dedupe_key
        return self.fields.get("bioguide_id") or f"{self.display_name}|{self.audience}"


MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def letter_date(moment: datetime) -> str:
    """'November 27, 2026', whatever the machine's locale."""
    return f"{MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


class Job:
    """A loaded campaign and recipients file, ready to check and render row by row."""

    def __init__(self, options: Options, now: datetime) -> None:
        self.options = options
        self.now = now
        self.date = letter_date(now)
        self.problems = Problems()
        self.campaign: Campaign = load_campaign(options.campaign_dir, options.campaign_display)
        self.signatories, found = load_signatories(self.campaign.letters, self.campaign.display)
        self.problems.extend(found)
        self.renderer = Renderer(self.campaign, self.signatories)
        self.file = RecipientsFile(options.recipients, options.recipients_display, options.encoding)
        self.problems.extend(self.file.problems)
        self.uses: dict[str, Uses] = {}
        self._facts: dict[str, tuple[tuple[str, ...], bool]] = {}
        self._check_campaign()
        self._check_columns()

    @cached_property
    def envelope(self) -> Envelope:
        """The headers every message shares; built only once the settings passed their checks."""
        return make_envelope(
            self.campaign.sender_name,
            self.campaign.sender_email,
            self.campaign.reply_to,
            format_datetime(self.now),
            self.campaign.message_id_domain,
            self.campaign.ident,
        )

    # -- campaign-wide checks ---------------------------------------------------------------

    def _check_campaign(self) -> None:
        c = self.campaign
        settings = c.settings_file.display
        checker = TemplateChecker(c, self.renderer)
        cited: set[str] = set()
        for name in c.audiences:
            uses = checker.audience(name)
            self.uses[name] = uses
            cited.update(uses.cites)
            if uses.ok:
                try:
                    self.renderer.compile(name)
                except TemplateError as exc:
                    self.problems.error(settings, c.audiences[name].line, str(exc))
        self.problems.extend(checker.problems)
        self.problems.extend(unlisted_uses(self.signatories, checker.parsed, c.display))
        self.problems.extend(print_problems(c))
        for key, citation in c.citations.items():
            if key not in cited:
                self.problems.warning(
                    c.citations_display,
                    citation.line,
                    f"citation '{key}' is never cited by any template",
                )
        for key, quote in c.quotes.items():
            if quote.source_file:
                path = c.letters / quote.source_file
                if not path.is_file():
                    self.problems.warning(
                        c.quotes_display,
                        quote.line,
                        f"quote '{key}': source_file {quote.source_file} not found; "
                        "the quote was not verified against its source",
                    )
                    continue
                reason = quote_problem(quote.text, path)
                if reason:
                    line = quote.text_line or quote.line
                    self.problems.error(c.quotes_display, line, f"quote '{key}': {reason}")
        for setting in ("sender_name", "sender_email", "reply_to", "name"):
            value = c.settings.get(setting)
            if isinstance(value, str) and (
                (reason := header_problem(value))
                or (setting == "sender_name" and (reason := display_name_problem(value)))
            ):
                self.problems.error(
                    settings, c.settings_file.key_line(setting, "campaign"), f"{setting} {reason}"
                )
        for setting in ("sender_email", "reply_to"):
            value = c.settings.get(setting)
            if isinstance(value, str) and value:
                try:
                    validate_email(value, check_deliverability=False, allow_smtputf8=False)
                except EmailNotValidError as exc:
                    self.problems.error(
                        settings,
                        c.settings_file.key_line(setting, "campaign"),
                        f"{setting} {value!r} is not a valid address: {exc}",
                    )

    def _check_columns(self) -> None:
        f = self.file
        required = tuple(c for c in REQUIRED_COLUMNS if self.options.needs_email or c != "email")
        missing = f.missing_columns(required)
        if missing:
            self.problems.error(
                f.display,
                f.header_line,
                f"missing required column{'s' if len(missing) > 1 else ''}: "
                + ", ".join(missing)
                + f" (the header has: {', '.join(f.header)})",
            )
        available = set(f.header) | set(COMPUTED_FIELDS)
        for uses in self.uses.values():
            for column, (path, line) in {**uses.fields, **uses.subject_fields}.items():
                if column not in available:
                    self.problems.error(
                        path,
                        line,
                        f"recipient.{column}: {f.display} has no column '{column}'"
                        + did_you_mean(column, available),
                    )
                    available.add(column)  # one report per column is enough

    @property
    def usable(self) -> bool:
        """False when the campaign itself has errors: no row can be rendered."""
        return not self.problems.errors

    # -- per-row checks ---------------------------------------------------------------------

    def rows(self) -> Iterator[Row]:
        return self.file.rows()

    def prepare(self, row: Row) -> Recipient:
        """Check one row; the result's ``problems`` lists every reason it cannot be sent."""
        errors = list(row.errors)
        values = row.values
        audience = values.get("audience", "").strip()
        recipient = Recipient(row, audience, values, "", "", "", "", errors)
        if row.errors and not values:
            return recipient
        if audience not in self.campaign.audiences:
            known = ", ".join(sorted(self.campaign.audiences))
            errors.append(
                f"column 'audience': unknown audience {audience!r} (known: {known})"
                + did_you_mean(audience, self.campaign.audiences)
            )
        header_columns, names_state = self._audience_facts(audience)
        # Each check runs once over the whole row first, in C; only a row that fails it is
        # looked at column by column, to say which column and why.
        whole = "".join(values.values())
        # Worked-out addresses and titles are cached for rows of ordinary length only.
        cached = len(whole) <= addressing.CACHED_ROW
        if body_problem(whole):
            for column, value in values.items():
                if column in header_columns or column == "email":
                    continue  # held to the header rules below, which include these: one report
                reason = body_problem(value)
                if reason:
                    errors.append(f"column '{column}' {reason}")
        for column in ("title", "last_name"):
            if column in values and not values[column].strip():
                errors.append(f"column '{column}' is empty")
        header_errors = False
        if not headers_safe([values[c] for c in header_columns if c in values]):
            for column in header_columns:
                cell = values.get(column)
                if cell is not None and (reason := header_problem(cell)):
                    errors.append(f"column '{column}' {reason}; it would go into a mail header")
                    header_errors = True
        self._check_email(values.get("email", ""), recipient)
        if audience not in self.campaign.audiences or any(
            not values.get(c, "").strip() for c in ("title", "last_name")
        ):
            return recipient
        errors.extend(addressing.member_problems(values, names_state, cached))
        computed = dict(values)
        computed["full_name"] = addressing.full_name(values)  # trimmed; blank: first and last
        if not values.get("salutation", "").strip():
            computed["salutation"] = addressing.salutation(values, cached)
        if not values.get("address_block", "").strip():
            if reason := addressing.address_problem(values):
                errors.append(reason)
            computed["address_block"] = addressing.address_block(values, cached)
        computed.setdefault("constituency", addressing.constituency(values, cached))
        recipient.fields = computed
        # As a mail reader shows it: a header keeps no run of spaces, and the subject neither.
        recipient.display_name = " ".join(computed["full_name"].split())
        if not self.options.needs_email:
            pass  # no To header: the name only goes into the letter
        elif reason := display_name_problem(recipient.display_name):
            errors.append(f"the name {recipient.display_name!r} {reason}")
            header_errors = True
        elif len(recipient.display_name) > 100 and (
            len(address(recipient.display_name, recipient.email or "x@x")) > HEADER_LINE
        ):
            errors.append(
                f"the name {recipient.display_name[:40]!r}... is too long for the To header "
                f"once encoded (over {HEADER_LINE} characters): shorten it"
            )
            header_errors = True
        if header_errors or not self.renderer.ready(audience):
            return recipient
        try:
            recipient.subject = self.renderer.subject(audience, computed, self.date)
        except RenderError as exc:
            errors.append(f"subject: {exc.where}: {exc.message}")
            return recipient
        if reason := header_problem(recipient.subject):
            errors.append(f"the rendered subject {reason}")
        return recipient

    def _audience_facts(self, audience: str) -> tuple[tuple[str, ...], bool]:
        """The columns that reach a header for this audience, and whether its letters name
        the member's state: worked out once per audience."""
        found = self._facts.get(audience)
        if found is None:
            columns = dict.fromkeys(NAME_COLUMNS)
            uses = self.uses.get(audience)
            if uses is not None:
                columns.update(dict.fromkeys(uses.header_columns))
            names_state = uses is not None and bool(
                {"constituency", "state"} & ({*uses.fields} | {*uses.subject_fields})
            )
            found = self._facts[audience] = (tuple(columns), names_state)
        return found

    def _check_email(self, raw: str, recipient: Recipient) -> None:
        errors = recipient.problems
        if not raw.strip():
            if self.options.needs_email:
                errors.append("column 'email' is empty (formats csv, jsonl, txt and pdf need none)")
            return
        if reason := header_problem(raw):
            errors.append(f"column 'email' {reason}")
            return
        if raw != raw.strip():
            errors.append(f"column 'email' {raw!r} has leading or trailing spaces")
            return
        try:
            checked = check_address(raw, self.options.check_dns)
        except EmailNotValidError as exc:
            errors.append(f"column 'email' {raw!r} is not a valid address: {exc}")
            return
        recipient.email = checked.ascii_email
        key = unicodedata.normalize("NFKC", checked.normalized).casefold()
        recipient.dedupe_key = key

    def check_row(self, row: Row, seen: Seen) -> Recipient:
        """prepare(), and the address noted in ``seen`` for the duplicate check at the end."""
        recipient = self.prepare(row)
        seen.add(recipient)
        return recipient

    def duplicates(self, seen: Seen) -> dict[int, Duplicate]:
        """Rows whose address an earlier row has, by line: found once every row was read.

        Only rows whose address hashes collide are read again, to compare the addresses
        themselves, so this costs one pass over the file only when there are candidates.
        """
        candidates = seen.collisions()
        if not candidates:
            return {}
        groups: dict[str, list[Row]] = {}
        for row in self.rows():
            if row.line in candidates:
                key = self.prepare(row).dedupe_key
                groups.setdefault(key, []).append(row)
        found: dict[int, Duplicate] = {}
        for rows in groups.values():
            first = rows[0].line
            for later in rows[1:]:
                found[later.line] = Duplicate(later, first)
        return found

    def render(self, recipient: Recipient, html: bool = True) -> Letter:
        """The letter for a recipient that passed prepare(); RenderError if a template fails.

        ``html=False`` skips the HTML version, for formats that only carry the text.
        """
        return self.renderer.letter(recipient.audience, recipient.fields, self.date, html)

    def message(self, recipient: Recipient, letter: Letter) -> bytes:
        """The whole .eml message of a rendered letter."""
        return build(
            self.envelope,
            recipient.display_name,
            recipient.email,
            recipient.subject,
            letter.text,
            letter.html,
            recipient.key,
        )

    def row_problems(self, recipient: Recipient) -> Problems:
        found = Problems()
        for message in recipient.problems:
            found.error(self.file.display, recipient.row.line, message)
        return found


@dataclass(frozen=True)
class Duplicate:
    """A row whose address an earlier row (on line ``first``) already has."""

    row: Row
    first: int

    @property
    def message(self) -> str:
        raw = self.row.values.get("email", "")
        return f"column 'email' {raw!r} duplicates the address on line {self.first}"


_HASH_MASK = (1 << 64) - 1


class Seen:
    """Each row's normalized address as a 64-bit hash with its line: 16 bytes a row.

    Memory stays flat however long the list: no address strings are kept.
    """

    def __init__(self) -> None:
        self.hashes: array[int] = array("Q")
        self.lines: array[int] = array("q")

    def add(self, recipient: Recipient) -> None:
        if recipient.dedupe_key:
            # Python's own 64-bit string hash: the same in every process of a run (--jobs
            # forks), and a collision only costs a second look at the rows concerned.
            self.hashes.append(hash(recipient.dedupe_key) & _HASH_MASK)
            self.lines.append(recipient.row.line)

    def extend(self, other: Seen) -> None:
        self.hashes.extend(other.hashes)
        self.lines.extend(other.lines)

    def collisions(self) -> set[int]:
        """Lines whose hash another row shares: the only rows that may be duplicates."""
        buckets = [array("Q") for _ in range(16)]
        for h in self.hashes:  # sixteen small sorts instead of one large list: flat memory
            buckets[h >> 60].append(h)
        repeated: set[int] = set()
        for bucket in buckets:
            ordered = sorted(bucket)
            repeated.update(a for a, b in itertools.pairwise(ordered) if a == b)
        if not repeated:
            return set()
        return {line for h, line in zip(self.hashes, self.lines, strict=True) if h in repeated}


def selector_row(job: Job, selector: str | None) -> Row:
    """The row a preview asks for: a 1-based data row number or an email address."""
    wanted = (selector or "1").strip()
    by_number = wanted.isascii() and wanted.isdigit()  # not '²' or a 5,000-digit number
    number = int(wanted[-18:]) if by_number and len(wanted.lstrip("0")) <= 18 else -1
    for row in job.rows():
        if by_number and row.number == number:
            return row
        if not by_number and row.values.get("email", "").strip().casefold() == wanted.casefold():
            return row
    what = f"row {wanted}" if by_number else f"recipient with email {wanted}"
    raise CampaignError(
        f"{job.file.display} has no {what}: give a data row number (1 is the first) or an email"
    )


__all__ = [
    "FORMATS_WITHOUT_EMAIL",
    "Duplicate",
    "Job",
    "Options",
    "Recipient",
    "Seen",
    "selector_row",
]
