"""One recipient's letter as the preview server shows it: the headers as sent, the body with
its sources marked, and the row's problems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from markupsafe import Markup, escape

from campaign.errors import CampaignError
from campaign.marks import Marker
from campaign.message import InternalError
from campaign.survey import Snapshot, kind_of

_SHOWN = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version")
_BODY = re.compile(r"<body\b[^>]*>(.*)</body\s*>", re.IGNORECASE | re.DOTALL)


@dataclass
class LetterView:
    number: int
    line: int
    name: str
    audience: str
    kind: str
    subject: str = ""
    problems: list[str] = field(default_factory=list)  # errors: the letter is not sent
    warnings: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw_headers: str = ""
    note: str = ""  # why no headers are shown
    body: Markup | None = None  # the HTML part's body, or the text part as a page
    body_is_html: bool = False
    text_body: Markup | None = None  # the text part, when the body is the HTML part
    marked: bool = False  # fields, citations and quotes are marked in the body
    render_error: str = ""


_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)


def _inner_body(html: str) -> str:
    """The body of an HTML part, to set in the page; a <meta> (a refresh that would leave the
    page) is dropped, and the page's policy keeps any script or frame in it from running."""
    found = _BODY.search(html)
    return _META.sub("", found.group(1) if found else html)


def letter_view(snapshot: Snapshot, number: int) -> LetterView | None:
    """The letter of data row ``number``; None when there is no such row."""
    job = snapshot.job
    if job is None:
        return None
    with snapshot.lock:
        row = next((r for r in job.rows() if r.number == number), None)
        if row is None:
            return None
        recipient = job.prepare(row)
        view = LetterView(
            row.number,
            row.line,
            recipient.display_name or " ".join(row.values.get("last_name", "").split()),
            recipient.audience,
            kind_of(row.values).label,
            recipient.subject,
        )
        view.warnings = list(snapshot.audience_warnings(recipient.audience))
        entry = snapshot.survey.entry(number)
        if entry is not None:  # with the duplicate check, once it ran
            view.problems = [r for r in entry.reasons if r not in view.warnings]
        else:
            view.problems = list(recipient.problems)
        if snapshot.marked is None or not snapshot.marked.ready(recipient.audience):
            if recipient.audience in job.campaign.audiences:
                view.render_error = "The templates have errors (listed above): no letter."
            else:
                view.render_error = "Not rendered: the row's audience is not in the campaign."
            return view
        if not recipient.subject:
            view.render_error = "Not rendered: fix the row's problems first."
            return view
        try:
            letter = job.render(recipient)
        except CampaignError as exc:
            view.render_error = str(exc)
            return view
        if not job.usable:
            view.note = "Not sent: the campaign has errors (listed above)."
        elif recipient.problems:
            view.note = "Not sent: the row has errors."
        elif not recipient.email:
            view.note = "No email address: this letter goes out as csv, jsonl or txt only."
        else:
            try:
                data = job.message(recipient, letter)
            except InternalError as exc:
                view.render_error = f"The message could not be built: {exc}"
                return view
            _headers(view, data)
        marked = snapshot.marked.marked(recipient.audience, recipient.fields, job.date)
        text_prefix = "text-" if letter.html is not None else ""
        text_mark = html_mark = None
        if marked is not None:
            mletter, marks = marked
            text_mark = Marker(marks, snapshot.quotes, text_prefix).text(mletter.text, letter.text)
            if letter.html is not None and mletter.html is not None:
                html_mark = Marker(marks, snapshot.quotes, "").html(mletter.html, letter.html)
        text = text_mark if text_mark is not None else escape(letter.text)
        if letter.html is not None:
            # The HTML part is the template's output: values in it were escaped as it rendered.
            whole = html_mark if html_mark is not None else letter.html
            view.body = Markup(_inner_body(str(whole)))
            view.body_is_html = True
            view.text_body = text
            view.marked = html_mark is not None
        else:
            view.body = text
            view.marked = text_mark is not None
        return view


def _headers(view: LetterView, data: bytes) -> None:
    block, _, _ = data.partition(b"\n\n")
    view.raw_headers = block.decode("ascii", errors="replace")
    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    view.headers = [(name, str(message[name])) for name in _SHOWN if message[name] is not None]
    kind = "text and HTML" if message.is_multipart() else "text"
    view.headers.append(("Parts", kind))


__all__ = ["LetterView", "letter_view"]
