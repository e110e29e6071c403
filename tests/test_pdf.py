"""PDF letters, read back with poppler-utils: words, paper, fonts, pages, bookmarks, glyphs."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATE, Campaign, copy_sample, listing
from test_check import replace_row
from test_signatories import signon  # noqa: F401 (a fixture)

from campaign.cli import main

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdffonts", "pdftohtml"))
if os.environ.get("CAMPAIGN_REQUIRE_PDF") and not POPPLER:
    raise RuntimeError("CAMPAIGN_REQUIRE_PDF is set but poppler-utils is missing")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) not installed")
weasyprint = (
    pytest.importorskip("weasyprint") if not os.environ.get("CAMPAIGN_REQUIRE_PDF") else None
)

LETTERHEAD = (
    "Coalition for Fair Enforcement\n1400 Example Street NW, Suite 300\nWashington, DC 20005\n"
    "coalition.example.org\n"
)


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def pages(pdf: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", pdf), re.M).group(1))  # type: ignore[union-attr]


def page_texts(pdf: Path) -> list[str]:
    """Each page's text in drawing order (-raw: a two-column list is read column by column)."""
    return [
        run("pdftotext", "-raw", "-f", n, "-l", n, pdf, "-")
        for n in map(str, range(1, pages(pdf) + 1))
    ]


def body_text(pdf: Path) -> str:
    """The letter's text without the page numbers (the last line of page 2 on)."""
    texts = page_texts(pdf)
    assert texts[0].rstrip("\f\n").splitlines()[-1] != "1"  # no number on the first page
    out = [texts[0]]
    for number, text in enumerate(texts[1:], 2):
        lines = text.rstrip("\f\n").splitlines()
        assert lines[-1] == str(number), f"page {number} ends {lines[-1]!r}"
        out.append("\n".join(lines[:-1]))
    return "\n".join(out)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def same_words(pdf_text: str, expected: str) -> None:
    """The same characters in the same order, whitespace aside (the layout breaks lines)."""
    got, want = squeeze(pdf_text), squeeze(expected)
    if got != want:
        at = next(
            i for i, (a, b) in enumerate(zip(got + "\0", want + "\0", strict=False)) if a != b
        )
        raise AssertionError(
            f"differs at {at}: pdf {got[at - 40 : at + 40]!r} txt {want[at - 40 : at + 40]!r}"
        )


def txt_letter(path: Path) -> str:
    """A txt export's letter as print sets it: no Subject line, the letterhead in place of the
    organization's line, citation markers as superscript numbers."""
    text = path.read_text(encoding="utf-8").split("\n\n", 1)[1]
    text = text.split("\n", 1)[1] if text.startswith("Coalition for Fair Enforcement\n") else text
    body, _, references = text.partition("\nReferences\n")
    return LETTERHEAD + re.sub(r"\[(\d+)\]", r"\1", body) + "\nReferences\n" + references


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.skip = self.skip or tag == "head"

    def handle_endtag(self, tag: str) -> None:
        self.skip = self.skip and tag != "head"

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def export(campaign: Campaign, fmt: str, out: str = "out", *extra: str) -> Path:
    result = campaign.run("export", "--format", fmt, "--out", out, "--date", DATE, *extra)
    assert result.exit_code == 0, result.output
    return campaign.root / out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample exported once as pdf, pdf-combined, txt and jsonl, for the tests that read."""
    root = tmp_path_factory.mktemp("exported")
    copy_sample(root)
    for fmt, out in (("pdf", "pdf"), ("pdf-combined", "all"), ("txt", "txt"), ("jsonl", "json")):
        args = ["export", "--campaign", str(root), "--format", fmt, "--out", str(root / out)]
        result = CliRunner().invoke(main, [*args, "--date", DATE], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return root


class TestSample:
    def test_one_pdf_per_recipient_with_the_txt_letters_words(self, exported: Path) -> None:
        pdfs = sorted((exported / "pdf").glob("*.pdf"))
        txts = sorted((exported / "txt").glob("*.txt"))
        assert [p.stem for p in pdfs] == [t.stem for t in txts]
        assert len(pdfs) == 12
        compared = 0
        for pdf, txt in zip(pdfs, txts, strict=True):
            text = body_text(pdf)
            if "Dear Secretary" in text or "Dear Acting" in text or "Dear Inspector" in text:
                continue  # the DHS letters print their HTML letter: compared below
            same_words(text, txt_letter(txt))
            compared += 1
        assert compared == 9

    def test_html_letters_print_the_html_letters_words(self, exported: Path) -> None:
        lines = (exported / "json/letters.jsonl").read_text(encoding="utf-8").splitlines()
        html_letters = [r for r in map(json.loads, lines) if r["html"]]
        assert len(html_letters) == 3
        for record in html_letters:
            (pdf,) = (exported / "pdf").glob(f"{int(record['row']):06d}-*.pdf")
            parser = _Text()
            parser.feed(record["html"])
            words = "".join(parser.parts).replace("Coalition for Fair Enforcement", "", 1)
            body, _, references = words.partition("References")
            body = re.sub(r"\[(\d+)\]", r"\1", body)
            same_words(body_text(pdf), LETTERHEAD + body + "References" + references)

    def test_letter_paper_fonts_embedded_page_numbers_from_page_two(self, exported: Path) -> None:
        for pdf in sorted((exported / "pdf").glob("*.pdf")):
            info = run("pdfinfo", pdf)
            assert "Page size:       612 x 792 pts (letter)" in info
            fonts = run("pdffonts", pdf).splitlines()[2:]
            assert fonts, "no fonts listed"
            for line in fonts:
                assert line.split()[-5] == "yes", line  # the emb column
            assert pages(pdf) >= 2
            body_text(pdf)  # asserts the numbers: none on page 1, N at the foot of page N

    def test_reproducible(self, exported: Path) -> None:
        again = exported / "again"
        args = ["export", "--campaign", str(exported), "--format", "pdf", "--out", str(again)]
        assert CliRunner().invoke(main, [*args, "--date", DATE]).exit_code == 0
        first = {p.name: p.read_bytes() for p in (exported / "pdf").glob("*.pdf")}
        second = {p.name: p.read_bytes() for p in again.glob("*.pdf")}
        assert first == second and len(first) == 12

    def test_first_page_renders_to_png(self, exported: Path, tmp_path: Path) -> None:
        if not shutil.which("pdftoppm"):
            pytest.skip("no pdftoppm")
        pdf = sorted((exported / "pdf").glob("*.pdf"))[0]
        run("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", pdf, tmp_path / "page")
        png = (tmp_path / "page-1.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (680, 880)  # 8.5 x 11 in at 80 dpi


class TestCombined:
    def test_one_bookmark_per_recipient_each_letter_from_a_new_page(self, exported: Path) -> None:
        singles = sorted((exported / "pdf").glob("*.pdf"))
        combined = exported / "all" / "letters.pdf"
        counts = [pages(p) for p in singles]
        assert pages(combined) == sum(counts)
        xml = run("pdftohtml", "-xml", "-i", "-stdout", combined)
        items = re.findall(r'<item page="(\d+)">([^<]*)</item>', xml)
        assert len(items) == 12
        starts = [1]
        for count in counts[:-1]:
            starts.append(starts[-1] + count)
        assert [int(page) for page, _ in items] == starts
        assert items[0][1] == "Senator Alex J. Rivera"
        assert items[9][1] == "Secretary of Homeland Security Jordan M. Ellison"
        for single, start in zip(singles, starts, strict=True):
            first = run("pdftotext", "-raw", "-f", str(start), "-l", str(start), combined, "-")
            assert first == page_texts(single)[0]  # each letter's own first page, unnumbered

    def test_out_file_name_and_jobs(self, sample: Campaign) -> None:
        result = sample.run(
            "export", "--format", "pdf-combined", "--out", "x.pdf", "--date", DATE, "--jobs", "2"
        )
        assert result.exit_code == 0, result.output
        assert pages(sample.root / "x.pdf") == 24


def add_print_setting(campaign: Campaign, line: str) -> int:
    """Put ``line`` into the sample's [print] table; the line number it is on."""
    settings = campaign.letters / "campaign.toml"
    lines = settings.read_text(encoding="utf-8").splitlines()
    at = next(i for i, text in enumerate(lines) if text.startswith("[print]")) + 1
    lines.insert(at, line)
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return at + 1


FILLER = "This paragraph is here to move the closing down the page, line by line. " * 3


class TestLayout:
    def test_signature_block_never_split(self, sample: Campaign) -> None:
        template = sample.letters / "congress.txt.j2"
        text = template.read_text(encoding="utf-8")
        text = text.replace(
            '{% include "_signature.txt.j2" %}',
            "{% for _ in range(recipient.district|int) %}\n" + FILLER + "\n\n{% endfor %}"
            '{% include "_signature.txt.j2" %}',
        )
        template.write_text(text, encoding="utf-8")
        header = sample.header()
        rows = [
            f"rep{n}@house.example.org,congress,Representative,Ann,Ames{n},Ann Ames,TX,{n},"
            "1 Cannon House Office Building,,"
            for n in range(1, 13)
        ]
        sample.write_recipients(header + "\n" + "\n".join(rows) + "\n")
        moved = 0
        for pdf in sorted(export(sample, "pdf").glob("*.pdf")):
            for text in page_texts(pdf):
                lines = text.splitlines()
                if "Sincerely," in lines:
                    assert "Maria Alvarez" in lines and any(
                        line.startswith("Campaign Director") for line in lines
                    ), (pdf.name, lines[-6:])
                    at = lines.index("Sincerely,")
                    # The block went to a new page, with the last lines of the paragraph before.
                    moved += text != page_texts(pdf)[0] and at <= 3
        assert moved, "no letter put its closing at a page break: the test tests nothing"

    def test_a4_and_margins_by_setting(self, sample: Campaign) -> None:
        add_print_setting(sample, 'paper = "a4"')
        add_print_setting(sample, 'margin = "2in"')
        pdf = sorted(export(sample, "pdf").glob("*.pdf"))[0]
        assert "Page size:       595.276 x 841.89 pts (A4)" in run("pdfinfo", pdf)
        bbox = run("pdftotext", "-bbox", "-f", "1", "-l", "1", pdf, "-")
        lefts = [float(x) for x in re.findall(r'<word xMin="([0-9.]+)"', bbox)]
        assert abs(min(lefts) - 144) < 1.5  # 2 inches

    @pytest.mark.parametrize(
        ("setting", "message"),
        [
            ('paper = "legal"', "[print] paper 'legal': choose letter or a4"),
            ('margin = "5in"', "[print] margin '5in': give a length from above 0 to 2.5in"),
            ('margin = "1 inch"', "[print] margin '1 inch': give a length"),
            ('color = "red"', "[print]: unknown setting 'color'"),
            ('logo = "missing.png"', "[print] logo 'missing.png': no such file in letters/"),
            ('logo = "campaign.toml"', "[print] logo 'campaign.toml': is not a PNG or JPEG"),
            ('logo = "../recipients.csv"', "[print] logo '../recipients.csv': the logo must be"),
            ('organization = "Bad\\u0007Org"', "[print] organization contains a control"),
        ],
    )
    def test_print_settings_checked(self, sample: Campaign, setting: str, message: str) -> None:
        line = add_print_setting(sample, setting)
        result = sample.run("check")
        assert result.exit_code == 1
        assert f"letters/campaign.toml:{line}: error: {message}" in result.output

    def test_logo_printed(self, sample: Campaign) -> None:
        (sample.letters / "logo.png").write_bytes(_png(40, 20))
        add_print_setting(sample, 'logo = "logo.png"')
        assert sample.run("check").exit_code == 0
        pdf = sorted(export(sample, "pdf").glob("*.pdf"))[0]
        if shutil.which("pdfimages"):
            assert len(run("pdfimages", "-list", pdf).splitlines()) == 3  # header, rule, 1

    def test_html_template_reaching_a_file_is_refused(self, sample: Campaign) -> None:
        template = sample.letters / "dhs.html.j2"
        text = template.read_text(encoding="utf-8")
        template.write_text(text.replace("<h2>", '<img src="/etc/hostname"><h2>'), "utf-8")
        result = sample.run("export", "--format", "pdf", "--out", "out", "--date", DATE)
        assert result.exit_code == 1
        assert (
            "recipients.csv:11: error: the letter loads '/etc/hostname': a printed letter loads "
            "no file or web page"
        ) in result.output
        checked = sample.run("check", "--format", "pdf")
        assert checked.exit_code == 1
        assert "recipients.csv:11: error: the letter loads '/etc/hostname'" in checked.output
        assert listing(sample.root / "out") == []


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\0" + b"\x20\x40\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class TestGlyphs:
    @pytest.mark.parametrize(
        ("name", "char", "label"),
        [
            ("王", "王", "U+738B CJK UNIFIED IDEOGRAPH-738B"),
            ("தமிழ்", "த", "U+0BA4 TAMIL LETTER TA"),
            ("Ames नमन", "न", "U+0928 DEVANAGARI LETTER NA"),
            ("이한", "이", "U+C774 HANGUL SYLLABLE I"),
            ("ᏣᎳᎩ", "Ꮳ", "U+13E3 CHEROKEE LETTER TSA"),
        ],
    )
    def test_a_character_the_fonts_lack_is_an_error_naming_row_and_character(
        self, sample: Campaign, name: str, char: str, label: str
    ) -> None:
        replace_row(sample, 3, ",Okafor,Samuel Okafor,", f",{name},{name},")
        for command in (
            ("check", "--format", "pdf"),
            ("export", "--format", "pdf", "--out", "out"),
        ):
            result = sample.run(*command)
            assert result.exit_code == 1, result.output
            assert (
                f"recipients.csv:4: error: the PDF cannot print {char!r} {label} "
                "(in column 'last_name')"
            ) in result.output, result.output
        assert listing(sample.root / "out") == []
        assert sample.run("check", "--format", "txt").exit_code == 0  # only print needs glyphs

    def test_characters_the_fonts_have_print(self, sample: Campaign) -> None:
        name = "Ωmega Жуков Nguyễn Łódź Ærøskøbing"
        replace_row(sample, 3, ",Samuel Okafor,", f",{name},")
        assert sample.run("check", "--format", "pdf").exit_code == 0
        pdf = sorted(export(sample, "pdf").glob("000003-*.pdf"))[0]
        assert name in run("pdftotext", "-raw", pdf, "-")


class TestSignon:
    def test_signon_pdf_has_the_txt_letters_words_and_two_columns(
        self,
        signon: Campaign,  # noqa: F811 (the fixture)
    ) -> None:
        pdfs = sorted(export(signon, "pdf").glob("*.pdf"))
        txts = sorted(export(signon, "txt", "txt").glob("*.txt"))
        assert len(pdfs) == 4
        for pdf, txt in zip(pdfs, txts, strict=True):
            same_words(body_text(pdf), txt_letter(txt))
        bbox = run("pdftotext", "-bbox", "-f", "2", "-l", "2", pdfs[0], "-")
        lefts = {round(float(x)) for x in re.findall(r'<word xMin="([0-9.]+)"', bbox)}
        assert 72 in lefts and any(300 <= x <= 310 for x in lefts), f"one column: {sorted(lefts)}"


@pytest.mark.parametrize("command", [("export", "--out", "out"), ("check",)])
@pytest.mark.parametrize("fmt", ["pdf", "pdf-combined"])
def test_missing_extra_is_a_clear_error(
    sample: Campaign, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], fmt: str
) -> None:
    from campaign import fonts

    fonts._coverage.cache_clear()
    for module in ("weasyprint", "fontTools", "fontTools.ttLib"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError
    result = sample.run(command[0], "--format", fmt, *command[1:])
    fonts._coverage.cache_clear()
    assert result.exit_code == 1, result.output
    assert "Error: the pdf format needs WeasyPrint, which is not installed" in result.output
    assert "install the pdf extra, pip install 'campaign[pdf]'" in result.output
    assert listing(sample.root / "out") == []
