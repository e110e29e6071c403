"""Hostile input, 8: the output folder. Killed runs, files already there, folders that cannot be."""

from __future__ import annotations

import csv
import itertools
import os
import signal
import subprocess
import sys
import time
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest
from conftest import DATE, ROOT, Campaign, listing
from hostile_kit import OTHER, SETTINGS, TEXT, assert_row_rejected, mini, row

COUNT = 20_000
CONFLICT = (
    "exists and was not written by campaign export: move it away, choose another "
    "--out, or pass --overwrite to replace it"
)


def make_big_campaign(root: Path, count: int) -> None:
    """A small letter to ``count`` recipients: the crash test's campaign."""
    letters = root / "letters"
    letters.mkdir()
    (letters / "campaign.toml").write_text(SETTINGS.replace('html_template = "a.html.j2"\n', ""))
    (letters / "a.txt.j2").write_text(TEXT.replace("address_block", "title"), encoding="utf-8")
    (letters / "citations.toml").write_text("")
    (letters / "quotes.toml").write_text("")
    columns = ["email", "audience", "title", "first_name", "last_name", "full_name", "note"]
    with (root / "recipients.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, "phone"])
        for i in range(count):
            name = f"Núñez{i}" if i % 7 == 0 else f"Rivera{i}"
            writer.writerow(
                [f"p{i}@example.org", "a", "Senator", "Alex", name, f"Alex {name}", "Hi", "1"]
            )


def export_process(
    root: Path,
    out: str,
    *args: str,
    output: int = subprocess.PIPE,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "campaign", "export", "--date", DATE, "--out", out, *args],
        cwd=root,
        env=env,
        stdout=output,
        stderr=output,
    )


def stagings(out: Path) -> list[Path]:
    """An export's staging folders: inside the output folder, or beside it when it is new."""
    return [*out.glob(".campaign-tmp-*"), *out.parent.glob(f".{out.name}.campaign-tmp-*")]


def staged_files(out: Path) -> int:
    """How many files the running export has staged (counting stops at 500)."""
    for staging in stagings(out):
        try:
            return sum(1 for _ in itertools.islice(os.scandir(staging), 500))
        except FileNotFoundError:
            return 0
    return 0


class TestCrashSafety:
    """SIGKILL part way, run again: the output is complete, whole and byte-identical."""

    @pytest.mark.parametrize(
        ("count", "jobs", "existing"),
        [(COUNT, "1", False), (5_000, "2", True)],
        ids=["20000-letters-new-folder", "5000-letters-2-jobs-existing-folder"],
    )
    def test_sigkill_then_rerun(
        self, tmp_path: Path, count: int, jobs: str, existing: bool
    ) -> None:
        """With --jobs, the workers die with the killed export instead of writing on.

        A new output folder is staged beside it and appears whole; an existing one gets its
        staging folder inside and each letter moved in at the end.
        """
        make_big_campaign(tmp_path, count)
        out, ref = tmp_path / "out", tmp_path / "ref"
        if existing:
            out.mkdir()
        # No pipes: a worker left running must not be waited for by reading them to the end.
        victim = export_process(tmp_path, "out", "--jobs", jobs, output=subprocess.DEVNULL)
        reference = export_process(tmp_path, "ref")  # uninterrupted, alongside
        deadline = time.monotonic() + 120
        while victim.poll() is None and time.monotonic() < deadline:
            if staged_files(out) >= 500:
                victim.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        victim.wait()
        assert victim.returncode == -signal.SIGKILL, "the export ended before it was killed"
        # Killed while rendering: nothing was moved into place, the staging folder is left,
        # and nothing goes on writing into it (a worker takes a moment to receive its SIGKILL).
        time.sleep(0.2)
        (staging,) = stagings(out)
        if existing:
            assert staging.parent == out
            assert all(name.startswith(".campaign-tmp-") for name in listing(out))
        else:
            assert staging.parent == tmp_path
            assert not out.exists()
        left = listing(staging)
        assert left
        time.sleep(0.3)
        assert listing(staging) == left

        rerun = export_process(tmp_path, "out")
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err.decode()
        assert err.decode() == f"Exported {count} letters (eml) to out\n"
        _, err = reference.communicate(timeout=300)
        assert reference.returncode == 0, err.decode()

        names = sorted(os.listdir(out))
        assert names == sorted(os.listdir(ref))
        assert [n for n in names if not n.endswith(".eml")] == [
            ".campaign-export.json",
            ".campaign-manifest",
        ]
        assert len(names) == count + 2
        assert not [p for p in out.rglob("*") if p.is_dir() or ".campaign-tmp" in p.name]
        assert not stagings(out)
        parser = BytesParser(policy=compat32)
        for name in names:
            data = (out / name).read_bytes()
            assert data == (ref / name).read_bytes(), name
            if name.endswith(".eml"):
                message = parser.parsebytes(data)
                assert not message.defects, name
                assert message["To"].endswith("@example.org>"), name
                assert data.endswith(b"\n"), name


class TestExistingFiles:
    """Export replaces only what an export wrote, unless told to with --overwrite."""

    def test_foreign_file_with_the_same_name(self, sample: Campaign) -> None:
        mini(sample)
        out = sample.root / "out"
        out.mkdir()
        (out / "000001-rivera-alex.eml").write_text("my notes\n", encoding="utf-8")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        assert result.output == f"Error: out/000001-rivera-alex.eml {CONFLICT}\n"
        assert listing(out) == ["000001-rivera-alex.eml"]
        assert (out / "000001-rivera-alex.eml").read_text(encoding="utf-8") == "my notes\n"
        result = sample.run("export", "--date", DATE, "--overwrite")
        assert result.exit_code == 0, result.output
        assert (out / "000001-rivera-alex.eml").read_bytes().startswith(b"From: Sender")

    def test_foreign_file_with_identical_bytes_is_accepted(self, sample: Campaign) -> None:
        mini(sample)
        assert sample.run("export", "--date", DATE, "--out", "first").exit_code == 0
        out = sample.root / "out"
        out.mkdir()
        first = sample.root / "first" / "000001-rivera-alex.eml"
        (out / first.name).write_bytes(first.read_bytes())
        assert sample.run("export", "--date", DATE).exit_code == 0

    def test_other_files_are_left_alone(self, sample: Campaign) -> None:
        mini(sample)
        out = sample.root / "out"
        (out / "drafts").mkdir(parents=True)
        (out / "README.txt").write_text("mine\n")
        (out / "drafts" / "x.eml").write_text("mine\n")
        assert sample.run("export", "--date", DATE).exit_code == 0
        assert sample.run("export", "--date", "2027-01-01").exit_code == 0
        assert listing(out) == [
            ".campaign-export.json",
            ".campaign-manifest",
            "000001-rivera-alex.eml",
            "000002-whitfield-dana.eml",
            "README.txt",
            "drafts/x.eml",
        ]
        assert (out / "README.txt").read_text() == "mine\n"

    def test_own_files_are_replaced(self, sample: Campaign) -> None:
        mini(sample)
        assert sample.run("export", "--date", DATE).exit_code == 0
        assert sample.run("export", "--date", "2027-01-01").exit_code == 0
        data = (sample.root / "out" / "000001-rivera-alex.eml").read_bytes()
        assert b"Date: Fri, 01 Jan 2027 00:00:00 +0000\n" in data

    def test_own_stale_rejects_removed_foreign_kept(self, sample: Campaign) -> None:
        """The one file export removes is its own rejects.csv, when a run has no rejects."""
        mini(sample, [row(), row(email="bad@", first_name="B")])
        out = sample.root / "out"
        assert sample.run("export", "--date", DATE, "--skip-invalid").exit_code == 0
        assert (out / "rejects.csv").exists()
        mini(sample, [row(), OTHER])
        assert sample.run("export", "--date", DATE, "--skip-invalid").exit_code == 0
        assert not (out / "rejects.csv").exists()
        mine = sample.root / "mine"
        mine.mkdir()
        (mine / "rejects.csv").write_text("someone else's\n")
        result = sample.run("export", "--date", DATE, "--skip-invalid", "--out", "mine")
        assert result.exit_code == 0, result.output
        assert (mine / "rejects.csv").read_text() == "someone else's\n"

    def test_a_refused_export_leaves_everything_as_it_was(self, sample: Campaign) -> None:
        mini(sample)
        assert sample.run("export", "--date", DATE).exit_code == 0
        before = {n: (sample.root / "out" / n).read_bytes() for n in listing(sample.root / "out")}
        mini(sample, [row(), row(email="dana@", first_name="Dana")])
        assert_refused_keeps(sample, before)


def assert_refused_keeps(sample: Campaign, before: dict[str, bytes]) -> None:
    result = sample.run("export", "--date", "2027-01-01")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "recipients.csv:3: error: column 'email' 'dana@' is not a valid address: There must be "
        "something after the @-sign."
    )
    out = sample.root / "out"
    assert {n: (out / n).read_bytes() for n in listing(out)} == before


class TestOutputFolderPaths:
    """Odd but workable output paths export as they always did."""

    def test_dot_dot_in_out(self, sample: Campaign) -> None:
        mini(sample)
        result = sample.run("export", "--date", DATE, "--out", "new/..")
        assert (result.exit_code, result.output) == (0, "Exported 2 letters (eml) to new/..\n")
        assert (sample.root / "000001-rivera-alex.eml").is_file()

    def test_parent_that_cannot_be_listed(
        self, sample: Campaign, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Export may write where it may not list the parent folder (mode -wx): the search
        for a killed run's staging folder beside the output folder is skipped there."""
        mini(sample)
        real = os.scandir

        def scandir(path: str | int = ".") -> object:
            if not isinstance(path, int) and Path(path).resolve() == sample.root.resolve():
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
        for _ in ("a new folder", "the same folder again"):
            result = sample.run("export", "--date", DATE, "--out", "out")
            assert (result.exit_code, result.output) == (0, "Exported 2 letters (eml) to out\n")


class TestUnusableOutputFolder:
    """An output folder that cannot be made or written is a clear error, nothing written."""

    def test_folder_under_a_file(self, sample: Campaign) -> None:
        """(Tests run as root, for whom chmod cannot make a folder read-only.)"""
        mini(sample)
        (sample.root / "plain.txt").write_text("x")
        result = sample.run("export", "--date", DATE, "--out", "plain.txt/letters")
        assert result.exit_code == 1
        assert result.output == (
            "Error: cannot create output folder plain.txt/letters: Not a directory\n"
        )

    def test_out_is_a_file(self, sample: Campaign) -> None:
        mini(sample)
        (sample.root / "plain").write_text("x")
        result = sample.run("export", "--date", DATE, "--out", "plain")
        assert (result.exit_code, result.output) == (
            1,
            "Error: --out plain exists and is not a folder\n",
        )
        assert (sample.root / "plain").read_text() == "x"

    @pytest.mark.parametrize(
        ("fmt", "out", "message"),
        [
            ("eml", "letters.csv", "--out letters.csv looks like a file name, but eml writes one "
             "file per letter into a folder: give a folder"),
            ("csv", "letters.txt", "--out letters.txt: a csv export is a .csv file; give a name "
             "ending .csv, or a folder"),
        ],
    )  # fmt: skip
    def test_out_of_the_wrong_kind(
        self, sample: Campaign, fmt: str, out: str, message: str
    ) -> None:
        mini(sample)
        result = sample.run("export", "--format", fmt, "--date", DATE, "--out", out)
        assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
        assert not (sample.root / out).exists()

    def test_csv_file_in_a_folder_under_a_file(self, sample: Campaign) -> None:
        mini(sample)
        (sample.root / "plain.txt").write_text("x")
        result = sample.run("export", "--format", "csv", "--out", "plain.txt/x.csv")
        assert (result.exit_code, result.output) == (
            1,
            "Error: --out plain.txt exists and is not a folder\n",
        )

    def test_missing_nested_folder_is_created(self, sample: Campaign) -> None:
        mini(sample)
        result = sample.run("export", "--date", DATE, "--out", "a/b/c")
        assert (result.exit_code, result.output) == (0, "Exported 2 letters (eml) to a/b/c\n")
        assert listing(sample.root / "a") == [
            "b/c/.campaign-export.json",
            "b/c/.campaign-manifest",
            "b/c/000001-rivera-alex.eml",
            "b/c/000002-whitfield-dana.eml",
        ]

    def test_missing_folder_is_not_created_when_export_is_refused(self, sample: Campaign) -> None:
        mini(sample, [OTHER, row(email="x@")])
        assert_row_rejected(
            sample,
            3,
            "column 'email' 'x@' is not a valid address: There must be something after the @-sign.",
        )
        result = sample.run("export", "--date", DATE, "--out", "new/folder")
        assert result.exit_code == 1
        assert not (sample.root / "new").exists()
        result = sample.run("export", "--date", DATE, "--out", "folder")
        assert result.exit_code == 1
        assert not [p.name for p in sample.root.iterdir() if "folder" in p.name]


def tree(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in listing(folder)}


NEVER = "an export never writes over it, even with --overwrite; choose another --out"


class TestInputsAreNeverWritten:
    """No --out, with or without --overwrite, writes over an input of the campaign."""

    @pytest.mark.parametrize(
        ("fmt", "out", "make"),
        [
            ("csv", "recipients.csv", None),
            ("csv", "x/../recipients.csv", None),
            ("csv", "link.csv", "symlink"),
            ("jsonl", "hard.jsonl", "hardlink"),
            ("mbox", "hard.mbox", "hardlink"),
        ],
    )
    def test_the_recipients_file(
        self, sample: Campaign, fmt: str, out: str, make: str | None
    ) -> None:
        if make == "symlink":
            (sample.root / out).symlink_to("recipients.csv")
        elif make == "hardlink":
            os.link(sample.recipients, sample.root / out)
        (sample.root / "x").mkdir()
        before = sample.recipients.read_bytes()
        result = sample.run("export", "--format", fmt, "--out", out, "--overwrite")
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {out} is an input of the campaign")
        assert NEVER in result.output
        assert sample.recipients.read_bytes() == before

    @pytest.mark.parametrize("fmt", ["eml", "txt", "csv"])
    @pytest.mark.parametrize("out", ["letters", "letters/out", "x/../letters", "lnk/x"])
    def test_nothing_goes_under_letters(self, sample: Campaign, fmt: str, out: str) -> None:
        (sample.root / "lnk").symlink_to("letters")
        (sample.root / "x").mkdir()
        before = tree(sample.letters)
        result = sample.run("export", "--format", fmt, "--out", out, "--overwrite")
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: --out {out} is inside the campaign's letters/")
        assert tree(sample.letters) == before

    def test_a_letter_name_that_is_an_input(self, sample: Campaign) -> None:
        """eml into the campaign folder itself, where a letter's name reaches the recipients."""
        os.link(sample.recipients, sample.root / "000001-rivera-alex.eml")
        before = sample.recipients.read_bytes()
        result = sample.run("export", "--date", DATE, "--out", ".", "--overwrite")
        assert result.exit_code == 1
        assert result.output.startswith("Error: 000001-rivera-alex.eml is an input of the campaign")
        assert sample.recipients.read_bytes() == before

    def test_a_quotes_source_file(self, sample: Campaign) -> None:
        import tomllib

        quotes = sample.letters / "quotes.toml"
        texts = [q["text"] for q in tomllib.loads(quotes.read_text(encoding="utf-8")).values()]
        source = sample.root / "notes.jsonl"
        source.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
        lines = [
            line
            for line in quotes.read_text(encoding="utf-8").splitlines()
            if not line.startswith("source_file")
        ]
        lines = [
            f'{line}\nsource_file = "../notes.jsonl"' if line.startswith("text =") else line
            for line in lines
        ]
        quotes.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert sample.run("check").exit_code == 0
        before = source.read_bytes()
        result = sample.run("export", "--format", "jsonl", "--out", "notes.jsonl", "--overwrite")
        assert result.exit_code == 1
        assert result.output.startswith("Error: notes.jsonl is an input of the campaign")
        assert source.read_bytes() == before

    def test_a_rejects_file_read_back_as_recipients_is_kept(self, sample: Campaign) -> None:
        """A rerun with no rejects removes its stale rejects file, but not one it reads."""
        mini(sample, [row(), row(email="bad@", first_name="B")])
        assert sample.run("export", "--date", DATE, "--skip-invalid").exit_code == 0
        rejects = sample.root / "out" / "rejects.csv"
        data = rejects.read_text(encoding="utf-8-sig").replace("bad@", "b@example.org")
        rejects.write_text(data, encoding="utf-8-sig")
        result = sample.run("export", "--date", DATE, "--recipients", "out/rejects.csv")
        assert result.exit_code == 0, result.output
        assert rejects.read_text(encoding="utf-8-sig") == data


def paused(root: Path, out: str, after: int, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """An export that stops in its commit after ``after`` moves, until the returned file exists."""
    flag = root / f"go-{after}"
    env = {"CAMPAIGN_TEST_PAUSE_MOVE": str(after), "CAMPAIGN_TEST_PAUSE_FILE": str(flag)}
    process = export_process(root, out, *args, env=env)
    deadline = time.monotonic() + 120
    while not Path(f"{flag}.reached").exists():
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the export never reached its commit"
        time.sleep(0.01)
    return process, flag


def finish(process: subprocess.Popen[bytes]) -> str:
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return err.decode()


SEAL = ".campaign-export.json"  # what an eml export writes for `campaign send`


class TestConcurrentExports:
    """Two exports into one folder at once: the second waits for the first, or refuses."""

    @pytest.mark.parametrize("existing", [True, False], ids=["existing-folder", "new-folder"])
    def test_the_second_waits_and_the_folder_ends_complete(
        self, tmp_path: Path, existing: bool
    ) -> None:
        count = 300
        make_big_campaign(tmp_path, count)
        out = tmp_path / "out"
        if existing:
            out.mkdir()
        first, flag = paused(tmp_path, "out", 1)  # holding the lock, in the middle of its commit
        second = export_process(tmp_path, "out", "--date", "2027-01-01")
        time.sleep(1.5)
        assert second.poll() is None, "the second export did not wait"
        assert [p.name for p in stagings(out)] == [
            f"{'' if existing else '.out'}.campaign-tmp-{first.pid}"
        ]
        flag.touch()
        assert finish(first) == finish(second) == f"Exported {count} letters (eml) to out\n"
        names = sorted(os.listdir(out))
        # The letters, the manifest, and the seal `campaign send` reads.
        assert [n for n in names if n.startswith(".")] == [SEAL, ".campaign-manifest"]
        letters = [n for n in names if not n.startswith(".")]
        assert len(letters) == count
        for name in letters:  # every letter is the second export's
            assert b"\nDate: Fri, 01 Jan 2027 00:00:00 +0000\n" in (out / name).read_bytes()
        assert sorted(os.listdir(tmp_path)) == [
            "go-1",
            "go-1.reached",
            "letters",
            "out",
            "recipients.csv",
        ]

    def test_the_second_refuses_after_its_wait(self, tmp_path: Path) -> None:
        count = 300
        make_big_campaign(tmp_path, count)
        out = tmp_path / "out"
        first, flag = paused(tmp_path, "out", 1)
        env = {"CAMPAIGN_LOCK_WAIT": "0.2"}
        second = export_process(tmp_path, "out", "--date", "2027-01-01", env=env)
        _, err = second.communicate(timeout=60)
        assert (second.returncode, err.decode()) == (
            1,
            f"Error: another export is writing to out: it has held the folder's lock "
            f"({tmp_path.resolve() / '.out.campaign-lock'}) for over 0.2 seconds; let it finish, "
            "then run this export again\n",
        )
        flag.touch()
        assert finish(first) == f"Exported {count} letters (eml) to out\n"
        assert len(os.listdir(out)) == count + 2  # the letters, the manifest and the seal
        assert b"\nDate: Fri, 27 Nov 2026" in (out / "000002-rivera1-alex.eml").read_bytes()


class TestKilledWhileMoving:
    """Killed while moving letters into place, the export is completed by the next run."""

    @pytest.mark.parametrize("after", [1, 150, 299])
    def test_the_next_run_completes_the_move(self, tmp_path: Path, after: int) -> None:
        make_big_campaign(tmp_path, 300)
        out, ref = tmp_path / "out", tmp_path / "ref"
        assert finish(export_process(tmp_path, "out", "--date", "2026-01-01"))
        # One recipient fewer: every later letter's name changes, the old ones must go.
        lines = (tmp_path / "recipients.csv").read_text(encoding="utf-8").splitlines()
        del lines[1]
        (tmp_path / "recipients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        victim, _ = paused(tmp_path, "out", after)
        assert (out / ".campaign-journal").is_file()  # what a reader sees: a move in progress
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert (out / ".campaign-journal").is_file()
        dates = {
            (out / n).read_bytes().split(b"\nDate: ")[1][:16]
            for n in os.listdir(out)
            if n.endswith(".eml")
        }
        assert len(dates) == 2  # half moved: old letters and new ones side by side
        # `campaign send` refuses such a folder, whatever seal it holds.
        from campaign.errors import CampaignError
        from campaign.exportseal import load_seal

        with pytest.raises(CampaignError, match="stopped before it finished moving"):
            load_seal(out)
        # The next export to the folder, of another format, first completes the eml one.
        assert (
            finish(export_process(tmp_path, "out", "--format", "txt"))
            == "Exported 299 letters (txt) to out\n"
        )
        assert finish(export_process(tmp_path, "ref"))
        eml = sorted(n for n in os.listdir(out) if n.endswith(".eml"))
        assert eml == sorted(n for n in os.listdir(ref) if n.endswith(".eml"))
        for name in eml:
            assert (out / name).read_bytes() == (ref / name).read_bytes(), name
        assert not (out / ".campaign-journal").exists()
        assert not stagings(out)
        listed = (out / ".campaign-manifest").read_text(encoding="utf-8").splitlines()
        assert sorted(listed) == sorted(n for n in os.listdir(out) if n != ".campaign-manifest")


def limited_export(root: Path, limit: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    """An export whose files may grow to ``limit`` bytes at most (RLIMIT_FSIZE, ulimit -f)."""
    import resource

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "campaign", "export", "--date", DATE, *args],
        cwd=root,
        env=env,
        capture_output=True,
        preexec_fn=limit_files,  # only setrlimit: safe before exec
        timeout=300,
    )


class TestFullDisk:
    """A write the disk refuses (file-size limit, full disk): a clear error, nothing changed."""

    @pytest.mark.parametrize(
        ("fmt", "out", "jobs", "limit", "existing"),
        [
            ("eml", "out", "1", 1_000, False),
            ("eml", "out", "2", 1_000, True),
            ("csv", "out/letters.csv", "1", 10_000, True),
            ("mbox", "out/letters.mbox", "2", 10_000, False),
        ],
    )
    def test_file_size_limit(
        self, tmp_path: Path, fmt: str, out: str, jobs: str, limit: int, existing: bool
    ) -> None:
        make_big_campaign(tmp_path, 300)
        folder = tmp_path / "out"
        before: dict[str, bytes] = {}
        if existing:
            folder.mkdir()
            (folder / "notes.txt").write_text("mine\n")
            before = tree(folder)
        result = limited_export(tmp_path, limit, "--format", fmt, "--out", out, "--jobs", jobs)
        err = result.stderr.decode()
        assert result.returncode == 1, err
        assert "Traceback" not in err
        assert err.startswith("Error: cannot write to out: File too large (a file reached the size")
        assert err.endswith(
            "nothing in out was changed; make room or choose another --out, then export again\n"
        )
        assert tree(folder) == before  # nothing half-written, no staging folder left
        assert sorted(os.listdir(tmp_path)) == sorted(
            ["letters", "recipients.csv", *["out"][:existing]]
        )
