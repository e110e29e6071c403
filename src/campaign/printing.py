"""PDF letters: each letter's page laid out by WeasyPrint, alone or all in one PDF."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from campaign.errors import CampaignError, LetterProblem
from campaign.fonts import faces, glyph_problem, load_weasyprint, resource_problem
from campaign.letterhead import letterhead
from campaign.pipeline import Job, Recipient
from campaign.printpage import print_page, stylesheet
from campaign.render import Letter, RenderError


class Printer:
    """WeasyPrint with the campaign's stylesheet parsed once and fonts loaded once per run."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.weasyprint = load_weasyprint()
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
    weasyprint = load_weasyprint()
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


__all__ = ["Printer", "combined_from_pages", "combined_pdf", "pdf_bytes", "print_problem"]
