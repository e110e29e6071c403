"""import-legislators on the real congress-legislators data, then check and export."""

from __future__ import annotations

import csv
import email
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from campaign import addressing
from campaign.cli import main
from campaign.errors import CampaignError, LocatedError
from campaign.legislators import (
    Filters,
    import_legislators,
    read_committees,
    read_legislators,
    split_address,
)

REPO = Path(__file__).parents[1]
DATA = SHARED_DATA.parent
LEGISLATORS = DATA / "legislators-current.csv"
COMMITTEES = DATA / "committee-membership-current.csv"

pytestmark = pytest.mark.skipif(
    not (LEGISLATORS.is_file() and COMMITTEES.is_file()),
    reason=f"the real dataset is not in {DATA} (see ../shared/data/README.md)",
)

DATASET_ROWS = 537
IMPORTABLE = 536  # line 537 has no full_name (built from its parts), line 538 no address
DATE = "2026-11-27"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def committee_members(*idents: str) -> set[str]:
    return {r["bioguide_id"] for r in read_rows(COMMITTEES) if r["committee_id"] in idents}


def by_bioguide(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["bioguide_id"]: row for row in rows}


@pytest.fixture(scope="module")
def members() -> list[dict[str, str]]:
    rows, _ = read_legislators(LEGISLATORS, "legislators-current.csv")
    return rows


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    shutil.copytree(REPO / "letters", folder / "letters")
    return folder


class TestReading:
    """Every row of the dataset is read by column name; unusable rows are reported, not kept."""

    def test_every_row_is_imported_or_reported(self) -> None:
        """All 537 rows are read: 536 imported, 1 reported."""
        rows, problems = read_legislators(LEGISLATORS, "legislators-current.csv")
        assert len(read_rows(LEGISLATORS)) == DATASET_ROWS
        assert len(rows) == IMPORTABLE
        assert len(rows) + len(problems.items) == DATASET_ROWS
        assert len({row["bioguide_id"] for row in rows}) == IMPORTABLE

    def test_incomplete_rows_are_reported_with_their_line(self) -> None:
        """A blank name or address is a warning at PATH:LINE naming the member and the reason."""
        _, problems = read_legislators(LEGISLATORS, "legislators-current.csv")
        assert [str(p) for p in problems.items] == [
            "legislators-current.csv:538: warning: skipped James Gallagher (G000607): "
            "address is empty",
        ]
        assert not problems.errors

    def test_column_order_and_extra_columns_do_not_matter(
        self, tmp_path: Path, members: list[dict[str, str]]
    ) -> None:
        """The published layout (more columns, another order) gives the same rows and lines."""
        original = read_rows(LEGISLATORS)
        columns = ["twitter", *reversed(list(original[0])), "wikipedia_id"]
        variant = tmp_path / "legislators-current.csv"
        with variant.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            for row in original:
                writer.writerow({**row, "twitter": "someone", "wikipedia_id": "Some Page"})
        rows, problems = read_legislators(variant, "legislators-current.csv")
        _, expected = read_legislators(LEGISLATORS, "legislators-current.csv")
        assert rows == members
        assert problems.items == expected.items

    def test_missing_columns_are_named(self, tmp_path: Path) -> None:
        """A file without the columns the import reads is an error that names them."""
        path = tmp_path / "people.csv"
        path.write_text("last_name,first_name,type,state\nDoe,Jane,sen,WA\n", encoding="utf-8")
        with pytest.raises(LocatedError) as caught:
            read_legislators(path, "people.csv")
        message = str(caught.value)
        assert message.startswith("people.csv:1: error: missing required columns: full_name, ")
        for column in ("district", "party", "address", "phone", "contact_form", "bioguide_id"):
            assert column in message

    def test_a_line_break_in_a_value_is_reported(self, tmp_path: Path) -> None:
        """A value with a line break or control character is never written, and is reported."""
        header = ",".join(read_rows(LEGISLATORS)[0])
        lines = LEGISLATORS.read_text(encoding="utf-8").splitlines()
        broken = lines[1].replace("Maria Cantwell", '"Maria\nCantwell"', 1)
        tabbed = lines[2].replace("Klobuchar,Amy", "Klobuchar,Amy\t", 1)
        path = tmp_path / "legislators.csv"
        path.write_text("\n".join([header, broken, tabbed, lines[3]]) + "\n", encoding="utf-8")
        rows, problems = read_legislators(path, "legislators.csv")
        assert len(rows) == 1
        assert [(p.line, p.severity.value) for p in problems.items] == [
            (2, "warning"),
            (4, "warning"),
        ]
        assert "full_name contains a line break (LF)" in problems.items[0].message
        assert "first_name contains a control character (U+0009" in problems.items[1].message


class TestAddresses:
    """The one-line address becomes office and city_line, and addressing makes the block."""

    @pytest.mark.parametrize(
        ("address", "office", "city_line"),
        [
            (
                "511 Hart Senate Office Building Washington DC 20510",
                "511 Hart Senate Office Building",
                "Washington, DC 20510",
            ),
            (
                "2312 Rayburn House Office Building Washington DC 20515-4303",
                "2312 Rayburn House Office Building",
                "Washington, DC 20515-4303",
            ),
            (
                "521 Dirksen Senate Office Building  Washington, DC 20510",
                "521 Dirksen Senate Office Building",
                "Washington, DC 20510",
            ),
            (
                "B-40A Cannon House Office Building, Washington, D.C. 20515",
                "B-40A Cannon House Office Building",
                "Washington, DC 20515",
            ),
        ],
    )
    def test_split(self, address: str, office: str, city_line: str) -> None:
        """Spacing, a comma and D.C. vary; the office and a 'Washington, DC ZIP' line come out."""
        assert split_address(address) == (office, city_line)

    @pytest.mark.parametrize(
        "address", ["", "511 Hart Senate Office Building", "Washington DC 20510", "1 Main St 20510"]
    )
    def test_unparseable(self, address: str) -> None:
        """An address without an office, the city or the ZIP does not parse."""
        assert split_address(address) is None

    def test_the_100_senators_get_senate_blocks(self, members: list[dict[str, str]]) -> None:
        """Every Senator's block is name, Senate office, United States Senate, 20510."""
        senators = [row for row in members if row["title"] == "Senator"]
        assert len(senators) == 100
        for row in senators:
            lines = addressing.address_block(row).split("\n")
            assert lines[0] == f"The Honorable {row['full_name']}"
            assert lines[1].endswith("Senate Office Building"), lines
            assert lines[2:] == ["United States Senate", "Washington, DC 20510"]

    def test_house_members_get_house_blocks(self, members: list[dict[str, str]]) -> None:
        """Every House member's block ends with the House and its ZIP+4."""
        house = [row for row in members if row["chamber"] == "house"]
        assert len(house) == IMPORTABLE - 100
        for row in house:
            lines = addressing.address_block(row).split("\n")
            assert lines[1].endswith("House Office Building"), lines
            assert lines[2] == "United States House of Representatives"
            assert lines[3].startswith("Washington, DC 20515-"), lines

    @pytest.mark.parametrize(
        ("bioguide", "block", "greeting"),
        [
            (
                "C000127",
                "The Honorable Maria Cantwell\n511 Hart Senate Office Building\n"
                "United States Senate\nWashington, DC 20510",
                "Dear Senator Cantwell:",
            ),
            (
                "M001235",
                "The Honorable Riley M. Moore\n1337 Longworth House Office Building\n"
                "United States House of Representatives\nWashington, DC 20515-4802",
                "Dear Representative Moore:",
            ),
            (
                "N000147",
                "The Honorable Eleanor Holmes Norton\n2136 Rayburn House Office Building\n"
                "United States House of Representatives\nWashington, DC 20515-5101",
                "Dear Delegate Norton:",
            ),
        ],
    )
    def test_spot_checks(
        self, members: list[dict[str, str]], bioguide: str, block: str, greeting: str
    ) -> None:
        """A Senator, a Representative and a Delegate, addressed as their office expects."""
        row = by_bioguide(members)[bioguide]
        assert addressing.address_block(row) == block
        assert addressing.salutation(row) == greeting

    def test_territories_send_delegates(self, members: list[dict[str, str]]) -> None:
        """DC and the territories send Delegates; Puerto Rico a Resident Commissioner."""
        titles = {row["state"]: row["title"] for row in members if row["chamber"] == "house"}
        assert {s: titles[s] for s in ("AS", "DC", "GU", "MP", "PR", "VI")} == {
            "AS": "Delegate",
            "DC": "Delegate",
            "GU": "Delegate",
            "MP": "Delegate",
            "PR": "Resident Commissioner",
            "VI": "Delegate",
        }
        assert titles["WY"] == "Representative"


class TestFilters:
    """Chamber, state, party and committee select members; leaders are greeted by title."""

    def test_ssju_is_exactly_its_members(self) -> None:
        """--committee SSJU gives the membership file's SSJU members, not its subcommittees'."""
        committees = read_committees(COMMITTEES, "committees.csv", ["SSJU"])
        rows, problems = read_legislators(
            LEGISLATORS, "l.csv", filters=Filters(committees=("SSJU",)), committees=committees
        )
        assert {row["bioguide_id"] for row in rows} == committee_members("SSJU")
        assert len(rows) == 22
        assert not problems
        assert {row["committees"] for row in rows} == {"Senate Committee on the Judiciary"}

    def test_two_committees_and_their_leaders(self, tmp_path: Path) -> None:
        """SSJU and HSJU together: both committees' members; chairs and ranking members."""
        out = tmp_path / "recipients.csv"
        import_legislators(
            LEGISLATORS,
            out,
            filters=Filters(committees=("SSJU", "hsju")),
            committees_file=COMMITTEES,
        )
        rows = read_rows(out)
        assert {row["bioguide_id"] for row in rows} == committee_members("SSJU", "HSJU")
        greetings = {addressing.salutation(row) for row in rows}
        leaders = {
            row["last_name"]: (row["committee_title"], addressing.salutation(row))
            for row in rows
            if row["committee_title"]
        }
        assert leaders == {
            "Grassley": ("Chairman", "Dear Chairman Grassley:"),
            "Durbin": ("Ranking Member", "Dear Ranking Member Durbin:"),
            "Jordan": ("Chair", "Dear Chair Jordan:"),
            "Raskin": ("Ranking Member", "Dear Ranking Member Raskin:"),
        }
        assert "Dear Senator Cruz:" in greetings

    def test_only_conventional_titles_change_the_salutation(self) -> None:
        """Vice Chairman does; Ex Officio is kept as committee_title but greets as Senator."""
        committees = read_committees(COMMITTEES, "c.csv", ["SLIN"])
        rows, _ = read_legislators(
            LEGISLATORS, "l.csv", filters=Filters(committees=("SLIN",)), committees=committees
        )
        found = by_bioguide(rows)
        assert addressing.salutation(found["W000805"]) == "Dear Vice Chairman Warner:"
        assert found["T000250"]["committee_title"] == "Ex Officio"
        assert addressing.salutation(found["T000250"]) == "Dear Senator Thune:"

    def test_chamber_state_and_party(self) -> None:
        """Options combine: House Democrats from Texas or California."""
        rows, _ = read_legislators(
            LEGISLATORS,
            "l.csv",
            filters=Filters(chamber="house", states=("TX", "CA"), parties=("democrat",)),
        )
        expected = {
            r["bioguide_id"]
            for r in read_rows(LEGISLATORS)
            if r["type"] == "rep" and r["state"] in ("TX", "CA") and r["party"] == "Democrat"
        }
        assert {row["bioguide_id"] for row in rows} == expected
        assert len(rows) > 20

    def test_an_unknown_committee_is_an_error_with_a_suggestion(self) -> None:
        """A mistyped committee id names the closest ones."""
        with pytest.raises(CampaignError, match="no committee SSJX \\(did you mean SSJU"):
            read_committees(COMMITTEES, "c.csv", ["SSJX"])

    def test_an_unknown_party_is_an_error(self, tmp_path: Path) -> None:
        """A party no member has (a typo) is an error listing the parties there are."""
        with pytest.raises(CampaignError, match=r"party democratic \(known: democrat,"):
            import_legislators(
                LEGISLATORS, tmp_path / "r.csv", filters=Filters(parties=("Democratic",))
            )


class TestWriting:
    """The file is written whole, sorted, never duplicated, and only when asked to replace."""

    def test_existing_file_is_not_overwritten(self, tmp_path: Path) -> None:
        """Without --merge or --replace an existing file is an error and is left alone."""
        out = tmp_path / "recipients.csv"
        out.write_text("email\n", encoding="utf-8")
        with pytest.raises(CampaignError, match=r"--merge .* or --replace"):
            import_legislators(LEGISLATORS, out)
        assert out.read_text(encoding="utf-8") == "email\n"

    @pytest.mark.parametrize("mode", ["merge", "replace"])
    def test_running_again_changes_nothing(self, tmp_path: Path, mode: str) -> None:
        """The same inputs give byte-identical output, and the file is not rewritten."""
        out = tmp_path / "recipients.csv"
        first = import_legislators(LEGISLATORS, out)
        data, stat = out.read_bytes(), out.stat()
        again = import_legislators(LEGISLATORS, out, **{mode: True})  # type: ignore[arg-type]
        assert first.changed and not again.changed
        assert out.read_bytes() == data
        assert out.stat().st_mtime_ns == stat.st_mtime_ns
        assert sorted(p.name for p in tmp_path.iterdir()) == ["recipients.csv"]

    def test_merge_updates_by_bioguide_id_and_keeps_the_rest(self, tmp_path: Path) -> None:
        """Merging updates members in place, keeps other rows, columns and emails."""
        out = tmp_path / "recipients.csv"
        shutil.copy(REPO / "recipients.csv", out)
        import_legislators(LEGISLATORS, out, merge=True, filters=Filters(states=("WA",)))
        rows = read_rows(out)
        columns = [*rows[0], "notes"]
        cantwell = next(row for row in rows if row["bioguide_id"] == "C000127")
        cantwell["email"] = "office@cantwell.example.org"
        cantwell["notes"] = "met in May"
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        result = import_legislators(LEGISLATORS, out, merge=True, filters=Filters(chamber="senate"))
        rows = read_rows(out)
        ids = [row["bioguide_id"] for row in rows if row["bioguide_id"]]
        assert len(ids) == len(set(ids)) == 100 + 10  # the Senate and Washington's ten House seats
        assert (result.updated, result.added) == (2, 98)
        cantwell = next(row for row in rows if row["bioguide_id"] == "C000127")
        assert (cantwell["email"], cantwell["notes"]) == (
            "office@cantwell.example.org",
            "met in May",
        )
        sample = [row["email"] for row in rows if not row["bioguide_id"]]
        assert sample == [row["email"] for row in read_rows(REPO / "recipients.csv")]

    def test_rows_are_sorted(self, tmp_path: Path) -> None:
        """Senate then House, each by state, district and last name."""
        out = tmp_path / "recipients.csv"
        import_legislators(LEGISLATORS, out)
        rows = read_rows(out)
        assert rows[0]["chamber"] == "senate" and rows[-1]["chamber"] == "house"
        house = [(r["state"], int(r["district"])) for r in rows if r["chamber"] == "house"]
        assert house == sorted(house)
        assert [r["state"] for r in rows[:100]] == sorted(r["state"] for r in rows[:100])


class TestEndToEnd:
    """import, check and export: one correctly addressed letter per importable member."""

    def run(self, folder: Path, command: str, *args: str) -> tuple[int, str]:
        """`campaign COMMAND --campaign FOLDER ARGS...`: the exit status and stderr."""
        argv = [command, "--campaign", str(folder), *args]
        result = CliRunner().invoke(main, argv, catch_exceptions=False)
        return result.exit_code, result.stderr

    def test_import_check_export(self, campaign_dir: Path) -> None:
        """The sample congress template renders every imported member's letter."""
        code, err = self.run(campaign_dir, "import-legislators", str(LEGISLATORS))
        assert code == 0, err
        assert f"{LEGISLATORS}:538: warning: skipped James Gallagher (G000607)" in err
        assert "Mejia" not in err
        assert f"Imported {IMPORTABLE} members into " in err and "; 1 skipped" in err
        members = by_bioguide(read_rows(campaign_dir / "recipients.csv"))

        code, err = self.run(campaign_dir, "check", "--format", "txt")
        assert code == 0, err
        assert f"{IMPORTABLE} recipients, 0 errors" in err

        out = campaign_dir / "letters.csv"
        code, err = self.run(
            campaign_dir, "export", "--format", "csv", "--out", str(out), "--date", DATE
        )
        assert code == 0, err
        letters = read_rows(out)
        assert len(letters) == IMPORTABLE
        rows = list(members.values())
        for letter, row in zip(letters, rows, strict=True):
            assert letter["salutation"] == addressing.salutation(row)
            assert addressing.address_block(row) in letter["text"]
            assert (letter["to"], letter["phone"]) == ("", row["phone"])
            assert letter["contact_form"] == row["contact_form"]

        folder = campaign_dir / "txt"
        code, err = self.run(
            campaign_dir, "export", "--format", "txt", "--out", str(folder), "--date", DATE
        )
        assert code == 0, err
        files = sorted(folder.glob("*.txt"))
        assert len(files) == IMPORTABLE
        for path, row in zip(files, rows, strict=True):
            text = path.read_text(encoding="utf-8")
            block = addressing.address_block(row)
            assert f"\n\n{block}\n\n{addressing.salutation(row)}\n\n" in text, path.name
        grassley = next(p for p in files if p.name.endswith("-grassley-charles.txt"))
        assert grassley.read_text(encoding="utf-8").startswith(
            "Subject: 287(g): the Inspector General's report calls for oversight, "
            "Senator Grassley\n\n"
        )

    def test_eml_needs_an_email(self, campaign_dir: Path) -> None:
        """eml export names each row without email; --skip-invalid lists them in rejects.csv."""
        wa_senators = ("--chamber", "senate", "--state", "WA")
        self.run(campaign_dir, "import-legislators", str(LEGISLATORS), *wa_senators)
        out = campaign_dir / "out"
        code, err = self.run(campaign_dir, "export", "--out", str(out))
        assert code == 1
        assert "recipients.csv:2: error: column 'email' is empty" in err
        assert "recipients.csv:3: error: column 'email' is empty" in err
        assert not out.exists()

        code, err = self.run(campaign_dir, "export", "--out", str(out), "--skip-invalid")
        assert code == 0, err
        assert "Exported 0 letters (eml)" in err and "2 rejected" in err
        rejects = read_rows(out / "rejects.csv")
        assert [(r["line"], r["bioguide_id"]) for r in rejects] == [
            ("2", "C000127"),
            ("3", "M001111"),
        ]
        assert all(r["reasons"].startswith("column 'email' is empty") for r in rejects)
        assert not list(out.glob("*.eml"))

    def test_a_member_with_email_gets_an_eml(self, campaign_dir: Path) -> None:
        """Once an email is added by hand, the imported row exports as a message."""
        wa_senators = ("--chamber", "senate", "--state", "WA")
        self.run(campaign_dir, "import-legislators", str(LEGISLATORS), *wa_senators)
        path = campaign_dir / "recipients.csv"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\n,congress,", "\nx@senate.example.org,congress,", 1))
        out = campaign_dir / "out"
        code, err = self.run(
            campaign_dir, "export", "--out", str(out), "--skip-invalid", "--date", DATE
        )
        assert code == 0, err
        (eml,) = out.glob("*.eml")
        message = email.message_from_bytes(eml.read_bytes())
        assert message["To"] == "Maria Cantwell <x@senate.example.org>"
