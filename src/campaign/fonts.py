"""The fonts PDF letters are set in, and what a page needs of them: a glyph for every
character, and nothing loaded from outside. WeasyPrint, the pdf extra, is imported here."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaign.errors import CampaignError

if TYPE_CHECKING:
    from campaign.pipeline import Recipient

EXTRA_HINT = "pip install 'campaign[pdf]'"
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


def load_weasyprint() -> Any:
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
        load_weasyprint()  # names the extra to install
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


def printed_text(page: str) -> str:
    """The text a page shows (not its head, styles or scripts), bookmark labels too."""
    return _PrintedText.of(page)


def resource_problem(page: str) -> str | None:
    """A page that would load anything (a file, a web address) but data: URIs: refused."""
    found = [u for u in _PrintedText.read(page).resources if not u.startswith("data:")]
    if not found:
        return None
    return (
        f"the letter loads {', '.join(repr(u) for u in found[:3])}: a printed letter loads no "
        "file or web page (the logo comes from [print] logo); remove it from the template"
    )


__all__ = [
    "EXTRA_HINT",
    "FACES",
    "Face",
    "faces",
    "glyph_problem",
    "load_weasyprint",
    "missing_glyphs",
    "printed_text",
    "resource_problem",
]
