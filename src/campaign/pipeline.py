"""Loading a campaign and taking its recipients through every check, one row at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import cached_property
from pathlib import Path

from email_validator import EmailNotValidError

from campaign import addressing
from campaign.addresses import check_address, duplicate_key
from campaign.campaigncheck import check_campaign, check_columns
from campaign.duplicates import Duplicate, Seen
from campaign.errors import CampaignError, Problems, did_you_mean
from campaign.fields import Record
from campaign.message import HEADER_LINE, Envelope, address, build, make_envelope
from campaign.recipients import REQUIRED_COLUMNS, RecipientsFile, Row
from campaign.render import Letter, Renderer, RenderError
from campaign.safety import (
    body_problem,
    display_name_problem,
    header_problem,
    headers_safe,
    is_blank,
    only_fillers,
)
from campaign.settings import Campaign, load_campaign
from campaign.signatories import load_signatories
from campaign.templates import COMPUTED_FIELDS, COMPUTED_FROM, Uses

# Columns whose text goes into the To header (display name) besides the email itself.
NAME_COLUMNS = ("first_name", "last_name", "full_name")
_BLANK_NOTE = (
    " (it holds only characters that show as nothing, such as fillers or zero-width spaces)"
)


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
        self.file = RecipientsFile(
            options.recipients,
            options.recipients_display,
            options.encoding,
            campaign_dir=options.campaign_dir,
        )
        self.problems.extend(self.file.problems)
        self._facts: dict[str, tuple[tuple[str, ...], bool]] = {}
        self._needs: dict[tuple[str, bool], frozenset[str]] = {}
        # The checks on the campaign as a whole, once, before any row (campaigncheck.py).
        uses, found = check_campaign(self.campaign, self.renderer, self.signatories)
        self.uses: dict[str, Uses] = uses
        self.problems.extend(found)
        self.problems.extend(check_columns(self.file, self.uses, options.needs_email))

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
        if row.missing and self._needed(audience, values.get("title", "")).intersection(
            row.missing
        ):
            width = len(self.file.header)
            errors.insert(
                len(row.errors), f"has {width - len(row.missing)} fields but the header has {width}"
            )
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
        # A plain ASCII value with a letter in it is not blank: decided in C, the common case.
        title, last = values.get("title"), values.get("last_name")
        named = (title is None or (title.isascii() and title.strip()) or not is_blank(title)) and (
            last is None or (last.isascii() and last.strip()) or not is_blank(last)
        )
        if not named:
            for column in ("title", "last_name"):
                if column in values and is_blank(values[column]):
                    seen = "" if not values[column].strip() else _BLANK_NOTE
                    errors.append(f"column '{column}' is empty{seen}")
        header_errors = False
        if not headers_safe([values[c] for c in header_columns if c in values]):
            for column in header_columns:
                cell = values.get(column)
                if cell is not None and not only_fillers(cell) and (reason := header_problem(cell)):
                    errors.append(f"column '{column}' {reason}; it would go into a mail header")
                    header_errors = True
        self._check_email(values.get("email", ""), recipient)
        if audience not in self.campaign.audiences or not named or title is None or last is None:
            return recipient
        errors.extend(addressing.member_problems(values, names_state, cached))
        # Read by name only, blanks marked: printing a blank column is an error (render.py).
        computed = Record(values, blanks=True)
        computed["full_name"] = addressing.full_name(values)  # trimmed; blank: first and last
        given = values.get("salutation", "")
        if not given.strip() or (not given.isascii() and is_blank(given)):
            computed["salutation"] = addressing.salutation(values, cached)
        given = values.get("address_block", "")
        if not given.strip() or (not given.isascii() and is_blank(given)):
            if reason := addressing.address_problem(values):
                errors.append(reason)
            computed["address_block"] = addressing.address_block(values, cached)
        if not values.get("constituency", "").strip():
            computed.pop("constituency", None)
            if addressing.chamber(values["title"].strip()) is None:
                # An official has no constituency: a letter that names one is wrong.
                computed.absent["constituency"] = (
                    f"recipient.constituency does not apply to {values['title'].strip()!r}, "
                    "who is not a member of Congress: name it only for members "
                    "({% if recipient.constituency is defined %}...{% endif %})"
                )
            else:
                computed["constituency"] = addressing.constituency(values, cached)
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

    def _needed(self, audience: str, title: str) -> frozenset[str]:
        """The columns a row of this audience and kind must have: the required ones, every
        column its templates print, and those its computed fields are made from for this kind
        of recipient (a member's address has no agency; an official's no ZIP). A computed field
        itself is never needed: left out, it is computed."""
        member = addressing.chamber(title.strip()) is not None
        found = self._needs.get((audience, member))
        if found is None:
            required = {c for c in REQUIRED_COLUMNS if self.options.needs_email or c != "email"}
            uses = self.uses.get(audience)
            for name in {**uses.fields, **uses.subject_fields} if uses is not None else ():
                required.update(COMPUTED_FROM.get(name, (name,)))
            required.discard("zip" if not member else "agency")
            required.difference_update(COMPUTED_FIELDS)
            found = self._needs[audience, member] = frozenset(required)
        return found

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
        recipient.dedupe_key = duplicate_key(checked)

    def check_row(self, row: Row, seen: Seen) -> Recipient:
        """prepare(), and the address noted in ``seen`` for the duplicate check at the end."""
        recipient = self.prepare(row)
        seen.add(recipient.dedupe_key, recipient.row.line)
        return recipient

    def check_letter(self, row: Row, seen: Seen, html: bool = True) -> Recipient:
        """check_row(), then the letter rendered as export renders it: a template that fails
        for this row (an unknown filter in an include, a blank it prints, a letter over the
        limits) is one of the row's problems, as in export."""
        recipient = self.check_row(row, seen)
        if not recipient.problems and self.usable:
            try:
                self.render(recipient, html)
            except RenderError as exc:
                recipient.problems.append(f"{exc.where}: {exc.message}")
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


def selector_row(job: Job, selector: str | None) -> Row:
    """The row a preview asks for: a 1-based data row number or an email address."""
    wanted = (selector or "1").strip()
    by_number = wanted.isascii() and wanted.isdigit()  # not '²' or a 5,000-digit number
    number = int(wanted[-18:]) if by_number and len(wanted.lstrip("0")) <= 18 else -1
    count = 0
    for row in job.rows():
        count = row.number
        if by_number and row.number == number:
            return row
        if not by_number and row.values.get("email", "").strip().casefold() == wanted.casefold():
            return row
    what = f"row {wanted}" if by_number else f"recipient with email {wanted}"
    rows = "no data rows" if not count else f"{count} data row{'s' * (count != 1)}"
    numbers = "" if count < 2 else f", numbered 1 to {count}"
    raise CampaignError(
        f"{job.file.display} has no {what}: give a data row number (1 is the first) or an "
        f"email; it has {rows}{numbers}"
    )


__all__ = [
    "Duplicate",
    "Job",
    "Options",
    "Recipient",
    "Seen",
    "selector_row",
]
