"""Hostile input, 9: arbitrary Unicode in every field. Each row is refused on its line, or
becomes a message that reads back as exactly what was meant; never a traceback."""

from __future__ import annotations

import csv
import json
import re
import shutil

from conftest import DATE, Campaign, parse, text_of
from email_validator import validate_email
from hostile_kit import GOOD, HEADER, csv_text, mini
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.safety import is_blank

EXPECTED_HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
]
LINE_END = re.compile(r"\r\n|\r|\n")
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Characters with a meaning to CSV, mail headers, templates, HTML or terminals: drawn often.
NASTY = list("\r\n\t\x00\x0b\x0c\x1b\x85\u2028\u2029\u200b\u202e\ufeff\xa0=?<>@,;:\"'()[]\\{}%#&")
NASTY += ["=?utf-8?q?", "?=", "\r\n", "Bcc: ", "{{", "}}", "{%", "%}"]


def hostile(valid: str) -> st.SearchStrategy[str]:
    """The valid value, arbitrary text, or the valid value with arbitrary text around it."""
    text = st.one_of(
        st.text(max_size=12),
        st.lists(
            st.sampled_from(NASTY) | st.characters(exclude_categories=("Cs",)), max_size=8
        ).map("".join),
    )
    return st.one_of(
        st.just(valid),
        text,
        st.builds(lambda a, b: a + valid + b, text, text),
    )


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            **{name: hostile(value) for name, value in GOOD.items()},
            "email": st.one_of(st.just("VALID"), hostile("x@example.org"), st.emails()),
        }
    ),
    min_size=1,
    max_size=3,
)


def write(sample: Campaign, rows: list[dict[str, str]]) -> list[int]:
    """Write the rows as a spreadsheet would; the line each one starts on."""
    for number, values in enumerate(rows, 1):
        if values["email"] == "VALID":
            values["email"] = f"p{number}@example.org"
    text = csv_text(rows)
    sample.recipients.write_bytes(text.encode("utf-8"))
    lines, line = [], 2
    for values in rows:
        lines.append(line)
        line += len(LINE_END.findall(csv_text([values]))) - 1
    return lines


def rejected_lines(sample: Campaign, name: str = "rejects.csv") -> dict[int, int]:
    """Line -> data row number of each row listed in the rejects file."""
    path = sample.root / "out" / name
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {int(r["line"]): int(r["row"]) for r in csv.DictReader(handle)}


class TestArbitraryRows:
    """Whatever the cells hold, no row adds a header or a recipient, or loses its text."""

    @PROPERTY
    @given(rows=ROWS)
    def test_eml(self, sample: Campaign, rows: list[dict[str, str]]) -> None:
        mini(sample, [])
        shutil.rmtree(sample.root / "out", ignore_errors=True)
        lines = write(sample, rows)
        result = sample.run("export", "--date", DATE, "--skip-invalid")
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        rejected = rejected_lines(sample)
        for line in rejected:
            assert f"recipients.csv:{line}: error: " in result.output
        out = sample.root / "out"
        for number, (values, line) in enumerate(zip(rows, lines, strict=True), 1):
            files = list(out.glob(f"{number:06d}-*.eml"))
            if line in rejected:
                assert files == []
                continue
            [path] = files
            message = parse(path.read_bytes())
            assert list(message.keys()) == EXPECTED_HEADERS
            assert not message.defects
            [to] = message["To"].addresses
            email = values["email"]
            checked = validate_email(email, check_deliverability=False, allow_smtputf8=False)
            assert to.addr_spec == checked.ascii_email
            # A name that shows as nothing (is_blank: spaces, fillers, zero-width) is blank.
            name = values["full_name"].strip()
            if is_blank(name):
                name = " ".join(
                    v.strip()
                    for v in (values["first_name"], values["last_name"])
                    if not is_blank(v)
                )
            assert to.display_name == " ".join(name.split())
            subject = f"Letter for {values['title']} {values['last_name']}"
            assert message["Subject"] == " ".join(subject.split())
            text = text_of(message)
            printed = {**values, "full_name": name}  # the CSV's, trimmed; blank: first and last
            for column in ("email", "first_name", "last_name", "full_name", "note", "phone"):
                value = printed[column].replace("\r\n", "\n").replace("\r", "\n")
                assert f"{column}=[{value}]" in text
        assert len(rejected) + len(list(out.glob("*.eml"))) == len(rows)

    @PROPERTY
    @given(rows=ROWS)
    def test_jsonl_keeps_every_value(self, sample: Campaign, rows: list[dict[str, str]]) -> None:
        mini(sample, [])
        shutil.rmtree(sample.root / "out", ignore_errors=True)
        lines = write(sample, rows)
        result = sample.run("export", "--format", "jsonl", "--date", DATE, "--skip-invalid")
        assert result.exit_code == 0, result.output
        rejected = rejected_lines(sample, "letters.rejects.csv")
        path = sample.root / "out" / "letters.jsonl"
        with path.open(encoding="utf-8") as handle:
            records = {r["line"]: r for r in map(json.loads, handle)}
        assert set(records) | set(rejected) == set(lines)
        assert not set(records) & set(rejected)
        for values, line in zip(rows, lines, strict=True):
            if line in records:
                assert records[line]["fields"] == values
                assert records[line]["fields"].keys() == set(HEADER)
