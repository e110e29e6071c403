"""export --jobs N: the same files, byte for byte, as one process."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import DATE, Campaign, listing


def many(sample: Campaign, count: int) -> None:
    """``count`` recipients with a few bad rows and duplicates spread across the file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["email", "audience", "title", "first_name", "last_name", "state", "district"])
    for i in range(count):
        email = f"person{i}@example.org"
        if i % 97 == 50:
            email = f"PERSON{i - 40}@example.org"  # duplicate of an earlier row
        if i == count - 3:
            email = "person1@example.org"  # duplicate of the first rows, far away
        if i % 89 == 7:
            email = "broken@"
        writer.writerow([email, "congress", "Representative", f"Ana{i}", f"Núñez{i}", "TX", "7"])
    sample.write_recipients(buffer.getvalue())


@pytest.mark.parametrize("fmt", ["eml", "csv", "jsonl", "txt", "mbox"])
def test_jobs_output_is_identical(sample: Campaign, fmt: str) -> None:
    """--jobs 3 writes what --jobs 1 writes, rejects included."""
    many(sample, 400)
    one = sample.run("export", "--format", fmt, "--date", DATE, "--out", "one", "--skip-invalid")
    three = sample.run(
        "export", "--format", fmt, "--date", DATE, "--out", "three", "--skip-invalid", "--jobs", "3"
    )
    assert one.exit_code == three.exit_code == 0, one.output + three.output
    assert one.output.replace("one", "three") == three.output
    a, b = sample.root / "one", sample.root / "three"
    assert listing(a) == listing(b)
    for name in listing(a):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert "rejected" in one.output


def test_jobs_errors_write_nothing(sample: Campaign) -> None:
    many(sample, 200)
    one = sample.run("export", "--date", DATE, "--out", "one")
    two = sample.run("export", "--date", DATE, "--out", "two", "--jobs", "2")
    assert one.exit_code == two.exit_code == 1
    assert one.output == two.output
    assert (
        "recipients.csv:199: error: column 'email' 'person1@example.org' "
        "duplicates the address on line 3" in one.output
    )
    assert not (sample.root / "one").exists() and not (sample.root / "two").exists()
