"""The page a PDF letter is laid out from, as HTML: letterhead, letter, print stylesheet.

The words come from the same render as every other format (the audience's HTML letter when it
has one, else its text letter); only the layout and the stylesheet are print's own.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

from campaign.fonts import faces
from campaign.letterhead import Letterhead, letterhead
from campaign.pipeline import Job, Recipient
from campaign.render import Letter

_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")
# A closing: one short line ending in a comma ("Sincerely,", "Respectfully submitted,").
_CLOSING = re.compile(r"^[^\W\d_][\w .'\u2019-]{0,38},$")
_TAG = re.compile(r"(<[^>]*>)")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_REFERENCE_LIST = re.compile(r'(<ol class="references".*?</ol>)', re.DOTALL)


def stylesheet(head: Letterhead) -> str:
    """Print's own CSS: paper, margins, page numbers from page 2, letterhead, signature."""
    font_faces = []
    families = []
    for index, face in enumerate(faces()):
        name = f"Letter Face {index}"
        families.append(f'"{name}"')
        for path, weight, style in zip(
            face.files,
            ("normal", "bold", "normal", "bold"),
            ("normal", "normal", "italic", "italic"),
            strict=True,
        ):
            font_faces.append(
                f'@font-face {{ font-family: "{name}"; src: url("{path.as_uri()}"); '
                f"font-weight: {weight}; font-style: {style} }}"
            )
    family = ", ".join(families)
    return "\n".join(
        [
            *font_faces,
            f"@page {{ size: {head.paper}; margin: {head.margin};"
            f" @bottom-center {{ content: counter(page); font-family: {family};"
            " font-size: 9pt } }",
            "@page :first { @bottom-center { content: none } }",
            f"html {{ font-family: {family}; font-size: 11.5pt; line-height: 1.38; color: #000 }}",
            "body { margin: 0 }",
            "h1, h2, h3, h4, h5, h6 { bookmark-level: none }",
            ".bookmark { bookmark-level: 1; bookmark-label: attr(data-label) }",
            ".letterhead { text-align: center; border-bottom: 0.75pt solid #333;"
            " padding-bottom: 6pt; margin-bottom: 22pt }",
            ".letterhead img { max-height: 0.8in; max-width: 2.2in; margin-bottom: 4pt }",
            ".letterhead .organization { font-size: 16pt; font-variant: small-caps;"
            " letter-spacing: 0.04em; margin: 0 }",
            ".letterhead .address { font-size: 9pt; color: #333; margin: 2pt 0 0 }",
            "p { margin: 0 0 10pt; orphans: 2; widows: 2 }",
            ".date { margin-bottom: 18pt }",
            ".address-block { margin-bottom: 16pt }",
            "blockquote { margin: 0 0.45in 10pt; font-size: 10.5pt }",
            "blockquote p { margin: 0 }",
            "blockquote footer { margin-top: 2pt }",
            "sup.cite { font-size: 7.5pt; line-height: 0; vertical-align: super }",
            ".closing { break-after: avoid; margin-top: 14pt }",
            ".signature, .closing + p { break-inside: avoid; break-before: avoid }",
            ".signature .signer { margin-top: 30pt }",
            ".references-heading, h2 { font-size: 11.5pt; font-weight: bold;"
            " margin: 20pt 0 6pt; break-after: avoid }",
            ".references, ol.references { font-size: 9pt; line-height: 1.3;"
            " padding-left: 0; list-style: none }",
            ".references li, .references p { margin: 0 0 4pt; overflow-wrap: anywhere }",
            ".signatories { margin-top: 8pt }",
            ".signatory-heading { font-size: 10.5pt; font-weight: bold; margin: 12pt 0 4pt;"
            " break-after: avoid }",
            ".signatory-list { font-size: 9.5pt; line-height: 1.3; break-inside: avoid;"
            " margin-bottom: 2pt }",
            ".signatory-list td { padding: 0 0.15in 0 0 }",
            ".signatory-list div { margin-bottom: 2pt }",
            ".signatory-note { font-size: 8.5pt; font-style: italic; margin-top: 6pt }",
        ]
    )


def _letterhead_html(head: Letterhead, label: str) -> str:
    logo = Markup('<img src="{}" alt="">').format(_data_uri(head.logo)) if head.logo else ""
    lines = Markup("<br>").join(head.address)
    address = Markup('<p class="address">{}</p>').format(lines) if head.address else ""
    return Markup(
        '<header class="letterhead bookmark" data-label="{label}">{logo}'
        '<p class="organization">{org}</p>{address}</header>'
    ).format(label=label, logo=logo, org=head.organization, address=address)


@cache
def _data_uri(path: Path) -> str:
    """The logo inside the page: a letter laid out anywhere needs no file but its fonts."""
    data = path.read_bytes()
    kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _markers(text: Markup, cited: int) -> Markup:
    """[1] ... [n], the letter's own citation markers, as superscripts."""
    if not cited:
        return text
    pattern = re.compile(r"\[([1-9][0-9]*)\]")
    return Markup(
        pattern.sub(
            lambda m: f'<sup class="cite">{m.group(1)}</sup>' if int(m.group(1)) <= cited else m[0],
            str(text),
        )
    )


def _blockquote(paragraph: str, cited: int) -> Markup:
    """An indented paragraph; a quote's attribution ('— Speaker, ...') on a line of its own."""
    words, dash, who = paragraph.rpartition(" \u2014 ")
    if not dash or "\n" in who:
        return Markup("<blockquote><p>{}</p></blockquote>").format(
            _markers(_lines(paragraph), cited)
        )
    return Markup("<blockquote><p>{}</p><footer>\u2014 {}</footer></blockquote>").format(
        _markers(_lines(words), cited), _lines(who)
    )


def _lines(paragraph: str) -> Markup:
    return Markup("<br>").join(paragraph.split("\n"))


def text_body(job: Job, recipient: Recipient, letter: Letter, head: Letterhead) -> str:
    """The text letter set for print: paragraphs, quotes, closing, references, signatories."""
    text = letter.text
    first, _, rest = text.partition("\n")
    if first.strip() == head.organization.strip():
        text = rest  # the letterhead says it
    # The exact text references() and signatory_list() gave: set as lists of their own.
    pieces: list[tuple[str, str]] = [("text", text)]
    blocks = []
    if letter.cited:
        blocks.append(("references", job.renderer.text_sources.references(letter.cited)))
    if job.signatories.found and job.signatories.count:
        blocks.append(("signatories", job.signatories.text_block()))
    for kind, block in blocks:
        split: list[tuple[str, str]] = []
        for piece_kind, piece in pieces:
            if piece_kind == "text" and block in piece:
                before, _, after = piece.partition(block)
                split.extend([("text", before), (kind, block), ("text", after)])
            else:
                split.append((piece_kind, piece))
        pieces = split
    address = recipient.fields.get("address_block", "").strip()
    salutation = recipient.fields.get("salutation", "").strip()
    out: list[str] = []
    seen_salutation = False
    closing_open = False
    for index, (kind, piece) in enumerate(pieces):
        if kind == "references":
            items = (Markup("<p>{}</p>").format(line) for line in piece.split("\n"))
            out.append(Markup('<div class="references">{}</div>').format(Markup("").join(items)))
            continue
        if kind == "signatories":
            out.append(job.signatories.html_block())
            continue
        paragraphs = [p for p in _PARAGRAPHS.split(piece.strip("\n")) if p.strip()]
        following = pieces[index + 1][0] if index + 1 < len(pieces) else None
        for number, paragraph in enumerate(paragraphs):
            last = number == len(paragraphs) - 1
            body = _markers(_lines(paragraph.strip("\n")), len(letter.cited))
            if closing_open:
                closing_open = False
                out.append(Markup('<p class="signer">{}</p></div>').format(body))
                continue
            stripped = paragraph.strip()
            if paragraph.startswith(("  ", "\t")):
                out.append(_blockquote(paragraph.strip(), len(letter.cited)))
            elif last and following == "references" and "\n" not in stripped:
                out.append(Markup('<p class="references-heading">{}</p>').format(body))
            elif stripped == address:
                out.append(Markup('<p class="address-block">{}</p>').format(body))
            elif stripped == salutation:
                seen_salutation = True
                out.append(Markup('<p class="salutation">{}</p>').format(body))
            elif not seen_salutation and not out and "\n" not in stripped:
                out.append(Markup('<p class="date">{}</p>').format(body))
            elif seen_salutation and _CLOSING.match(stripped):
                if last:  # a list of signatories or the references follow: keep with them
                    out.append(Markup('<p class="closing">{}</p>').format(body))
                else:
                    out.append(
                        Markup('<div class="signature"><p class="closing">{}</p>').format(body)
                    )
                    closing_open = True
            else:
                out.append(Markup("<p>{}</p>").format(body))
        if closing_open:  # a closing with nothing after it
            out.append(Markup("</div>"))
            closing_open = False
    return Markup("\n").join(out)


def html_body(letter: Letter, head: Letterhead) -> str:
    """The audience's HTML letter, its body only, with print's markers and closing."""
    assert letter.html is not None
    found = _BODY.search(letter.html)
    body = found.group(1) if found else letter.html
    organization = re.escape(str(escape(head.organization.strip())))
    body = re.sub(rf"^\s*<p>\s*{organization}\s*<br>\s*", "<p>", body, count=1)
    parts = _REFERENCE_LIST.split(body)
    for index in range(0, len(parts), 2):  # outside the reference list
        segments = _TAG.split(parts[index])
        for at in range(0, len(segments), 2):  # text between tags
            segments[at] = _markers(Markup(segments[at]), len(letter.cited))
        parts[index] = "".join(segments)
    body = "".join(parts)
    return re.sub(
        r"<p>(\s*[^\W\d_][\w .'\u2019-]{0,38},\s*)</p>", r'<p class="closing">\1</p>', body
    )


def print_page(job: Job, recipient: Recipient, letter: Letter, inline: bool = False) -> str:
    """The whole page a PDF is made from, as HTML; ``inline``: with its stylesheet inside."""
    head = letterhead(job.campaign)
    if letter.html is not None:
        body = html_body(letter, head)
    else:
        body = text_body(job, recipient, letter, head)
    label = recipient.display_name or recipient.fields.get("full_name", "")
    title = recipient.fields.get("title", "")
    parts = [
        Markup('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'),
        Markup("<title>{}</title>").format(recipient.subject),
        Markup('<meta name="dcterms.created" content="{}">').format(job.now.isoformat()),
        Markup('<meta name="author" content="{}">').format(head.organization),
        Markup("<style>{}</style>").format(Markup(stylesheet(head))) if inline else Markup(""),
        Markup("</head><body>"),
        _letterhead_html(head, f"{title} {label}".strip()),
        Markup('<main class="letter">'),
        Markup(body),
        Markup("</main></body></html>\n"),
    ]
    return str(Markup("").join(parts))


__all__ = [
    "html_body",
    "print_page",
    "stylesheet",
    "text_body",
]
