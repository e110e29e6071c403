"""Letters for print: the page on letterhead as HTML, every glyph checked, and PDF by WeasyPrint.

The words come from the same render as every other format (the audience's HTML letter when it
has one, else its text letter); only the layout and the stylesheet are print's own.
"""

from __future__ import annotations

import base64
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from campaign.errors import CampaignError, LetterProblem
from campaign.letterhead import Letterhead, letterhead
from campaign.pipeline import Job, Recipient
from campaign.render import Letter, RenderError

EXTRA_HINT = "pip install 'campaign[pdf]'"
_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")
# A closing: one short line ending in a comma ("Sincerely,", "Respectfully submitted,").
_CLOSING = re.compile(r"^[^\W\d_][\w .'\u2019-]{0,38},$")
_TAG = re.compile(r"(<[^>]*>)")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_REFERENCE_LIST = re.compile(r'(<ol class="references".*?</ol>)', re.DOTALL)
# The faces a letter is set in, by preference, each as (family, regular file, bold, italic,
# bold italic); the first family found is the text face, the others fill in missing glyphs.
FACES = (
    ("Liberation Serif", "LiberationSerif", "-Regular", "-Bold", "-Italic", "-BoldItalic"),
    ("DejaVu Serif", "DejaVuSerif", "", "-Bold", "-Italic", "-BoldItalic"),
    ("DejaVu Sans", "DejaVuSans", "", "-Bold", "-Oblique", "-BoldOblique"),
)
FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)


def _weasyprint() -> Any:
    try:
        import weasyprint  # optional: only pdf needs it
    except ImportError as exc:
        raise CampaignError(
            f"the pdf format needs WeasyPrint, which is not installed ({exc}): "
            f"install the pdf extra, {EXTRA_HINT} (and the Pango library: Debian "
            "libpango-1.0-0)"
        ) from None
    except OSError as exc:  # WeasyPrint is there, but the Pango library it loads is not
        raise CampaignError(
            f"the pdf format needs the Pango library (Debian: libpango-1.0-0): {exc}"
        ) from None
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint


@dataclass(frozen=True)
class Face:
    family: str
    files: tuple[Path, Path, Path, Path]  # regular, bold, italic, bold italic


@cache
def faces() -> tuple[Face, ...]:
    """The font files found for FACES, in order of preference; an error if there are none."""
    found: dict[str, Path] = {}
    for folder in FONT_DIRS:
        if folder.is_dir():
            for path in sorted(folder.rglob("*.ttf")):
                found.setdefault(path.name, path)
    result = []
    for family, stem, *styles in FACES:
        files = [found.get(f"{stem}{style}.ttf") for style in styles]
        if all(files):
            result.append(Face(family, tuple(files)))  # type: ignore[arg-type]
    if not result:
        raise CampaignError(
            "the pdf format needs the DejaVu or Liberation fonts, which were not found in "
            f"{', '.join(str(d) for d in FONT_DIRS)} (Debian: fonts-dejavu-core, fonts-liberation)"
        )
    return tuple(result)


@cache
def _coverage() -> frozenset[int]:
    """Every code point the regular face of a chosen family has a glyph for."""
    try:
        from fontTools.ttLib import TTFont  # comes with WeasyPrint
    except ImportError:
        _weasyprint()  # names the extra to install
        raise

    points: set[int] = set()
    for face in faces():
        with TTFont(face.files[0], lazy=True) as font:
            points.update(font.getBestCmap())
    return frozenset(points)


def _needs_glyph(char: str) -> bool:
    # Line ends, spaces' controls and format characters (soft hyphen, joiners, marks of
    # direction) take no glyph of their own: Pango lays them out without one.
    return not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp")


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text``, in order of first use, that no chosen font can print."""
    covered = _coverage()
    return [c for c in dict.fromkeys(text) if ord(c) not in covered and _needs_glyph(c)]


def glyph_problem(recipient: Recipient, page: str) -> str | None:
    """Why this letter cannot be printed as written (a glyph the fonts lack), or None."""
    missing = missing_glyphs(_PrintedText.of(page))
    if not missing:
        return None
    shown = []
    for char in missing[:5]:
        name = unicodedata.name(char, "")
        where = [c for c, v in recipient.row.values.items() if char in v]
        origin = f" (in column '{where[0]}')" if where else ""
        shown.append(f"{char!r} U+{ord(char):04X}{' ' + name if name else ''}{origin}")
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    families = ", ".join(f.family for f in faces())
    return (
        f"the PDF cannot print {', '.join(shown)}{more}: the fonts ({families}) have no glyph "
        "for it; write the text in a script they cover, or leave this recipient out of pdf"
    )


class _PrintedText(HTMLParser):
    """The text a page shows: what the glyph check reads (not the head, styles or scripts)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.style = False
        self.resources: list[str] = []  # what laying the page out would load

    @classmethod
    def read(cls, page: str) -> _PrintedText:
        parser = cls()
        parser.feed(page)
        parser.close()
        return parser

    @classmethod
    def of(cls, page: str) -> str:
        return "".join(cls.read(page).parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "script", "title"):
            self.hidden += 1
        self.style = tag == "style"
        for name, value in attrs:
            if name in ("alt", "data-label") and value:
                self.parts.append(value)  # a bookmark's label is shown by PDF viewers
            if value and (
                name in ("src", "srcset", "data", "poster", "background")
                or (name == "href" and tag in ("link", "image", "use"))
            ):
                self.resources.append(value.strip())
            if name == "style" and value:
                self.resources.extend(_CSS_URL.findall(value))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script", "title") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if self.style:
            self.resources.extend(u for u in _CSS_URL.findall(data) if not u.startswith("file:"))
        if not self.hidden:
            self.parts.append(data)


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]*)""", re.IGNORECASE)


def resource_problem(page: str) -> str | None:
    """A page that would load anything (a file, a web address) but data: URIs: refused."""
    found = [u for u in _PrintedText.read(page).resources if not u.startswith("data:")]
    if not found:
        return None
    return (
        f"the letter loads {', '.join(repr(u) for u in found[:3])}: a printed letter loads no "
        "file or web page (the logo comes from [print] logo); remove it from the template"
    )


# -- the page as HTML -------------------------------------------------------------------------


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


# -- PDF ----------------------------------------------------------------------------------------


class Printer:
    """WeasyPrint with the campaign's stylesheet parsed once and fonts loaded once per run."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.weasyprint = _weasyprint()
        self.fonts = _font_config(self.weasyprint)
        self.fetcher = _fetcher(self.weasyprint)
        self.css = self.weasyprint.CSS(
            string=stylesheet(letterhead(job.campaign)),
            font_config=self.fonts,
            url_fetcher=self.fetcher,
        )

    def checked_page(self, recipient: Recipient, letter: Letter, inline: bool = True) -> str:
        """The letter's page as HTML; CampaignError if it cannot print exactly as written."""
        page = print_page(self.job, recipient, letter, inline)
        if reason := glyph_problem(recipient, page) or resource_problem(page):
            raise LetterProblem(reason)
        return page

    def document(self, recipient: Recipient, letter: Letter) -> Any:
        """The laid-out pages of one letter (a WeasyPrint Document)."""
        page = self.checked_page(recipient, letter, inline=False)
        return _layout(self.weasyprint, page, self.fonts, self.fetcher, [self.css])

    def pdf(self, recipient: Recipient, letter: Letter) -> bytes:
        return bytes(self.document(recipient, letter).write_pdf(**_REPRODUCIBLE))

    def combined(self, letters: Iterable[tuple[Recipient, Letter]]) -> bytes:
        """One PDF: every letter from a new page, in the order given, each a bookmark."""
        return combined_from_pages(self.checked_page(r, letter) for r, letter in letters)


def _font_config(weasyprint: Any) -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _layout(weasyprint: Any, page: str, fonts: Any, fetcher: Any, css: list[Any]) -> Any:
    fetcher.refused.clear()
    document = weasyprint.HTML(string=page, url_fetcher=fetcher).render(
        stylesheets=css, font_config=fonts
    )
    if fetcher.refused:  # resource_problem() found them first: this is the second line
        raise LetterProblem(f"the letter loads {fetcher.refused[0]!r}: refused")
    return document


def combined_from_pages(pages: Iterable[str]) -> bytes:
    """One PDF from pages made by checked_page(): each from a new page, each a bookmark.

    Each letter is laid out on its own, so its page numbers are its own; only the laid-out
    pages are kept until the PDF is written.
    """
    weasyprint = _weasyprint()
    fonts = _font_config(weasyprint)
    fetcher = _fetcher(weasyprint)
    first = None
    kept: list[Any] = []
    for page in pages:
        document = _layout(weasyprint, page, fonts, fetcher, [])
        first = first or document
        kept.extend(document.pages)
    if first is None:
        raise CampaignError("no letters to put in the combined PDF")
    return bytes(first.copy(kept).write_pdf(**_REPRODUCIBLE))


def _fetcher(weasyprint: Any) -> Any:
    """WeasyPrint's fetcher, reaching nothing but the fonts and data: URIs: no other file, no
    network. What it refused is noted, for an error once the letter is laid out."""
    allowed = frozenset(f.as_uri() for face in faces() for f in face.files)

    class LetterFetcher(weasyprint.URLFetcher):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(allowed_protocols=("file", "data"))
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url not in allowed and not url.startswith("data:"):
                self.refused.append(url)
                raise ValueError(f"refused {url}")
            return super().fetch(url, headers)

    return LetterFetcher()


def print_problem(job: Job, recipient: Recipient, letter: Letter | None = None) -> str | None:
    """Why a recipient that passed every other check has no printable letter, or None: what
    export --format pdf would refuse, found without laying the letter out."""
    if letter is None:
        try:
            letter = job.render(recipient)
        except RenderError as exc:
            return f"{exc.where}: {exc.message}"
    page = print_page(job, recipient, letter)
    return glyph_problem(recipient, page) or resource_problem(page)


# A fixed identifier (else the PDF's /ID comes from the time): same letters, same bytes.
_REPRODUCIBLE: dict[str, Any] = {"pdf_identifier": b"campaign-letter"}


def pdf_bytes(job: Job, recipient: Recipient, letter: Letter) -> bytes:
    """One letter as a PDF (a new Printer each call: use Printer for many letters)."""
    return Printer(job).pdf(recipient, letter)


def combined_pdf(job: Job, letters: Iterable[tuple[Recipient, Letter]]) -> bytes:
    return Printer(job).combined(letters)


__all__ = [
    "Printer",
    "combined_from_pages",
    "combined_pdf",
    "faces",
    "glyph_problem",
    "missing_glyphs",
    "pdf_bytes",
    "print_page",
    "print_problem",
    "resource_problem",
    "stylesheet",
]
