"""Benchmark: `campaign send` against mailmerge 2.3.0 --no-dry-run and a one-connection floor.

Run by `make bench-send` with bench/.venv's Python (this project editable, plus mailmerge).
The letters are a synthetic congress campaign exported once as eml; every tool sends them to
the same local SMTP server (tests/scripted_smtp.py, in a process of its own), which answers
at once or waits DELAY seconds before every reply, the greeting and EHLO included (a distant
provider). mailmerge renders the same letter from bench/templates/congress_mailmerge.txt.
The server offers PIPELINING (RFC 2920), as most providers' do, unless --no-pipelining: only
campaign send uses it. The floor is one smtplib connection sending the exported bytes (CRLF)
with no journal.
Bytecode is cached for this project's editable sources (PYTHONDONTWRITEBYTECODE is dropped),
as it is for the installed packages and the standard library the floor and mailmerge use;
the export that precedes the runs compiles it.
Each run is checked: the server must have received every letter, each recipient once.

    bench/.venv/bin/python bench/send.py                         # 1,000 letters, 0 and 25 ms
    bench/.venv/bin/python bench/send.py --letters 200 --delays 0.025 --connections 8 16
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))

from scripted_smtp import free_port  # noqa: E402

import bench as base  # noqa: E402

BIN = Path(sys.executable).parent
SENDER = "letters@coalition.example.org"


class Server:
    """tests/scripted_smtp.py in a process of its own, so it never shares our interpreter."""

    def __init__(self, delay: float, pipelining: bool) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests" / "scripted_smtp.py"),
                str(self.port),
                str(delay),
                "1" if pipelining else "0",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout and self.process.stdout.readline().strip() == "ready"

    def received(self) -> tuple[int, int]:
        """(messages, distinct recipients) since the last call."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        count, distinct = self.process.stdout.readline().split()
        return int(count), int(distinct)

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(10)


def floor(folder: Path, port: int) -> int:
    """One smtplib connection, the exported bytes with CRLF line ends, one RCPT each."""
    seal = json.loads((folder / ".campaign-export.json").read_text())["letters"]
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench", timeout=120) as smtp:
        for letter in seal:
            data = (folder / letter["file"]).read_bytes().replace(b"\n", b"\r\n")
            smtp.sendmail(SENDER, [letter["to"]], data)
    return 0


def timed(argv: list[str], work: Path) -> float:
    stdout, stderr = work / "stdout", work / "stderr"
    report = subprocess.run(
        [sys.executable, str(BENCH / "measure.py"), str(stdout), str(stderr), *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    )
    result = json.loads(report.stdout)
    if result["returncode"] != 0:
        tail = stderr.read_text(errors="replace")[-2000:]
        sys.exit(f"{' '.join(argv)} exited {result['returncode']}:\n{tail}")
    return float(result["seconds"])


def smtp_settings(campaign: Path, port: int) -> None:
    path = campaign / "letters" / "campaign.toml"
    text = path.read_text(encoding="utf-8").split("\n[smtp]")[0]
    table = f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 120.0\n'
    path.write_text(text + table, encoding="utf-8")


def mailmerge_files(campaign: Path, work: Path, port: int, count: int) -> list[str]:
    config = work / "mailmerge_server.conf"
    config.write_text(f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nratelimit = 0\n")
    rows = (campaign / "recipients.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    database = work / "mailmerge.csv"
    database.write_text("".join(rows[: count + 1]), encoding="utf-8")
    return [str(BIN / "mailmerge"), "--no-dry-run", "--no-limit", "--output-format", "raw",
            "--template", str(base.MAILMERGE_TEMPLATE), "--database", str(database),
            "--config", str(config)]  # fmt: skip


FLOOR = "floor: one smtplib connection"
MAILMERGE = "mailmerge 2.3.0 --no-dry-run"


def bench_server(args: argparse.Namespace, delay: float, campaign: Path, work: Path) -> None:
    """Every tool against one server; a line each, as soon as it is measured."""
    out, mm_count = work / "out", args.mailmerge_letters
    server = Server(delay, not args.no_pipelining)
    try:
        smtp_settings(campaign, server.port)
        floor_argv = [sys.executable, __file__, "--floor", str(out), str(server.port)]
        runs = [] if args.no_floor else [(FLOOR, floor_argv, args.letters)]
        if mm_count:
            mailmerge = mailmerge_files(campaign, work, server.port, mm_count)
            runs.append((MAILMERGE, mailmerge, mm_count))
        ours = [str(BIN / "campaign"), "send", "--yes", "--campaign", str(campaign), str(out)]
        for n in args.connections:
            name = f"campaign send --connections {n}"
            runs.append((name, [*ours, "--connections", str(n)], args.letters))
        seconds: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        for _ in range(args.runs):  # the tools take turns, so a busy spell hits them all
            for name, command, count in runs:
                for journal in out.glob(".campaign-send*"):
                    journal.unlink()
                seconds[name].append(timed(command, work))
                got, distinct = server.received()
                if got != count or distinct != count:
                    sys.exit(f"{name}: the server got {got} messages, {distinct} recipients")
        rates: dict[str, float] = {}
        for name, _, count in runs:
            median = statistics.median(seconds[name])
            rates[name] = rate = count / median
            mm, ours_run = rates.get(MAILMERGE), name.startswith("campaign")
            vs_mm = f"{rate / mm:.1f}" if mm and ours_run else ""
            vs_floor = f"{rate / rates[FLOOR]:.2f}" if ours_run and FLOOR in rates else ""
            line = f"{delay * 1000:>5.0f}ms {name:<36} {median:>8.2f} {rate:>10.1f}"
            print(f"{line} {vs_mm:>11} {vs_floor:>8}", flush=True)
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument(
        "--mailmerge-letters", type=int, help="how many mailmerge sends (0: none; its rate)"
    )
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 0.025])
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool (median)")
    parser.add_argument("--no-floor", action="store_true", help="skip the smtplib floor")
    parser.add_argument(
        "--no-pipelining", action="store_true", help="the server does not offer PIPELINING"
    )
    parser.add_argument("--tmpdir", default=None)
    parser.add_argument("--floor", nargs=2, metavar=("FOLDER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        return floor(Path(args.floor[0]), int(args.floor[1]))
    work = Path(tempfile.mkdtemp(prefix="bench-send-", dir=args.tmpdir))
    try:
        campaign = base.make_campaign(work, args.letters, seed=11)
        export = [str(BIN / "campaign"), "export", "--campaign", str(campaign)]
        export += ["--out", str(work / "out"), "--date", base.DATE]
        subprocess.run(export, check=True, capture_output=True)
        mm_count = args.letters if args.mailmerge_letters is None else args.mailmerge_letters
        args.mailmerge_letters = mm_count
        print(f"{args.letters} letters ({mm_count} for mailmerge); {base.cpu_model()}")
        print(f"median of {args.runs} runs, the tools in turn")
        print(f"{'server':>7} {'tool':<36} {'seconds':>8} {'letters/s':>10} {'x mailmerge':>11} "
              f"{'x floor':>8}")  # fmt: skip
        for delay in args.delays:
            bench_server(args, delay, campaign, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.pop("CAMPAIGN_SMTP_PASSWORD", None)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.exit(main())
