"""export --jobs N: the same files, byte for byte, as one process."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO

import pytest
from conftest import DATE, Campaign, listing

from campaign.export import Result, export
from campaign.formats import REGISTRY, Format
from campaign.pipeline import Job, Options, Recipient
from campaign.render import Letter


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


class Outline(Format):
    """A one-file format built from every letter at the end: a count, an index, the letters."""

    name = "outline"
    per_letter = False
    extension = "outline"
    suffixes = (".outline",)
    needs_email = False

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return f"{recipient.row.number}:{recipient.display_name}\n{letter.text}".encode()

    def assemble(self, records: Iterable[bytes], target: BinaryIO) -> None:
        parts = list(records)
        index = [p.split(b"\n", 1)[0] for p in parts]
        target.write(b"%d letters\n" % len(parts) + b"\n".join(index) + b"\n---\n")
        target.write(b"\f".join(parts))


class Page(Format):
    """A per-letter format of its own, made in the worker processes."""

    name = "page"
    per_letter = True
    extension = "page"
    needs_email = False

    def letter(self, job: Job, recipient: Recipient, letter: Letter) -> bytes:
        return f"{recipient.subject}\n\n{letter.text.upper()}".encode()


def run_export(sample: Campaign, fmt: str, out: str, jobs: int) -> Result:
    options = Options(
        campaign_dir=sample.root,
        campaign_display=".",
        recipients=sample.recipients,
        recipients_display="recipients.csv",
        needs_email=False,
    )
    job = Job(options, datetime.fromisoformat(DATE))
    return export(job, fmt, sample.root / out, skip_invalid=True, jobs=jobs)


@pytest.mark.parametrize("fmt", [Outline(), Page()], ids=lambda f: f.name)
def test_a_new_format_plugs_in(
    sample: Campaign, fmt: Format, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A format is one Format subclass in the registry: --jobs, staging, rejects just work."""
    many(sample, 300)
    monkeypatch.setitem(REGISTRY, fmt.name, fmt)
    one = run_export(sample, fmt.name, "one", 1)
    three = run_export(sample, fmt.name, "three", 3)
    assert (one.written, one.rejected) == (three.written, three.rejected)
    assert one.rejected > 0
    a, b = sample.root / "one", sample.root / "three"
    assert listing(a) == listing(b)
    for name in listing(a):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    if fmt.per_letter:
        pages = [n for n in listing(a) if n.endswith(".page")]
        assert len(pages) == one.written
        assert "rejects-page.csv" in listing(a)
    else:
        assert listing(a) == ["letters.outline", "letters.rejects.csv"]
        data = (a / "letters.outline").read_bytes()
        assert data.startswith(b"%d letters\n1:Ana0 N" % one.written)
        assert data.count(b"\f") == one.written - 1
