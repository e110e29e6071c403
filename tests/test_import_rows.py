"""import-legislators, row by row: names built from their parts, hostile cells, failed writes."""

from __future__ import annotations

import csv
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from campaign import addressing
from campaign.cli import main
from campaign.errors import CampaignError, CampaignInvalid
from campaign.legislators import import_legislators, read_committees, read_legislators
from campaign.members import built_name

COLUMNS = [
    *("last_name", "first_name", "middle_name", "suffix", "nickname", "full_name", "type"),
    *("state", "district", "party", "address", "phone", "contact_form", "bioguide_id"),
]
REP = {
    "last_name": "Mejia",
    "first_name": "Analilia",
    "middle_name": "",
    "suffix": "",
    "nickname": "",
    "full_name": "",
    "type": "rep",
    "state": "NJ",
    "district": "11",
    "party": "Democrat",
    "address": "1427 Longworth House Office Building Washington DC 20515-3011",
    "phone": "202-225-5034",
    "contact_form": "https://mejia.house.gov/contact",
    "bioguide_id": "M001246",
}
SEN = {
    **REP,
    "last_name": "Cantwell",
    "first_name": "Maria",
    "full_name": "Maria Cantwell",
    "type": "sen",
    "state": "WA",
    "district": "",
    "address": "511 Hart Senate Office Building Washington DC 20510",
    "bioguide_id": "C000127",
}


def dataset(tmp_path: Path, *rows: dict[str, str], columns: list[str] = COLUMNS) -> Path:
    """A legislators CSV with a header and ``rows``: data starts on line 2."""
    path = tmp_path / "legislators.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, columns, extrasaction="ignore", lineterminator="\n", quoting=csv.QUOTE_ALL
        )
        writer.writeheader()
        writer.writerows(rows)
    return path


def read(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    rows, problems = read_legislators(path, "legislators.csv")
    return rows, [str(p) for p in problems.items]


class TestNamesFromTheirParts:
    """A blank official name is built from first, middle, last and suffix; nothing else is lost."""

    @pytest.mark.parametrize(
        ("parts", "name"),
        [
            (("Analilia", "", "Mejia", ""), "Analilia Mejia"),
            (("Roger", "F.", "Wicker", ""), "Roger F. Wicker"),
            (("Margaret", "Wood", "Hassan", ""), "Margaret Wood Hassan"),
            (("Henry", "C.", "Johnson", "Jr."), "Henry C. Johnson, Jr."),
            (("Randy", "K.", "Weber", "Sr."), "Randy K. Weber, Sr."),
            (("Emanuel", "", "Cleaver", "II"), "Emanuel Cleaver II"),
            (("August", "Lee", "Pfluger", "III"), "August Lee Pfluger III"),
            (("Jesús", "G.", "García", ""), "Jesús G. García"),
        ],
    )
    def test_built_name(self, parts: tuple[str, str, str, str], name: str) -> None:
        """First, middle and last name, then the suffix (a comma before Jr. and Sr.)."""
        assert built_name(*parts) == name

    def test_a_blank_full_name_is_built_and_the_member_imported(self, tmp_path: Path) -> None:
        """The newly seated member gets a letter addressed with the name from its parts."""
        suffixed = {
            **REP,
            "last_name": "Johnson",
            "first_name": "Henry",
            "middle_name": "C.",
            "nickname": "Hank",
            "suffix": "Jr.",
            "bioguide_id": "J000288",
            "state": "GA",
            "district": "4",
        }
        rows, problems = read(dataset(tmp_path, REP, suffixed))
        assert problems == []
        assert [row["full_name"] for row in rows] == ["Analilia Mejia", "Henry C. Johnson, Jr."]
        block = addressing.address_block(rows[0])
        assert block.splitlines()[0] == "The Honorable Analilia Mejia"
        assert "1427 Longworth House Office Building" in block
        assert addressing.salutation(rows[0]) == "Dear Representative Mejia:"

    def test_the_parts_columns_are_optional(self, tmp_path: Path) -> None:
        """A dataset without middle_name and suffix still builds 'First Last'."""
        columns = [c for c in COLUMNS if c not in ("middle_name", "suffix", "nickname")]
        rows, problems = read(dataset(tmp_path, REP, columns=columns))
        assert problems == []
        assert rows[0]["full_name"] == "Analilia Mejia"

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"first_name": ""}, "full_name and first_name are empty: no name to address"),
            ({"first_name": "  "}, "full_name and first_name are empty: no name to address"),
            ({"last_name": ""}, "last_name is empty"),
            ({"address": ""}, "address is empty"),
            ({"address": "Somewhere else"}, "does not read as 'OFFICE Washington DC ZIP'"),
            ({"state": ""}, "state is empty"),
        ],
    )
    def test_rows_that_cannot_make_a_letter_are_reported(
        self, tmp_path: Path, change: dict[str, str], reason: str
    ) -> None:
        """Only a row that cannot be addressed is skipped: at its line, with its reason."""
        rows, problems = read(dataset(tmp_path, SEN, {**REP, **change}))
        assert [row["bioguide_id"] for row in rows] == ["C000127"]
        assert len(problems) == 1
        assert problems[0].startswith("legislators.csv:3: warning: skipped ")
        assert "(M001246)" in problems[0] and reason in problems[0]

    @pytest.mark.skipif(not SHARED_DATA.is_file(), reason="the real dataset is not there")
    def test_the_real_dataset_keeps_the_newly_seated_representative(self) -> None:
        """Analilia Mejia (line 537, blank official name) is imported; only Gallagher is not."""
        rows, problems = read_legislators(SHARED_DATA, "legislators-current.csv")
        mejia = next(row for row in rows if row["bioguide_id"] == "M001246")
        assert mejia["full_name"] == "Analilia Mejia"
        assert (mejia["office"], mejia["city_line"]) == (
            "1427 Longworth House Office Building",
            "Washington, DC 20515-3011",
        )
        assert (mejia["state"], mejia["district"], mejia["title"]) == ("NJ", "11", "Representative")
        assert [p.line for p in problems.items] == [538]

    @pytest.mark.skipif(not SHARED_DATA.is_file(), reason="the real dataset is not there")
    def test_every_real_member_can_be_named_from_the_parts(self, tmp_path: Path) -> None:
        """With every official name blanked, every member with an address is still imported,
        each named with their first and last name."""
        with SHARED_DATA.open(encoding="utf-8", newline="") as handle:
            original = list(csv.DictReader(handle))
        blanked = [{**row, "full_name": ""} for row in original]
        path = dataset(tmp_path, *blanked, columns=list(original[0]))
        rows, _ = read(path)
        expected, _ = read_legislators(SHARED_DATA, "legislators-current.csv")
        assert [row["bioguide_id"] for row in rows] == [row["bioguide_id"] for row in expected]
        for row in rows:
            assert row["full_name"].startswith(row["first_name"] + " ")
            assert row["last_name"] in row["full_name"]


FORMULAS = [
    "=1+1",
    " =1+1",
    "\u00a0\u2003=1+1",
    '=HYPERLINK("https://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\uff1d1+1",
    "\uff20SUM(A1)",
]


class TestFormulaCells:
    """A cell a spreadsheet would run never reaches recipients.csv: the row is reported."""

    @pytest.mark.parametrize("value", FORMULAS)
    @pytest.mark.parametrize(
        "column",
        [
            "first_name",
            "last_name",
            "full_name",
            "middle_name",
            "party",
            "phone",
            "contact_form",
            "bioguide_id",
            "address",
        ],
    )
    def test_a_formula_is_refused_at_its_line(
        self, tmp_path: Path, column: str, value: str
    ) -> None:
        """Whatever the column, leading spaces or full-width forms included."""
        rows, problems = read(dataset(tmp_path, SEN, {**REP, column: value}))
        assert [row["bioguide_id"] for row in rows] == ["C000127"]
        assert len(problems) == 1
        assert problems[0].startswith("legislators.csv:3: warning: skipped ")
        if value[0].isspace() and value[0] != " " and column.endswith("name"):
            # A name is header text: its special space is refused before anything else.
            assert f"{column} contains a special space" in problems[0]
        else:
            assert f"{column} {value!r} starts with" in problems[0]
            assert "would run as a formula" in problems[0]

    @pytest.mark.parametrize("value", ["\t=1+1", "\r=1+1", "=1+1\n"])
    def test_controls_around_a_formula_are_refused(self, tmp_path: Path, value: str) -> None:
        """Tab, CR and LF, which spreadsheets also act on, are refused as control characters."""
        rows, problems = read(dataset(tmp_path, SEN, {**REP, "party": value}))
        assert len(rows) == 1 and len(problems) == 1
        assert "party contains " in problems[0]

    @pytest.mark.parametrize(
        "phone", ["+1 202-225-5034", "+1 (202) 225-5034", "202.225.5034 x12", "+44 20 7219 3000"]
    )
    def test_a_phone_number_may_start_with_plus(self, tmp_path: Path, phone: str) -> None:
        """'+1 202 ...' is a telephone number, kept as written: digits cannot call a function."""
        rows, problems = read(dataset(tmp_path, {**REP, "phone": phone}))
        assert problems == []
        assert rows[0]["phone"] == phone

    @pytest.mark.parametrize("phone", ["+1 202 =cmd|x", "+cmd|' /C calc'!A0", "-202-225-5034"])
    def test_a_phone_that_is_not_a_number_is_refused(self, tmp_path: Path, phone: str) -> None:
        rows, problems = read(dataset(tmp_path, {**REP, "phone": phone}))
        assert rows == [] and len(problems) == 1

    @pytest.mark.parametrize("column", ["committee_name", "title"])
    def test_a_formula_in_a_wanted_committee_is_an_error_at_its_line(
        self, tmp_path: Path, column: str
    ) -> None:
        """The committees file's name and title reach recipients.csv too."""
        path = tmp_path / "committees.csv"
        values = {"committee_name": "Senate Judiciary", "title": "Chairman", column: "=1+1"}
        path.write_text(
            "committee_id,committee_name,bioguide_id,title\n"
            "SSAF,=other,X000001,\n"
            f"SSJU,Senate Judiciary,C000127,\nSSJU,{values['committee_name']},M001246,"
            f"{values['title']}\n",
            encoding="utf-8",
        )
        with pytest.raises(CampaignInvalid) as caught:
            read_committees(path, "committees.csv", ["SSJU"])
        assert str(caught.value).startswith(f"committees.csv:4: error: {column} '=1+1' starts")
        with pytest.raises(CampaignInvalid, match=r"^committees.csv:2: error: committee_name"):
            read_committees(path, "committees.csv", ["SSAF"])

    def test_the_imported_file_holds_no_formula(self, tmp_path: Path) -> None:
        """End to end: nothing in recipients.csv starts a formula; the summary counts the skip."""
        path = dataset(tmp_path, SEN, {**REP, "last_name": " =HYPERLINK(1)"})
        out = tmp_path / "recipients.csv"
        result = CliRunner().invoke(
            main, ["import-legislators", str(path), "--out", str(out)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.stderr
        assert "legislators.csv:3: warning: skipped" in result.stderr
        assert "; 1 skipped" in result.stderr
        with out.open(encoding="utf-8", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [c for c in cells if c.lstrip().startswith(("=", "+", "-", "@"))]


class TestDistricts:
    """A district must be written in the digits 0-9; any other digit is reported, not a crash."""

    @pytest.mark.parametrize(
        "district", ["²", "1²", "\u0663", "\uff13", "\u0967", "𝟑", "Ⅻ", "1.0", "", "1 1"]
    )
    def test_a_district_in_other_digits_is_reported(self, tmp_path: Path, district: str) -> None:
        rows, problems = read(dataset(tmp_path, SEN, {**REP, "district": district}))
        assert [row["bioguide_id"] for row in rows] == ["C000127"]
        assert len(problems) == 1
        assert problems[0].startswith("legislators.csv:3: warning: skipped Analilia Mejia")
        assert f"district {district.strip()!r} is not a number" in problems[0]

    @pytest.mark.parametrize("state", ["ß", "N J", "NJ1", "ＮＪ", "N"])
    def test_a_state_that_is_not_a_code_is_reported(self, tmp_path: Path, state: str) -> None:
        rows, problems = read(dataset(tmp_path, {**REP, "state": state}))
        assert rows == [] and len(problems) == 1
        assert "is not a two-letter code" in problems[0]

    def test_the_command_reports_it_without_a_traceback(self, tmp_path: Path) -> None:
        path = dataset(tmp_path, SEN, {**REP, "district": "²"})
        out = tmp_path / "recipients.csv"
        result = CliRunner().invoke(main, ["import-legislators", str(path), "--out", str(out)])
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.exit_code == 0
        assert "legislators.csv:3: warning: skipped Analilia Mejia (M001246): district" in (
            result.stderr
        )

    def test_a_merge_with_such_a_district_in_the_existing_file(self, tmp_path: Path) -> None:
        """Sorting an existing row whose district is '²' is no crash either."""
        out = tmp_path / "recipients.csv"
        import_legislators(dataset(tmp_path, SEN), out)
        text = out.read_text(encoding="utf-8")
        out.write_text(text + text.splitlines()[1].replace("C000127", "X000009") + "²\n")
        result = CliRunner().invoke(
            main,
            ["import-legislators", str(tmp_path / "legislators.csv"), "--out", str(out), "--merge"],
        )
        assert not isinstance(result.exception, ValueError), result.exception
        assert result.exit_code in (0, 1)


def _limited(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


class TestFailedWrites:
    """A write that fails leaves recipients.csv as it was, removes its temporary, and says so."""

    def test_a_file_size_limit(self, tmp_path: Path) -> None:
        """RLIMIT_FSIZE with SIGXFSZ ignored (EFBIG), in a real process."""
        rows = [
            {**REP, "bioguide_id": f"M{n:06d}", "last_name": f"Mejia{n}", "district": str(n % 50)}
            for n in range(200)
        ]
        path = dataset(tmp_path, *rows)
        out = tmp_path / "recipients.csv"
        out.write_text("email,audience\nold@example.org,congress\n", encoding="utf-8")
        before = out.read_bytes()
        result = subprocess.run(
            [
                *(sys.executable, "-m", "campaign", "import-legislators", str(path)),
                "--replace",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            preexec_fn=lambda: _limited(4096),
            timeout=120,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"cannot write {out}: File too large" in result.stderr
        assert "nothing was changed" in result.stderr
        assert out.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["legislators.csv", "recipients.csv"]

    @pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1) for a tmpfs")
    def test_a_really_full_disk(self, tmp_path: Path) -> None:
        """ENOSPC from a real, full file system: a 64 KiB tmpfs in a private mount namespace."""
        rows = [
            {**REP, "bioguide_id": f"M{n:06d}", "last_name": f"Mejia{n}", "district": str(n % 50)}
            for n in range(300)
        ]
        path = dataset(tmp_path, *rows)
        disk = tmp_path / "disk"
        disk.mkdir()
        script = f"""
set -e
mount -t tmpfs -o size=64k none {disk}
printf 'email,audience\\nold@example.org,congress\\n' > {disk}/recipients.csv
dd if=/dev/zero of={disk}/filler bs=1k count=56 2>/dev/null || true
set +e
{sys.executable} -m campaign import-legislators {path} --out {disk}/recipients.csv --replace
echo "rc=$?"
echo "content=$(tr '\\n' '|' < {disk}/recipients.csv)"
echo "files=$(ls -A {disk} | tr '\\n' ' ')"
"""
        probe = subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode != 0:
            pytest.skip("user namespaces are not available here")
        result = subprocess.run(
            ["unshare", "-rm", "bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "rc=1" in result.stdout, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "recipients.csv: No space left on device" in result.stderr
        assert "content=email,audience|old@example.org,congress|" in result.stdout
        assert "files=filler recipients.csv " in result.stdout

    @pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
    def test_a_full_disk(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
        """ENOSPC (and the like) from the kernel's write: the same clear error, nothing half."""
        out = tmp_path / "recipients.csv"
        out.write_text("email\n", encoding="utf-8")
        real_fdopen = os.fdopen

        class Full:
            """The file object write_atomically writes through, on a disk that is full."""

            def __init__(self, fd: int, mode: str) -> None:
                self.handle = real_fdopen(fd, mode)

            def __enter__(self) -> Full:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()

            def write(self, data: bytes) -> int:
                raise OSError(code, os.strerror(code))

        monkeypatch.setattr(os, "fdopen", Full)
        with pytest.raises(CampaignError, match=rf"cannot write .*{os.strerror(code)}"):
            import_legislators(dataset(tmp_path, SEN), out, replace=True)
        assert out.read_text(encoding="utf-8") == "email\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["legislators.csv", "recipients.csv"]


# What a terminal runs or hides: ESC (CSI, OSC), BEL, the C1 CSI, bidi overrides and isolates,
# zero-width and invisible printable characters.
TERMINAL_HOSTILE = [
    "\x1b",
    "\x07",
    "\x9b",
    "\x08",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u3164",
    "\ufe0f",
]


def assert_escaped(text: str) -> None:
    for char in TERMINAL_HOSTILE:
        assert char not in text, f"{char!r} reached the terminal raw: {text!r}"


class TestMessagesAreEscaped:
    """A dataset value in a message reaches the terminal escaped, as check shows it."""

    def run(self, path: Path, tmp_path: Path, *args: str) -> str:
        out = tmp_path / "recipients.csv"
        result = CliRunner().invoke(
            main, ["import-legislators", str(path), "--out", str(out), *args]
        )
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.exit_code in (0, 1), result.output
        assert_escaped(result.output)
        return result.stderr

    def test_the_skipped_name_and_id(self, tmp_path: Path) -> None:
        name = "Bob \x1b[31mRED\x1b]0;title\x07"
        hostile = {**REP, "full_name": name, "bioguide_id": "M\u202e001246", "state": ""}
        err = self.run(dataset(tmp_path, SEN, hostile), tmp_path)
        assert f"legislators.csv:3: warning: skipped {name!r} ('M\\u202e001246'): " in err

    @pytest.mark.parametrize("char", TERMINAL_HOSTILE, ids=lambda c: f"U+{ord(c):04X}")
    @pytest.mark.parametrize(
        "column", ["full_name", "first_name", "bioguide_id", "state", "district", "address", "type"]
    )
    def test_every_value_a_warning_shows(self, tmp_path: Path, char: str, column: str) -> None:
        bad = {**REP, "address": "", column: f"{REP[column] or 'x'}{char}y"}
        if column == "first_name":
            bad["full_name"] = ""
        err = self.run(dataset(tmp_path, SEN, bad), tmp_path)
        assert "legislators.csv:3: warning: skipped " in err

    def test_a_repeated_id(self, tmp_path: Path) -> None:
        ident = "C000127\u3164"
        err = self.run(
            dataset(tmp_path, {**SEN, "bioguide_id": ident}, {**SEN, "bioguide_id": ident}),
            tmp_path,
        )
        assert "bioguide_id 'C000127\\u3164' repeats line 2" in err

    def test_the_known_states_of_an_unknown_filter(self, tmp_path: Path) -> None:
        err = self.run(
            dataset(tmp_path, {**SEN, "state": "W\x1b]0;x\x07A"}), tmp_path, "--state", "OR"
        )
        assert "(known: 'W\\x1b]0;X\\x07A')" in err

    def test_a_column_named_twice(self, tmp_path: Path) -> None:
        path = tmp_path / "legislators.csv"
        columns = [*COLUMNS, "state"]
        path.write_text(",".join(columns) + "\n", encoding="utf-8")
        text = self.run(path, tmp_path)
        assert "column state twice" in text

    def test_the_target_file_name(self, tmp_path: Path) -> None:
        path = dataset(tmp_path, SEN)
        out = tmp_path / "rec\x1b[31mipients.csv"
        result = CliRunner().invoke(main, ["import-legislators", str(path), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert_escaped(result.output)
        assert "rec\\x1b[31mipients.csv" in result.stderr
