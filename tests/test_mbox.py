"""export --format mbox: every message in one mboxrd file, each exactly its .eml file."""

from __future__ import annotations

import mailbox
import os
import pty
import re
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATE, Campaign, listing, parse, text_of
from test_check import replace_row

FROM_LINE = b"From letters@coalition.example.org Fri Nov 27 14:00:00 2026\n"


def unquote(data: bytes) -> bytes:
    """What a mboxrd reader does to a message: one '>' off every line matching '>+From '."""
    return re.sub(rb"(?m)^>(>*From )", rb"\1", data)


def emls(folder: Path) -> list[bytes]:
    return [(folder / n).read_bytes() for n in listing(folder) if n.endswith(".eml")]


def python_mailbox(path: Path) -> list[tuple[str, bytes]]:
    """Each message's From line and its bytes, as Python's mailbox module splits the file."""
    box = mailbox.mbox(path, create=False)
    try:
        return [(box.get_message(key).get_from(), box.get_bytes(key)) for key in box.iterkeys()]
    finally:
        box.close()


def mutt_read(path: Path, work: Path, count: int) -> str:
    """Every message as mutt shows it (headers and body decoded), piped one by one to a file.

    mutt needs a terminal: it runs on a pseudo-terminal, and the test types its keys once the
    index is on the screen (keys pushed before that may be flushed at start-up): T~A tags every
    message, | pipes each tagged one to a command, q quits.
    """
    out = work / "mutt.out"
    home = work / "mutt-home"
    (home / "Mail").mkdir(parents=True)  # mutt's default folder: asked for when missing
    command = [
        "mutt", "-n", "-F", "/dev/null", "-R", "-f", str(path),
        "-e", "set pipe_split=yes pipe_decode=yes auto_tag=yes wait_key=no quit=yes weed=no "
        "sort=mailbox-order",
    ]  # fmt: skip
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "HOME": str(home), "LC_ALL": "C.UTF-8"}
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    screen = b""

    def wait_for(done: Callable[[], bool], what: str) -> None:
        nonlocal screen
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, f"mutt never showed {what}: {screen[-500:]!r}"
            assert process.poll() is None, f"mutt exited: {screen[-500:]!r}"
            if select.select([master], [], [], 0.1)[0]:
                screen += os.read(master, 65536)  # drained, so mutt never blocks on it

    def ended() -> int:
        return out.read_text(encoding="utf-8").count("=END=\n") if out.exists() else 0

    try:
        wait_for(lambda: f"Msgs:{count}".encode() in screen, "its index")
        os.write(master, b"T~A\r")
        wait_for(lambda: f"Tag:{count}".encode() in screen, "every message tagged")
        os.write(master, f"|cat >> {out}; echo =END= >> {out}\r".encode())
        wait_for(lambda: ended() == count, "every message piped")
        os.write(master, b"q")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return out.read_text(encoding="utf-8")


def with_from_lines(sample: Campaign) -> None:
    """Lines a mbox writer must quote, in every congress letter's body."""
    template = sample.letters / "congress.txt.j2"
    text = template.read_text(encoding="utf-8")
    extra = "From here on, we ask.\n>From the report too.\n\nOur ask:"
    template.write_text(text.replace("Our ask:", extra, 1), encoding="utf-8")


class TestMbox:
    """One mboxrd file that mail programs open; its messages are the eml export's."""

    def test_messages_are_the_eml_files(self, sample: Campaign) -> None:
        """Acceptance: 12 messages, each byte for byte the .eml, read back by Python's mailbox."""
        assert sample.run("export", "--date", DATE, "--out", "eml").exit_code == 0
        result = sample.run("export", "--format", "mbox", "--date", DATE)
        assert result.exit_code == 0, result.output
        assert "Exported 12 letters (mbox) to out/letters.mbox" in result.output
        assert listing(sample.root / "out") == ["letters.mbox"]
        path = sample.root / "out" / "letters.mbox"
        data = path.read_bytes()
        expected = emls(sample.root / "eml")
        assert data == b"".join(FROM_LINE + eml + b"\n" for eml in expected)
        messages = python_mailbox(path)
        assert len(messages) == 12
        for (sender, message), eml in zip(messages, expected, strict=True):
            assert sender == FROM_LINE[5:-1].decode()
            assert message == eml
            read, original = parse(message), parse(eml)
            for header in ("To", "Subject", "Message-ID"):
                assert read[header] == original[header]
            assert text_of(read) == text_of(original)

    def test_from_lines_come_back_unchanged(self, sample: Campaign) -> None:
        """A body line 'From here on' (or '>From ...') reads back unchanged in any reader: the
        message encodes its first character, so the mbox holds the .eml bytes as they are."""
        with_from_lines(sample)
        assert sample.run("export", "--date", DATE, "--out", "eml").exit_code == 0
        assert sample.run("export", "--format", "mbox", "--date", DATE).exit_code == 0
        path = sample.root / "out" / "letters.mbox"
        data = path.read_bytes()
        congress = 9  # the sample's congress letters
        assert data.count(b"\n=46rom here on, we ask.\n") == congress
        assert data.count(b"\n=3EFrom the report too.\n") == congress
        assert b"\n>From" not in data and b"\n>>From" not in data
        assert data.count(b"\nFrom ") == 11  # the 12 From lines (the first starts the file)
        messages = python_mailbox(path)
        expected = emls(sample.root / "eml")
        assert len(messages) == 12
        for (_, message), eml in zip(messages, expected, strict=True):
            assert message == eml
        for index in range(congress):
            body = parse(messages[index][1]).get_body(("plain",))
            assert body is not None
            lines = str(body.get_content()).splitlines()
            assert "From here on, we ask." in lines
            assert ">From the report too." in lines

    def test_quoting_still_guards_other_from_lines(self) -> None:
        """Bytes holding a raw '>*From ' line (not ours) still get mboxrd's extra '>'."""
        from campaign.formats.mbox import quote

        raw = b"Subject: x\n\nFrom a\n>From b\nnot From c\n"
        assert quote(raw) == b"Subject: x\n\n>From a\n>>From b\nnot From c\n"

    @pytest.mark.skipif(
        shutil.which("mutt") is None and not os.environ.get("CAMPAIGN_REQUIRE_MUTT"),
        reason="mutt is not installed (.ci/run installs it)",
    )
    def test_mutt_reads_every_message(self, sample: Campaign, tmp_path: Path) -> None:
        """An independent reader agrees with Python's mailbox on every To and Subject."""
        with_from_lines(sample)
        replace_row(sample, 4, ",Núñez,", ",Núñez-Ortiz,")  # an encoded To: decoded by both
        assert sample.run("export", "--format", "mbox", "--date", DATE).exit_code == 0
        path = sample.root / "out" / "letters.mbox"
        shown = mutt_read(path, tmp_path, 12)
        pieces = shown.split("=END=\n")
        assert pieces[-1] == ""
        read = python_mailbox(path)
        assert len(pieces) - 1 == len(read) == 12
        for piece, message in zip(pieces, read, strict=False):
            head = re.sub(r"\n(?=[ \t])", "", piece.partition("\n\n")[0])  # unfolded
            headers = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
            original = parse(unquote(message[1]))
            assert headers["To"] == str(original["To"])
            assert headers["Subject"] == str(original["Subject"])
        assert "Núñez-Ortiz" in shown
        # The body lines that start 'From ' come back as written.
        assert shown.count("\nFrom here on, we ask.\n") == 9
        assert shown.count("\n>From the report too.\n") == 9

    def test_out_names_the_file(self, sample: Campaign) -> None:
        result = sample.run("export", "--format", "mbox", "--date", DATE, "--out", "all.mbox")
        assert (result.exit_code, result.output) == (0, "Exported 12 letters (mbox) to all.mbox\n")
        assert len(python_mailbox(sample.root / "all.mbox")) == 12
        wrong = sample.run("export", "--format", "mbox", "--out", "all.eml")
        assert (wrong.exit_code, wrong.output) == (
            1,
            "Error: --out all.eml: a mbox export is a .mbox file; give a name ending .mbox, "
            "or a folder\n",
        )

    def test_an_error_writes_nothing(self, sample: Campaign) -> None:
        replace_row(sample, 3, "samuel.okafor@senate.example.org", "jane.doe@")
        result = sample.run("export", "--format", "mbox", "--date", DATE)
        assert result.exit_code == 1
        assert "recipients.csv:4: error: column 'email'" in result.output
        assert not (sample.root / "out").exists()

    def test_rerun_replaces_its_file_but_not_another(self, sample: Campaign) -> None:
        assert sample.run("export", "--format", "mbox", "--date", DATE).exit_code == 0
        assert sample.run("export", "--format", "mbox", "--date", "2027-01-01").exit_code == 0
        assert (
            b"\nDate: Fri, 01 Jan 2027 00:00:00 +0000\n"
            in (sample.root / "out" / "letters.mbox").read_bytes()
        )
        (sample.root / "mine.mbox").write_bytes(b"From me@example.org Thu Jan  1 00:00:00 2026\n")
        result = sample.run("export", "--format", "mbox", "--out", "mine.mbox")
        assert result.exit_code == 1
        assert "mine.mbox exists and was not written by campaign export" in result.output
