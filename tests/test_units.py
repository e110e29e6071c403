"""Unit rules: addressing conventions, footnote numbering, cell and name safety."""

from __future__ import annotations

import pytest

from campaign import addressing
from campaign.render import Footnotes, Sources
from campaign.safety import header_problem, neutralise_cell, slug
from campaign.settings import Citation, Quote


def row(**values: str) -> dict[str, str]:
    base = {"title": "Senator", "first_name": "Alex", "last_name": "Padilla"}
    base.update(values)
    return base


class TestAddressing:
    """Salutations and address blocks follow congressional and agency convention."""

    @pytest.mark.parametrize(
        ("title", "expected"),
        [
            ("Senator", "Dear Senator Padilla:"),
            ("Representative", "Dear Representative Padilla:"),
            ("Secretary of Homeland Security", "Dear Secretary Padilla:"),
            ("Director, U.S. Immigration and Customs Enforcement", "Dear Director Padilla:"),
            ("Acting Director", "Dear Acting Director Padilla:"),
            ("Inspector General", "Dear Inspector General Padilla:"),
        ],
    )
    def test_salutation(self, title: str, expected: str) -> None:
        assert addressing.salutation(row(title=title)) == expected

    def test_salutation_title_column_wins(self) -> None:
        assert addressing.salutation(row(salutation_title="Chairman")) == "Dear Chairman Padilla:"

    def test_senate_block(self) -> None:
        block = addressing.address_block(row(office="331 Hart Senate Office Building"))
        assert block.splitlines() == [
            "The Honorable Alex Padilla",
            "331 Hart Senate Office Building",
            "United States Senate",
            "Washington, DC 20510",
        ]

    def test_house_block_with_zip4(self) -> None:
        block = addressing.address_block(row(title="Representative", zip="20515-0507"))
        assert block.splitlines()[-2:] == [
            "United States House of Representatives",
            "Washington, DC 20515-0507",
        ]

    def test_official_block(self) -> None:
        block = addressing.address_block(
            row(
                title="Inspector General",
                full_name="Jo Q. Padilla",
                agency="Office of Inspector General",
                office="245 Murray Lane SW",
                city_line="Washington, DC 20528",
            )
        )
        assert block.splitlines() == [
            "The Honorable Jo Q. Padilla",
            "Inspector General",
            "Office of Inspector General",
            "245 Murray Lane SW",
            "Washington, DC 20528",
        ]

    @pytest.mark.parametrize(
        ("district", "expected"),
        [
            ("0", "Wyoming (at large)"),
            ("1", "Wyoming's 1st congressional district"),
            ("12", "Wyoming's 12th congressional district"),
            ("22", "Wyoming's 22nd congressional district"),
        ],
    )
    def test_constituency(self, district: str, expected: str) -> None:
        values = row(title="Representative", state="WY", district=district)
        assert addressing.constituency(values) == expected


def citation(key: str) -> Citation:
    return Citation(key, "Pub", f"Title {key}", key.upper(), "2010", f"https://x.example/{key}",
                    None, None, 1)  # fmt: skip


class TestFootnotes:
    """cite() numbers in order of first use; references() lists what was cited."""

    def test_numbering_and_reuse(self) -> None:
        notes = Footnotes(Sources({"a": citation("a"), "b": citation("b")}, {}, html=False))
        assert [notes.cite("b"), notes.cite("a"), notes.cite("b")] == ["[1]", "[2]", "[1]"]
        assert notes.references().splitlines() == [
            "[1] Pub, Title b, B, 2010. https://x.example/b",
            "[2] Pub, Title a, A, 2010. https://x.example/a",
        ]

    def test_quote_is_verbatim_with_attribution(self) -> None:
        quote = Quote("q", "Ana", "director", "Org", "It's <so>", "S", "2010", None, None, 1)
        notes = Footnotes(Sources({}, {"q": quote}, html=False))
        assert notes.quote("q") == "\u201cIt's <so>\u201d \u2014 Ana, director, Org"
        html = Footnotes(Sources({}, {"q": quote}, html=True)).quote("q")
        assert "It&#39;s &lt;so&gt;" in html


class TestSafety:
    """Header values, spreadsheet cells and file names."""

    @pytest.mark.parametrize(
        "value", ["a\nb", "a\rb", "a\x85b", "a\u2028b", "a\x00b", "a\u202eb", "=?utf-8?q?x?="]
    )
    def test_header_problem(self, value: str) -> None:
        assert header_problem(value) is not None

    @pytest.mark.parametrize("value", ["Inés Núñez", "O'Brien, Pat", "Dr. Ana (Chair)"])
    def test_header_ok(self, value: str) -> None:
        assert header_problem(value) is None

    @pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@x", "\tx", "\rx", "\uff1d1"])
    def test_formula_cells(self, value: str) -> None:
        assert neutralise_cell(value) == "'" + value

    def test_slug(self) -> None:
        assert slug("../../etc/passwd") == "etc-passwd"
        assert slug("Núñez Inés") == "nunez-ines"
        assert slug("\u202e\u0000") == "recipient"
        assert len(slug("x" * 300)) == 60
