"""Commands that write a file of the user's naming never write over the campaign's own files,
and a quote's source is read only when it is a text file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import DATE, Campaign

from campaign.journal import JOURNAL


def unchanged(paths: list[Path]) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


class TestPreviewHtml:
    """preview --html writes a page, never over an input of the campaign."""

    @pytest.mark.parametrize(
        "target", ["recipients.csv", "letters/congress.txt.j2", "letters/new.html", "link.html"]
    )
    def test_inputs_are_refused(self, sample: Campaign, target: str) -> None:
        os.symlink("recipients.csv", sample.root / "link.html")
        before = unchanged([sample.recipients, sample.letters / "congress.txt.j2"])
        result = sample.run("preview", "1", "--html", target)
        assert result.exit_code == 1, result.output
        assert f"Error: --html {target} is" in result.output
        assert "campaign never writes there" in result.output
        assert unchanged(list(before)) == before
        assert not (sample.letters / "new.html").exists()

    def test_a_page_elsewhere_is_written(self, sample: Campaign) -> None:
        result = sample.run("preview", "1", "--html", "page.html")
        assert result.exit_code == 0, result.output
        assert (sample.root / "page.html").read_text(encoding="utf-8").startswith("<!DOCTYPE")


class TestSendReport:
    """send --report writes beside the export, never over an input, a letter or the journal."""

    @pytest.mark.parametrize(
        "target", ["recipients.csv", "letters/campaign.toml", "out/report.csv", f"out/{JOURNAL}"]
    )
    def test_refused(self, sample: Campaign, target: str) -> None:
        assert sample.run("export", "--date", DATE).exit_code == 0
        paths = [sample.recipients, sample.letters / "campaign.toml"]
        before = unchanged(paths)
        result = sample.run("send", "--status", "--report", target)
        assert result.exit_code == 1, result.output
        assert f"Error: --report {target} is" in result.output
        assert unchanged(paths) == before
        assert not (sample.root / "out" / "report.csv").exists()

    def test_a_damaged_journal_is_a_clear_error(self, sample: Campaign) -> None:
        assert sample.run("export", "--date", DATE).exit_code == 0
        (sample.root / "out" / JOURNAL).write_bytes(b"not a database, " * 64)
        result = sample.run("send", "--status")
        assert result.exit_code == 1
        assert "cannot read the send journal" in result.output
        assert "Traceback" not in result.output


class TestImportOut:
    def test_letters_folder_refused(self, sample: Campaign) -> None:
        before = unchanged([sample.letters / "quotes.toml"])
        result = sample.run(
            "import-legislators", "nonexistent.csv", "--out", "letters/quotes.toml", "--replace"
        )
        assert result.exit_code == 1, result.output
        assert "campaign never writes there" in result.output
        assert unchanged(list(before)) == before


class TestQuoteSources:
    """A quote's source_file is read only when it is a text file: never a system file."""

    def point_at(self, sample: Campaign, source: str) -> None:
        quotes = sample.letters / "quotes.toml"
        text = quotes.read_text(encoding="utf-8")
        # Every quote's source, whether the sample names one (it does when ../shared is there).
        lines = []
        for line in text.splitlines():
            if line.startswith("source_file"):
                continue
            lines.append(line)
            if line.startswith("[") and line.endswith("]"):
                lines.append(f'source_file = "{source}"')
        assert any(line.startswith("source_file") for line in lines)
        quotes.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @pytest.mark.parametrize("source", ["/proc/self/environ", "/dev/zero", "/proc/self/cmdline"])
    def test_system_files_are_not_read(
        self, sample: Campaign, source: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CAMPAIGN_SMTP_PASSWORD", "s3cret-never-shown")
        self.point_at(sample, source)
        result = sample.run("check")
        assert result.exit_code == 1
        assert "s3cret-never-shown" not in result.output
        assert f"source_file {source} is not a text file" in result.output

    def test_a_fifo_is_refused_without_blocking(self, sample: Campaign) -> None:
        os.mkfifo(sample.root / "pipe.txt")
        self.point_at(sample, str(sample.root / "pipe.txt"))
        result = sample.run("check")
        assert result.exit_code == 1
        assert "is not a text file" in result.output

    def test_an_empty_file_is_refused(self, sample: Campaign) -> None:
        (sample.root / "empty.txt").write_bytes(b"")
        self.point_at(sample, str(sample.root / "empty.txt"))
        result = sample.run("check")
        assert result.exit_code == 1
        assert "is empty" in result.output


class TestCheckDate:
    """check --date reaches export's verdict on a template that depends on the date."""

    def test_date_dependent_template(self, sample: Campaign) -> None:
        template = sample.letters / "congress.txt.j2"
        extra = '{% if date.startswith("November") %}{{ recipient.agency }}{% endif %}\n'
        template.write_text(template.read_text(encoding="utf-8") + extra, encoding="utf-8")
        checked = sample.run("check", "--date", "2026-11-27")
        exported = sample.run("export", "--date", "2026-11-27")
        assert checked.exit_code == exported.exit_code == 1
        assert "agency" in checked.output
        other = sample.run("check", "--date", "2026-10-27")
        assert other.exit_code == 0, other.output
