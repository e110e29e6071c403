"""`campaign send` against servers that misbehave, TLS and AUTH, and SIGKILL at random points."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATE, Campaign
from smtp_servers import (
    DROP,
    Event,
    Recorder,
    ScriptedServer,
    authenticator,
    free_port,
    make_certificates,
    server_context,
    start_aiosmtpd,
)
from test_send import journal_states, seal, smtp_table

from campaign.cli import main
from campaign.journal import JOURNAL

PASSWORD = "Pa55-w0rd-nobody-may-see"


@pytest.fixture
def exported(sample: Campaign) -> Campaign:
    assert sample.run("export", "--date", DATE).exit_code == 0
    return sample


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def once(kind: str, reply: str, where: int = 3) -> object:
    """A policy answering ``reply`` to the ``where``-th event of ``kind``, once."""
    seen = Counter[str]()

    def policy(event: Event) -> str | None:
        if event.kind == kind:
            seen[kind] += 1
            if seen[kind] == where:
                return reply
        return None

    return policy


# -- misbehaving servers --------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["lockstep", "pipelining"])
def pipelining(request: pytest.FixtureRequest) -> bool:
    """Whether the scripted server offers PIPELINING (then send writes MAIL, RCPT, DATA at once)."""
    return bool(request.param)


def test_421_mid_run_reconnects_and_sends_everything(exported: Campaign, pipelining: bool) -> None:
    policy = once("mail", "421 4.7.0 too many messages, closing")
    with ScriptedServer(policy, pipelining=pipelining) as server:  # type: ignore[arg-type]
        smtp_table(exported, server.port)
        result = exported.run("send", "--yes")
        assert result.exit_code == 0, result.output
        assert server.connections >= 2
        assert sorted(r.rcpt_tos[0] for r in server.received) == sorted(
            x["to"] for x in seal(exported.root / "out")
        )


@pytest.mark.parametrize("kind", ["greeting", "rcpt", "message"])
def test_451_or_421_anywhere_is_retried(exported: Campaign, kind: str, pipelining: bool) -> None:
    reply = "421 4.3.2 shutting down" if kind == "greeting" else "451 4.3.0 try later"
    with ScriptedServer(once(kind, reply, 2), pipelining=pipelining) as server:  # type: ignore[arg-type]
        smtp_table(exported, server.port)
        result = exported.run("send", "--yes")
        assert result.exit_code == 0, result.output
        assert len({r.rcpt_tos[0] for r in server.received}) == len(server.received) == 12


def test_timeout_before_data_is_deferred_and_retried(exported: Campaign, pipelining: bool) -> None:
    policy = once("rcpt", "sleep 1.5 250 ok", 4)
    with ScriptedServer(policy, pipelining=pipelining) as server:  # type: ignore[arg-type]
        smtp_table(exported, server.port, timeout=0.5)
        result = exported.run("send", "--yes")
        assert result.exit_code == 0, result.output
        assert len({r.rcpt_tos[0] for r in server.received}) == len(server.received) == 12


@pytest.mark.parametrize(
    ("reply", "delivered"),
    [(DROP, False), ("sleep 1.5 250 queued late", True)],
    ids=["dropped-after-data", "reply-past-timeout"],
)
def test_no_reply_after_data_is_unknown_and_not_resent(
    exported: Campaign, reply: str, delivered: bool, pipelining: bool
) -> None:
    out = exported.root / "out"
    with ScriptedServer(once("message", reply, 5), pipelining=pipelining) as server:  # type: ignore[arg-type]
        smtp_table(exported, server.port, timeout=0.5)
        result = exported.run("send", "--yes")
        assert result.exit_code == 1
        states = journal_states(out)
        unknown = [to for to, state in states.items() if state == "unknown"]
        assert len(unknown) == 1
        assert f"<{unknown[0]}>: unknown: no reply after the message went out" in result.output
        received = Counter(r.rcpt_tos[0] for r in server.received)
        assert received[unknown[0]] == (1 if delivered else 0)
        assert sum(received.values()) == 11 + delivered
        again = exported.run("send", "--yes")
        assert again.exit_code == 1
        assert "not resent without --retry-unknown" in again.output and unknown[0] in again.output
        assert Counter(r.rcpt_tos[0] for r in server.received) == received
        retried = exported.run("send", "--yes", "--retry-unknown")
        assert retried.exit_code == 0, retried.output
        assert Counter(r.rcpt_tos[0] for r in server.received)[unknown[0]] == 1 + delivered
        assert set(journal_states(out).values()) == {"sent"}


@pytest.mark.parametrize("kind", ["mail", "rcpt", "data"])
def test_5xx_before_the_message_fails_that_letter_only(
    exported: Campaign, kind: str, pipelining: bool
) -> None:
    out = exported.root / "out"
    with ScriptedServer(once(kind, "550 5.7.1 not here", 3), pipelining=pipelining) as server:  # type: ignore[arg-type]
        smtp_table(exported, server.port)
        result = exported.run("send", "--yes")
        assert result.exit_code == 1
        states = journal_states(out)
        failed = [to for to, state in states.items() if state == "failed"]
        assert len(failed) == 1 and f"<{failed[0]}>: failed: 550 5.7.1 not here" in result.output
        got = sorted(r.rcpt_tos[0] for r in server.received)
        assert got == sorted(to for to in states if to != failed[0])
        assert server.connections == 1  # the session went on after RSET


def test_refused_connection_defers_then_a_rerun_sends(exported: Campaign) -> None:
    port = free_port()
    out = exported.root / "out"
    smtp_table(exported, port, retries=1)
    result = exported.run("send", "--yes")
    assert result.exit_code == 1
    assert "could not connect to the server" in result.output
    assert "Connection refused" in result.output
    assert "sent" not in set(journal_states(out).values())
    server = ScriptedServer()
    server.port = port
    with server:
        assert exported.run("send", "--yes").exit_code == 0
        assert len({r.rcpt_tos[0] for r in server.received}) == len(server.received) == 12


# -- TLS and AUTH on aiosmtpd ---------------------------------------------------------------


@pytest.fixture
def tls_server(
    request: pytest.FixtureRequest, certificates: tuple[Path, Path, Path]
) -> Iterator[Recorder]:
    mode, mechanism = request.param
    _, cert, key = certificates
    handler = Recorder()
    context = server_context(cert, key)
    auth = {
        "authenticator": authenticator({"organizer": PASSWORD}),
        "auth_required": True,
        "auth_exclude_mechanism": [m for m in ("PLAIN", "LOGIN") if m != mechanism],
    }
    if mode == "ssl":
        # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from the start.
        controller = start_aiosmtpd(handler, ssl_context=context, auth_require_tls=False, **auth)
    else:
        controller = start_aiosmtpd(handler, tls_context=context, require_starttls=True, **auth)
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.mark.parametrize(
    "tls_server",
    [("starttls", "PLAIN"), ("starttls", "LOGIN"), ("ssl", "PLAIN")],
    indirect=True,
    ids=["starttls-plain", "starttls-login", "ssl-plain"],
)
def test_tls_and_auth(
    exported: Campaign,
    tls_server: Recorder,
    certificates: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    ca = certificates[0]
    mode = "ssl" if "ssl-" in request.node.callspec.id else "starttls"
    smtp_table(exported, tls_server.port, security=mode, username="organizer")
    monkeypatch.setenv("CAMPAIGN_SMTP_PASSWORD", PASSWORD)
    # Without the test CA the certificate cannot be verified: nothing goes out.
    refused = exported.run("send", "--yes")
    assert refused.exit_code == 1
    assert "TLS certificate of 127.0.0.1 is not valid" in refused.output
    assert tls_server.received == []
    result = exported.run("send", "--yes", "--cafile", str(ca))
    assert result.exit_code == 0, result.output
    assert len(tls_server.received) == 12


@pytest.mark.parametrize("tls_server", [("starttls", "PLAIN")], indirect=True)
def test_password_never_in_journal_report_or_output(
    exported: Campaign,
    tls_server: Recorder,
    certificates: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    out = exported.root / "out"
    report = tmp_path / "report.csv"
    smtp_table(exported, tls_server.port, security="starttls", username="organizer")
    monkeypatch.setenv("CAMPAIGN_SMTP_PASSWORD", PASSWORD[::-1])  # wrong: a forced failure
    failed = exported.run(
        "send", "--yes", "--cafile", str(certificates[0]), "--report", str(report)
    )
    assert failed.exit_code == 1
    assert "refused the login of 'organizer'" in failed.output
    monkeypatch.setenv("CAMPAIGN_SMTP_PASSWORD", PASSWORD)
    ok = exported.run("send", "--yes", "--cafile", str(certificates[0]), "--report", str(report))
    assert ok.exit_code == 0
    secrets = [s.encode() for s in (PASSWORD, PASSWORD[::-1])]
    for text in (failed.output, ok.output):
        assert not any(s.decode() in text for s in secrets)
    files = [p for p in out.iterdir() if p.name.startswith(".campaign-send")] + [report]
    assert any(p.name == JOURNAL for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in secrets), path


def test_no_password_without_a_terminal_is_an_error(exported: Campaign) -> None:
    with ScriptedServer() as server:
        smtp_table(exported, server.port, username="organizer")
        result = exported.run("send", "--yes")
        assert result.exit_code == 1
        assert "set the environment variable CAMPAIGN_SMTP_PASSWORD" in result.output
        assert server.connections == 0


# -- SIGKILL at random points ---------------------------------------------------------------


def _send_process(root: Path, password: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, CAMPAIGN_SMTP_PASSWORD=password)
    return subprocess.Popen(
        [sys.executable, "-m", "campaign", "send", "--yes"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _send_forked() -> int:
    """`campaign send --yes` in a forked child (no interpreter start-up to wait for)."""
    pid = os.fork()
    if pid == 0:  # the child: run the command, never return into pytest
        code = 1
        try:
            code = CliRunner().invoke(main, ["send", "--yes"]).exit_code
        finally:
            os._exit(code)
    return pid


def test_sigkill_at_random_points_then_rerun(
    exported: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every letter reaches the server once, except unknown ones (at most once); the journal
    agrees with what the server got."""
    out = exported.root / "out"
    pristine = {p.name: p.read_bytes() for p in out.iterdir()}
    rng = random.Random(20261127)
    monkeypatch.setenv("CAMPAIGN_SMTP_PASSWORD", PASSWORD)
    with ScriptedServer(delay=0.005, pipelining=True) as server:
        smtp_table(exported, server.port, connections=2, username="organizer")
        started = time.monotonic()
        first = _send_process(exported.root, PASSWORD)
        cmdline = Path(f"/proc/{first.pid}/cmdline").read_bytes()
        _, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
        assert PASSWORD.encode() not in cmdline + err
        full = time.monotonic() - started
        partial = 0
        for _ in range(20):
            for name in os.listdir(out):
                if name.startswith(".campaign-send"):
                    os.unlink(out / name)
            for name, data in pristine.items():
                (out / name).write_bytes(data)
            server.received.clear()
            pid = _send_forked()
            # Kill after a random number of letters arrived, at a random moment of the next
            # one's exchange (a reply takes 5 ms: a letter about 20).
            target, deadline = rng.randint(0, 11), time.monotonic() + full
            while len(server.received) < target and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.03))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            at_kill = len(server.received)
            partial += 0 < at_kill < 12
            rerun = exported.run("send", "--yes")
            assert PASSWORD not in rerun.output
            with sqlite3.connect(out / JOURNAL) as db:
                states = dict(db.execute("SELECT recipient, state FROM letters"))
            got = Counter(r.rcpt_tos[0] for r in server.received)
            assert len(states) == 12
            for to, state in states.items():
                assert state in ("sent", "unknown"), (to, state, rerun.output)
                if state == "sent":
                    assert got[to] == 1, (to, got)
                else:
                    assert got[to] <= 1, (to, got)
            assert set(got) <= set(states)
            assert rerun.exit_code == (1 if "unknown" in states.values() else 0), rerun.output
        assert partial >= 5  # the kills landed mid-run, not only before or after
