"""Helpers for the hostile-input suite: a small campaign whose letter prints every field."""

from __future__ import annotations

import csv
import io

from conftest import DATE, Campaign, listing

HEADER = [
    "email",
    "audience",
    "title",
    "first_name",
    "last_name",
    "full_name",
    "address_block",
    "note",
    "phone",
]
GOOD = {
    "email": "alex@example.org",
    "audience": "a",
    "title": "Senator",
    "first_name": "Alex",
    "last_name": "Rivera",
    "full_name": "Alex Rivera",
    "address_block": "The Honorable Alex Rivera, Washington, DC 20510",
    "note": "Thank you.",
    "phone": "202-224-3121",
}
OTHER = {
    **GOOD,
    "email": "dana@example.org",
    "first_name": "Dana",
    "last_name": "Whitfield",
    "full_name": "Dana Whitfield",
}

SETTINGS = """\
[campaign]
name = "Hostile"
sender_name = "Sender"
sender_email = "sender@example.org"

[audiences.a]
template = "a.txt.j2"
html_template = "a.html.j2"
subject = "Letter for {{ recipient.title }} {{ recipient.last_name }}"
"""
# Every field between brackets, so a test can find each value exactly as it came out.
TEXT = """\
{{ recipient.salutation }}
email=[{{ recipient.email }}]
title=[{{ recipient.title }}]
first_name=[{{ recipient.first_name }}]
last_name=[{{ recipient.last_name }}]
full_name=[{{ recipient.full_name }}]
address_block=[{{ recipient.address_block }}]
note=[{{ recipient.note }}]
phone=[{{ recipient.phone }}]
"""
HTML = """\
<p>{{ recipient.salutation }}</p>
<p>{{ recipient.full_name }}: {{ recipient.note }}</p>
"""


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """A recipients file as a spreadsheet writes it (csv module; CRLF so a lone CR is quoted)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header or HEADER, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


def mini(campaign: Campaign, rows: list[dict[str, str]] | None = None) -> Campaign:
    """Replace the sample's letters and recipients with the small campaign and ``rows``."""
    letters = campaign.letters
    for path in letters.iterdir():
        path.unlink()
    (letters / "campaign.toml").write_text(SETTINGS, encoding="utf-8")
    (letters / "a.txt.j2").write_text(TEXT, encoding="utf-8")
    (letters / "a.html.j2").write_text(HTML, encoding="utf-8")
    (letters / "citations.toml").write_text("", encoding="utf-8")
    (letters / "quotes.toml").write_text("", encoding="utf-8")
    campaign.write_recipients(csv_text(rows if rows is not None else [GOOD, OTHER]))
    return campaign


def row(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def assert_refused(campaign: Campaign, *errors: str, args: tuple[str, ...] = ()) -> None:
    """export prints exactly these errors and the summary, exits 1 and writes nothing at all."""
    result = campaign.run("export", "--date", DATE, *args)
    count = len(errors)
    summary = f"{count} error{'s' * (count != 1)}, 0 warnings"
    assert result.output.splitlines() == [*errors, summary], result.output
    assert result.exit_code == 1
    assert listing(campaign.root / "out") == []


def assert_row_rejected(campaign: Campaign, line: int, *reasons: str) -> None:
    """The data row on ``line`` is refused with exactly ``reasons``: export writes nothing;
    with --skip-invalid every other row is exported and this one has no file, only its line
    in rejects.csv."""
    path = campaign.recipients.name
    assert_refused(campaign, *(f"{path}:{line}: error: {reason}" for reason in reasons))
    result = campaign.run("export", "--date", DATE, "--skip-invalid")
    assert result.exit_code == 0, result.output
    out = campaign.root / "out"
    with (out / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["line"] for r in rejects] == [str(line)]
    number = int(rejects[0]["row"])
    assert not list(out.glob(f"{number:06d}-*"))
    assert rejects[0]["reasons"] == "; ".join(reasons)
