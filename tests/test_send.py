"""`campaign send` against a real aiosmtpd server on 127.0.0.1: bytes, envelope, journal, plan."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DATE, Campaign
from smtp_servers import Recorder, ScriptedServer, start_aiosmtpd

from campaign.exportseal import SEAL
from campaign.journal import JOURNAL, Journal
from campaign.send import RateLimit
from campaign.smtpsession import wire_bytes

SENDER = "letters@coalition.example.org"


def smtp_table(campaign: Campaign, port: int, **extra: object) -> None:
    """Point the campaign's [smtp] table at a local server, with short timeouts for tests."""
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "retry_delay": 0.05,
                "timeout": 3.0} | extra  # fmt: skip
    lines = ["", "[smtp]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path = campaign.letters / "campaign.toml"
    text = path.read_text(encoding="utf-8")
    if "\n[smtp]" in text:  # always the last table: replace it
        text = text[: text.index("\n[smtp]")] + "\n"
    path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")


def seal(out: Path) -> list[dict[str, str]]:
    letters: list[dict[str, str]] = json.loads((out / SEAL).read_text())["letters"]
    return letters


def journal_states(out: Path) -> dict[str, str]:
    with sqlite3.connect(out / JOURNAL) as db:
        return dict(db.execute("SELECT recipient, state FROM letters").fetchall())


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    handler = Recorder()
    controller = start_aiosmtpd(handler)
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def exported(sample: Campaign, recorder: Recorder) -> Campaign:
    assert sample.run("export", "--date", DATE).exit_code == 0
    smtp_table(sample, recorder.port)
    return sample


def test_each_letter_arrives_once_with_the_exported_bytes(
    exported: Campaign, recorder: Recorder
) -> None:
    out = exported.root / "out"
    result = exported.run("send", "--yes")
    assert result.exit_code == 0, result.output
    letters = seal(out)
    assert len(recorder.received) == len(letters) == 12
    by_rcpt = {r.rcpt_tos[0]: r for r in recorder.received}
    for letter in letters:
        got = by_rcpt[letter["to"]]
        assert got.rcpt_tos == [letter["to"]]  # one RCPT, exactly the To address
        assert got.mail_from == SENDER
        exported_bytes = (out / letter["file"]).read_bytes()
        assert got.data.replace(b"\r\n", b"\n") == exported_bytes
        assert b"\n" not in got.data.replace(b"\r\n", b"")  # CRLF on the wire, no bare LF
    assert set(journal_states(out).values()) == {"sent"}
    assert "This run: 12 sent" in result.output


def test_bounce_address_is_the_envelope_sender(exported: Campaign, recorder: Recorder) -> None:
    smtp_table(exported, recorder.port, bounce_address="bounces@coalition.example.org")
    assert exported.run("send", "--yes").exit_code == 0
    assert {r.mail_from for r in recorder.received} == {"bounces@coalition.example.org"}


def test_leading_dots_survive_the_wire(sample: Campaign, recorder: Recorder) -> None:
    template = sample.letters / "congress.txt.j2"
    template.write_text(
        template.read_text(encoding="utf-8") + "\n.signed, with a dot first\n..and two\n",
        encoding="utf-8",
    )
    assert sample.run("export", "--date", DATE).exit_code == 0
    smtp_table(sample, recorder.port)
    assert sample.run("send", "--yes").exit_code == 0
    out = sample.root / "out"
    files = {x["to"]: (out / x["file"]).read_bytes() for x in seal(out)}
    dotted = [r for r in recorder.received if b"\n.signed" in files[r.rcpt_tos[0]]]
    assert dotted
    for got in dotted:
        assert got.data.replace(b"\r\n", b"\n") == files[got.rcpt_tos[0]]


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
        (b"a\r\nb", b"a\r\nb\r\n.\r\n"),
        (b".x\n.\n..\n", b"..x\r\n..\r\n...\r\n.\r\n"),
        (b"a\n.b\n", b"a\r\n..b\r\n.\r\n"),
    ],
)
def test_wire_bytes(data: bytes, wire: bytes) -> None:
    assert wire_bytes(data) == wire


def test_rerun_sends_nothing_and_says_so(exported: Campaign, recorder: Recorder) -> None:
    assert exported.run("send", "--yes").exit_code == 0
    again = exported.run("send", "--yes")
    assert again.exit_code == 0
    assert "Nothing to send: 12 sent" in again.output
    assert len(recorder.received) == 12


def test_550_fails_that_letter_and_sends_the_rest(
    exported: Campaign, recorder: Recorder, tmp_path: Path
) -> None:
    out = exported.root / "out"
    refused = seal(out)[4]
    recorder.rcpt_replies[refused["to"]] = "550 5.1.1 mailbox unavailable"
    report = tmp_path / "report.csv"
    result = exported.run("send", "--yes", "--report", str(report))
    assert result.exit_code == 1
    assert f"{refused['file']} <{refused['to']}>: failed: 550 5.1.1 mailbox unavailable" in (
        result.output
    )
    assert "11 sent, 1 failed" in result.output
    assert sorted(r.rcpt_tos[0] for r in recorder.received) == sorted(
        x["to"] for x in seal(out) if x["to"] != refused["to"]
    )
    rows = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert len(rows) == 12
    row = next(r for r in rows if r["recipient"] == refused["to"])
    assert row["state"] == "failed"
    assert row["reply"] == "550 5.1.1 mailbox unavailable"
    # A permanent failure is not retried by a rerun.
    recorder.rcpt_replies.clear()
    again = exported.run("send", "--yes")
    assert again.exit_code == 1
    assert len(recorder.received) == 11


def test_451_is_retried_and_sent(exported: Campaign, recorder: Recorder) -> None:
    recorder.data_replies[:] = ["451 4.3.0 try again later", "451 4.3.0 try again later"]
    result = exported.run("send", "--yes")
    assert result.exit_code == 0, result.output
    assert len(recorder.received) == 12
    assert len({r.rcpt_tos[0] for r in recorder.received}) == 12


def test_deferred_past_retries_is_sent_by_the_next_run(
    exported: Campaign, recorder: Recorder
) -> None:
    busy = seal(exported.root / "out")[5]
    recorder.data_replies_to[busy["to"]] = ["451 4.3.0 busy"] * 4  # the run's four attempts
    result = exported.run("send", "--yes")
    assert result.exit_code == 1
    assert f"{busy['file']} <{busy['to']}>: deferred: 451 4.3.0 busy" in result.output
    assert len(recorder.received) == 11
    again = exported.run("send", "--yes")
    assert again.exit_code == 0
    assert len({r.rcpt_tos[0] for r in recorder.received}) == len(recorder.received) == 12


def test_edited_letter_is_refused_by_name_then_sent_with_allow_edited(
    exported: Campaign, recorder: Recorder
) -> None:
    out = exported.root / "out"
    letter = seal(out)[2]
    path = out / letter["file"]
    path.write_bytes(path.read_bytes().replace(b"Sincerely", b"With thanks"))
    refused = exported.run("send", "--yes")
    assert refused.exit_code == 1
    assert letter["file"] in refused.output and "changed since the export" in refused.output
    assert recorder.received == []
    assert exported.run("send", "--yes", "--allow-edited").exit_code == 0
    got = next(r for r in recorder.received if r.rcpt_tos == [letter["to"]])
    assert got.data.replace(b"\r\n", b"\n") == path.read_bytes()
    assert b"With thanks" in got.data


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"\nTo: ", b"\nBcc: someone@example.net\nTo: "),
        (b"@senate.example.org>", b"@elsewhere.example.net>"),
        (b"\nSubject: ", b"\nCc: x@example.net\nSubject: "),
    ],
)
def test_allow_edited_still_reads_the_headers_back(
    exported: Campaign, recorder: Recorder, old: bytes, new: bytes
) -> None:
    out = exported.root / "out"
    letter = seal(out)[0]
    path = out / letter["file"]
    path.write_bytes(path.read_bytes().replace(old, new, 1))
    result = exported.run("send", "--yes", "--allow-edited")
    assert result.exit_code == 1
    assert letter["file"] in result.output
    assert recorder.received == []


def test_refuses_a_folder_that_is_not_a_complete_export(
    exported: Campaign, recorder: Recorder
) -> None:
    out = exported.root / "out"
    letter = seal(out)[3]
    (out / letter["file"]).unlink()
    result = exported.run("send", "--yes")
    assert result.exit_code == 1
    assert "not a complete export" in result.output and letter["file"] in result.output
    (out / SEAL).unlink()
    result = exported.run("send", "--yes")
    assert result.exit_code == 1 and "no finished eml export" in result.output
    txt = exported.root / "txt"
    assert exported.run("export", "--format", "txt", "--out", str(txt)).exit_code == 0
    assert exported.run("send", "--yes", str(txt)).exit_code == 1
    assert recorder.received == []


def test_txt_export_into_the_folder_keeps_the_seal(exported: Campaign, recorder: Recorder) -> None:
    out = exported.root / "out"
    before = (out / SEAL).read_bytes()
    assert exported.run("export", "--format", "txt", "--date", DATE).exit_code == 0
    assert (out / SEAL).read_bytes() == before
    assert exported.run("send", "--yes").exit_code == 0
    assert len(recorder.received) == 12


def test_the_seal_is_reproducible_and_lists_what_was_exported(sample: Campaign) -> None:
    assert sample.run("export", "--date", DATE, "--out", "a").exit_code == 0
    assert sample.run("export", "--date", DATE, "--out", "b").exit_code == 0
    a, b = sample.root / "a", sample.root / "b"
    assert (a / SEAL).read_bytes() == (b / SEAL).read_bytes()
    assert sorted(x["file"] for x in seal(a)) == sorted(p.name for p in a.glob("*.eml"))
    # An export into the existing folder after a recipient left: the seal follows.
    rows = sample.recipients.read_text(encoding="utf-8").splitlines()
    sample.recipients.write_text("\n".join(rows[:-1]) + "\n", encoding="utf-8")
    assert sample.run("export", "--date", DATE, "--out", "a").exit_code == 0
    assert sorted(x["file"] for x in seal(a)) == sorted(p.name for p in a.glob("*.eml"))
    assert len(seal(a)) == 11


def test_without_yes_and_without_a_terminal_nothing_is_sent(
    exported: Campaign, recorder: Recorder
) -> None:
    result = exported.run("send")
    assert result.exit_code == 1
    assert "To send: 12" in result.output and "pass --yes" in result.output
    assert recorder.received == []


def test_dry_run_connects_to_nothing(exported: Campaign) -> None:
    with ScriptedServer() as server:
        smtp_table(exported, server.port)
        result = exported.run("send", "--dry-run", "--yes")
        assert result.exit_code == 0, result.output
        assert "Dry run" in result.output
        time.sleep(0.1)
        assert server.connections == 0
    assert not (exported.root / "out" / JOURNAL).exists()


def test_limit_sends_at_most_n(exported: Campaign, recorder: Recorder) -> None:
    result = exported.run("send", "--yes", "--limit", "5")
    assert result.exit_code == 1  # letters are left
    assert len(recorder.received) == 5
    assert exported.run("send", "--yes").exit_code == 0
    assert len({r.rcpt_tos[0] for r in recorder.received}) == len(recorder.received) == 12


def test_status_and_report(exported: Campaign, recorder: Recorder, tmp_path: Path) -> None:
    assert exported.run("send", "--yes", "--limit", "4").exit_code == 1
    report = tmp_path / "r.csv"
    status = exported.run("send", "--status", "--report", str(report))
    assert status.exit_code == 0
    assert "4 sent, 8 pending" in status.output
    rows = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert [r["state"] for r in rows].count("sent") == 4
    assert all(r["reply"].startswith("250") for r in rows if r["state"] == "sent")


def test_several_connections_share_the_work(exported: Campaign) -> None:
    with ScriptedServer(delay=0.01) as server:
        smtp_table(exported, server.port, connections=4)
        result = exported.run("send", "--yes")
        assert result.exit_code == 0, result.output
        assert server.connections == 4
        assert len({r.rcpt_tos[0] for r in server.received}) == len(server.received) == 12


def test_rate_limit_counts_earlier_attempts() -> None:
    stop = threading.Event()
    now = time.time()
    assert RateLimit(3, [now - 100, now - 90, now - 61]).acquire(stop)  # a minute ago: free
    busy = RateLimit(3, [now - 30, now - 20, now - 10])
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    started = time.monotonic()
    assert not busy.acquire(stop)  # waits for the oldest to be a minute old
    assert time.monotonic() - started >= 0.25
    assert RateLimit(0, [now] * 100).acquire(threading.Event())  # no limit


def test_rate_limit_is_held_across_runs(exported: Campaign, recorder: Recorder) -> None:
    out = exported.root / "out"
    assert exported.run("send", "--yes", "--limit", "3").exit_code == 1
    journal = Journal(out, read_only=True)
    starts = journal.recent_starts(time.time() - 60)
    journal.close()
    assert len(starts) == 3
    # The journal remembers three attempts in the last minute: a limit of 3 lets none through.
    limiter = RateLimit(3, starts)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    assert not limiter.acquire(stop)


def test_no_password_option_and_none_in_the_settings(exported: Campaign) -> None:
    assert exported.run("send", "--password", "x").exit_code == 2
    path = exported.letters / "campaign.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + 'password = "hunter2hunter2"\n', encoding="utf-8"
    )
    result = exported.run("send", "--dry-run")
    assert result.exit_code == 1
    assert "password must not be in a file" in result.output
    assert "hunter2hunter2" not in result.output


def test_auth_without_tls_is_refused_unless_loopback(exported: Campaign) -> None:
    result = exported.run("send", "--dry-run", "--host", "192.0.2.10", "--username", "organizer")
    assert result.exit_code == 1
    assert "without TLS" in result.output
    ok = exported.run("send", "--dry-run", "--host", "127.0.0.1", "--username", "organizer")
    assert ok.exit_code == 0, ok.output


def test_a_new_export_does_not_resend_what_was_sent(exported: Campaign, recorder: Recorder) -> None:
    assert exported.run("send", "--yes", "--limit", "5").exit_code == 1
    # Exported again with another date: other bytes, the same Message-IDs.
    assert exported.run("export", "--date", "2026-12-01").exit_code == 0
    result = exported.run("send", "--yes")
    assert result.exit_code == 0, result.output
    assert "To send: 7" in result.output
    assert len({r.rcpt_tos[0] for r in recorder.received}) == len(recorder.received) == 12


def test_status_without_a_journal(exported: Campaign) -> None:
    result = exported.run("send", "--status")
    assert result.exit_code == 0
    assert "12 pending" in result.output
    assert not (exported.root / "out" / JOURNAL).exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('hots = "x"', "[smtp] unknown setting 'hots'"),
        ('rate = "5"', "[smtp] rate must be a whole number from 0 to 1000000"),
        ("connections = 0", "[smtp] connections must be a whole number from 1 to 64"),
        ("retries = -1", "[smtp] retries must be a whole number from 0 to 100"),
        ('password_env = "A B"', "[smtp] password_env names an environment variable"),
    ],
)
def test_smtp_settings_errors_say_where(exported: Campaign, line: str, message: str) -> None:
    path = exported.letters / "campaign.toml"
    text = path.read_text(encoding="utf-8") + line + "\n"
    path.write_text(text, encoding="utf-8")
    result = exported.run("send", "--dry-run")
    assert result.exit_code == 1
    assert message in result.output
    assert f"letters/campaign.toml:{text.count(chr(10))}: error: " in result.output


@pytest.mark.parametrize("args", [["--yes"], ["--dry-run"], ["--status"]])
def test_a_missing_folder_is_a_clear_error(exported: Campaign, args: list[str]) -> None:
    result = exported.run("send", *args, "nowhere")
    assert result.exit_code == 1
    assert "nowhere is not a folder" in result.output
    assert not (exported.root / "nowhere").exists()
