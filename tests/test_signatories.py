"""Sign-on letters: letters/signatories.csv checked at file:line, and the block templates print."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import DATE, ROOT, Campaign, parse, text_of

from campaign.signatories import normalised

HEADER = "name,level,city,state,title,affiliation,contact_email\n"
SIGNON = ROOT / "examples" / "signon"


def write(sample: Campaign, rows: str, header: str = HEADER) -> None:
    (sample.letters / "signatories.csv").write_text(header + rows, encoding="utf-8")


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if "signatories.csv" in line]


class TestDuplicates:
    def test_same_name_twice_one_with_trailing_space_is_an_error_at_both_lines(
        self, sample: Campaign
    ) -> None:
        write(sample, "ACLU of Texas,state,Austin,TX,,,\nACLU of Texas ,state,Houston,TX,,,\n")
        result = sample.run("check")
        assert result.exit_code == 1
        found = problems(result.output)
        assert any(
            p.startswith("letters/signatories.csv:2: error: 'ACLU of Texas' is ") for p in found
        )
        assert any(
            p.startswith("letters/signatories.csv:3: error: 'ACLU of Texas' duplicates line 2")
            for p in found
        ), found

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("Border Rights Fund", "border rights fund"),
            ("The Border Rights Fund", "Border Rights Fund"),
            ("Smith & Jones Legal Aid", "Smith and Jones Legal Aid"),
            ("Women's Justice League", "Womens Justice League"),
            ("Border  Rights   Fund", "Border Rights Fund"),
            ("Border Rights Fund, Inc.", "Border Rights Fund Inc"),
            ("Ｂｏｒｄｅｒ Rights Fund", "Border Rights Fund"),
        ],
    )
    def test_exact_duplicates_ignore_case_spacing_punctuation_and_the(
        self, sample: Campaign, first: str, second: str
    ) -> None:
        write(sample, f'"{first}",national,,,,,\n"{second}",national,,,,,\n')
        result = sample.run("check")
        assert result.exit_code == 1
        errors = [p for p in problems(result.output) if ": error: " in p]
        assert sorted(p.split(":")[1] for p in errors) == ["2", "3"], errors

    def test_acronym_beside_full_name_is_a_warning_naming_both_lines(
        self, sample: Campaign
    ) -> None:
        write(
            sample,
            "American Civil Liberties Union,national,,,,,\nSome Other Group,national,,,,,\n"
            "ACLU,national,,,,,\n",
        )
        result = sample.run("check")
        assert result.exit_code == 0, result.output
        found = problems(result.output)
        assert found == [
            "letters/signatories.csv:4: warning: 'ACLU' may be the same signatory as "
            "'American Civil Liberties Union' on line 2 ('ACLU' is its acronym): keep one"
        ]

    @pytest.mark.parametrize(
        ("short", "long"),
        [
            ("A.C.L.U.", "American Civil Liberties Union"),
            ("NCLR", "National Council of La Raza"),  # small words left out
            ("Border Rights Project", "Border Rights Project of Arizona"),  # one inside another
            ("The Border Rights Project", "Friends of the Border Rights Project"),
        ],
    )
    def test_likely_duplicates_are_warnings(self, sample: Campaign, short: str, long: str) -> None:
        write(sample, f'"{long}",national,,,,,\n"{short}",national,,,,,\n')
        result = sample.run("check")
        assert result.exit_code == 0, result.output
        (warning,) = problems(result.output)
        assert ("line 2" in warning) != ("line 3" in warning)  # names the other line
        assert re.match(r"letters/signatories.csv:[23]: warning: ", warning)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("Border Rights Fund", "Border Rights Funds"),  # not one inside the other as words
            ("ACLU of Texas", "ACLU of Arizona"),
            ("Fair Count", "Fair Counting Project"),
            ("ABC", "Another Border Coalition of Texas"),  # ABCT / ABCT: not ABC
        ],
    )
    def test_different_names_are_not_flagged(self, sample: Campaign, a: str, b: str) -> None:
        write(sample, f'"{a}",national,,,,,\n"{b}",national,,,,,\n')
        result = sample.run("check")
        assert result.exit_code == 0
        assert problems(result.output) == []


class TestRows:
    def test_missing_state_for_state_and_local_and_unknown_levels(self, sample: Campaign) -> None:
        write(
            sample,
            "Alpha Fund,state,Austin,,,,\nBeta Fund,local,,,,,\nGamma Fund,natinal,,,,,\n"
            "Delta Fund,national,,,,,\nEpsilon Fund,state,Austin,ZZ,,,\n",
        )
        result = sample.run("check")
        assert result.exit_code == 1
        found = problems(result.output)
        assert found == [
            "letters/signatories.csv:2: error: column 'state' is empty: a state organization "
            "needs its state",
            "letters/signatories.csv:3: error: column 'state' is empty: a local organization "
            "needs its state",
            "letters/signatories.csv:4: error: column 'level': unknown level 'natinal' (known: "
            "national, state, local, individual) (did you mean 'national'?)",
            "letters/signatories.csv:6: error: column 'state': 'ZZ' is not a two-letter state code",
        ]

    def test_missing_columns_and_control_characters(self, sample: Campaign) -> None:
        write(sample, "Alpha Fund\n", header="name\n")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "letters/signatories.csv:1: error: missing column level" in result.output
        write(sample, "Alpha\x07Fund,national,,,,,\n")
        result = sample.run("check")
        assert result.exit_code == 1
        assert "letters/signatories.csv:2: error: column 'name' contains a control" in (
            result.output
        )

    def test_template_naming_the_list_without_a_file_is_an_error_at_its_line(
        self, sample: Campaign
    ) -> None:
        template = sample.letters / "congress.txt.j2"
        lines = template.read_text(encoding="utf-8").splitlines()
        lines.insert(2, "{{ signatory_list() }}")
        template.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            "letters/congress.txt.j2:3: error: signatory_list: letters/signatories.csv not found"
            in result.output
        )


class TestTemplates:
    ROWS = (
        "The Zephyr Fund,national,,,,,zephyr@example.org\n"
        "alder collective,national,,,,,\n"
        "Marsh Action,local,Mesa,AZ,,,\n"
        "The Bramble League,state,Austin,TX,,,\n"
        "Quinn Oduya,individual,,,Professor,Wrenmoor College,quinn@example.org\n"
        "Ada Brightwater,individual,,,,,\n"
    )

    def test_block_grouped_sorted_and_counted_contacts_never_printed(
        self, sample: Campaign
    ) -> None:
        write(sample, self.ROWS)
        template = sample.letters / "congress.txt.j2"
        text = template.read_text(encoding="utf-8")
        text = text.replace(
            '{% include "_signature.txt.j2" %}',
            '{% include "_signature.txt.j2" %}\n'
            "Signed by {{ signatories.count }}: {{ signatories.organizations|length }} groups.\n"
            "{{ signatory_list() }}\n",
        )
        template.write_text(text, encoding="utf-8")
        result = sample.run("export", "--format", "txt", "--out", "out", "--date", DATE)
        assert result.exit_code == 0, result.output
        letter = sorted((sample.root / "out").glob("*.txt"))[0].read_text(encoding="utf-8")
        assert "Signed by 6: 4 groups." in letter
        block = letter[letter.index("National Organizations") : letter.index("References")]
        assert block.strip().split("\n") == [
            "National Organizations",
            "alder collective",
            "The Zephyr Fund",
            "",
            "State and Local Organizations",
            "The Bramble League, Austin, TX",
            "Marsh Action, Mesa, AZ",
            "",
            "Individuals",
            "Ada Brightwater",
            "Quinn Oduya, Professor, Wrenmoor College*",
            "",
            "* Affiliations are listed for identification purposes only.",
        ]
        assert "example.org" not in letter.replace("coalition.example.org", "")

    def test_html_block_is_escaped_and_in_two_columns(self, sample: Campaign) -> None:
        write(sample, '"<script>alert(1)</script> & Co",national,,,,,\nPlain Fund,national,,,,,\n')
        template = sample.letters / "dhs.html.j2"
        text = template.read_text(encoding="utf-8")
        template.write_text(text.replace("<h2>", "{{ signatory_list() }}\n<h2>"), encoding="utf-8")
        result = sample.run("export", "--out", "out", "--date", DATE)
        assert result.exit_code == 0, result.output
        message = parse(sorted((sample.root / "out").glob("*.eml"))[-1])
        part = message.get_body(preferencelist=("html",))
        assert part is not None
        page = str(part.get_content())
        assert "<script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
        assert page.count("<td") == 2  # two names: one in each column


def test_normalised() -> None:
    assert normalised("The  A&B Fund, Inc.") == normalised("a and b fund inc")
    assert normalised("The") == "the"  # a name that is only 'The' keeps it


@pytest.fixture
def signon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Campaign:
    shutil.copytree(SIGNON, tmp_path / "signon")
    quotes = tmp_path / "signon" / "letters" / "quotes.toml"
    text = quotes.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("source_file"))
    quotes.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "signon")
    return Campaign(tmp_path / "signon")


class TestSample:
    def test_sample_signon_list_is_clean_and_long_enough(self, signon: Campaign) -> None:
        result = signon.run("check")
        assert result.exit_code == 0, result.output
        assert "signatories.csv" not in result.output  # no duplicate, likely or exact
        with (signon.letters / "signatories.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sum(r["level"] != "individual" for r in rows) >= 40

    @pytest.mark.parametrize("fmt", ["eml", "txt", "csv", "jsonl"])
    def test_signon_letter_in_every_text_format(self, signon: Campaign, fmt: str) -> None:
        result = signon.run("export", "--format", fmt, "--out", "out", "--date", DATE)
        assert result.exit_code == 0, result.output
        out = signon.root / "out"
        if fmt == "eml":
            texts = [text_of(parse(p)) for p in sorted(out.glob("*.eml"))]
        elif fmt == "txt":
            texts = [p.read_text(encoding="utf-8") for p in sorted(out.glob("*.txt"))]
        elif fmt == "csv":
            with (out / "letters.csv").open(encoding="utf-8-sig") as handle:
                texts = [r["text"] for r in csv.DictReader(handle)]
        else:
            lines = (out / "letters.jsonl").read_text(encoding="utf-8").splitlines()
            texts = [json.loads(line)["text"] for line in lines]
        assert len(texts) == 4
        for text in texts:
            assert "On behalf of the undersigned 44 national, state, and local organizations" in (
                text
            )
            assert "State and Local Organizations\nAshgrove Immigrant Rights Committee, " in text
            assert "@" not in text.split("Sincerely,")[1]  # no contact column printed
